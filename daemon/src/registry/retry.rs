//! Which failures are worth another try, and how long to wait first: a registry that is busy
//! (429, 503), failing for a moment (500, 502, 504) or slow to answer gets a few attempts with a
//! growing pause (`Retry-After` honoured, bounded); one that refuses connections does not (the next
//! endpoint is tried instead, as dockerd does).

use std::time::Duration;

/// Attempts of one request, the first included.
pub(crate) const ATTEMPTS: u32 = 4;

/// The longest pause, whatever `Retry-After` says.
const MAX_DELAY: Duration = Duration::from_secs(10);

/// Whether a registry's status is a moment's failure.
pub(crate) fn retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// Whether a request that got no answer may be sent again: not when nothing could connect (that is
/// an endpoint to fall back from), yes when the answer was cut or late.
pub(crate) fn retryable_transport(e: &reqwest::Error) -> bool {
    !e.is_connect() && !e.is_builder() && !e.is_redirect()
}

/// The pause before attempt `attempt` (1 for the first retry): 0.5 s doubling, or `retry_after` seconds.
pub(crate) fn delay(attempt: u32, retry_after: Option<&str>) -> Duration {
    let asked = retry_after
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let backoff = Duration::from_millis(500) * 2u32.saturating_pow(attempt.saturating_sub(1));
    asked.unwrap_or(backoff).min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_bounded_and_honours_retry_after() {
        assert_eq!(delay(1, None), Duration::from_millis(500));
        assert_eq!(delay(2, None), Duration::from_secs(1));
        assert_eq!(delay(3, None), Duration::from_secs(2));
        assert_eq!(delay(9, None), MAX_DELAY);
        assert_eq!(delay(1, Some("3")), Duration::from_secs(3));
        assert_eq!(delay(1, Some("3600")), MAX_DELAY);
        assert_eq!(
            delay(1, Some("Wed, 21 Oct 2015")),
            Duration::from_millis(500)
        );
        for s in [429, 500, 502, 503, 504] {
            assert!(retryable_status(s));
        }
        for s in [400, 401, 404, 501] {
            assert!(!retryable_status(s));
        }
    }
}
