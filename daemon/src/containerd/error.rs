//! What can go wrong with containerd, and the Docker error class each failure is answered with.

use std::path::PathBuf;

use containerd_client::tonic::{Code, Status};
use wharf_client_core::ErrorKind;

/// A containerd failure.
#[derive(Debug, thiserror::Error)]
pub enum ContainerdError {
    /// The `containerd` binary is not installed.
    #[error("containerd was not found in PATH: install Debian's containerd and runc packages (apt-get install containerd runc) or run `cargo xtask setup`, or point --containerd at a running containerd's socket")]
    Missing,
    /// A socket path that a unix socket cannot have.
    #[error("the containerd socket path {} is longer than 107 bytes: use a shorter --exec-root", .0.display())]
    SocketPathTooLong(PathBuf),
    /// Files and processes.
    #[error("{what} {}: {source}", .path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// To which path.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// containerd exited before it answered.
    #[error("containerd exited during start-up ({0}); its output is in wharfd's log")]
    Exited(String),
    /// containerd did not answer in time.
    #[error("containerd at {} did not answer within {secs} s: {last}", .socket.display())]
    NotReady {
        /// Its socket.
        socket: PathBuf,
        /// The deadline.
        secs: u64,
        /// The last failure seen.
        last: String,
    },
    /// The namespace is not one containerd accepts.
    #[error("invalid containerd namespace {0:?}: use letters, digits and single '.', '_' or '-' between them")]
    Namespace(String),
    /// A call that containerd answered with an error.
    #[error("containerd {op}: {}", .status.message())]
    Rpc {
        /// The call.
        op: &'static str,
        /// containerd's status.
        status: Box<Status>,
    },
}

impl ContainerdError {
    /// Wraps a gRPC status from call `op`.
    pub fn rpc(op: &'static str, status: Status) -> Self {
        Self::Rpc {
            op,
            status: Box::new(status),
        }
    }

    /// The gRPC code, when containerd answered.
    pub fn code(&self) -> Option<Code> {
        match self {
            Self::Rpc { status, .. } => Some(status.code()),
            _ => None,
        }
    }

    /// containerd's own message for a failed call, else the whole error.
    pub fn message(&self) -> String {
        match self {
            Self::Rpc { status, .. } => status.message().to_owned(),
            other => other.to_string(),
        }
    }

    /// Whether containerd said the object does not exist.
    pub fn is_not_found(&self) -> bool {
        self.code() == Some(Code::NotFound)
    }

    /// Whether containerd said the object exists already.
    pub fn is_already_exists(&self) -> bool {
        self.code() == Some(Code::AlreadyExists)
    }

    /// The Docker error class this failure is answered with.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Rpc { status, .. } => code_kind(status.code()),
            Self::NotReady { .. } | Self::Exited(_) => ErrorKind::Unavailable,
            _ => ErrorKind::System,
        }
    }
}

/// The Docker error class for a gRPC status code, as moby's `errdefs.FromGRPC`.
pub(crate) fn code_kind(code: Code) -> ErrorKind {
    match code {
        Code::NotFound => ErrorKind::NotFound,
        Code::AlreadyExists | Code::FailedPrecondition | Code::Aborted => ErrorKind::Conflict,
        Code::InvalidArgument | Code::OutOfRange => ErrorKind::InvalidParameter,
        Code::Unavailable | Code::ResourceExhausted => ErrorKind::Unavailable,
        Code::PermissionDenied => ErrorKind::Forbidden,
        Code::Unauthenticated => ErrorKind::Unauthorized,
        Code::Unimplemented => ErrorKind::NotImplemented,
        _ => ErrorKind::System,
    }
}

/// Whether `ns` is a valid containerd namespace (`^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$`, at most 76 bytes).
pub(crate) fn valid_namespace(ns: &str) -> bool {
    let mut prev_sep = true;
    for c in ns.chars() {
        let sep = matches!(c, '.' | '_' | '-');
        if sep && prev_sep || !sep && !c.is_ascii_alphanumeric() {
            return false;
        }
        prev_sep = sep;
    }
    !ns.is_empty() && !prev_sep && ns.len() <= 76
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_codes_map_to_docker_classes() {
        assert_eq!(code_kind(Code::NotFound), ErrorKind::NotFound);
        assert_eq!(code_kind(Code::AlreadyExists), ErrorKind::Conflict);
        assert_eq!(code_kind(Code::FailedPrecondition), ErrorKind::Conflict);
        assert_eq!(
            code_kind(Code::InvalidArgument),
            ErrorKind::InvalidParameter
        );
        assert_eq!(code_kind(Code::Unavailable), ErrorKind::Unavailable);
        assert_eq!(code_kind(Code::Internal), ErrorKind::System);
        let e = ContainerdError::rpc("image get", Status::not_found("image \"x\": not found"));
        assert!(e.is_not_found());
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(
            e.to_string(),
            "containerd image get: image \"x\": not found"
        );
        assert_eq!(ContainerdError::Missing.kind(), ErrorKind::System);
    }

    #[test]
    fn namespaces_follow_containerd_rules() {
        for ok in ["wharf", "a.b-c_d", "x1"] {
            assert!(valid_namespace(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "a..b", "a/b", "a b", &"x".repeat(77)] {
            assert!(!valid_namespace(bad), "{bad}");
        }
    }
}
