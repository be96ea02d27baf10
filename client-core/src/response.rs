//! Answers as data: what a transport received, decoded into typed values or typed errors.

use bytes::Bytes;
use http::header::{HeaderMap, CONTENT_TYPE};
use http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::{DaemonError, Error, ErrorKind};

/// How much of an error body is read: a daemon's message is short, anything longer is cut.
pub const MAX_ERROR_BODY: usize = 1024 * 1024;

/// One HTTP response, as any transport received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, whole; a transport reads at most [`MAX_ERROR_BODY`] of an error's body.
    pub body: Bytes,
}

impl Response {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A header's value, when it is present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The response itself when 2xx, else the daemon's error. `route` names the request for messages.
    pub fn error_for_status(self, route: &str) -> Result<Self, Error> {
        if self.is_success() {
            Ok(self)
        } else {
            Err(Error::Daemon(daemon_error(
                self.status,
                &self.headers,
                &self.body,
                route,
            )))
        }
    }

    /// The body decoded as JSON into `T`, or the daemon's error.
    pub fn json<T: DeserializeOwned>(self, route: &str) -> Result<T, Error> {
        let ok = self.error_for_status(route)?;
        serde_json::from_slice(&ok.body).map_err(|source| Error::Decode {
            route: route.to_owned(),
            source,
        })
    }
}

/// The daemon's error out of a non-2xx answer, worded as moby's client words it.
///
/// A JSON body gives its `message`; a text body gives itself, trimmed; an empty one says which route and
/// version the daemon refused, which is what an old daemon answers to an unknown versioned route.
pub fn daemon_error(status: u16, headers: &HeaderMap, body: &[u8], route: &str) -> DaemonError {
    let kind = ErrorKind::from_status(status);
    let body = &body[..body.len().min(MAX_ERROR_BODY)];
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    let message = if body.iter().all(u8::is_ascii_whitespace) {
        let reason = StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("error");
        format!(
            "request returned {reason} for API route and version {route}, check if the server supports the \
             requested API version"
        )
    } else if is_json {
        #[derive(serde::Deserialize)]
        struct Body {
            message: String,
        }
        match serde_json::from_slice::<Body>(body) {
            Ok(b) => b.message,
            Err(e) => format!(
                "error reading JSON: {e}: {}",
                String::from_utf8_lossy(body).trim()
            ),
        }
    } else {
        String::from_utf8_lossy(body).trim().to_owned()
    };
    DaemonError {
        status,
        kind,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn response(status: u16, content_type: Option<&'static str>, body: &'static [u8]) -> Response {
        let mut headers = HeaderMap::new();
        if let Some(ct) = content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        Response {
            status,
            headers,
            body: Bytes::from_static(body),
        }
    }

    #[test]
    fn json_error_gives_message_and_kind() {
        let r = response(
            404,
            Some("application/json"),
            br#"{"message":"No such container: x"}"#,
        );
        let err = r.json::<serde_json::Value>("GET /x").unwrap_err();
        assert_eq!(err.kind(), Some(ErrorKind::NotFound));
        assert_eq!(
            err.to_string(),
            "Error response from daemon: No such container: x"
        );
    }

    #[test]
    fn text_error_gives_trimmed_text() {
        let r = response(
            400,
            Some("text/plain; charset=utf-8"),
            b"client version 1.10 is too old\n",
        );
        let err = r.error_for_status("GET /v1.10/version").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Error response from daemon: client version 1.10 is too old"
        );
        assert_eq!(err.kind(), Some(ErrorKind::InvalidParameter));
    }

    #[test]
    fn empty_or_broken_bodies_still_say_something_clear() {
        let err = response(404, None, b"")
            .error_for_status("GET /v1.47/x")
            .unwrap_err();
        assert!(err
            .to_string()
            .contains("request returned Not Found for API route and version GET /v1.47/x"));
        let err = response(500, Some("application/json"), b"{nope")
            .error_for_status("GET /x")
            .unwrap_err();
        assert!(err.to_string().contains("error reading JSON"), "{err}");
    }

    #[test]
    fn oversized_error_bodies_are_cut() {
        let big = vec![b'a'; MAX_ERROR_BODY + 10];
        let e = daemon_error(500, &HeaderMap::new(), &big, "GET /x");
        assert_eq!(e.message.len(), MAX_ERROR_BODY);
    }

    #[test]
    fn success_bodies_that_do_not_match_are_decode_errors() {
        let err = response(200, Some("application/json"), b"[]")
            .json::<std::collections::HashMap<String, u8>>("GET /x");
        assert!(matches!(err, Err(Error::Decode { .. })));
    }
}
