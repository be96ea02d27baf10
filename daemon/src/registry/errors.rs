//! What a failed registry exchange says, worded as dockerd (Go's HTTP client and distribution's
//! error codes) words it, since users and scripts compare these texts: `Get "https://r/v2/": x509:
//! certificate signed by unknown authority`, `manifest unknown: manifest unknown`,
//! `received unexpected HTTP status: 500 Internal Server Error`.

use bytes::{Bytes, BytesMut};
use reqwest::StatusCode;
use wharf_client_core::ErrorKind;

use crate::error::Error;

/// A registry's error answer, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Failure {
    pub status: u16,
    /// The first error code of the body (`MANIFEST_UNKNOWN`), when it had one.
    pub code: Option<String>,
    /// dockerd's text for it.
    pub message: String,
}

impl Failure {
    /// The daemon error: 404 is NotFound, the rest a failure of the registry (dockerd's 500).
    pub(crate) fn into_error(self) -> Error {
        let kind = if self.status == 404 {
            ErrorKind::NotFound
        } else {
            ErrorKind::System
        };
        Error::new(kind, self.message)
    }
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorEntry>,
}

#[derive(serde::Deserialize)]
struct ErrorEntry {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

#[derive(serde::Deserialize)]
struct DetailsBody {
    #[serde(default)]
    details: String,
}

/// Go's text of an error code: `MANIFEST_UNKNOWN` → `manifest unknown`.
fn code_text(code: &str) -> String {
    code.replace('_', " ").to_lowercase()
}

/// Reads a registry's error answer as distribution's `HandleErrorResponse`.
pub(crate) fn failure(status: StatusCode, body: &[u8]) -> Failure {
    let code = status.as_u16();
    let status_line = format!("{} {}", code, status.canonical_reason().unwrap_or_default());
    let fail = |c: Option<&str>, message: String| Failure {
        status: code,
        code: c.map(str::to_owned),
        message,
    };
    if !(400..500).contains(&code) {
        return fail(
            None,
            format!("received unexpected HTTP status: {status_line}"),
        );
    }
    if let Ok(d) = serde_json::from_slice::<DetailsBody>(body) {
        if !d.details.is_empty() {
            let c = match code {
                401 => "UNAUTHORIZED",
                429 => "TOOMANYREQUESTS",
                _ => "UNKNOWN",
            };
            return fail(Some(c), format!("{}: {}", code_text(c), d.details));
        }
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) if !b.errors.is_empty() => {
            let texts: Vec<String> = b
                .errors
                .iter()
                .map(|e| format!("{}: {}", code_text(&e.code), e.message))
                .collect();
            let message = if texts.len() == 1 {
                texts[0].clone()
            } else {
                format!("errors:\n{}\n", texts.join("\n"))
            };
            fail(Some(&b.errors[0].code), message)
        }
        _ if code == 401 => fail(
            Some("UNAUTHORIZED"),
            "unauthorized: authentication required".to_owned(),
        ),
        Ok(_) => fail(
            None,
            format!("received unexpected HTTP status: {status_line}"),
        ),
        Err(e) => fail(
            None,
            format!(
                "error parsing HTTP {code} response body: {e}: {:?}",
                String::from_utf8_lossy(body)
            ),
        ),
    }
}

/// A token server's refusal (`unauthorized: incorrect username or password`); 401s are Unauthorized.
pub(crate) fn token_error(status: StatusCode, body: &[u8]) -> Error {
    let f = failure(status, body);
    let kind = if f.code.as_deref() == Some("UNAUTHORIZED") {
        ErrorKind::Unauthorized
    } else {
        ErrorKind::System
    };
    Error::new(kind, f.message)
}

/// Go's name of an HTTP method in a `url.Error` (`Get`, `Head` ...).
pub(crate) fn go_op(method: &reqwest::Method) -> String {
    let m = method.as_str();
    let mut out = m[..1].to_owned();
    out.push_str(&m[1..].to_lowercase());
    out
}

/// `Get "<url>": <cause>`, as Go's HTTP client reports a request that got no answer.
pub(crate) fn transport(method: &reqwest::Method, url: &str, e: &reqwest::Error) -> Error {
    Error::system(format!("{} \"{url}\": {}", go_op(method), cause(e)))
}

/// A request error with the URL reqwest kept (the token server's: no secrets are in it).
pub(crate) fn transport_bare(e: reqwest::Error) -> Error {
    let url = e
        .url()
        .map(|u| {
            let mut u = u.clone();
            u.set_query(None);
            u.to_string()
        })
        .unwrap_or_default();
    transport(&reqwest::Method::GET, &url, &e)
}

/// The cause of a failed request in Go's words where users know them.
pub(crate) fn cause(e: &reqwest::Error) -> String {
    let addr = e
        .url()
        .map(|u| {
            let host = u.host_str().unwrap_or_default();
            let port = u.port_or_known_default().unwrap_or(0);
            if host.contains(':') && !host.starts_with('[') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            }
        })
        .unwrap_or_default();
    let mut chain: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(text) = known(err, &addr) {
            return text;
        }
        let text = err.to_string();
        // rustls' refusal can reach us only as text (an `io::Error` holding it hides it from
        // `source()` and the connector boxes it): its `Debug` names are stable.
        if let Some(known) = tls_by_name(&text, &addr) {
            return known;
        }
        if text.starts_with("dns error") {
            let host = addr.rsplit_once(':').map_or(addr.as_str(), |(h, _)| h);
            return format!("dial tcp: lookup {host}: no such host");
        }
        if chain.last() != Some(&text) {
            chain.push(text);
        }
        current = err.source();
    }
    if e.is_timeout() {
        return format!("dial tcp {addr}: i/o timeout");
    }
    chain.join(": ")
}

/// Go's text for the causes users know by it: TLS refusals, refused and reset connections.
fn known(err: &(dyn std::error::Error + 'static), addr: &str) -> Option<String> {
    if let Some(tls) = err.downcast_ref::<rustls::Error>() {
        return Some(tls_text(tls, addr));
    }
    let io = err.downcast_ref::<std::io::Error>()?;
    if let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return Some(tls_text(tls, addr));
    }
    match io.kind() {
        std::io::ErrorKind::ConnectionRefused => {
            Some(format!("dial tcp {addr}: connect: connection refused"))
        }
        std::io::ErrorKind::TimedOut => Some(format!("dial tcp {addr}: i/o timeout")),
        std::io::ErrorKind::ConnectionReset => {
            Some(format!("read tcp {addr}: read: connection reset by peer"))
        }
        std::io::ErrorKind::UnexpectedEof => Some("unexpected EOF".to_owned()),
        _ => None,
    }
}

fn tls_by_name(text: &str, addr: &str) -> Option<String> {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    if text.contains("invalid peer certificate: UnknownIssuer") {
        Some("x509: certificate signed by unknown authority".to_owned())
    } else if text.contains("invalid peer certificate: NotValidForName") {
        Some(format!("x509: certificate is not valid for {host}"))
    } else if text.contains("invalid peer certificate: Expired")
        || text.contains("invalid peer certificate: NotValidYet")
    {
        Some("x509: certificate has expired or is not yet valid".to_owned())
    } else if text.contains("received corrupt message of type InvalidContentType") {
        Some("http: server gave HTTP response to HTTPS client".to_owned())
    } else {
        None
    }
}

fn tls_text(e: &rustls::Error, addr: &str) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => {
            "x509: certificate signed by unknown authority".to_owned()
        }
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => {
            let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
            format!("x509: certificate is not valid for {host}")
        }
        rustls::Error::InvalidCertificate(
            C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. },
        ) => "x509: certificate has expired or is not yet valid".to_owned(),
        rustls::Error::InvalidMessage(_) => {
            "http: server gave HTTP response to HTTPS client".to_owned()
        }
        other => format!("tls: {other}"),
    }
}

/// Go's words for a registry that sent no answer's head in time.
pub(crate) const HEAD_TIMEOUT: &str = "net/http: timeout awaiting response headers";

/// Sends `request`, waiting at most [`super::READ_TIMEOUT`] for the answer's head: `Get "<url>":
/// <cause>` when none came, with whether another attempt makes sense.
pub(crate) async fn send(
    method: &reqwest::Method,
    url: &str,
    request: reqwest::RequestBuilder,
) -> Result<reqwest::Response, (Error, bool)> {
    match tokio::time::timeout(super::READ_TIMEOUT, request.send()).await {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => Err((
            transport(method, url, &e),
            super::retry::retryable_transport(&e),
        )),
        Err(_) => Err((
            Error::system(format!("{} \"{url}\": {HEAD_TIMEOUT}", go_op(method))),
            true,
        )),
    }
}

/// The next chunk of a body, within [`super::READ_TIMEOUT`]; the cause in Go's words otherwise.
pub(crate) async fn next_chunk(response: &mut reqwest::Response) -> Result<Option<Bytes>, String> {
    match tokio::time::timeout(super::READ_TIMEOUT, response.chunk()).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(cause(&e)),
        Err(_) => Err("i/o timeout".to_owned()),
    }
}

/// A body of at most `max` bytes.
pub(crate) async fn read_bounded(
    mut response: reqwest::Response,
    max: usize,
) -> Result<Bytes, Error> {
    let mut out = BytesMut::new();
    while let Some(chunk) = next_chunk(&mut response).await.map_err(Error::system)? {
        if out.len() + chunk.len() > max {
            return Err(Error::system(format!(
                "registry answer larger than {max} bytes"
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_answers_read_as_dockerd_words_them() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}"#;
        let f = failure(StatusCode::NOT_FOUND, body);
        assert_eq!(f.message, "manifest unknown: manifest unknown");
        assert_eq!(f.code.as_deref(), Some("MANIFEST_UNKNOWN"));
        assert_eq!(f.clone().into_error().kind, ErrorKind::NotFound);
        assert_eq!(
            failure(StatusCode::INTERNAL_SERVER_ERROR, b"oops").message,
            "received unexpected HTTP status: 500 Internal Server Error"
        );
        assert_eq!(
            failure(StatusCode::UNAUTHORIZED, b"").message,
            "unauthorized: authentication required"
        );
        let hub = br#"{"details":"incorrect username or password"}"#;
        let e = token_error(StatusCode::UNAUTHORIZED, hub);
        assert_eq!(e.message, "unauthorized: incorrect username or password");
        assert_eq!(e.kind, ErrorKind::Unauthorized);
        assert_eq!(
            failure(StatusCode::BAD_REQUEST, b"Client sent an HTTP request").message,
            "error parsing HTTP 400 response body: expected value at line 1 column 1: \"Client sent an HTTP request\""
        );
        assert_eq!(go_op(&reqwest::Method::HEAD), "Head");
    }
}
