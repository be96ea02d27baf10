//! Sorting failures into [`TransportErrorKind`]s by what is in their source chain.
//!
//! hyper-util, hyper, tokio-rustls and the OS each wrap the cause in their own error; the kind the CLI words
//! its message by is decided by the innermost `std::io::Error` or `rustls::Error`, and by whether the
//! daemon's answer opened with a TLS record where HTTP was expected.

use std::error::Error as StdError;
use std::io;

use wharf_client_core::{TransportError, TransportErrorKind};

/// The body a Go TLS server answers a plain HTTP request with.
pub const PLAIN_TO_TLS_BODY: &str = "Client sent an HTTP request to an HTTPS server.";

/// What the transport knew when the failure happened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Context {
    /// The transport speaks TLS.
    pub tls: bool,
    /// A plain connection received a TLS record first.
    pub tls_answer_seen: bool,
}

/// The kind and message for a failed request.
pub fn classify(err: &(dyn StdError + 'static), ctx: Context) -> TransportError {
    let connecting = err
        .downcast_ref::<hyper_util::client::legacy::Error>()
        .is_some_and(|e| e.is_connect());
    let mut hyper_error = None;
    let mut io_error = None;
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(r) = e.downcast_ref::<rustls::Error>() {
            return from_rustls(r);
        }
        if let Some(io) = e.downcast_ref::<io::Error>() {
            // io::Error::source() skips the wrapped error itself, so look inside it directly.
            if let Some(r) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                return from_rustls(r);
            }
            io_error.get_or_insert(io);
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            hyper_error.get_or_insert(h);
        }
        current = e.source();
    }
    if !ctx.tls && ctx.tls_answer_seen {
        return TransportError::new(
            TransportErrorKind::ProtocolMismatch,
            "the daemon answered with TLS to a plain HTTP request",
        );
    }
    if let Some(io) = io_error {
        return from_io(io, connecting);
    }
    if let Some(h) = hyper_error {
        if h.is_parse() {
            return TransportError::new(
                TransportErrorKind::Io,
                format!("the daemon's answer is not valid HTTP: {h}"),
            );
        }
        if h.is_timeout() {
            return TransportError::new(TransportErrorKind::Timeout, h.to_string());
        }
        return TransportError::new(TransportErrorKind::Io, describe_chain(err));
    }
    let kind = if connecting {
        TransportErrorKind::Connect
    } else {
        TransportErrorKind::Io
    };
    TransportError::new(kind, describe_chain(err))
}

/// The kind of an OS-level failure; `connecting` says it happened while opening the connection.
pub fn from_io(err: &io::Error, connecting: bool) -> TransportError {
    use io::ErrorKind as K;
    let kind = match err.kind() {
        K::ConnectionRefused
        | K::NotFound
        | K::AddrNotAvailable
        | K::HostUnreachable
        | K::NetworkUnreachable
        | K::NotADirectory => TransportErrorKind::Connect,
        K::PermissionDenied => TransportErrorKind::PermissionDenied,
        K::TimedOut => TransportErrorKind::Timeout,
        _ if connecting => TransportErrorKind::Connect,
        _ => TransportErrorKind::Io,
    };
    TransportError::new(kind, err.to_string())
}

/// The kind of a TLS failure: a non-TLS answer is a protocol mismatch, anything else a TLS error.
pub fn from_rustls(err: &rustls::Error) -> TransportError {
    match err {
        rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType) => {
            TransportError::new(
                TransportErrorKind::ProtocolMismatch,
                "the daemon answered a TLS handshake with something that is not TLS (plain HTTP?)",
            )
        }
        other => TransportError::new(TransportErrorKind::Tls, other.to_string()),
    }
}

/// Whether a plain-HTTP answer is a TLS server's refusal of a plain request.
pub fn is_plain_to_tls_answer(status: u16, body: &[u8]) -> bool {
    status == 400
        && String::from_utf8_lossy(body)
            .trim()
            .contains(PLAIN_TO_TLS_BODY)
}

fn describe_chain(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut current = err.source();
    while let Some(e) = current {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        current = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] io::Error);

    #[test]
    fn io_kinds_map_to_transport_kinds() {
        let k = |kind, connecting| from_io(&io::Error::from(kind), connecting).kind;
        assert_eq!(
            k(io::ErrorKind::ConnectionRefused, true),
            TransportErrorKind::Connect
        );
        assert_eq!(
            k(io::ErrorKind::NotFound, true),
            TransportErrorKind::Connect
        );
        assert_eq!(
            k(io::ErrorKind::PermissionDenied, true),
            TransportErrorKind::PermissionDenied
        );
        assert_eq!(
            k(io::ErrorKind::TimedOut, false),
            TransportErrorKind::Timeout
        );
        assert_eq!(k(io::ErrorKind::Other, true), TransportErrorKind::Connect);
        assert_eq!(
            k(io::ErrorKind::ConnectionReset, false),
            TransportErrorKind::Io
        );
    }

    #[test]
    fn eacces_from_the_os_is_permission_denied() {
        let err = Outer(io::Error::from_raw_os_error(13));
        assert_eq!(
            classify(&err, Context::default()).kind,
            TransportErrorKind::PermissionDenied
        );
    }

    #[test]
    fn rustls_errors_are_found_inside_io_errors() {
        let alert = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(rustls::AlertDescription::UnknownCA),
        );
        let e = classify(&Outer(alert), Context::default());
        assert_eq!(e.kind, TransportErrorKind::Tls);
        assert!(e.message.contains("UnknownCA"), "{}", e.message);
        let plain = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
        );
        assert_eq!(
            classify(&Outer(plain), Context::default()).kind,
            TransportErrorKind::ProtocolMismatch
        );
    }

    #[test]
    fn a_tls_record_on_a_plain_connection_is_a_mismatch() {
        let err = Outer(io::Error::from(io::ErrorKind::ConnectionReset));
        let ctx = Context {
            tls: false,
            tls_answer_seen: true,
        };
        assert_eq!(
            classify(&err, ctx).kind,
            TransportErrorKind::ProtocolMismatch
        );
        assert_eq!(
            classify(&err, Context::default()).kind,
            TransportErrorKind::Io
        );
    }

    #[test]
    fn recognises_the_go_tls_servers_refusal() {
        assert!(is_plain_to_tls_answer(
            400,
            b"Client sent an HTTP request to an HTTPS server.\n"
        ));
        assert!(!is_plain_to_tls_answer(400, b"bad parameter"));
        assert!(!is_plain_to_tls_answer(
            200,
            b"Client sent an HTTP request to an HTTPS server."
        ));
    }
}
