//! Docker's size syntax (go-units), read by the daemon (log options such as `max-size`) and by clients
//! (`docker run -m`): written once, so that both read `1.5g` alike.

/// go-units' `RAMInBytes`: `^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$`, in powers of 1024, computed in
/// floating point and truncated as Go does (`256m`, `1.5g`, `512MiB`, `2 kb`, `1048576`); `None` for
/// anything else, or for a size of 2^63 bytes or more.
pub fn ram_in_bytes(value: &str) -> Option<u64> {
    let digits = value
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b'.')
        .count();
    let (number, unit) = value.split_at(digits);
    if number.is_empty()
        || number.starts_with('.')
        || number.ends_with('.')
        || number.contains("..")
    {
        return None;
    }
    let number: f64 = number.parse().ok()?;
    let unit = unit.strip_prefix(' ').unwrap_or(unit);
    let mut chars = unit.chars().peekable();
    let power = match chars.peek().map(char::to_ascii_lowercase) {
        Some(c @ ('k' | 'm' | 'g' | 't' | 'p')) => {
            chars.next();
            match c {
                'k' => 1,
                'm' => 2,
                'g' => 3,
                't' => 4,
                _ => 5,
            }
        }
        _ => 0,
    };
    if chars.peek().is_some_and(|c| c.eq_ignore_ascii_case(&'i')) {
        chars.next();
    }
    if chars.peek().is_some_and(|c| c.eq_ignore_ascii_case(&'b')) {
        chars.next();
    }
    if chars.next().is_some() {
        return None;
    }
    let bytes = number * 1024f64.powi(power);
    if !bytes.is_finite() || bytes >= 2f64.powi(63) {
        return None;
    }
    Some(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_go_units_reads_them() {
        for (s, n) in [
            ("10", 10),
            ("100b", 100),
            ("1k", 1024),
            ("256m", 256 << 20),
            ("10 MiB", 10 << 20),
            ("1.5g", 3 << 29),
            ("2 kb", 2048),
            ("0.5k", 512),
            ("1.0001k", 1024),
            ("8191p", 8191 << 50),
        ] {
            assert_eq!(ram_in_bytes(s), Some(n), "{s}");
        }
        for bad in [
            "", "m", "abc", "1.", ".5m", "1..5m", "1.2.3m", "-1m", "1mm", "1 m b", "1  m", "8192p",
        ] {
            assert_eq!(ram_in_bytes(bad), None, "{bad}");
        }
    }
}
