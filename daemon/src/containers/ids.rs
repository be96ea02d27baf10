//! Container IDs: 64 random hex digits, as dockerd makes them, and the 12-digit short form.

use crate::error::Error;

/// A new random container ID: 64 lowercase hex digits, never all digits (dockerd retries those so that an
/// ID can't be mistaken for a number).
pub(crate) fn new_id() -> Result<String, Error> {
    loop {
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes)
            .map_err(|e| Error::new(wharf_client_core::ErrorKind::System, e.to_string()))?;
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        if !id.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(id);
        }
    }
}

/// The first 12 digits, as `docker ps` shows and the default hostname uses.
pub(crate) fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// Whether `s` is a full container ID.
pub(crate) fn is_full_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// A random number below `n` (n > 0), for name generation.
pub(crate) fn random_below(n: usize) -> usize {
    let mut bytes = [0u8; 8];
    if getrandom::getrandom(&mut bytes).is_err() {
        return 0;
    }
    (u64::from_le_bytes(bytes) % n.max(1) as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_64_hex_and_distinct() {
        let a = new_id().unwrap();
        let b = new_id().unwrap();
        assert!(is_full_id(&a), "{a}");
        assert_ne!(a, b);
        assert_eq!(short_id(&a).len(), 12);
        assert!(!is_full_id("abc"));
        assert!(!is_full_id(&"G".repeat(64)));
    }
}
