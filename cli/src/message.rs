//! What the user reads when a command fails: one clear sentence per kind of failure, naming the daemon's
//! address as it was given, as the docker CLI words them.

use wharf_client_core::{Error, TransportErrorKind};

use crate::transport::classify::PLAIN_TO_TLS_BODY;

/// The message for `err`, met while talking to `host` (as given), `tls` saying whether TLS was on.
pub fn user_message(err: &Error, host: &str, tls: bool) -> String {
    match err {
        Error::Transport(t) => match t.kind {
            TransportErrorKind::Connect => {
                format!("Cannot connect to the daemon at {host}. Is it running?")
            }
            TransportErrorKind::PermissionDenied => format!(
                "permission denied while trying to connect to the daemon socket at {host}: {}\n\
                 Hint: run as a user allowed to use that socket, or point -H/DOCKER_HOST at your own \
                 daemon's socket.",
                t.message
            ),
            TransportErrorKind::Tls => format!(
                "TLS handshake with the daemon at {host} failed: {}\n\
                 Hint: check --tlscacert, --tlscert and --tlskey, or the ca.pem, cert.pem and key.pem in \
                 DOCKER_CERT_PATH.",
                t.message
            ),
            TransportErrorKind::ProtocolMismatch if tls => format!(
                "the daemon at {host} answered in plain HTTP, but this client expected TLS.\n\
                 Hint: drop --tls/--tlsverify and unset DOCKER_TLS_VERIFY and DOCKER_TLS, or use the \
                 daemon's TLS port."
            ),
            TransportErrorKind::ProtocolMismatch => plain_to_tls(host),
            TransportErrorKind::Timeout => {
                format!("the daemon at {host} did not answer in time: {}", t.message)
            }
            TransportErrorKind::Io if !tls && host.starts_with("tcp://") => format!(
                "error talking to the daemon at {host}: {}\n\
                 Hint: if the daemon expects TLS, use --tlsverify or set DOCKER_TLS_VERIFY=1.",
                t.message
            ),
            TransportErrorKind::Io => {
                format!("error talking to the daemon at {host}: {}", t.message)
            }
            TransportErrorKind::Config => format!("cannot connect to {host}: {}", t.message),
        },
        Error::Daemon(d) if !tls && d.status == 400 && d.message.contains(PLAIN_TO_TLS_BODY) => {
            plain_to_tls(host)
        }
        other => other.to_string(),
    }
}

fn plain_to_tls(host: &str) -> String {
    format!(
        "the daemon at {host} expects TLS, but this client sent plain HTTP.\n\
         Hint: use --tlsverify (with --tlscacert, --tlscert, --tlskey or DOCKER_CERT_PATH), or set \
         DOCKER_TLS_VERIFY=1."
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_client_core::{DaemonError, ErrorKind, TransportError};

    fn transport(kind: TransportErrorKind, message: &str) -> Error {
        Error::Transport(TransportError::new(kind, message))
    }

    #[test]
    fn daemon_down_has_the_docker_wording() {
        let e = transport(TransportErrorKind::Connect, "No such file or directory");
        assert_eq!(
            user_message(&e, "unix:///run/x.sock", false),
            "Cannot connect to the daemon at unix:///run/x.sock. Is it running?"
        );
    }

    #[test]
    fn permission_denied_names_the_socket() {
        let e = transport(
            TransportErrorKind::PermissionDenied,
            "Permission denied (os error 13)",
        );
        let m = user_message(&e, "unix:///run/x.sock", false);
        assert!(m.starts_with(
            "permission denied while trying to connect to the daemon socket at unix:///run/x.sock"
        ));
        assert!(m.contains("Hint:"), "{m}");
    }

    #[test]
    fn tls_failures_name_host_reason_and_cert_flags() {
        let e = transport(
            TransportErrorKind::Tls,
            "invalid peer certificate: UnknownIssuer",
        );
        let m = user_message(&e, "tcp://h:2376", true);
        assert!(m.contains("tcp://h:2376"), "{m}");
        assert!(m.contains("UnknownIssuer"), "{m}");
        assert!(
            m.contains("--tlscacert") && m.contains("DOCKER_CERT_PATH"),
            "{m}"
        );
    }

    #[test]
    fn protocol_mismatches_say_which_side_expected_tls() {
        let e = transport(TransportErrorKind::ProtocolMismatch, "not TLS");
        let with_tls = user_message(&e, "tcp://h:1", true);
        let without = user_message(&e, "tcp://h:1", false);
        assert!(with_tls.contains("answered in plain HTTP"), "{with_tls}");
        assert!(with_tls.contains("expected TLS"), "{with_tls}");
        assert!(without.contains("expects TLS"), "{without}");
        assert_ne!(with_tls, without);
        let refused = Error::Daemon(DaemonError {
            status: 400,
            kind: ErrorKind::InvalidParameter,
            message: "Client sent an HTTP request to an HTTPS server.".into(),
        });
        assert_eq!(user_message(&refused, "tcp://h:1", false), without);
    }

    #[test]
    fn broken_plain_tcp_connections_hint_at_tls() {
        let e = transport(
            TransportErrorKind::Io,
            "connection closed before message completed",
        );
        assert!(user_message(&e, "tcp://h:2376", false).contains("--tlsverify"));
        assert!(!user_message(&e, "unix:///x", false).contains("Hint"));
        assert!(!user_message(&e, "tcp://h:2376", true).contains("Hint"));
    }

    #[test]
    fn daemon_errors_keep_the_docker_prefix() {
        let e = Error::Daemon(DaemonError {
            status: 404,
            kind: ErrorKind::NotFound,
            message: "No such container: x".into(),
        });
        assert_eq!(
            user_message(&e, "unix:///x", false),
            "Error response from daemon: No such container: x"
        );
    }
}
