//! The subcommands: each fetches what it shows through a [`Client`](wharf_client_core::Client) and prints
//! it as the docker CLI does, or as JSON with `--format json`.

pub mod audit;
pub mod info;
pub mod ping;
pub mod registry;
pub mod stats;
pub mod token;
pub mod version;

use std::io::{self, Write};

use serde::Serialize;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Talking to the daemon failed.
    #[error(transparent)]
    Client(#[from] wharf_client_core::Error),
    /// Writing the output failed.
    #[error("cannot write the output: {0}")]
    Output(#[from] io::Error),
    /// Encoding the output as JSON failed.
    #[error("cannot encode the output as JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The docker CLI's config file (registry logins) cannot be used.
    #[error(transparent)]
    Credentials(#[from] crate::credentials::CredentialsError),
    /// The command was given something it cannot use.
    #[error("{0}")]
    Usage(String),
}

/// Writes `value` as pretty JSON and a newline.
pub fn write_json<T: Serialize + ?Sized>(
    out: &mut impl Write,
    value: &T,
) -> Result<(), CommandError> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(|e| {
        if e.is_io() {
            CommandError::Output(e.into())
        } else {
            CommandError::Json(e)
        }
    })?;
    writeln!(out)?;
    Ok(())
}

/// `label` padded so values start at column `column` (counted with `indent`), at least one space apart:
/// the layout Go's tabwriter gives `docker version`.
pub fn aligned(indent: &str, label: &str, value: &str, column: usize) -> String {
    let width = column.saturating_sub(indent.len()).max(label.len() + 1);
    format!("{indent}{label:<width$}{value}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment_pads_to_the_column_and_never_glues() {
        assert_eq!(aligned(" ", "Version:", "1", 20), " Version:           1");
        assert_eq!(aligned("  ", "Version:", "1", 20), "  Version:          1");
        assert_eq!(
            aligned(" ", "A very long label here:", "1", 20),
            " A very long label here: 1"
        );
    }

    #[test]
    fn a_closed_reader_is_an_output_error_not_a_json_one() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let err = write_json(&mut Closed, &serde_json::json!({"a": 1})).unwrap_err();
        assert!(matches!(err, CommandError::Output(e) if e.kind() == io::ErrorKind::BrokenPipe));
    }

    #[test]
    fn json_is_pretty_with_a_trailing_newline() {
        let mut out = Vec::new();
        write_json(&mut out, &serde_json::json!({"a": 1})).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "{\n  \"a\": 1\n}\n");
    }
}
