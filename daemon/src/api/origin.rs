//! Browsers, before anything else: which pages may talk to the daemon at all.
//!
//! A browser sends whatever ambient credentials it holds for the daemon (a client certificate installed
//! in it, say) with requests that any page makes, and a "simple" POST needs no CORS preflight: so a
//! request whose `Origin` is neither the daemon's own (the origin's host and port are the request's
//! authority) nor one configured with `--allow-origin` is refused with 403, on every route, WebSocket
//! upgrades included (cross-site WebSocket hijacking). Requests without `Origin` come from no browser (or
//! are same-origin GETs) and pass.
//!
//! The request's authority is the URI's when it has one, else `Host`: HTTP/2 (which browsers speak to
//! wharfd's TLS listener, since it offers `h2`) carries it as `:authority`, which lands in the URI, and
//! has no `Host` header; HTTP/1.1 requests name only a path and carry `Host`.
//!
//! CORS: none by default. An origin given with `--allow-origin` gets answers it may read
//! (`Access-Control-Allow-Origin` naming it, never `*`), and its preflights are answered here, before
//! authentication, since browsers send preflights without credentials. Credentials are bearer tokens in
//! a header, never cookies: `Access-Control-Allow-Credentials` is never sent.

use axum::response::{IntoResponse, Response};
use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD, HOST,
    ORIGIN, VARY,
};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use wharf_client_core::ErrorKind;

use crate::error::Error;

/// An allowed origin other than the daemon's own: its answers carry CORS headers naming it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CrossOrigin(HeaderValue);

/// Whether `request`'s `Origin` may talk to the daemon: `Ok(None)` for none or the daemon's own,
/// `Ok(Some)` for one of `allowed`, else the 403.
pub(crate) fn check<B>(
    request: &Request<B>,
    allowed: &[String],
) -> Result<Option<CrossOrigin>, Error> {
    let headers = request.headers();
    let Some(value) = headers.get(ORIGIN) else {
        return Ok(None);
    };
    let origin = value.to_str().unwrap_or_default();
    let authority = origin
        .split_once("://")
        .map(|(_, rest)| rest.trim_end_matches('/'));
    let host = match request.uri().authority() {
        Some(authority) => Some(authority.as_str()),
        None => headers.get(HOST).and_then(|h| h.to_str().ok()),
    };
    if matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h)) {
        return Ok(None);
    }
    if allowed.iter().any(|a| a == origin) {
        return Ok(Some(CrossOrigin(value.clone())));
    }
    Err(Error::new(
        ErrorKind::Forbidden,
        format!("origin {origin} may not use this daemon (allow it with --allow-origin)"),
    ))
}

/// The answer to an allowed origin's CORS preflight, if `request` is one.
pub(crate) fn preflight<B>(request: &Request<B>, cross: &CrossOrigin) -> Option<Response> {
    if request.method() != Method::OPTIONS
        || !request
            .headers()
            .contains_key(ACCESS_CONTROL_REQUEST_METHOD)
    {
        return None;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD, POST, PUT, DELETE"),
    );
    h.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type, x-registry-auth"),
    );
    h.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    allow(h, Some(cross));
    Some(response)
}

/// Marks an answer for an allowed cross origin: it may read it, and dockerd's headers.
pub(crate) fn allow(headers: &mut HeaderMap, cross: Option<&CrossOrigin>) {
    let Some(CrossOrigin(origin)) = cross else {
        return;
    };
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    headers.insert(
        ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("api-version, docker-experimental, ostype, server"),
    );
    headers.append(VARY, HeaderValue::from_static("origin"));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An HTTP/1.1 request: a path, and `host` in `Host`.
    fn request(origin: Option<&str>, host: &str) -> Request<()> {
        let mut r = Request::post("/v1.47/containers/create").header(HOST, host);
        if let Some(o) = origin {
            r = r.header(ORIGIN, o);
        }
        r.body(()).unwrap()
    }

    /// An HTTP/2 request as hyper hands it over: the authority in the URI, no `Host`.
    fn h2_request(origin: &str, authority: &str) -> Request<()> {
        Request::post(format!("https://{authority}/v1.47/containers/create"))
            .version(http::Version::HTTP_2)
            .header(ORIGIN, origin)
            .body(())
            .unwrap()
    }

    #[test]
    fn over_http2_the_authority_is_the_uris() {
        let allowed = vec!["https://console.example".to_owned()];
        let own = h2_request("https://127.0.0.1:2376", "127.0.0.1:2376");
        assert_eq!(check(&own, &allowed).unwrap(), None);
        let other = h2_request("https://evil.example", "127.0.0.1:2376");
        assert_eq!(
            check(&other, &allowed).unwrap_err().kind,
            ErrorKind::Forbidden
        );
        let other_port = h2_request("https://127.0.0.1:2377", "127.0.0.1:2376");
        assert!(check(&other_port, &allowed).is_err());
        // The URI's authority wins over a Host header that disagrees with it.
        let mut mixed = h2_request("https://evil.example", "127.0.0.1:2376");
        mixed
            .headers_mut()
            .insert(HOST, HeaderValue::from_static("evil.example"));
        assert!(check(&mixed, &allowed).is_err());
    }

    #[test]
    fn origins_the_daemons_own_configured_or_none() {
        let allowed = vec!["https://console.example".to_owned()];
        let check = |o: Option<&str>, host: &str| check(&request(o, host), &allowed);
        assert_eq!(check(None, "127.0.0.1:2376").unwrap(), None);
        assert_eq!(
            check(Some("https://127.0.0.1:2376"), "127.0.0.1:2376").unwrap(),
            None
        );
        assert_eq!(
            check(Some("http://LOCALHOST:8080"), "localhost:8080").unwrap(),
            None
        );
        assert_eq!(
            check(Some("https://console.example"), "127.0.0.1:2376").unwrap(),
            Some(CrossOrigin(HeaderValue::from_static(
                "https://console.example"
            )))
        );
        for refused in [
            "https://evil.example",
            "https://127.0.0.1:2377",
            "null",
            "https://console.example.evil",
        ] {
            let e = check(Some(refused), "127.0.0.1:2376").unwrap_err();
            assert_eq!(e.kind, ErrorKind::Forbidden);
            assert!(
                e.message.starts_with(&format!("origin {refused} may not")),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn preflights_and_answers_for_an_allowed_origin_only() {
        let cross = CrossOrigin(HeaderValue::from_static("https://console.example"));
        let request = |method: Method, asks: bool| {
            let mut r = Request::builder()
                .method(method)
                .uri("/v1.47/containers/json");
            if asks {
                r = r.header(ACCESS_CONTROL_REQUEST_METHOD, "POST");
            }
            r.body(()).unwrap()
        };
        let answer = preflight(&request(Method::OPTIONS, true), &cross).unwrap();
        assert_eq!(answer.status(), StatusCode::NO_CONTENT);
        let h = answer.headers();
        assert_eq!(h[ACCESS_CONTROL_ALLOW_ORIGIN], "https://console.example");
        assert!(h[ACCESS_CONTROL_ALLOW_HEADERS]
            .to_str()
            .unwrap()
            .contains("authorization"));
        assert!(!h.contains_key("access-control-allow-credentials"));
        assert!(preflight(&request(Method::OPTIONS, false), &cross).is_none());
        assert!(preflight(&request(Method::GET, true), &cross).is_none());
        let mut plain = HeaderMap::new();
        allow(&mut plain, None);
        assert!(plain.is_empty());
    }
}
