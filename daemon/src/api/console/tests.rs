use std::sync::Arc;

use http::header::{CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use http_body_util::BodyExt;

use super::*;
use crate::console::Assets;

fn console() -> Console {
    let files = [
        ("index.html", &b"<html>"[..]),
        ("app.js", b"js"),
        ("app.wasm", b"\0asm"),
        ("app.wasm.gz", b"gzipped"),
        ("fonts/a b.woff2", b"font"),
    ]
    .map(|(n, b)| (n.to_owned(), Bytes::from_static(b)));
    Console::Files(Arc::new(Assets::from_files(files).unwrap()))
}

fn get(console: &Console, method: Method, uri: &str, headers: &[(&str, &str)]) -> Option<Response> {
    let mut r = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    answer(console, &r.body(()).unwrap())
}

async fn body(r: Response) -> Vec<u8> {
    r.into_body().collect().await.unwrap().to_bytes().to_vec()
}

#[tokio::test]
async fn the_page_and_its_files_with_their_types_and_headers() {
    let c = console();
    for uri in ["/", "/index.html"] {
        let r = get(&c, Method::GET, uri, &[]).unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(r.headers()[CONTENT_SECURITY_POLICY], CSP);
        assert_eq!(r.headers()[X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(r.headers()[X_FRAME_OPTIONS], "DENY");
        assert_eq!(r.headers()[REFERRER_POLICY], "no-referrer");
        assert_eq!(r.headers()[CACHE_CONTROL], "no-cache");
        assert_eq!(body(r).await, b"<html>");
    }
    let js = get(&c, Method::GET, "/console/app.js", &[]).unwrap();
    assert_eq!(js.headers()[CONTENT_TYPE], "text/javascript; charset=utf-8");
    let font = get(&c, Method::GET, "/console/fonts/a%20b.woff2", &[]).unwrap();
    assert_eq!(font.headers()[CONTENT_TYPE], "font/woff2");
    assert_eq!(body(font).await, b"font");
    let head = get(&c, Method::HEAD, "/console/app.js", &[]).unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()[CONTENT_LENGTH], "2");
    assert!(body(head).await.is_empty());
}

#[tokio::test]
async fn gzip_only_for_clients_that_take_it() {
    let c = console();
    let plain = get(&c, Method::GET, "/console/app.wasm", &[]).unwrap();
    assert_eq!(plain.headers()[CONTENT_TYPE], "application/wasm");
    assert_eq!(plain.headers()[VARY], "Accept-Encoding");
    assert!(!plain.headers().contains_key(CONTENT_ENCODING));
    let plain_tag = plain.headers()[ETAG].clone();
    assert_eq!(body(plain).await, b"\0asm");
    for accept in ["gzip, deflate, br", "br;q=1, GZIP;q=0.5", "*"] {
        let gz = get(
            &c,
            Method::GET,
            "/console/app.wasm",
            &[("accept-encoding", accept)],
        )
        .unwrap();
        assert_eq!(gz.headers()[CONTENT_ENCODING], "gzip", "{accept}");
        assert_eq!(gz.headers()[CONTENT_TYPE], "application/wasm");
        assert_ne!(gz.headers()[ETAG], plain_tag);
        assert_eq!(body(gz).await, b"gzipped");
    }
    for accept in [
        "br, deflate",
        "gzip;q=0",
        "gzip; Q=0",
        "gzip;q=NaN",
        "gzip;q=x",
        "identity",
    ] {
        let r = get(
            &c,
            Method::GET,
            "/console/app.wasm",
            &[("accept-encoding", accept)],
        )
        .unwrap();
        assert!(!r.headers().contains_key(CONTENT_ENCODING), "{accept}");
    }
    let js = get(
        &c,
        Method::GET,
        "/console/app.js",
        &[("accept-encoding", "gzip")],
    )
    .unwrap();
    assert!(!js.headers().contains_key(CONTENT_ENCODING));
    assert!(!js.headers().contains_key(VARY));
}

#[tokio::test]
async fn a_known_etag_is_304() {
    let c = console();
    let first = get(&c, Method::GET, "/", &[]).unwrap();
    let tag = first.headers()[ETAG].to_str().unwrap().to_owned();
    assert!(
        tag.starts_with('"') && !tag.starts_with("W/"),
        "strong: {tag}"
    );
    for sent in [
        tag.clone(),
        format!("\"x\", {tag}"),
        format!("W/{tag}"),
        "*".into(),
    ] {
        let r = get(&c, Method::GET, "/", &[(IF_NONE_MATCH.as_str(), &sent)]).unwrap();
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "{sent}");
        assert_eq!(r.headers()[ETAG], tag.as_str());
        assert!(body(r).await.is_empty());
    }
    let stale = get(&c, Method::GET, "/", &[(IF_NONE_MATCH.as_str(), "\"old\"")]).unwrap();
    assert_eq!(stale.status(), StatusCode::OK);
}

#[tokio::test]
async fn nothing_outside_the_files_and_only_reads() {
    let c = console();
    for uri in [
        "/console/../index.html",
        "/console/%2e%2e/index.html",
        "/console/..%2findex.html",
        "/console/%2fetc%2fpasswd",
        "/console//etc/passwd",
        "/console/..\\index.html",
        "/console/fonts/../app.js",
        "/console/",
        "/console/%ff",
        "/console/%zz",
        "/console/index.html%00",
    ] {
        let r = get(&c, Method::GET, uri, &[]).unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(body(r).await, br#"{"message":"page not found"}"#);
    }
    for method in [Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS] {
        let r = get(&c, method.clone(), "/", &[]).unwrap();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(r.headers()[ALLOW], "GET, HEAD");
    }
    for uri in [
        "/_ping",
        "/v1.47/",
        "/containers/json",
        "/console",
        "/v1.47/console/app.js",
    ] {
        assert!(
            get(&c, Method::GET, uri, &[]).is_none(),
            "{uri} is the API's"
        );
    }
}

#[tokio::test]
async fn off_is_the_api_and_not_built_says_how() {
    assert!(get(&Console::Off, Method::GET, "/", &[]).is_none());
    let r = get(&Console::NotBuilt, Method::GET, "/", &[]).unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let text = String::from_utf8(body(r).await).unwrap();
    assert!(
        text.contains("cargo xtask console") && text.contains("--console-dir"),
        "{text}"
    );
}
