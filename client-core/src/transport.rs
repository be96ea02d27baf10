//! The one seam between the protocol and I/O.
//!
//! A transport sends a [`Request`] and returns the [`Response`]; it knows sockets, TLS or `fetch`, and
//! nothing of Docker. Natively its futures are `Send`; on wasm32 they need not be.

use std::fmt;
use std::future::Future;

use crate::request::Request;
use crate::response::Response;

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
    /// [`MAX_ERROR_BODY`](crate::response::MAX_ERROR_BODY).
    fn send(
        &self,
        request: Request,
    ) -> impl Future<Output = Result<Response, TransportError>> + MaybeSend;
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
