//! Failed logins counted per source address: after [`MAX_FAILURES`] wrong tokens within [`WINDOW`], that
//! address is refused (429) until the window that began with its first failure has passed, so a token
//! cannot be guessed at network speed. The table is bounded: when full, expired windows go first, then
//! the oldest one.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Failures an address may have within [`WINDOW`].
pub(crate) const MAX_FAILURES: u32 = 10;

/// How long failures are remembered.
pub(crate) const WINDOW: Duration = Duration::from_secs(60);

/// Addresses tracked at once.
const MAX_ADDRESSES: usize = 4096;

#[derive(Clone, Copy, Debug)]
struct Window {
    started: Instant,
    failures: u32,
}

/// The failure counts, per address.
#[derive(Debug, Default)]
pub(crate) struct FailureLimiter {
    table: Mutex<HashMap<IpAddr, Window>>,
}

impl FailureLimiter {
    /// Whether `ip` is refused at `now`.
    pub(crate) fn is_limited(&self, ip: IpAddr, now: Instant) -> bool {
        let ip = ip.to_canonical();
        let table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        table
            .get(&ip)
            .is_some_and(|w| w.failures >= MAX_FAILURES && now.duration_since(w.started) < WINDOW)
    }

    /// Counts a failure from `ip` at `now`.
    pub(crate) fn fail(&self, ip: IpAddr, now: Instant) {
        let ip = ip.to_canonical();
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        if !table.contains_key(&ip) && table.len() >= MAX_ADDRESSES {
            table.retain(|_, w| now.duration_since(w.started) < WINDOW);
            if table.len() >= MAX_ADDRESSES {
                let oldest = table.iter().min_by_key(|(_, w)| w.started).map(|(k, _)| *k);
                if let Some(k) = oldest {
                    table.remove(&k);
                }
            }
        }
        let w = table.entry(ip).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now.duration_since(w.started) >= WINDOW {
            *w = Window {
                started: now,
                failures: 0,
            };
        }
        w.failures = w.failures.saturating_add(1);
        if w.failures == MAX_FAILURES {
            tracing::warn!(
                "{ip}: {MAX_FAILURES} failed logins within {}s; refusing it until then",
                WINDOW.as_secs()
            );
        }
    }

    /// Addresses tracked now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_failures_within_the_window_limit_that_address_until_it_passes() {
        let limiter = FailureLimiter::default();
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let t0 = Instant::now();
        for i in 0..MAX_FAILURES {
            assert!(!limiter.is_limited(a, t0), "after {i} failures");
            limiter.fail(a, t0 + Duration::from_secs(u64::from(i)));
        }
        assert!(limiter.is_limited(a, t0 + Duration::from_secs(30)));
        assert!(!limiter.is_limited(b, t0), "another address is not");
        assert!(!limiter.is_limited(a, t0 + WINDOW), "the window passed");
        limiter.fail(a, t0 + WINDOW);
        assert!(!limiter.is_limited(a, t0 + WINDOW), "a new window");
    }

    #[test]
    fn the_table_is_bounded() {
        let limiter = FailureLimiter::default();
        let t0 = Instant::now();
        for i in 0..(MAX_ADDRESSES as u32 + 10) {
            limiter.fail(IpAddr::from(i.to_be_bytes()), t0);
        }
        assert_eq!(limiter.len(), MAX_ADDRESSES);
    }
}
