//! RFC 3339 timestamps from and to Unix time, without a calendar dependency: `/info`'s `SystemTime`,
//! `/version`'s `BuildTime`, the state dump, the json-file log lines and `since`/`until` arguments need only
//! UTC formatting and parsing of numeric offsets.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's civil-from-days algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

/// (year, month, day) to days since 1970-01-01, the inverse of [`civil_from_days`].
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn format(secs: u64, nanos: Option<u32>) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    match nanos {
        Some(n) => format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{n:09}Z"),
        None => format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z"),
    }
}

/// `2024-01-02T03:04:05Z`.
pub(crate) fn rfc3339_seconds(secs: u64) -> String {
    format(secs, None)
}

/// The current time as `2024-01-02T03:04:05.123456789Z` (Go's `RFC3339Nano` shape, as dockerd answers).
pub(crate) fn now_rfc3339_nanos() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format(now.as_secs(), Some(now.subsec_nanos()))
}

/// Seconds and nanoseconds since the epoch; instants before it count as the epoch.
pub(crate) fn unix_parts(t: SystemTime) -> (u64, u32) {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    (d.as_secs(), d.subsec_nanos())
}

/// Nanoseconds since the epoch, saturating (Go's `UnixNano`, for dates this side of 2262).
pub(crate) fn unix_nanos(t: SystemTime) -> i64 {
    let (secs, nanos) = unix_parts(t);
    i64::try_from(secs)
        .ok()
        .and_then(|s| s.checked_mul(1_000_000_000))
        .and_then(|n| n.checked_add(i64::from(nanos)))
        .unwrap_or(i64::MAX)
}

/// Go's `time.RFC3339Nano`: up to nine fractional digits with trailing zeros dropped (none if zero), as the
/// json-file log driver writes `time`.
pub(crate) fn rfc3339_nano(t: SystemTime) -> String {
    let (secs, nanos) = unix_parts(t);
    let full = format(secs, Some(nanos));
    // `....123456789Z`: drop trailing zeros of the fraction, and the dot if nothing is left.
    let (head, _) = full.split_at(full.len() - 1);
    let trimmed = head.trim_end_matches('0').trim_end_matches('.');
    format!("{trimmed}Z")
}

/// Docker's `RFC3339NanoFixed`: always nine fractional digits, as `docker logs --timestamps` prints them.
pub(crate) fn rfc3339_nano_fixed(t: SystemTime) -> String {
    let (secs, nanos) = unix_parts(t);
    format(secs, Some(nanos))
}

/// Parses RFC 3339 (`2024-01-02T03:04:05[.frac](Z|+hh:mm|-hh:mm)`); `None` if malformed or before 1970.
pub(crate) fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        let part = s.get(from..to)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, min, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut rest = s.get(19..)?;
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        nanos = frac.get(..digits)?.parse::<u32>().ok()? * 10u32.pow(9 - digits as u32);
        rest = frac.get(digits..)?;
    }
    let offset: i64 = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let hh = i64::from(num(s.len() - 5, s.len() - 3)?);
            let mm = i64::from(num(s.len() - 2, s.len())?);
            let o = hh * 3600 + mm * 60;
            if *sign == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return None,
    };
    let days = days_from_civil(i64::from(year), month, day);
    let secs = days * 86_400 + i64::from(hour * 3600 + min * 60 + sec) - offset;
    let secs = u64::try_from(secs).ok()?;
    Some(UNIX_EPOCH + Duration::new(secs, nanos))
}

/// Unix nanoseconds as Go's `RFC3339Nano` prints them (trailing zeros of the fraction dropped), the shape of
/// `docker inspect`'s `Created`, `StartedAt` and `FinishedAt`.
pub(crate) fn rfc3339_unix_nanos(nanos: u64) -> String {
    rfc3339_nano(UNIX_EPOCH + Duration::from_nanos(nanos))
}

/// Go's zero time, which dockerd reports for a `StartedAt` or `FinishedAt` that never happened.
pub(crate) const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Unix seconds of an RFC 3339 time (`2024-01-02T03:04:05.5Z`, `...+02:00`); `None` when malformed.
pub(crate) fn parse_rfc3339_seconds(s: &str) -> Option<i64> {
    let t = parse_rfc3339(s)?;
    i64::try_from(unix_parts(t).0).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339_seconds(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_seconds(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_seconds(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(
            parse_rfc3339_seconds("2023-11-14T22:13:20Z"),
            Some(1_700_000_000)
        );
        assert_eq!(
            parse_rfc3339_seconds("2026-11-28T05:16:43.265562574Z"),
            Some(1_795_843_003)
        );
        assert_eq!(
            parse_rfc3339_seconds("2000-02-29T02:00:00+02:00"),
            Some(951_782_400)
        );
        assert_eq!(parse_rfc3339_seconds("yesterday"), None);
        assert_eq!(format(86_399, Some(5)), "1970-01-01T23:59:59.000000005Z");
    }

    #[test]
    fn go_nano_shape_trims_zeros() {
        assert_eq!(
            rfc3339_unix_nanos(1_700_000_000_000_000_000),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(
            rfc3339_unix_nanos(1_700_000_000_120_000_000),
            "2023-11-14T22:13:20.12Z"
        );
        assert_eq!(rfc3339_unix_nanos(5), "1970-01-01T00:00:00.000000005Z");
    }

    #[test]
    fn now_has_the_nano_shape() {
        let s = now_rfc3339_nanos();
        assert_eq!(s.len(), "2024-01-02T03:04:05.123456789Z".len());
        assert!(s.ends_with('Z'));
    }

    #[test]
    fn go_rfc3339_nano_trims_and_fixed_does_not() {
        let t = UNIX_EPOCH + Duration::new(1_795_843_633, 544_374_900);
        assert_eq!(rfc3339_nano(t), "2026-11-28T05:27:13.5443749Z");
        assert_eq!(rfc3339_nano_fixed(t), "2026-11-28T05:27:13.544374900Z");
        let whole = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(rfc3339_nano(whole), "2023-11-14T22:13:20Z");
        assert_eq!(unix_nanos(t), 1_795_843_633_544_374_900);
    }

    #[test]
    fn parses_what_it_formats_and_offsets() {
        let t = UNIX_EPOCH + Duration::new(1_795_843_633, 544_374_988);
        assert_eq!(parse_rfc3339(&rfc3339_nano(t)), Some(t));
        assert_eq!(parse_rfc3339(&rfc3339_nano_fixed(t)), Some(t));
        let whole = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_rfc3339("2023-11-14T23:13:20+01:00"), Some(whole));
        assert_eq!(parse_rfc3339("2023-11-14T21:13:20-01:00"), Some(whole));
        assert_eq!(
            parse_rfc3339("2000-02-29T00:00:00.5Z"),
            Some(UNIX_EPOCH + Duration::new(951_782_400, 500_000_000))
        );
        for bad in [
            "",
            "2023-11-14",
            "2023-11-14T22:13:20",
            "2023-13-14T22:13:20Z",
            "2023-11-14T22:13:20.Z",
            "2023-11-14T22:13:20.1234567890Z",
            "1969-12-31T23:59:59Z",
            "2023-11-14T22:13:20+0100",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
