//! JSON message streams: `/events`, image pulls and imports answer with JSON objects one after another,
//! newline-delimited or simply concatenated. The decoder is incremental and bounded.

use bytes::{Buf, BytesMut};
use serde::de::DeserializeOwned;

/// A stream that is not a sequence of JSON values.
#[derive(Debug, thiserror::Error)]
pub enum JsonStreamError {
    /// A value that is not valid JSON, or not of the expected shape.
    #[error("invalid JSON message: {0}")]
    Invalid(#[source] serde_json::Error),
    /// A single message larger than the decoder accepts.
    #[error("JSON message exceeds the limit of {0} bytes")]
    TooLarge(usize),
    /// The stream ended inside a message.
    #[error("JSON stream ended inside a message ({0} bytes left over)")]
    Truncated(usize),
}

/// Decodes JSON values from bytes pushed in as they arrive.
#[derive(Debug)]
pub struct JsonStreamDecoder {
    buf: BytesMut,
    max_message: usize,
}

impl Default for JsonStreamDecoder {
    fn default() -> Self {
        Self::new(16 * 1024 * 1024)
    }
}

impl JsonStreamDecoder {
    /// A decoder refusing single messages longer than `max_message` bytes.
    pub fn new(max_message: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            max_message,
        }
    }

    /// Adds bytes received.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole value, or `None` until more bytes arrive.
    pub fn next_value<T: DeserializeOwned>(&mut self) -> Result<Option<T>, JsonStreamError> {
        let skip = self
            .buf
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
        self.buf.advance(skip);
        if self.buf.is_empty() {
            return Ok(None);
        }
        let mut values = serde_json::Deserializer::from_slice(&self.buf).into_iter::<T>();
        match values.next() {
            Some(Ok(value)) => {
                let used = values.byte_offset();
                self.buf.advance(used);
                Ok(Some(value))
            }
            Some(Err(e)) if e.is_eof() => {
                if self.buf.len() > self.max_message {
                    Err(JsonStreamError::TooLarge(self.max_message))
                } else {
                    Ok(None)
                }
            }
            Some(Err(e)) => Err(JsonStreamError::Invalid(e)),
            None => Ok(None),
        }
    }

    /// Checks the stream ended between messages.
    pub fn finish(&self) -> Result<(), JsonStreamError> {
        match self.buf.iter().filter(|b| !b.is_ascii_whitespace()).count() {
            0 => Ok(()),
            n => Err(JsonStreamError::Truncated(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn decodes_concatenated_and_newline_delimited_split_anywhere() {
        let wire = br#"{"status":"a"}{"status":"b"}
{"status":"c","progressDetail":{}}
  "#;
        for split in 0..wire.len() {
            let mut d = JsonStreamDecoder::default();
            let mut got = Vec::new();
            for part in [&wire[..split], &wire[split..]] {
                d.push(part);
                while let Some(v) = d.next_value::<Value>().unwrap() {
                    got.push(v["status"].clone());
                }
            }
            d.finish().unwrap();
            assert_eq!(
                got,
                vec![json!("a"), json!("b"), json!("c")],
                "split at {split}"
            );
        }
    }

    #[test]
    fn rejects_invalid_oversize_and_truncated() {
        let mut d = JsonStreamDecoder::default();
        d.push(b"{\"a\":1}garbage");
        assert!(d.next_value::<Value>().unwrap().is_some());
        assert!(matches!(
            d.next_value::<Value>(),
            Err(JsonStreamError::Invalid(_))
        ));
        let mut d = JsonStreamDecoder::new(8);
        d.push(b"{\"aaaaaaaaaaaa");
        assert!(matches!(
            d.next_value::<Value>(),
            Err(JsonStreamError::TooLarge(8))
        ));
        let mut d = JsonStreamDecoder::default();
        d.push(b"{\"a\":");
        assert!(d.next_value::<Value>().unwrap().is_none());
        assert!(matches!(d.finish(), Err(JsonStreamError::Truncated(5))));
    }
}
