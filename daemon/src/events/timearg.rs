//! `since` and `until` of `GET /events` (and of logs): what dockerd accepts — Unix seconds with optional
//! fractional nanoseconds (`1700000000.000000001`) — and what the docker CLI converts before sending
//! (moby's `timetypes.GetTimestamp`): Go durations relative to now (`10m`, `1h30m`, `-5s` for the future)
//! and RFC 3339 with reduced precision (`2024-01-02`, `2024-01-02T15`, `2024-01-02T15:04`, with or without
//! fraction and zone). Forms without a zone are taken as UTC: the daemon has no client's local zone.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::timefmt;

/// A time argument that is none of the accepted forms.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("failed to parse value as time or duration: {0:?}")]
pub(crate) struct TimeArgError(pub String);

/// Parses `value` relative to `now`; empty is `None`.
pub(crate) fn parse_event_time(
    value: &str,
    now: SystemTime,
) -> Result<Option<SystemTime>, TimeArgError> {
    if value.is_empty() {
        return Ok(None);
    }
    let bad = || TimeArgError(value.to_owned());
    if let Some(t) = unix_timestamp(value) {
        return Ok(Some(t));
    }
    if value != "0" {
        if let Some((negative, d)) = go_duration(value) {
            let t = if negative {
                now.checked_add(d)
            } else {
                now.checked_sub(d).or(Some(UNIX_EPOCH))
            };
            return t.map(Some).ok_or_else(bad);
        }
    }
    rfc3339_like(value).map(Some).ok_or_else(bad)
}

/// `seconds[.fraction]`, the fraction scaled to nanoseconds as dockerd scales it (digits past the ninth
/// dropped).
fn unix_timestamp(value: &str) -> Option<SystemTime> {
    let (secs, frac) = value.split_once('.').unwrap_or((value, ""));
    if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || (value.contains('.') && frac.is_empty()) {
        return None;
    }
    let secs: u64 = secs.parse().ok()?;
    let digits = &frac[..frac.len().min(9)];
    let nanos = if digits.is_empty() {
        0
    } else {
        digits.parse::<u32>().ok()? * 10u32.pow(9 - digits.len() as u32)
    };
    UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
}

/// Go's `time.ParseDuration`: `[-+]` then one or more `<decimal><unit>`, units `ns us µs ms s m h`.
fn go_duration(value: &str) -> Option<(bool, Duration)> {
    let (negative, mut rest) = match value.as_bytes().first() {
        Some(b'-') => (true, &value[1..]),
        Some(b'+') => (false, &value[1..]),
        _ => (false, value),
    };
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        let number: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(rest.len(), |(i, _)| i);
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += number * scale;
    }
    Duration::try_from_secs_f64(total)
        .ok()
        .map(|d| (negative, d))
}

/// RFC 3339 and its reduced forms, completed to full RFC 3339 and parsed.
fn rfc3339_like(value: &str) -> Option<SystemTime> {
    let (body, zone) = if let Some(b) = value.strip_suffix(['Z', 'z']) {
        (b, "Z")
    } else {
        let split = value.len().checked_sub(6)?;
        match (value.get(..split), value.get(split..)) {
            (Some(b), Some(z))
                if z.len() == 6
                    && matches!(z.as_bytes()[0], b'+' | b'-')
                    && z.as_bytes()[3] == b':'
                    && b.len() > 10 =>
            {
                (b, z)
            }
            _ => (value, "Z"),
        }
    };
    let (date, time) = match body.split_once(['T', 't']) {
        Some((d, t)) => (d, t),
        None => (body, "00"),
    };
    let time = match time.matches(':').count() {
        0 => format!("{time}:00:00"),
        1 => format!("{time}:00"),
        _ => time.to_owned(),
    };
    timefmt::parse_rfc3339(&format!("{date}T{time}{zone}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, nanos: u32) -> Option<SystemTime> {
        Some(UNIX_EPOCH + Duration::new(secs, nanos))
    }

    #[test]
    fn unix_seconds_with_fractions_as_dockerd_reads_them() {
        let now = SystemTime::now();
        assert_eq!(parse_event_time("", now), Ok(None));
        assert_eq!(parse_event_time("0", now), Ok(at(0, 0)));
        assert_eq!(
            parse_event_time("1700000000.000000001", now),
            Ok(at(1_700_000_000, 1))
        );
        assert_eq!(
            parse_event_time("1700000000.5", now),
            Ok(at(1_700_000_000, 500_000_000))
        );
        assert_eq!(
            parse_event_time("1.1234567891", now),
            Ok(at(1, 123_456_789))
        );
    }

    #[test]
    fn durations_are_relative_to_now() {
        let now = UNIX_EPOCH + Duration::from_secs(10_000);
        assert_eq!(parse_event_time("10m", now), Ok(at(9_400, 0)));
        assert_eq!(
            parse_event_time("1h1m1.5s", now),
            Ok(at(6_338, 500_000_000))
        );
        assert_eq!(parse_event_time("-5s", now), Ok(at(10_005, 0)));
        assert_eq!(parse_event_time("500ms", now), Ok(at(9_999, 500_000_000)));
    }

    #[test]
    fn rfc3339_and_reduced_forms() {
        let now = SystemTime::now();
        let t = 1_700_000_000; // 2023-11-14T22:13:20Z
        assert_eq!(parse_event_time("2023-11-14T22:13:20Z", now), Ok(at(t, 0)));
        assert_eq!(
            parse_event_time("2023-11-14T22:13:20.25Z", now),
            Ok(at(t, 250_000_000))
        );
        assert_eq!(
            parse_event_time("2023-11-14T23:13:20+01:00", now),
            Ok(at(t, 0))
        );
        assert_eq!(parse_event_time("2023-11-14T22:13:20", now), Ok(at(t, 0)));
        assert_eq!(parse_event_time("2023-11-14T22:13", now), Ok(at(t - 20, 0)));
        assert_eq!(
            parse_event_time("2023-11-14T22", now),
            Ok(at(t - 13 * 60 - 20, 0))
        );
        assert_eq!(
            parse_event_time("2023-11-14", now),
            Ok(at(t - 22 * 3600 - 13 * 60 - 20, 0))
        );
    }

    #[test]
    fn garbage_is_an_error_worded_as_docker_words_it() {
        for bad in ["abc", "1.5x", "10x", "2023-13-01", "1.", "-", "."] {
            let err = parse_event_time(bad, SystemTime::now()).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("failed to parse value as time or duration: {bad:?}")
            );
        }
    }
}
