//! The daemon's one error type: a Docker error class and a message, as moby's `errdefs` — a kind, no
//! status. The backend (runtime, containers, images, logs) speaks only in these kinds; the API turns a kind
//! into an HTTP status at the edge (`api/error.rs`, with the table in client-core's [`ErrorKind::status`]),
//! so nothing below the handlers knows HTTP.

use wharf_client_core::ErrorKind;

use crate::containerd::ContainerdError;

/// A failed operation: its class and a message worded as dockerd words it where clients parse it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub(crate) struct Error {
    /// The Docker error class.
    pub kind: ErrorKind,
    /// dockerd's wording where dockerd has the same error (`No such container: x`).
    pub message: String,
}

impl Error {
    /// An error of `kind`.
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// A malformed or refused parameter (dockerd's `errdefs.InvalidParameter`).
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidParameter, message)
    }

    /// A failure of the daemon or what it runs on (`errdefs.System`), with `e`'s text.
    pub(crate) fn system(e: impl std::fmt::Display) -> Self {
        Self::new(ErrorKind::System, e.to_string())
    }

    /// The same error with `prefix: ` before its message (dockerd's `errors.Wrap`).
    #[must_use]
    pub(crate) fn context(mut self, prefix: impl std::fmt::Display) -> Self {
        self.message = format!("{prefix}: {}", self.message);
        self
    }
}

impl From<ContainerdError> for Error {
    fn from(e: ContainerdError) -> Self {
        Self::new(e.kind(), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_prefixes_the_message_and_keeps_the_kind() {
        let e =
            Error::new(ErrorKind::Conflict, "is not running").context("Cannot kill container: web");
        assert_eq!(e.kind, ErrorKind::Conflict);
        assert_eq!(e.to_string(), "Cannot kill container: web: is not running");
    }
}
