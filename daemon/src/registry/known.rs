//! Which endpoint of a registry answered its last ping, and with which challenge, remembered for a
//! short while: a burst of pulls (`docker compose pull`, an up-to-date check before each `run`) then
//! costs one request each instead of three (the HTTPS attempt an insecure registry refuses, `GET /v2/`,
//! the request itself). dockerd pings every time; this is the difference that matters for a pull of an
//! image already present. A remembered endpoint is forgotten as soon as a request to it fails or is
//! refused (401), so the next pull pings again and a changed registry is seen at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::auth::Challenge;

/// How long an answer to a ping is trusted.
const TRUST: Duration = Duration::from_secs(30);

/// At most this many registries remembered (the oldest forgotten first).
const MAX_KNOWN: usize = 64;

/// What a ping found: the endpoint's position in the repository's list, its base URL, its challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Known {
    pub index: usize,
    pub base: String,
    pub challenge: Option<Challenge>,
}

/// Pings remembered per registry and access (a push may have another endpoint list than a pull).
#[derive(Debug, Default)]
pub(crate) struct KnownEndpoints {
    entries: Mutex<HashMap<(String, bool), (Known, Instant)>>,
}

impl KnownEndpoints {
    /// The endpoint `domain` answered with lately, for a push or a pull.
    pub(crate) fn get(&self, domain: &str, push: bool) -> Option<Known> {
        let entries = self.entries.lock().ok()?;
        let (known, at) = entries.get(&(domain.to_owned(), push))?;
        (at.elapsed() < TRUST).then(|| known.clone())
    }

    /// Remembers what a ping of `domain` found.
    pub(crate) fn put(&self, domain: &str, push: bool, known: Known) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        entries.retain(|_, (_, at)| at.elapsed() < TRUST);
        if entries.len() >= MAX_KNOWN {
            let oldest = entries
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                entries.remove(&k);
            }
        }
        entries.insert((domain.to_owned(), push), (known, Instant::now()));
    }

    /// Forgets every registry reached at `base` (a request there failed or was refused).
    pub(crate) fn forget(&self, base: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (known, _)| known.base != base);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ping_is_remembered_per_access_and_forgotten_on_failure() {
        let known = KnownEndpoints::default();
        let k = Known {
            index: 1,
            base: "http://127.0.0.1:5000".into(),
            challenge: Some(Challenge::Basic),
        };
        known.put("127.0.0.1:5000", false, k.clone());
        assert_eq!(known.get("127.0.0.1:5000", false), Some(k));
        assert_eq!(known.get("127.0.0.1:5000", true), None);
        assert_eq!(known.get("127.0.0.1:5001", false), None);
        known.forget("http://127.0.0.1:5000");
        assert_eq!(known.get("127.0.0.1:5000", false), None);
    }

    #[test]
    fn the_oldest_is_forgotten_past_the_limit() {
        let known = KnownEndpoints::default();
        for i in 0..=MAX_KNOWN {
            let k = Known {
                index: 0,
                base: format!("https://r{i}"),
                challenge: None,
            };
            known.put(&format!("r{i}"), false, k);
        }
        assert_eq!(known.get("r0", false), None);
        assert!(known.get(&format!("r{MAX_KNOWN}"), false).is_some());
    }
}
