use std::collections::HashMap;

use axum::routing::get;
use axum::Extension;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::*;
use crate::api::with_layers;
use crate::auth::Role;
use crate::state::AppState;

fn anon() -> Peer {
    Peer::Anonymous {
        ip: [192, 0, 2, 1].into(),
    }
}

/// The API with stand-in container routes that answer with the caller's identity, one of them a
/// WebSocket upgrade route.
fn app(state: &AppState) -> crate::api::ApiService {
    let who = |Extension(id): Extension<Identity>| async move { id.label.to_string() };
    let routes = crate::api::system::routes()
        .merge(crate::api::wharf::routes())
        .route("/containers/{id}/attach/ws", get(who))
        .route("/containers/{id}/json", get(who))
        .route("/containers/{id}/stop", axum::routing::post(who));
    with_layers(routes, state.clone())
}

async fn call(
    state: &AppState,
    peer: Option<Peer>,
    method: Method,
    uri: &str,
    token: Option<&str>,
) -> (StatusCode, http::HeaderMap, String) {
    send(state, peer, method, uri, token, false).await
}

/// [`call`], as a WebSocket handshake when `handshake`.
async fn send(
    state: &AppState,
    peer: Option<Peer>,
    method: Method,
    uri: &str,
    token: Option<&str>,
    handshake: bool,
) -> (StatusCode, http::HeaderMap, String) {
    let mut request = Request::builder().method(method).uri(uri);
    if handshake {
        request = request
            .header("upgrade", "websocket")
            .header("connection", "upgrade")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("sec-websocket-version", "13");
    }
    if let Some(t) = token {
        request = request.header("authorization", format!("Bearer {t}"));
    }
    let mut request = request.body(axum::body::Body::empty()).unwrap();
    if let Some(p) = peer {
        request.extensions_mut().insert(p);
    }
    let (parts, body) = app(state).oneshot(request).await.unwrap().into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

fn state() -> AppState {
    AppState::for_tests_with(Auth::in_memory(HashMap::from([(
        "ro".to_owned(),
        Role::Viewer,
    )])))
}

#[tokio::test]
async fn no_credentials_is_401_even_for_a_ping_except_on_plain_loopback() {
    let s = state();
    for uri in ["/_ping", "/v1.47/version"] {
        let (status, headers, body) = call(&s, Some(anon()), Method::GET, uri, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(body, format!(r#"{{"message":"{AUTH_REQUIRED}"}}"#));
        assert_eq!(headers["www-authenticate"], "Bearer");
        assert_eq!(headers["api-version"], "1.47");
    }
    let plain = Peer::Plain {
        ip: [127, 0, 0, 1].into(),
    };
    let (status, _, _) = call(&s, Some(plain.clone()), Method::GET, "/_ping", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = call(&s, Some(plain), Method::GET, "/version", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = call(&s, None, Method::GET, "/version", None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "in-process callers are the unix side"
    );
}

#[tokio::test]
async fn roles_decide_before_routing_and_name_the_action() {
    let s = state();
    let viewer = s
        .auth()
        .tokens
        .create("v", Role::Viewer, None)
        .unwrap()
        .token;
    let get = "/v1.47/containers/web/json";
    let (status, _, body) = call(&s, Some(anon()), Method::GET, get, Some(&viewer)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "token:v"));
    let stop = "/v1.47/containers/web/stop";
    let (status, _, body) = call(&s, Some(anon()), Method::POST, stop, Some(&viewer)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body,
        r#"{"message":"role viewer may not POST /containers/{id}/stop"}"#
    );
    let (status, _, _) = call(&s, Some(Peer::cert("ro")), Method::POST, stop, None).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a certificate mapped to viewer"
    );
    let (status, _, body) = call(&s, Some(Peer::cert("client")), Method::POST, stop, None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "cert:client"));
    let tokens = "/wharf/v1/tokens";
    let (status, _, _) = call(&s, Some(anon()), Method::GET, tokens, Some(&viewer)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_ticket_opens_one_upgrade_as_its_identity_and_nothing_else() {
    let s = state();
    let token = s
        .auth()
        .tokens
        .create("op", Role::Operator, None)
        .unwrap()
        .token;
    let issue = "/wharf/v1/ws-ticket";
    let (status, _, body) = call(&s, Some(anon()), Method::POST, issue, Some(&token)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let ticket = v["Ticket"].as_str().unwrap().to_owned();
    // Not on an ordinary route.
    let uri = format!("/v1.47/containers/web/json?ticket={ticket}");
    let (status, _, _) = call(&s, Some(anon()), Method::GET, &uri, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let uri = format!("/v1.47/containers/web/attach/ws?stream=1&ticket={ticket}");
    // Nor on a plain GET of an upgrade route (a page's image URL): not read, not redeemed, not a
    // failure counted against the address.
    for _ in 0..=crate::auth::limiter::MAX_FAILURES {
        let (status, _, body) = call(&s, Some(anon()), Method::GET, &uri, None).await;
        assert_eq!(
            (status, body),
            (
                StatusCode::UNAUTHORIZED,
                format!(r#"{{"message":"{AUTH_REQUIRED}"}}"#)
            )
        );
    }
    let (status, _, body) = send(&s, Some(anon()), Method::GET, &uri, None, true).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "token:op"));
    let (status, _, body) = send(&s, Some(anon()), Method::GET, &uri, None, true).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "used up: {body}");
}

#[tokio::test]
async fn ten_failures_from_an_address_make_it_wait() {
    let s = state();
    let good = s
        .auth()
        .tokens
        .create("ok", Role::Admin, None)
        .unwrap()
        .token;
    for _ in 0..crate::auth::limiter::MAX_FAILURES {
        let (status, _, body) = call(
            &s,
            Some(anon()),
            Method::GET,
            "/version",
            Some("wharf_wrong"),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body, format!(r#"{{"message":"{INVALID_CREDENTIALS}"}}"#));
    }
    let (status, _, body) = call(&s, Some(anon()), Method::GET, "/version", Some(&good)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let other = Peer::Anonymous {
        ip: [192, 0, 2, 2].into(),
    };
    let (status, _, _) = call(&s, Some(other), Method::GET, "/version", Some(&good)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn whoami_answers_each_identity_and_the_audit_is_for_admins() {
    let dir = tempfile::tempdir().unwrap();
    let roles = HashMap::from([("ro".to_owned(), Role::Viewer)]);
    let s = AppState::for_tests_with(Auth::open(dir.path(), roles).unwrap());
    let viewer = s
        .auth()
        .tokens
        .create("v", Role::Viewer, None)
        .unwrap()
        .token;
    let admin = s
        .auth()
        .tokens
        .create("a", Role::Admin, None)
        .unwrap()
        .token;
    let whoami = "/wharf/v1/whoami";
    let (status, _, body) = call(&s, Some(anon()), Method::GET, whoami, Some(&viewer)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        r#"{"Identity":"token:v","Role":"viewer","Kind":"token"}"#
    );
    let (_, _, body) = call(&s, Some(Peer::cert("ro")), Method::GET, whoami, None).await;
    assert_eq!(
        body,
        r#"{"Identity":"cert:ro","Role":"viewer","Kind":"cert"}"#
    );
    let (_, _, body) = call(&s, Some(Peer::Unix), Method::GET, whoami, None).await;
    assert_eq!(body, r#"{"Identity":"unix","Role":"admin","Kind":"unix"}"#);
    let daemon = "/wharf/v1/daemon";
    let (status, _, body) = call(&s, Some(anon()), Method::GET, daemon, Some(&viewer)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["AuditDropped"], 0);
    assert!(v["Listeners"].is_array(), "{body}");

    // Lines as the writer leaves them, one torn.
    let log = dir.path().join("auth/audit.log");
    let line = |path: &str, status: u16| {
        format!(
            r#"{{"time":"2026-12-06T07:00:00Z","identity":"token:a","role":"admin","method":"POST","path":"{path}","id":null,"status":{status}}}"#
        )
    };
    let text = [
        line("/a", 204),
        line("/b", 409),
        line("/c", 204),
        "{\"ti".into(),
    ]
    .join("\n");
    std::fs::write(&log, text).unwrap();
    let audit = "/wharf/v1/audit?status=2xx&limit=1";
    let (status, _, body) = call(&s, Some(anon()), Method::GET, audit, Some(&viewer)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body,
        r#"{"message":"role viewer may not GET /wharf/v1/audit"}"#
    );
    let (status, headers, body) = call(&s, Some(anon()), Method::GET, audit, Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, format!("[{}]", line("/c", 204)));
    assert_eq!(headers["x-wharf-audit-skipped"], "1");
    for bad in [
        "status=4x",
        "limit=0",
        "limit=x",
        "since=x",
        "since=20&until=10",
    ] {
        let uri = format!("/wharf/v1/audit?{bad}");
        let (status, _, body) = call(&s, Some(anon()), Method::GET, &uri, Some(&admin)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
}

#[tokio::test]
async fn the_consoles_files_need_no_identity_and_the_api_still_does() {
    let files = [(
        "index.html".to_owned(),
        bytes::Bytes::from_static(b"<html>"),
    )];
    let assets = crate::console::Assets::from_files(files).unwrap();
    let console = crate::console::Console::Files(std::sync::Arc::new(assets));
    let serving = AppState::for_tests_serving(Auth::in_memory(HashMap::new()), console);
    for peer in [
        anon(),
        Peer::Plain {
            ip: [127, 0, 0, 1].into(),
        },
    ] {
        for (method, uri) in [(Method::GET, "/"), (Method::HEAD, "/index.html")] {
            let (status, headers, _) = call(&serving, Some(peer.clone()), method, uri, None).await;
            assert_eq!(status, StatusCode::OK, "{uri}");
            assert!(headers.contains_key("content-security-policy"));
        }
        let (status, _, _) = call(
            &serving,
            Some(peer.clone()),
            Method::GET,
            "/console/x.js",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, _) = call(&serving, Some(peer.clone()), Method::POST, "/", None).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        for uri in [
            "/containers/c1/json",
            "/v1.47/",
            "/v1.47/index.html",
            "/info",
        ] {
            let (status, _, body) =
                call(&serving, Some(peer.clone()), Method::GET, uri, None).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}: {body}");
        }
    }
    // Without the console (`--console=false`), its paths are the API's: a token first.
    let (status, _, _) = call(&state(), Some(anon()), Method::GET, "/", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
