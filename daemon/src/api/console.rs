//! The browser console's files over HTTP: `GET`/`HEAD` of `/` and `/index.html` (the page) and of
//! `/console/<path>` (everything it loads), answered by [`ApiService`](super::ApiService) before
//! authentication — they are the policy's public class (`auth::policy::is_public`), since a browser must
//! load the login page before it has a token — and before routing, so no API path changes.
//!
//! Why these headers: the page holds a token that can run containers, so it must run nothing but its own
//! files ([`CSP`]: no inline script, no other origin, no framing), content types are never sniffed, and
//! `Cache-Control: no-cache` with a strong `ETag` lets a browser keep the files yet see a new daemon's
//! console at once (a 304 costs a round trip, no body). The build may write a `<file>.gz` beside each
//! file; it is sent to clients that accept gzip. Files are looked up in the in-memory map of
//! `crate::console`, so no path, however encoded, reaches the file system.

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::header::{
    ACCEPT_ENCODING, ALLOW, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH,
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH, REFERRER_POLICY, VARY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};

use crate::auth::policy::{is_console_path, is_public, CONSOLE_PREFIX};
use crate::console::{Asset, Console};

/// The console's Content-Security-Policy: its own files only, WebAssembly compiled from them, and
/// connections to this daemon (its API and WebSockets).
pub(crate) const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The 404 of a daemon serving the console without having one.
pub(crate) const NOT_BUILT: &str = "the browser console is not built into this wharfd: run `cargo xtask console` and build wharfd again, or start wharfd with --console-dir DIR";

/// The answer to `request` if it is for the console (served, and one of its paths); `None` leaves it to
/// the API.
pub(crate) fn answer<B>(console: &Console, request: &Request<B>) -> Option<Response> {
    let path = request.uri().path();
    if matches!(console, Console::Off) || !is_console_path(path) {
        return None;
    }
    // Reads of the console's paths are the policy's public class; anything else there is refused
    // before authentication, since it would change nothing whoever sent it.
    if !is_public(request.method().as_str(), path) {
        let mut r = message(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed: the console's files are only read (GET, HEAD)",
        );
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return Some(r);
    }
    let head = request.method() == Method::HEAD;
    let Console::Files(assets) = console else {
        return Some(message(StatusCode::NOT_FOUND, NOT_BUILT));
    };
    let asset = file_name(path).and_then(|name| Some((assets.get(&name)?, name)));
    let Some((asset, name)) = asset else {
        return Some(message(StatusCode::NOT_FOUND, "page not found"));
    };
    Some(serve(asset, &name, request.headers(), head))
}

/// The console's file a path names: `index.html` for `/` and `/index.html`, else what follows
/// `/console/`, percent-decoded; `None` if that is no UTF-8.
fn file_name(path: &str) -> Option<String> {
    match path {
        "/" | "/index.html" => Some("index.html".to_owned()),
        _ => percent_decode(path.strip_prefix(CONSOLE_PREFIX)?),
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The answer with `asset` (or its gzip form, if the client takes it): 304 if the client has it.
fn serve(asset: &Asset, name: &str, request: &HeaderMap, head: bool) -> Response {
    let gzip = asset.gzip.as_deref().filter(|_| accepts_gzip(request));
    let chosen = gzip.unwrap_or(asset);
    let fresh = request
        .get_all(IF_NONE_MATCH)
        .iter()
        .any(|v| matches_etag(v, &chosen.etag));
    let (status, body) = match (fresh, head) {
        (true, _) => (StatusCode::NOT_MODIFIED, Bytes::new()),
        (false, true) => (StatusCode::OK, Bytes::new()),
        (false, false) => (StatusCode::OK, chosen.body.clone()),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let h = response.headers_mut();
    secure(h);
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(etag) = HeaderValue::from_str(&chosen.etag) {
        h.insert(ETAG, etag);
    }
    if asset.gzip.is_some() {
        h.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    if status == StatusCode::OK {
        h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type(name)));
        h.insert(CONTENT_LENGTH, HeaderValue::from(chosen.body.len()));
        if gzip.is_some() {
            h.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
    }
    response
}

/// The headers every console answer carries.
fn secure(h: &mut HeaderMap) {
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// A `{"message": ...}` answer, as the API's errors are.
fn message(status: StatusCode, text: &str) -> Response {
    let body = serde_json::json!({ "message": text }).to_string();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let h = response.headers_mut();
    secure(h);
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Whether `Accept-Encoding` admits gzip (named, or `*`, with a quality above zero; `q` in any case).
fn accepts_gzip(request: &HeaderMap) -> bool {
    request
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            // A quality that is zero, or not a number in (0, 1] (`q=NaN`), refuses the coding.
            let refused = parts.any(|p| {
                p.split_once('=').is_some_and(|(key, value)| {
                    key.trim().eq_ignore_ascii_case("q")
                        && !value
                            .trim()
                            .parse::<f32>()
                            .is_ok_and(|q| q > 0.0 && q <= 1.0)
                })
            });
            !refused
                && (name.eq_ignore_ascii_case("gzip")
                    || name.eq_ignore_ascii_case("x-gzip")
                    || name == "*")
        })
}

/// Whether an `If-None-Match` value names `etag` (weak comparison, as RFC 9110 asks for this header).
fn matches_etag(value: &HeaderValue, etag: &str) -> bool {
    let Ok(value) = value.to_str() else {
        return false;
    };
    value
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

/// The media type of a file by its extension; one browsers must not guess (nosniff).
fn content_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
    match ext.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "txt" => "text/plain; charset=utf-8",
        "gz" => "application/gzip",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests;
