//! RFC 3339 timestamps from Unix time, without a calendar dependency: `/info`'s `SystemTime`, `/version`'s
//! `BuildTime` and the state dump need only UTC formatting.

use std::time::{SystemTime, UNIX_EPOCH};

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
pub fn rfc3339_seconds(secs: u64) -> String {
    format(secs, None)
}

/// The current time as `2024-01-02T03:04:05.123456789Z` (Go's `RFC3339Nano` shape, as dockerd answers).
pub fn now_rfc3339_nanos() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format(now.as_secs(), Some(now.subsec_nanos()))
}

/// Unix nanoseconds as Go's `RFC3339Nano` prints them (trailing zeros of the fraction dropped), the shape of
/// `docker inspect`'s `Created`, `StartedAt` and `FinishedAt`.
pub fn rfc3339_unix_nanos(nanos: u64) -> String {
    let secs = nanos / 1_000_000_000;
    let frac = nanos % 1_000_000_000;
    let base = format(secs, None);
    if frac == 0 {
        return base;
    }
    let digits = format!("{frac:09}");
    let digits = digits.trim_end_matches('0');
    format!("{}.{digits}Z", base.trim_end_matches('Z'))
}

/// Go's zero time, which dockerd reports for a `StartedAt` or `FinishedAt` that never happened.
pub const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339_seconds(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_seconds(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_seconds(1_700_000_000), "2023-11-14T22:13:20Z");
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
}
