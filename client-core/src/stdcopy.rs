//! Docker's stdcopy framing: how non-TTY attach and logs streams multiplex stdout and stderr.
//!
//! Each frame is an 8-byte header — the stream byte (0 stdin, 1 stdout, 2 stderr, 3 system error), three
//! zero bytes, a big-endian `u32` length — then that many bytes. The decoder is incremental: bytes may
//! arrive split anywhere.

use bytes::{Buf, Bytes, BytesMut};

use crate::version::ApiVersion;

/// The header's length.
pub const HEADER_LEN: usize = 8;

/// The media type of a stdcopy-framed logs, attach or exec answer (sent from API 1.42,
/// [`MULTIPLEXED_SINCE`]; older daemons name none, and the container's `Tty` says which framing it is).
pub const MULTIPLEXED_MEDIA_TYPE: &str = "application/vnd.docker.multiplexed-stream";

/// The media type of an unframed logs, attach or exec answer: a container with a TTY. Before API 1.42
/// daemons send it for every such answer, framed or not.
pub const RAW_MEDIA_TYPE: &str = "application/vnd.docker.raw-stream";

/// The first API version whose stdcopy-framed answers say so ([`MULTIPLEXED_MEDIA_TYPE`]).
pub const MULTIPLEXED_SINCE: ApiVersion = ApiVersion::new(1, 42);

/// The media type of a logs, attach or exec answer to a client of API `version`, for a container or
/// exec with a TTY or without, as dockerd names it: multiplexed without a TTY from API 1.42, raw
/// otherwise.
pub fn stream_media_type(version: ApiVersion, tty: bool) -> &'static str {
    if !tty && version >= MULTIPLEXED_SINCE {
        MULTIPLEXED_MEDIA_TYPE
    } else {
        RAW_MEDIA_TYPE
    }
}

/// Which stream a frame belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StdStream {
    /// 0.
    Stdin,
    /// 1.
    Stdout,
    /// 2.
    Stderr,
    /// 3: an error from the daemon, in the middle of the stream.
    SystemErr,
}

impl StdStream {
    fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            0 => Self::Stdin,
            1 => Self::Stdout,
            2 => Self::Stderr,
            3 => Self::SystemErr,
            _ => return None,
        })
    }

    fn byte(self) -> u8 {
        match self {
            Self::Stdin => 0,
            Self::Stdout => 1,
            Self::Stderr => 2,
            Self::SystemErr => 3,
        }
    }
}

/// One decoded frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The stream.
    pub stream: StdStream,
    /// The payload.
    pub payload: Bytes,
}

/// A stream that is not stdcopy-framed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StdcopyError {
    /// The header's first byte names no stream.
    #[error("unrecognized stream: {0}")]
    UnknownStream(u8),
    /// A frame longer than the decoder accepts.
    #[error("stdcopy frame of {len} bytes exceeds the limit of {limit} bytes")]
    FrameTooLarge {
        /// The header's length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The stream ended inside a frame.
    #[error("stdcopy stream ended inside a frame ({0} bytes left over)")]
    Truncated(usize),
}

/// Decodes frames from bytes pushed in as they arrive.
#[derive(Debug)]
pub struct StdcopyDecoder {
    buf: BytesMut,
    max_frame: usize,
}

impl Default for StdcopyDecoder {
    fn default() -> Self {
        Self::new(16 * 1024 * 1024)
    }
}

impl StdcopyDecoder {
    /// A decoder refusing frames longer than `max_frame` bytes.
    pub fn new(max_frame: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            max_frame,
        }
    }

    /// Adds bytes received.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole frame, or `None` until more bytes arrive.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, StdcopyError> {
        if self.buf.len() < HEADER_LEN {
            return Ok(None);
        }
        let stream =
            StdStream::from_byte(self.buf[0]).ok_or(StdcopyError::UnknownStream(self.buf[0]))?;
        let len = u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]) as usize;
        if len > self.max_frame {
            return Err(StdcopyError::FrameTooLarge {
                len,
                limit: self.max_frame,
            });
        }
        if self.buf.len() < HEADER_LEN + len {
            return Ok(None);
        }
        self.buf.advance(HEADER_LEN);
        Ok(Some(Frame {
            stream,
            payload: self.buf.split_to(len).freeze(),
        }))
    }

    /// Checks the stream ended on a frame boundary.
    pub fn finish(&self) -> Result<(), StdcopyError> {
        match self.buf.len() {
            0 => Ok(()),
            n => Err(StdcopyError::Truncated(n)),
        }
    }
}

/// Encodes `payload` as frames of `stream`, split so that no frame exceeds `u32::MAX` bytes. An empty
/// payload is one empty frame, as moby's writer sends it.
pub fn encode(stream: StdStream, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + HEADER_LEN);
    let empty: [&[u8]; 1] = [&[]];
    let chunks: Box<dyn Iterator<Item = &[u8]>> = if payload.is_empty() {
        Box::new(empty.into_iter())
    } else {
        Box::new(payload.chunks(u32::MAX as usize))
    };
    for chunk in chunks {
        out.push(stream.byte());
        out.extend_from_slice(&[0, 0, 0]);
        // `chunks` bounds the length to u32::MAX.
        out.extend_from_slice(&(chunk.len() as u32).to_be_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_frames_split_at_every_byte() {
        let mut wire = encode(StdStream::Stdout, b"hello\n");
        wire.extend(encode(StdStream::Stderr, b"oops"));
        wire.extend(encode(StdStream::Stdout, b""));
        let mut d = StdcopyDecoder::default();
        let mut frames = Vec::new();
        for b in &wire {
            d.push(std::slice::from_ref(b));
            while let Some(f) = d.next_frame().unwrap() {
                frames.push(f);
            }
        }
        d.finish().unwrap();
        assert_eq!(frames.len(), 3);
        assert_eq!(
            frames[0],
            Frame {
                stream: StdStream::Stdout,
                payload: Bytes::from_static(b"hello\n")
            }
        );
        assert_eq!(frames[1].stream, StdStream::Stderr);
        assert_eq!(&frames[1].payload[..], b"oops");
    }

    #[test]
    fn streams_name_their_framing_from_1_42() {
        let (old, new) = (ApiVersion::new(1, 41), MULTIPLEXED_SINCE);
        assert_eq!(stream_media_type(new, false), MULTIPLEXED_MEDIA_TYPE);
        assert_eq!(stream_media_type(new, true), RAW_MEDIA_TYPE);
        assert_eq!(stream_media_type(old, false), RAW_MEDIA_TYPE);
        assert_eq!(stream_media_type(old, true), RAW_MEDIA_TYPE);
    }

    #[test]
    fn header_is_docker_s_layout() {
        assert_eq!(
            encode(StdStream::Stderr, b"ab"),
            [2, 0, 0, 0, 0, 0, 0, 2, b'a', b'b']
        );
    }

    #[test]
    fn rejects_garbage_oversize_and_truncation() {
        let mut d = StdcopyDecoder::default();
        d.push(b"HTTP/1.1 200 OK");
        assert_eq!(d.next_frame(), Err(StdcopyError::UnknownStream(b'H')));
        let mut d = StdcopyDecoder::new(4);
        d.push(&encode(StdStream::Stdout, b"12345"));
        assert!(matches!(
            d.next_frame(),
            Err(StdcopyError::FrameTooLarge { len: 5, .. })
        ));
        let mut d = StdcopyDecoder::default();
        d.push(&encode(StdStream::Stdout, b"12345")[..10]);
        assert_eq!(d.next_frame(), Ok(None));
        assert_eq!(d.finish(), Err(StdcopyError::Truncated(10)));
    }
}
