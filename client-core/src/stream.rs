//! Streamed answers decoded as they arrive: followed logs, events (and later stats and pull progress).
//!
//! The decoders here are sans-I/O and incremental: [`Incremental::push`] a chunk as a transport read it,
//! then take every whole item it completed with [`Incremental::next_item`]; a browser page or a terminal
//! sees each log line and event when its bytes arrive, not when the answer ends. [`Decoded`] drives one
//! over a [`BodyStream`] for callers with a [`StreamingTransport`](crate::StreamingTransport)
//! ([`Client::logs_stream`](crate::Client::logs_stream), [`Client::events`](crate::Client::events)).

use std::collections::VecDeque;
use std::marker::PhantomData;

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::jsonstream::JsonStreamDecoder;
use crate::stdcopy::{Frame, StdStream, StdcopyDecoder, MULTIPLEXED_MEDIA_TYPE, MULTIPLEXED_SINCE};
use crate::transport::BodyStream;
use crate::version::ApiVersion;

/// A decoder fed bytes as they arrive and giving back whole items.
pub trait Incremental {
    /// What it decodes: a frame, a message.
    type Item;

    /// Adds a chunk received; it may end anywhere.
    fn push(&mut self, chunk: Bytes);

    /// The next whole item, or `None` until more bytes arrive.
    fn next_item(&mut self) -> Result<Option<Self::Item>, Error>;

    /// Checks the answer ended between items.
    fn finish(&mut self) -> Result<(), Error>;
}

/// How a logs, attach or exec answer is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFraming {
    /// stdcopy frames: stdout and stderr multiplexed (no TTY).
    Stdcopy,
    /// The bytes as the container wrote them (a TTY).
    Raw,
}

impl LogFraming {
    /// The framing of an answer with `content_type`, from a daemon speaking `version` (when known), for a
    /// container whose `Config.Tty` is `tty`. From API 1.42 the media type says it; before, daemons name
    /// the raw type for both, and only the container's TTY tells (as the docker CLI goes by).
    pub fn of(content_type: Option<&str>, version: Option<ApiVersion>, tty: bool) -> Self {
        match content_type {
            Some(ct) if ct.starts_with(MULTIPLEXED_MEDIA_TYPE) => Self::Stdcopy,
            Some(_) if version.is_some_and(|v| v >= MULTIPLEXED_SINCE) => Self::Raw,
            _ if tty => Self::Raw,
            _ => Self::Stdcopy,
        }
    }
}

/// Decodes a logs (or attach, or exec) answer into [`Frame`]s: stdcopy frames as they complete, or each
/// raw chunk as one stdout frame. A frame of the daemon's own error stream is an [`Error::Stream`], as
/// moby's `StdCopy` ends with it.
#[derive(Debug)]
pub struct LogsDecoder {
    route: String,
    framing: LogFraming,
    stdcopy: StdcopyDecoder,
    raw: VecDeque<Bytes>,
}

impl LogsDecoder {
    /// A decoder for the answer to `route` framed as `framing`.
    pub fn new(route: impl Into<String>, framing: LogFraming) -> Self {
        Self {
            route: route.into(),
            framing,
            stdcopy: StdcopyDecoder::default(),
            raw: VecDeque::new(),
        }
    }

    fn stdcopy_error(&self, source: crate::stdcopy::StdcopyError) -> Error {
        Error::Stdcopy {
            route: self.route.clone(),
            source,
        }
    }
}

impl Incremental for LogsDecoder {
    type Item = Frame;

    fn push(&mut self, chunk: Bytes) {
        match self.framing {
            LogFraming::Stdcopy => self.stdcopy.push(&chunk),
            LogFraming::Raw if chunk.is_empty() => {}
            LogFraming::Raw => self.raw.push_back(chunk),
        }
    }

    fn next_item(&mut self) -> Result<Option<Frame>, Error> {
        if self.framing == LogFraming::Raw {
            return Ok(self.raw.pop_front().map(|payload| Frame {
                stream: StdStream::Stdout,
                payload,
            }));
        }
        match self.stdcopy.next_frame() {
            Ok(Some(frame)) if frame.stream == StdStream::SystemErr => Err(Error::Stream {
                route: self.route.clone(),
                message: format!(
                    "error from daemon in stream: {}",
                    String::from_utf8_lossy(&frame.payload)
                ),
            }),
            Ok(frame) => Ok(frame),
            Err(e) => Err(self.stdcopy_error(e)),
        }
    }

    fn finish(&mut self) -> Result<(), Error> {
        self.stdcopy.finish().map_err(|e| self.stdcopy_error(e))
    }
}

/// Decodes a stream of JSON messages (`/events`, and later stats and pull progress) into `T`s.
#[derive(Debug)]
pub struct MessageDecoder<T> {
    route: String,
    json: JsonStreamDecoder,
    item: PhantomData<fn() -> T>,
}

impl<T> MessageDecoder<T> {
    /// A decoder for the answer to `route`.
    pub fn new(route: impl Into<String>) -> Self {
        Self {
            route: route.into(),
            json: JsonStreamDecoder::default(),
            item: PhantomData,
        }
    }
}

impl<T: DeserializeOwned> Incremental for MessageDecoder<T> {
    type Item = T;

    fn push(&mut self, chunk: Bytes) {
        self.json.push(&chunk);
    }

    fn next_item(&mut self) -> Result<Option<T>, Error> {
        self.json.next_value().map_err(|source| Error::JsonStream {
            route: self.route.clone(),
            source,
        })
    }

    fn finish(&mut self) -> Result<(), Error> {
        self.json.finish().map_err(|source| Error::JsonStream {
            route: self.route.clone(),
            source,
        })
    }
}

/// A body read as it arrives through decoder `D`: each [`next`](Self::next) reads only as many chunks
/// as the next item needs.
#[derive(Debug)]
pub struct Decoded<B, D> {
    body: B,
    decoder: D,
    /// The body ended.
    ended: bool,
    /// An error was returned: nothing follows it (the decoder may hold the rest of what it refused).
    failed: bool,
}

impl<B: BodyStream, D: Incremental> Decoded<B, D> {
    /// `body` decoded with `decoder`.
    pub fn new(body: B, decoder: D) -> Self {
        Self {
            body,
            decoder,
            ended: false,
            failed: false,
        }
    }

    /// The next item; `None` once the body ended, or after an error.
    pub async fn next(&mut self) -> Option<Result<D::Item, Error>> {
        while !self.failed {
            match self.decoder.next_item() {
                Ok(Some(item)) => return Some(Ok(item)),
                Ok(None) if self.ended => return None,
                Ok(None) => {}
                Err(e) => return self.fail(e),
            }
            match self.body.next_chunk().await {
                Ok(Some(chunk)) => self.decoder.push(chunk),
                Ok(None) => {
                    self.ended = true;
                    if let Err(e) = self.decoder.finish() {
                        return self.fail(e);
                    }
                }
                Err(e) => return self.fail(e.into()),
            }
        }
        None
    }

    /// The body underneath, e.g. to cancel it.
    pub fn body_mut(&mut self) -> &mut B {
        &mut self.body
    }

    fn fail(&mut self, error: Error) -> Option<Result<D::Item, Error>> {
        self.failed = true;
        Some(Err(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stdcopy::encode;
    use crate::transport::{StreamingResponse, TransportError, TransportErrorKind};
    use crate::ErrorKind;
    use futures_executor::block_on;
    use http::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
    use serde_json::Value;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Hands out its chunks one per read and counts the reads.
    #[derive(Debug)]
    struct Chunks {
        chunks: VecDeque<Result<Bytes, TransportError>>,
        reads: Arc<AtomicUsize>,
    }

    impl Chunks {
        fn new(chunks: Vec<Vec<u8>>) -> (Self, Arc<AtomicUsize>) {
            let reads = Arc::new(AtomicUsize::new(0));
            let chunks = chunks.into_iter().map(|c| Ok(Bytes::from(c))).collect();
            let body = Self {
                chunks,
                reads: reads.clone(),
            };
            (body, reads)
        }
    }

    impl BodyStream for Chunks {
        async fn next_chunk(&mut self) -> Result<Option<Bytes>, TransportError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            self.chunks.pop_front().transpose()
        }
    }

    fn logs(
        framing: LogFraming,
        chunks: Vec<Vec<u8>>,
    ) -> (Decoded<Chunks, LogsDecoder>, Arc<AtomicUsize>) {
        let (body, reads) = Chunks::new(chunks);
        (
            Decoded::new(body, LogsDecoder::new("GET /logs", framing)),
            reads,
        )
    }

    #[test]
    fn each_frame_comes_as_soon_as_its_last_byte_arrived() {
        let one = encode(StdStream::Stdout, b"1\n");
        let two = encode(StdStream::Stderr, b"2\n");
        // The first frame split inside its header and its payload, the second whole in the third chunk.
        let (mut stream, reads) = logs(
            LogFraming::Stdcopy,
            vec![
                one[..3].to_vec(),
                one[3..].to_vec(),
                two.clone(),
                Vec::new(),
            ],
        );
        block_on(async {
            let first = stream.next().await.unwrap().unwrap();
            assert_eq!(
                (first.stream, &first.payload[..]),
                (StdStream::Stdout, &b"1\n"[..])
            );
            assert_eq!(
                reads.load(Ordering::SeqCst),
                2,
                "not a chunk more than the frame needs"
            );
            let second = stream.next().await.unwrap().unwrap();
            assert_eq!(
                (second.stream, &second.payload[..]),
                (StdStream::Stderr, &b"2\n"[..])
            );
            assert_eq!(reads.load(Ordering::SeqCst), 3);
            assert!(stream.next().await.is_none());
            assert!(stream.next().await.is_none());
        });
    }

    #[test]
    fn raw_output_is_each_chunk_as_it_came_on_stdout() {
        let (mut stream, reads) = logs(
            LogFraming::Raw,
            vec![b"a".to_vec(), Vec::new(), b"b\n".to_vec()],
        );
        block_on(async {
            assert_eq!(&stream.next().await.unwrap().unwrap().payload[..], b"a");
            assert_eq!(reads.load(Ordering::SeqCst), 1);
            let b = stream.next().await.unwrap().unwrap();
            assert_eq!((b.stream, &b.payload[..]), (StdStream::Stdout, &b"b\n"[..]));
            assert!(stream.next().await.is_none());
        });
    }

    #[test]
    fn the_daemon_s_error_frame_a_truncated_frame_and_a_broken_body_end_the_stream() {
        let mut wire = encode(StdStream::Stdout, b"x");
        wire.extend(encode(StdStream::SystemErr, b"boom"));
        wire.extend(encode(StdStream::Stdout, b"never"));
        let (mut stream, _) = logs(LogFraming::Stdcopy, vec![wire]);
        block_on(async {
            assert!(stream.next().await.unwrap().is_ok());
            let err = stream.next().await.unwrap().unwrap_err();
            assert_eq!(err.to_string(), "error from daemon in stream: boom");
            assert!(stream.next().await.is_none(), "nothing after an error");
        });
        let (mut stream, _) = logs(
            LogFraming::Stdcopy,
            vec![encode(StdStream::Stdout, b"abc")[..9].to_vec()],
        );
        let err = block_on(stream.next()).unwrap().unwrap_err();
        assert!(matches!(err, Error::Stdcopy { .. }), "{err}");
        let (mut body, _) = Chunks::new(vec![b"{}".to_vec()]);
        body.chunks
            .push_back(Err(TransportError::new(TransportErrorKind::Io, "reset")));
        let mut stream = Decoded::new(body, MessageDecoder::<Value>::new("GET /events"));
        block_on(async {
            assert!(stream.next().await.unwrap().is_ok());
            let err = stream.next().await.unwrap().unwrap_err();
            assert!(matches!(err, Error::Transport(_)), "{err}");
            assert!(stream.next().await.is_none());
        });
    }

    #[test]
    fn messages_split_anywhere_come_one_by_one() {
        let wire = b"{\"Action\":\"create\"}\n{\"Action\":\"start\"}\n";
        for split in 1..wire.len() {
            let (body, reads) = Chunks::new(vec![wire[..split].to_vec(), wire[split..].to_vec()]);
            let mut stream = Decoded::new(body, MessageDecoder::<Value>::new("GET /events"));
            block_on(async {
                let first = stream.next().await.unwrap().unwrap();
                assert_eq!(first["Action"], "create", "split at {split}");
                let needed = if split >= 19 { 1 } else { 2 };
                assert_eq!(reads.load(Ordering::SeqCst), needed, "split at {split}");
                assert_eq!(stream.next().await.unwrap().unwrap()["Action"], "start");
                assert!(stream.next().await.is_none());
            });
        }
    }

    #[test]
    fn the_media_type_names_the_framing_from_1_42_and_the_tty_before() {
        let (old, new) = (Some(ApiVersion::new(1, 41)), Some(MULTIPLEXED_SINCE));
        let raw = Some(crate::stdcopy::RAW_MEDIA_TYPE);
        let mux = Some(MULTIPLEXED_MEDIA_TYPE);
        assert_eq!(LogFraming::of(mux, new, true), LogFraming::Stdcopy);
        assert_eq!(LogFraming::of(raw, new, false), LogFraming::Raw);
        assert_eq!(LogFraming::of(raw, old, false), LogFraming::Stdcopy);
        assert_eq!(LogFraming::of(raw, old, true), LogFraming::Raw);
        assert_eq!(LogFraming::of(raw, None, false), LogFraming::Stdcopy);
        assert_eq!(LogFraming::of(None, new, true), LogFraming::Raw);
    }

    #[test]
    fn an_error_status_reads_the_body_into_the_daemon_s_error() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let (body, _) = Chunks::new(vec![
            b"{\"message\":\"No such ".to_vec(),
            b"container: x\"}".to_vec(),
        ]);
        let response = StreamingResponse {
            status: 404,
            headers,
            body,
        };
        let err = block_on(response.error_for_status("GET /x")).unwrap_err();
        assert_eq!(err.kind(), Some(ErrorKind::NotFound));
        assert_eq!(
            err.to_string(),
            "Error response from daemon: No such container: x"
        );
    }
}
