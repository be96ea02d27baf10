//! Secrets as wharfd makes and checks them: 32 bytes from the OS's random source shown as a prefix and
//! unpadded base64url, kept only as their SHA-256. A fast hash is right for secrets with 256 bits of
//! entropy (nothing to guess, so nothing for a slow hash to slow down), and hashes are compared in constant
//! time so that the time an answer takes says nothing about how much of a guess matched.

use sha2::{Digest, Sha256};

use crate::error::Error;

/// How many random bytes a secret carries.
const SECRET_BYTES: usize = 32;

/// A new secret: `prefix` and 32 random bytes in unpadded base64url.
pub(crate) fn generate(prefix: &str) -> Result<String, Error> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::getrandom(&mut bytes).map_err(|e| Error::system(format!("random source: {e}")))?;
    Ok(format!("{prefix}{}", base64url(&bytes)))
}

/// The SHA-256 of `secret`'s text.
pub(crate) fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// `hash` in lower-case hex, as the tokens file keeps it.
pub(crate) fn hex(hash: &[u8; 32]) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// The hash a hex string names, if it is one.
pub(crate) fn from_hex(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

/// Whether `a` and `b` are equal, taking the same time wherever they differ.
pub(crate) fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// RFC 4648 base64url without padding.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let symbols = chunk.len() + 1;
        for i in 0..symbols {
            let index = (n >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_rfc_4648_without_padding() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foob"), "Zm9vYg");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn secrets_are_fresh_prefixed_and_43_symbols() {
        let a = generate("wharf_").unwrap();
        let b = generate("wharf_").unwrap();
        assert_ne!(a, b);
        let body = a.strip_prefix("wharf_").unwrap();
        assert_eq!(body.len(), 43);
        assert!(body
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }

    #[test]
    fn hashes_round_trip_through_hex_and_compare() {
        let h = hash("wharf_x");
        assert_eq!(from_hex(&hex(&h)), Some(h));
        assert!(from_hex("zz").is_none());
        assert!(constant_time_eq(&h, &hash("wharf_x")));
        assert!(!constant_time_eq(&h, &hash("wharf_y")));
    }
}
