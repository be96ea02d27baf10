//! How the console writes sizes, durations and IDs, as the docker CLI does (`12.3MB`, `2 hours ago`).

/// Bytes in the docker CLI's decimal units: `0B`, `512B`, `1.5kB`, `12.3MB`, `4.1GB`.
pub fn bytes(n: i64) -> String {
    let n = n.max(0) as f64;
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut value = n;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    // Three significant digits, as the CLI's `%.3g`: 1.5kB, 12.3MB, 100MB.
    let digits = if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    };
    let digits = if digits.contains('.') {
        digits.trim_end_matches('0').trim_end_matches('.')
    } else {
        &digits
    };
    format!("{digits}{}", UNITS[unit])
}

/// Binary units for memory (`64MiB`), as `docker stats` shows them.
pub fn mebibytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0}{}", UNITS[unit])
    } else {
        format!("{value:.2}{}", UNITS[unit])
    }
}

/// How long ago `then` was (`now` and `then` in seconds), in the docker CLI's words: `Less than a
/// second ago`, `About a minute ago`, `5 hours ago`, `3 weeks ago`.
pub fn ago(now: i64, then: i64) -> String {
    let secs = now.saturating_sub(then).max(0);
    let (minutes, hours) = (secs / 60, (secs as f64 / 3600.0).round() as i64);
    let span = match secs {
        0 => "Less than a second".to_owned(),
        1 => "1 second".to_owned(),
        2..=59 => format!("{secs} seconds"),
        _ if minutes == 1 => "About a minute".to_owned(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".to_owned(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", hours / 24 / 365),
    };
    format!("{span} ago")
}

/// The first 12 hex digits of an ID, without its `sha256:`.
pub fn short_id(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    id.get(..12).unwrap_or(id)
}

/// `repo:tag` apart, a registry's port (`host:5000/app`) left in the repository.
pub fn split_reference(reference: &str) -> (String, Option<String>) {
    match reference.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') && !repo.is_empty() => {
            (repo.to_owned(), Some(tag.to_owned()))
        }
        _ => (reference.to_owned(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_the_docker_cli_writes_them() {
        assert_eq!(bytes(0), "0B");
        assert_eq!(bytes(999), "999B");
        assert_eq!(bytes(1_500), "1.5kB");
        assert_eq!(bytes(12_345_678), "12.3MB");
        assert_eq!(bytes(4_100_000_000), "4.1GB");
        assert_eq!(bytes(100_000_000), "100MB");
        assert_eq!(bytes(-5), "0B");
        assert_eq!(mebibytes(64 << 20), "64.00MiB");
        assert_eq!(mebibytes(512), "512B");
    }

    #[test]
    fn references_split_at_the_tag_only() {
        assert_eq!(split_reference("app:1"), ("app".into(), Some("1".into())));
        assert_eq!(
            split_reference("host:5000/app"),
            ("host:5000/app".into(), None)
        );
        assert_eq!(
            split_reference("host:5000/app:2"),
            ("host:5000/app".into(), Some("2".into()))
        );
        assert_eq!(split_reference("app"), ("app".into(), None));
    }

    #[test]
    fn ages_and_ids() {
        assert_eq!(ago(100, 100), "Less than a second ago");
        assert_eq!(ago(100, 99), "1 second ago");
        assert_eq!(ago(100, 70), "30 seconds ago");
        assert_eq!(ago(100, 30), "About a minute ago");
        assert_eq!(ago(1000, 700), "5 minutes ago");
        assert_eq!(ago(3600, 0), "About an hour ago");
        assert_eq!(ago(5 * 3600, 0), "5 hours ago");
        assert_eq!(ago(86_400 * 3, 0), "3 days ago");
        assert_eq!(ago(86_400 * 21, 0), "3 weeks ago");
        assert_eq!(ago(0, 10), "Less than a second ago");
        assert_eq!(short_id("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(short_id("abc"), "abc");
    }
}
