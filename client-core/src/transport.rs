//! The one seam between the protocol and I/O.
//!
//! A transport sends a [`Request`] and returns the [`Response`]; it knows sockets, TLS or `fetch`, and
//! nothing of Docker. Natively its futures are `Send`; on wasm32 they need not be.
//!
//! Answers that stream (logs that follow, events, stats, pull progress) never end on their own, or end
//! long after their first bytes matter: a [`StreamingTransport`] hands back the status and headers at
//! once and the body as a [`BodyStream`] of chunks as they arrive, which the incremental decoders of
//! [`stream`](crate::stream) turn into frames and messages.

use std::fmt;
use std::future::Future;

use bytes::{Bytes, BytesMut};
use http::HeaderMap;

use crate::error::Error;
use crate::request::Request;
use crate::response::{daemon_error, Response, MAX_ERROR_BODY};

/// `Send` natively, nothing on wasm32 where JavaScript futures are single-threaded.
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSend: Send {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + ?Sized> MaybeSend for T {}

/// `Send` natively, nothing on wasm32 where JavaScript futures are single-threaded.
#[cfg(target_arch = "wasm32")]
pub trait MaybeSend {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> MaybeSend for T {}

/// Sends requests to one daemon.
pub trait Transport {
    /// Sends `request` and reads the whole response. Error bodies are read up to
    /// [`MAX_ERROR_BODY`].
    fn send(
        &self,
        request: Request,
    ) -> impl Future<Output = Result<Response, TransportError>> + MaybeSend;
}

/// A response body read as it arrives.
pub trait BodyStream {
    /// The next chunk of the body, as soon as there is one; `None` once the body ended. Chunks split
    /// the body anywhere (inside a frame, a message or a character).
    fn next_chunk(
        &mut self,
    ) -> impl Future<Output = Result<Option<Bytes>, TransportError>> + MaybeSend;
}

/// An answer whose head has arrived and whose body is still arriving.
#[derive(Debug)]
pub struct StreamingResponse<B> {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, chunk by chunk.
    pub body: B,
}

impl<B: BodyStream> StreamingResponse<B> {
    /// A header's value, when it is present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The response itself when 2xx; else its body is read (at most [`MAX_ERROR_BODY`] of it) into
    /// the daemon's error. `route` names the request for messages.
    pub async fn error_for_status(mut self, route: &str) -> Result<Self, Error> {
        if (200..300).contains(&self.status) {
            return Ok(self);
        }
        let mut body = BytesMut::new();
        while body.len() < MAX_ERROR_BODY {
            match self.body.next_chunk().await? {
                Some(chunk) => body.extend_from_slice(&chunk),
                None => break,
            }
        }
        Err(Error::Daemon(daemon_error(
            self.status,
            &self.headers,
            &body,
            route,
        )))
    }
}

/// A transport that can also hand back an answer before its body ended.
pub trait StreamingTransport: Transport {
    /// Its bodies.
    type Body: BodyStream;

    /// Sends `request` and returns once the answer's head arrived. Unlike [`Transport::send`], no
    /// timeout bounds the body: a followed log lasts as long as its container.
    fn send_streaming(
        &self,
        request: Request,
    ) -> impl Future<Output = Result<StreamingResponse<Self::Body>, TransportError>> + MaybeSend;
}

/// What kind of failure kept a request from its answer; each gets its own message at the CLI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransportErrorKind {
    /// Nothing listens there (refused, no such socket, host unreachable).
    Connect,
    /// The socket exists but this user may not open it.
    PermissionDenied,
    /// The TLS handshake failed: unknown CA, no or refused client certificate, bad name.
    Tls,
    /// The server answered plain HTTP where TLS was expected, or the reverse.
    ProtocolMismatch,
    /// No answer within the timeout.
    Timeout,
    /// The connection broke or the answer was not valid HTTP.
    Io,
    /// The transport's configuration is unusable (missing certificate files, bad address).
    Config,
}

/// A request that got no answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct TransportError {
    /// Its class.
    pub kind: TransportErrorKind,
    /// What happened, for people.
    pub message: String,
}

impl TransportError {
    /// An error of `kind` saying `message`.
    pub fn new(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
