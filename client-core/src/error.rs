//! Errors as Docker classifies them.
//!
//! [`ErrorKind`] is the one table between HTTP status codes and Docker's error classes (moby's `errdefs`):
//! the client decodes a status into a kind, the daemon encodes a kind into a status.

use std::fmt;

use crate::jsonstream::JsonStreamError;
use crate::stdcopy::StdcopyError;
use crate::transport::TransportError;
use crate::version::{ApiVersion, InvalidApiVersion};

/// Docker's error classes, each with the status code dockerd answers it with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// 304: the request changed nothing (starting a started container).
    NotModified,
    /// 400: the request was malformed or named an invalid value.
    InvalidParameter,
    /// 401: credentials are missing or wrong.
    Unauthorized,
    /// 403: the operation is not allowed.
    Forbidden,
    /// 404: the object or route does not exist.
    NotFound,
    /// 409: the object is in a state that forbids the operation.
    Conflict,
    /// 413: the request body is larger than the daemon accepts.
    PayloadTooLarge,
    /// 429: too many failed logins from this address lately (Wharf's own).
    TooManyRequests,
    /// 500: the daemon failed.
    System,
    /// 501: the daemon does not implement the operation.
    NotImplemented,
    /// 503: the daemon cannot serve the operation now.
    Unavailable,
    /// Any other status.
    Unknown,
}

impl ErrorKind {
    /// The kind an HTTP status code stands for.
    pub fn from_status(status: u16) -> Self {
        match status {
            304 => Self::NotModified,
            400 => Self::InvalidParameter,
            401 => Self::Unauthorized,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            409 => Self::Conflict,
            413 => Self::PayloadTooLarge,
            429 => Self::TooManyRequests,
            500 => Self::System,
            501 => Self::NotImplemented,
            503 => Self::Unavailable,
            _ => Self::Unknown,
        }
    }

    /// The HTTP status code dockerd answers this kind with.
    pub fn status(self) -> u16 {
        match self {
            Self::NotModified => 304,
            Self::InvalidParameter => 400,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::PayloadTooLarge => 413,
            Self::TooManyRequests => 429,
            Self::System | Self::Unknown => 500,
            Self::NotImplemented => 501,
            Self::Unavailable => 503,
        }
    }
}

/// An error the daemon answered with: its status, its class and its message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Error response from daemon: {message}")]
pub struct DaemonError {
    /// The HTTP status code.
    pub status: u16,
    /// The class the status stands for.
    pub kind: ErrorKind,
    /// The daemon's message, as it worded it.
    pub message: String,
}

/// Everything that can go wrong talking to a daemon.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The daemon answered with an error.
    #[error(transparent)]
    Daemon(#[from] DaemonError),
    /// The request never got an answer: connection, TLS or I/O failure.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A success answer whose body is not what the API documents.
    #[error("cannot decode the daemon's answer to {route}: {source}")]
    Decode {
        /// The request line the answer belongs to.
        route: String,
        /// What the JSON decoder said.
        #[source]
        source: serde_json::Error,
    },
    /// A success answer whose stream of JSON messages is malformed.
    #[error("cannot decode the daemon's answer to {route}: {source}")]
    JsonStream {
        /// The request line the answer belongs to.
        route: String,
        /// What the stream decoder said.
        #[source]
        source: JsonStreamError,
    },
    /// A success answer whose stdcopy-framed stream is malformed.
    #[error("cannot decode the daemon's answer to {route}: {source}")]
    Stdcopy {
        /// The request line the answer belongs to.
        route: String,
        /// What the frame decoder said.
        #[source]
        source: StdcopyError,
    },
    /// An error the daemon reported inside a streamed answer it had begun with a success status: the
    /// `error` of a JSON message (an import failing half-way), or a stdcopy frame of its error stream.
    /// Shown as the docker CLI shows it: the message alone.
    #[error("{message}")]
    Stream {
        /// The request line the answer belongs to.
        route: String,
        /// The daemon's message.
        message: String,
    },
    /// A request body that cannot be encoded.
    #[error("cannot encode the request body: {0}")]
    Encode(#[source] serde_json::Error),
    /// The daemon speaks no API version this client can use.
    #[error("the daemon's API version {server} is too old: this client needs at least {minimum}")]
    ServerTooOld {
        /// What the daemon announced.
        server: ApiVersion,
        /// What this client needs at least.
        minimum: ApiVersion,
    },
    /// The daemon announced a version string that does not parse.
    #[error("the daemon announced an invalid API version: {0}")]
    InvalidServerVersion(#[source] InvalidApiVersion),
    /// A malformed argument given to the client, caught before anything was sent.
    #[error("{0}")]
    InvalidArgument(String),
}

impl Error {
    /// The daemon's error class, when the daemon answered with one.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            Self::Daemon(e) => Some(e.kind),
            _ => None,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_for_every_docker_class() {
        for status in [304, 400, 401, 403, 404, 409, 413, 429, 500, 501, 503] {
            assert_eq!(ErrorKind::from_status(status).status(), status);
        }
        assert_eq!(ErrorKind::from_status(418), ErrorKind::Unknown);
    }

    #[test]
    fn daemon_error_displays_as_the_docker_cli_does() {
        let e = DaemonError {
            status: 404,
            kind: ErrorKind::NotFound,
            message: "No such container: x".into(),
        };
        assert_eq!(
            e.to_string(),
            "Error response from daemon: No such container: x"
        );
    }
}
