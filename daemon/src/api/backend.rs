//! The backend's parts as extractors: a handler names the part it needs (`rt: Runtime`,
//! `images: ImageStore`) and gets a clone of that part alone. While containerd starts, extraction waits for
//! it (up to [`crate::state::BACKEND_WAIT`]); without a backend the request is refused with a 503.

use axum::extract::FromRequestParts;
use http::request::Parts;
use wharf_client_core::ErrorKind;

use crate::error::Error;
use crate::images::ImageStore;
use crate::runtime::Runtime;
use crate::state::{AppState, Backend};
use crate::volumes::VolumeStore;

fn unavailable() -> Error {
    Error::new(ErrorKind::Unavailable, "containerd is not available")
}

async fn part<T>(state: &AppState, pick: impl Fn(&Backend) -> T) -> Result<T, Error> {
    state.wait_backend_part(pick).await.ok_or_else(unavailable)
}

impl FromRequestParts<AppState> for Runtime {
    type Rejection = Error;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, Error> {
        part(state, |b| b.containers.clone()).await
    }
}

impl FromRequestParts<AppState> for ImageStore {
    type Rejection = Error;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, Error> {
        part(state, |b| b.images.clone()).await
    }
}

impl FromRequestParts<AppState> for VolumeStore {
    type Rejection = Error;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, Error> {
        part(state, |b| b.volumes.clone()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use axum::Router;
    use http::StatusCode;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn needs_runtime(_: Runtime) -> &'static str {
        "ran"
    }

    #[tokio::test]
    async fn without_a_backend_the_handler_never_runs_and_the_answer_is_503() {
        let routes = Router::new().route("/needs", get(needs_runtime));
        let app = crate::api::with_layers(routes, AppState::for_tests());
        let response = app
            .oneshot(
                http::Request::get("/needs")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], br#"{"message":"containerd is not available"}"#);
    }
}
