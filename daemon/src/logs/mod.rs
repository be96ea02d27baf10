//! Docker's json-file log driver: the [`writer`] appends one JSON object per line to
//! `<data-root>/containers/<id>/<id>-json.log` and rotates it (the container runtime feeds it from a
//! container's stdout and stderr), the [`reader`] reads it back (tail, since/until, follow across rotations) and [`body`]
//! turns what it reads into the `GET /containers/{id}/logs` answer.
//!
//! The file format is dockerd's byte for byte ([`jsonline`]), so `docker logs` tools and log shippers that
//! read dockerd's files read Wharf's.

pub(crate) mod body;
pub(crate) mod jsonline;
pub(crate) mod options;
pub(crate) mod reader;
pub(crate) mod writer;

use std::path::PathBuf;

pub(crate) use body::logs_body;
pub(crate) use options::LogOptions;
pub(crate) use reader::{read, LogEntry, LogQuery, LogStream};
pub(crate) use writer::LogWriter;
pub(crate) use writer::SharedLogWriter;

/// Which output a log line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Source {
    /// The container's stdout.
    Stdout,
    /// The container's stderr.
    Stderr,
}

impl Source {
    /// `stdout` or `stderr`, as the file names it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
        }
    }

    /// The stdcopy stream of the same name.
    pub(crate) fn std_stream(self) -> wharf_client_core::stdcopy::StdStream {
        match self {
            Self::Stdout => wharf_client_core::stdcopy::StdStream::Stdout,
            Self::Stderr => wharf_client_core::stdcopy::StdStream::Stderr,
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Stdout => 0,
            Self::Stderr => 1,
        }
    }
}

/// What can go wrong writing or reading a log.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LogError {
    /// A file operation.
    #[error("cannot {op} {}: {source}", .path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// To which file.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// A log option (`--log-opt`) dockerd would refuse, worded as dockerd words it.
    #[error("{0}")]
    InvalidOption(String),
}

impl LogError {
    fn io(op: &'static str, path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_owned();
        move |source| Self::Io { op, path, source }
    }
}

/// A fresh directory for a test, removed when dropped.
#[cfg(test)]
pub(crate) fn temp_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("wharf-logs-{name}-"))
        .tempdir()
        .unwrap()
}
