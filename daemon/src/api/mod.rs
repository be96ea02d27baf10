//! The Docker Engine API on axum: routers grouped by area as in moby (system and its events, images,
//! containers), and the one place where the per-request work wraps them ([`ApiService`]).
//!
//! Around routing, outermost first: the request log and counters (see every request and its final
//! status), then authentication (see [`auth`]), then `/_ping`, answered ahead of routing (see [`ping`]), then the version prefix (checked and stripped before routing, headers stamped on every
//! answer), then authorization and audit, then routing with dockerd's 404 for unknown paths and methods.

pub(crate) mod access_log;
pub(crate) mod archive;
pub(crate) mod auth;
pub(crate) mod backend;
pub(crate) mod console;
pub(crate) mod containers;
pub(crate) mod distribution;
pub(crate) mod error;
pub(crate) mod events;
pub(crate) mod exec;
pub(crate) mod extract;
pub(crate) mod hijack;
pub(crate) mod images;
pub(crate) mod networks;
pub(crate) mod origin;
pub(crate) mod params;
pub(crate) mod ping;
pub(crate) mod service;
pub(crate) mod stats;
pub(crate) mod system;
pub(crate) mod version;
pub(crate) mod volumes;
pub(crate) mod websocket;
pub(crate) mod wharf;

use axum::Router;

pub(crate) use extract::{invalid_json, json_bytes, JsonBody};
pub(crate) use service::ApiService;

use crate::state::AppState;

/// The whole API for `state`.
pub(crate) fn router(state: AppState) -> ApiService {
    let routes = Router::new()
        .merge(system::routes())
        .merge(events::routes())
        .merge(images::routes())
        .merge(containers::routes())
        .merge(networks::routes())
        .merge(volumes::routes())
        .merge(archive::routes())
        .merge(stats::routes())
        .merge(exec::routes())
        .merge(websocket::routes())
        .merge(wharf::routes());
    with_layers(routes, state)
}

/// Adds the 404 fallbacks and the middlewares to `routes`. Tests use it to serve extra routes exactly as the
/// real ones are served.
pub(crate) fn with_layers(routes: Router<AppState>, state: AppState) -> ApiService {
    let routed = routes
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .with_state(state.clone());
    ApiService::new(routed, state)
}

async fn not_found() -> crate::error::Error {
    error::page_not_found()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{Method, Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn call(method: Method, uri: &str) -> (http::response::Parts, String) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(axum::body::Body::empty())
            .unwrap();
        let (parts, body) = router(AppState::for_tests())
            .oneshot(request)
            .await
            .unwrap()
            .into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (parts, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn unknown_paths_and_methods_are_dockerd_404s_with_headers() {
        for (method, uri) in [
            (Method::GET, "/nope"),
            (Method::GET, "/v1.47/nope"),
            (Method::DELETE, "/_ping"),
            (Method::POST, "/v1.41/info"),
            (Method::GET, "/v1.47"),
        ] {
            let (parts, body) = call(method.clone(), uri).await;
            assert_eq!(parts.status, StatusCode::NOT_FOUND, "{method} {uri}");
            assert_eq!(body, r#"{"message":"page not found"}"#);
            assert_eq!(parts.headers["content-type"], "application/json");
            assert_eq!(parts.headers["api-version"], "1.47");
            assert_eq!(parts.headers["ostype"], "linux");
        }
    }

    #[tokio::test]
    async fn out_of_range_versions_are_400_with_headers() {
        let (parts, body) = call(Method::GET, "/v1.10/info").await;
        assert_eq!(parts.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body,
            r#"{"message":"client version 1.10 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"}"#
        );
        assert_eq!(parts.headers["docker-experimental"], "false");
        let (parts, body) = call(Method::GET, "/v1.99/_ping").await;
        assert_eq!(parts.status, StatusCode::BAD_REQUEST);
        assert!(body.contains("is too new. Maximum supported API version is 1.47"));
        let (parts, body) = call(Method::GET, "/v1.abc/_ping").await;
        assert_eq!(parts.status, StatusCode::BAD_REQUEST);
        assert!(body.contains("invalid API version"), "{body}");
    }

    #[tokio::test]
    async fn requests_are_counted() {
        let state = AppState::for_tests();
        let app = router(state.clone());
        let request = Request::get("/nope")
            .body(axum::body::Body::empty())
            .unwrap();
        app.oneshot(request).await.unwrap();
        let c = state.counters();
        use std::sync::atomic::Ordering::Relaxed;
        assert_eq!(c.requests.load(Relaxed), 1);
        assert_eq!(c.client_errors.load(Relaxed), 1);
        assert_eq!(c.in_flight.load(Relaxed), 0);
    }

    #[tokio::test]
    async fn a_request_dropped_before_its_answer_is_no_longer_in_flight() {
        use std::sync::atomic::Ordering::Relaxed;
        let state = AppState::for_tests();
        let never = axum::routing::get(std::future::pending::<()>);
        let app = with_layers(Router::new().route("/hang", never), state.clone());
        let request = Request::get("/hang")
            .body(axum::body::Body::empty())
            .unwrap();
        let mut call = Box::pin(app.oneshot(request));
        let polled = tokio::time::timeout(std::time::Duration::from_millis(50), &mut call).await;
        assert!(polled.is_err(), "the handler never answers");
        assert_eq!(state.counters().in_flight.load(Relaxed), 1);
        drop(call);
        assert_eq!(state.counters().in_flight.load(Relaxed), 0);
        assert_eq!(state.counters().requests.load(Relaxed), 0);
    }
}
