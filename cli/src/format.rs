//! Human-readable values as the docker CLI prints them: sizes like `23.54GiB` (go-units' `BytesSize`) and
//! build dates in Go's ANSIC layout.

const BINARY_UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

/// `bytes` in binary units with four significant digits, as go-units' `BytesSize`.
pub fn bytes_size(bytes: u64) -> String {
    // Precision beyond f64's 53 bits does not matter for four significant digits.
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1024.0 && unit < BINARY_UNITS.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    format!("{}{}", four_significant(size), BINARY_UNITS[unit])
}

/// Go's `%.4g` for values below 10000: four significant digits, trailing zeros dropped.
fn four_significant(value: f64) -> String {
    if value == 0.0 {
        return "0".to_owned();
    }
    let mut digits_before = 1;
    let mut v = value.abs();
    while v >= 10.0 {
        v /= 10.0;
        digits_before += 1;
    }
    let decimals = 4usize.saturating_sub(digits_before);
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// An RFC 3339 time (`2026-05-07T21:09:36.000000000+00:00`) in Go's ANSIC layout
/// (`Thu May  7 21:09:36 2026`), as `docker version` prints build dates; anything else is returned as is.
pub fn ansic_date(rfc3339: &str) -> String {
    parse_ansic(rfc3339).unwrap_or_else(|| rfc3339.to_owned())
}

fn parse_ansic(s: &str) -> Option<String> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    let (date, time) = s.split_once('T')?;
    let mut parts = date.splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    let hms = time.get(..8)?;
    let valid_time = hms.len() == 8
        && hms.as_bytes()[2] == b':'
        && hms.as_bytes()[5] == b':'
        && hms
            .bytes()
            .enumerate()
            .all(|(i, b)| i == 2 || i == 5 || b.is_ascii_digit());
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || !valid_time {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let weekday = DAYS[usize::try_from(days.rem_euclid(7)).ok()?];
    let month_name = MONTHS[usize::try_from(month - 1).ok()?];
    Some(format!("{weekday} {month_name} {day:>2} {hms} {year}"))
}

/// Days since 1970-01-01 (a Thursday) for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_go_units() {
        assert_eq!(bytes_size(25_276_514_304), "23.54GiB");
        assert_eq!(bytes_size(0), "0B");
        assert_eq!(bytes_size(512), "512B");
        assert_eq!(bytes_size(1024), "1KiB");
        assert_eq!(bytes_size(1536), "1.5KiB");
        assert_eq!(bytes_size(2 * 1024 * 1024 * 1024), "2GiB");
        assert_eq!(bytes_size(1_073_741_823), "1024MiB");
    }

    #[test]
    fn dates_use_the_ansic_layout() {
        assert_eq!(
            ansic_date("2026-05-07T21:09:36.000000000+00:00"),
            "Thu May  7 21:09:36 2026"
        );
        assert_eq!(
            ansic_date("2025-05-30T12:07:14Z"),
            "Fri May 30 12:07:14 2025"
        );
        assert_eq!(
            ansic_date("2000-02-29T00:00:00Z"),
            "Tue Feb 29 00:00:00 2000"
        );
        assert_eq!(ansic_date("unknown"), "unknown");
        assert_eq!(ansic_date("2020-13-01T00:00:00Z"), "2020-13-01T00:00:00Z");
    }
}
