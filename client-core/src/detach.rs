//! Detach keys: a key sequence that, typed into an attached stdin, detaches the client and leaves the
//! container (or exec) running; `ctrl-p,ctrl-q` unless the client names others (`detachKeys` on attach,
//! `DetachKeys` when an exec is created, the docker CLI's `detachKeys` setting).
//!
//! The daemon watches the client's input for the sequence with a [`DetachScanner`]. As dockerd does, a
//! key counts only when it arrives on its own (one byte read at a time, as typing sends it), so that
//! pasted or piped data that happens to contain the sequence is passed on rather than detaching.

use thiserror::Error;

/// The sequence when none is given: ctrl-p, ctrl-q.
pub const DEFAULT_DETACH_KEYS: &str = "ctrl-p,ctrl-q";

/// A detach-key specification that names a key no terminal sends.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("Unknown character: '{0}'")]
pub struct UnknownKey(pub String);

/// The control keys by name: `ctrl-@` is 0, `ctrl-a` 1 ... `ctrl-z` 26, then `ctrl-[`, `ctrl-\`,
/// `ctrl-]`, `ctrl-^`, `ctrl-_` (27 to 31).
fn control_code(name: &str) -> Option<u8> {
    let key = name.strip_prefix("ctrl-")?;
    let [c] = key.as_bytes() else {
        return None;
    };
    match c {
        b'@' => Some(0),
        b'a'..=b'z' => Some(c - b'a' + 1),
        b'[' | b'\\' | b']' | b'^' | b'_' => Some(c - b'[' + 27),
        _ => None,
    }
}

/// The bytes of a specification such as `ctrl-p,ctrl-q` or `ctrl-x,x`: comma-separated keys, each a
/// single character, `ctrl-<key>` or `DEL`.
pub fn parse(spec: &str) -> Result<Vec<u8>, UnknownKey> {
    spec.split(',')
        .map(|key| match key.as_bytes() {
            [c] => Ok(*c),
            _ if key == "DEL" => Ok(127),
            _ => control_code(key).ok_or_else(|| UnknownKey(key.to_owned())),
        })
        .collect()
}

/// The sequence a client asked for, or the default when it named none (an empty string included).
pub fn keys_or_default(spec: Option<&str>) -> Result<Vec<u8>, UnknownKey> {
    match spec {
        Some(s) if !s.is_empty() => parse(s),
        _ => parse(DEFAULT_DETACH_KEYS),
    }
}

/// What to do with a chunk of the client's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scanned {
    /// Pass these bytes on (keys held back by a match that broke, then the chunk).
    Forward(Vec<u8>),
    /// The chunk is part of the sequence so far: pass nothing on yet.
    Hold,
    /// The whole sequence was typed: detach.
    Detach,
}

/// Watches input chunks for a detach sequence.
#[derive(Debug, Clone)]
pub struct DetachScanner {
    keys: Vec<u8>,
    matched: usize,
}

impl DetachScanner {
    /// A scanner for `keys` (an empty sequence never detaches).
    pub fn new(keys: Vec<u8>) -> Self {
        Self { keys, matched: 0 }
    }

    /// Scans one chunk as it was read.
    pub fn feed(&mut self, chunk: &[u8]) -> Scanned {
        if let ([byte], Some(&next)) = (chunk, self.keys.get(self.matched)) {
            if *byte == next {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    self.matched = 0;
                    return Scanned::Detach;
                }
                return Scanned::Hold;
            }
        }
        let mut out = self.finish();
        out.extend_from_slice(chunk);
        Scanned::Forward(out)
    }

    /// At the end of the input: the keys held back, to pass on.
    pub fn finish(&mut self) -> Vec<u8> {
        let held = self.keys[..self.matched].to_vec();
        self.matched = 0;
        held
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specifications_parse_as_dockerd_reads_them() {
        assert_eq!(parse("ctrl-p,ctrl-q").unwrap(), [16, 17]);
        assert_eq!(parse("ctrl-@,ctrl-a,ctrl-z").unwrap(), [0, 1, 26]);
        assert_eq!(
            parse("ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_").unwrap(),
            [27, 28, 29, 30, 31]
        );
        assert_eq!(parse("x,DEL,ctrl-x").unwrap(), [b'x', 127, 24]);
        assert_eq!(parse("ctrl-P").unwrap_err(), UnknownKey("ctrl-P".into()));
        assert_eq!(
            parse("ctrl-p,,ctrl-q").unwrap_err(),
            UnknownKey(String::new())
        );
        assert_eq!(
            parse("shift-a").unwrap_err().to_string(),
            "Unknown character: 'shift-a'"
        );
        assert_eq!(keys_or_default(None).unwrap(), [16, 17]);
        assert_eq!(keys_or_default(Some("")).unwrap(), [16, 17]);
        assert_eq!(keys_or_default(Some("a")).unwrap(), [b'a']);
    }

    #[test]
    fn typed_keys_detach_and_broken_matches_are_passed_on() {
        let mut s = DetachScanner::new(vec![16, 17]);
        assert_eq!(s.feed(b"ls\n"), Scanned::Forward(b"ls\n".to_vec()));
        assert_eq!(s.feed(&[16]), Scanned::Hold);
        assert_eq!(s.feed(b"x"), Scanned::Forward(vec![16, b'x']));
        assert_eq!(s.feed(&[16]), Scanned::Hold);
        assert_eq!(s.feed(&[17]), Scanned::Detach);
        // Keys inside a larger chunk (pasted, piped) are data.
        assert_eq!(
            s.feed(&[b'a', 16, 17]),
            Scanned::Forward(vec![b'a', 16, 17])
        );
        // Held keys come back at the end of the input.
        assert_eq!(s.feed(&[16]), Scanned::Hold);
        assert_eq!(s.finish(), [16]);
        assert_eq!(s.finish(), Vec::<u8>::new());
        let mut never = DetachScanner::new(Vec::new());
        assert_eq!(never.feed(&[16]), Scanned::Forward(vec![16]));
    }
}
