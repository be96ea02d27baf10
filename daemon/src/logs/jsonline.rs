//! One line of a json-file log, `{"log":"hi\n","stream":"stdout","time":"2026-11-28T04:04:55.710765081Z"}`,
//! encoded byte for byte as moby's `jsonlog.JSONLogs.MarshalJSONBuf` does: Go's string escaping with HTML
//! characters escaped, tab as `\u0009`, invalid UTF-8 as one `\ufffd` per byte, U+2028/2029 escaped, and the
//! time in Go's `RFC3339Nano` (trailing zeros of the fraction dropped).

use std::time::SystemTime;

use super::Source;
use crate::timefmt;

/// Appends the line for `log` (already ending in `\n` unless it is a partial line) to `out`, with its own
/// trailing newline.
pub(crate) fn encode_into(out: &mut Vec<u8>, log: &[u8], source: Source, time: SystemTime) {
    out.extend_from_slice(b"{");
    if !log.is_empty() {
        out.extend_from_slice(b"\"log\":");
        escape_into(out, log);
        out.push(b',');
    }
    out.extend_from_slice(b"\"stream\":\"");
    out.extend_from_slice(source.as_str().as_bytes());
    out.extend_from_slice(b"\",\"time\":\"");
    out.extend_from_slice(timefmt::rfc3339_nano(time).as_bytes());
    out.extend_from_slice(b"\"}\n");
}

/// Go's JSON string escaping as moby's `ffjsonWriteJSONBytesAsString` does it.
fn escape_into(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' | '"' => out.extend_from_slice(&[b'\\', c as u8]),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '<' | '>' | '&' | '\u{0}'..='\u{1f}' => {
                    let b = c as u8;
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(b >> 4)]);
                    out.push(HEX[usize::from(b & 0xf)]);
                }
                '\u{2028}' => out.extend_from_slice(b"\\u2028"),
                '\u{2029}' => out.extend_from_slice(b"\\u2029"),
                _ => {
                    let mut tmp = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                }
            }
        }
        for _ in chunk.invalid() {
            out.extend_from_slice(b"\\ufffd");
        }
    }
    out.push(b'"');
}

#[derive(serde::Deserialize)]
struct Line {
    #[serde(default)]
    log: String,
    #[serde(default)]
    stream: String,
    #[serde(default)]
    time: String,
}

/// A decoded line: where it came from, when, and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Decoded {
    /// stdout or stderr.
    pub source: Source,
    /// When the driver received it.
    pub time: SystemTime,
    /// The bytes, with their trailing newline if they had one.
    pub log: Vec<u8>,
}

/// Decodes one line; `None` for a line that is not a json-file entry (such as one torn by a crash).
pub(crate) fn decode(line: &[u8]) -> Option<Decoded> {
    let l: Line = serde_json::from_slice(line).ok()?;
    let source = match l.stream.as_str() {
        "stdout" => Source::Stdout,
        "stderr" => Source::Stderr,
        _ => return None,
    };
    Some(Decoded {
        source,
        time: timefmt::parse_rfc3339(&l.time)?,
        log: l.log.into_bytes(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn line(log: &[u8], source: Source, nanos: u32) -> String {
        line_at(log, source, 1_795_843_633, nanos)
    }

    fn line_at(log: &[u8], source: Source, secs: u64, nanos: u32) -> String {
        let mut out = Vec::new();
        encode_into(
            &mut out,
            log,
            source,
            UNIX_EPOCH + Duration::new(secs, nanos),
        );
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn matches_dockerd_20_10_bytes() {
        // Lines from a reference dockerd's file, for `echo a; echo b >&2; printf 'x\r\ny'`.
        assert_eq!(
            line(b"a\n", Source::Stdout, 544_374_988),
            "{\"log\":\"a\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-28T05:27:13.544374988Z\"}\n"
        );
        assert_eq!(
            line(b"b\n", Source::Stderr, 544_425_274),
            "{\"log\":\"b\\n\",\"stream\":\"stderr\",\"time\":\"2026-11-28T05:27:13.544425274Z\"}\n"
        );
        assert_eq!(
            line(b"x\r\n", Source::Stdout, 646_567_945),
            "{\"log\":\"x\\r\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-28T05:27:13.646567945Z\"}\n"
        );
        // Go's RFC3339Nano drops trailing zeros.
        assert!(line(b"y", Source::Stdout, 681_500_000)
            .contains("\"time\":\"2026-11-28T05:27:13.6815Z\""));
    }

    #[test]
    fn escapes_as_moby_does() {
        // dockerd 20.10 wrote this for printf 't\tq"b\\ <>& \001 \342\200\250 \377 é\n'.
        let got = line_at(
            b"t\tq\"b\\ <>& \x01 \xe2\x80\xa8 \xff \xc3\xa9\n",
            Source::Stdout,
            1_795_843_663,
            525_322_669,
        );
        assert_eq!(
            got,
            "{\"log\":\"t\\u0009q\\\"b\\\\ \\u003c\\u003e\\u0026 \\u0001 \\u2028 \\ufffd é\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-28T05:27:43.525322669Z\"}\n"
        );
        // A truncated multi-byte sequence is one replacement per byte, as Go's DecodeRune sees it.
        assert!(line(b"\xe2\x80", Source::Stdout, 1).starts_with("{\"log\":\"\\ufffd\\ufffd\","));
    }

    #[test]
    fn decodes_what_it_encodes_and_skips_torn_lines() {
        let l = line(b"hi <there>\n", Source::Stderr, 7);
        let d = decode(l.as_bytes()).unwrap();
        assert_eq!(d.source, Source::Stderr);
        assert_eq!(d.log, b"hi <there>\n");
        assert_eq!(d.time, UNIX_EPOCH + Duration::new(1_795_843_633, 7));
        assert_eq!(decode(&l.as_bytes()[..20]), None);
        assert_eq!(
            decode(br#"{"log":"x","stream":"stdin","time":"2026-11-28T05:27:13Z"}"#),
            None
        );
    }
}
