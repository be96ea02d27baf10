//! `GET`/`HEAD /_ping`, answered ahead of routing from headers built once.
//!
//! Every docker CLI command and every client's version negotiation starts with a ping, and health checks
//! poll it, so it is the request wharfd answers most. Routing it through the router would cost it a body
//! box, the version extension, the route match and eight header inserts; answered here it costs a copy of
//! a prebuilt header map. Anything that is not a well-formed ping (another method, a version out of
//! range) is left to the router, which answers it as it answers every other request.

use std::sync::LazyLock;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use http::{HeaderMap, HeaderValue, Method, Request};
use wharf_client_core::negotiate::SWARM_HEADER;

use super::version::{stamp_headers, versioned_path};

/// The path, after any `/v{version}` prefix.
const PATH: &str = "/_ping";

/// dockerd's ping headers plus the ones every answer carries.
static HEADERS: LazyLock<HeaderMap> = LazyLock::new(|| {
    let mut headers = HeaderMap::with_capacity(8);
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(SWARM_HEADER, HeaderValue::from_static("inactive"));
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    stamp_headers(&mut headers);
    headers
});

/// The answer to `request` if it is a ping with an acceptable version; `None` for the router to answer.
pub(crate) fn answer<B>(request: &Request<B>) -> Option<Response> {
    let body = match *request.method() {
        Method::GET => Bytes::from_static(b"OK"),
        Method::HEAD => Bytes::new(),
        _ => return None,
    };
    match versioned_path(request.uri().path()) {
        Ok((_, PATH)) => {}
        _ => return None,
    }
    let mut response = Response::new(Body::from(body));
    *response.headers_mut() = HEADERS.clone();
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, uri: &str) -> Request<()> {
        Request::builder().method(method).uri(uri).body(()).unwrap()
    }

    #[test]
    fn answers_pings_with_and_without_a_version() {
        for uri in ["/_ping", "/v1.24/_ping", "/v1.47/_ping?x=1"] {
            let response = answer(&request(Method::GET, uri)).expect(uri);
            assert_eq!(response.status(), http::StatusCode::OK);
            assert_eq!(response.headers()["swarm"], "inactive");
            assert_eq!(response.headers()["api-version"], "1.47");
        }
        assert!(answer(&request(Method::HEAD, "/_ping")).is_some());
    }

    #[test]
    fn leaves_everything_else_to_the_router() {
        for (method, uri) in [
            (Method::POST, "/_ping"),
            (Method::DELETE, "/v1.41/_ping"),
            (Method::GET, "/v1.99/_ping"),
            (Method::GET, "/v1.10/_ping"),
            (Method::GET, "/v1.x/_ping"),
            (Method::GET, "/_ping/x"),
            (Method::GET, "/_pingx"),
            (Method::GET, "/version"),
        ] {
            assert!(
                answer(&request(method.clone(), uri)).is_none(),
                "{method} {uri}"
            );
        }
    }
}
