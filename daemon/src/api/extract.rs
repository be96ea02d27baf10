//! `JsonBody<T>`: the JSON request body extractor every endpoint that takes a body uses instead of axum's
//! `Json`, so that content-type, size and syntax errors are answered as dockerd answers them (400 or 413
//! with a `{"message": ...}` body) and a slow client cannot hold a handler forever.

use std::time::Duration;

use axum::extract::{FromRequest, Request};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;
use wharf_client_core::ErrorKind;

use crate::error::Error;

/// The largest JSON body accepted.
pub(crate) const MAX_JSON_BODY: usize = 1024 * 1024;

/// How long reading a body may take.
pub(crate) const BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// A JSON request body decoded into `T`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct JsonBody<T>(pub T);

fn too_large() -> Error {
    Error::new(
        ErrorKind::PayloadTooLarge,
        format!("request body too large: the limit is {MAX_JSON_BODY} bytes"),
    )
}

/// dockerd's `CheckForJSON`: a body must be declared `application/json`; no type is fine only without a body.
pub(crate) fn check_json_content_type(
    content_type: Option<&str>,
    body_empty: bool,
) -> Result<(), Error> {
    let declared = content_type.unwrap_or("");
    if declared.is_empty() && body_empty {
        return Ok(());
    }
    let media_type = declared.split(';').next().unwrap_or("").trim();
    if media_type.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "Content-Type specified ({declared}) must be 'application/json'"
        )))
    }
}

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let content_type = parts
            .headers
            .get(CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        // A declared type that is wrong is refused before reading anything.
        if content_type.as_deref().is_some_and(|ct| !ct.is_empty()) {
            check_json_content_type(content_type.as_deref(), false)?;
        }
        let declared_len = parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared_len.is_some_and(|len| len > MAX_JSON_BODY as u64) {
            return Err(too_large());
        }
        let collected = tokio::time::timeout(
            BODY_READ_TIMEOUT,
            Limited::new(body, MAX_JSON_BODY).collect(),
        )
        .await
        .map_err(|_| Error::invalid("timed out reading the request body"))?;
        let bytes = match collected {
            Ok(c) => c.to_bytes(),
            Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => return Err(too_large()),
            Err(e) => return Err(Error::invalid(format!("error reading request body: {e}"))),
        };
        check_json_content_type(content_type.as_deref(), bytes.is_empty())?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::invalid(
                "invalid JSON: got EOF while reading request body",
            ));
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| Error::invalid(format!("invalid JSON: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::post;
    use axum::Router;
    use http::StatusCode;
    use tower::ServiceExt;

    #[derive(serde::Deserialize)]
    struct Payload {
        name: String,
    }

    async fn echo(JsonBody(p): JsonBody<Payload>) -> String {
        p.name
    }

    fn router() -> crate::api::ApiService {
        let routes = Router::new().route("/echo", post(echo));
        crate::api::with_layers(routes, crate::state::AppState::for_tests())
    }

    async fn send(content_type: Option<&str>, body: impl Into<Body>) -> (StatusCode, String) {
        let mut builder = http::Request::post("/v1.47/echo");
        if let Some(ct) = content_type {
            builder = builder.header(CONTENT_TYPE, ct);
        }
        let response = router()
            .oneshot(builder.body(body.into()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.headers()["api-version"], "1.47");
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn decodes_json() {
        let (status, body) =
            send(Some("application/json; charset=utf-8"), r#"{"name":"web"}"#).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "web"));
    }

    #[tokio::test]
    async fn wrong_content_type_is_refused_with_dockerd_wording() {
        let (status, body) = send(Some("text/plain"), r#"{"name":"web"}"#).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body,
            r#"{"message":"Content-Type specified (text/plain) must be 'application/json'"}"#
        );
        let (status, body) = send(None, r#"{"name":"web"}"#).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("Content-Type specified () must be"), "{body}");
    }

    #[tokio::test]
    async fn malformed_and_empty_json_are_bad_requests() {
        let (status, body) = send(Some("application/json"), "{not json").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.starts_with(r#"{"message":"invalid JSON: "#), "{body}");
        let (status, body) = send(None, "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("got EOF"), "{body}");
    }

    #[tokio::test]
    async fn oversized_bodies_are_413() {
        let big = format!(r#"{{"name":"{}"}}"#, "x".repeat(MAX_JSON_BODY));
        let (status, body) = send(Some("application/json"), big.clone()).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(body.contains("request body too large"), "{body}");
        // Without a Content-Length (a stream), the limit still holds.
        let stream = futures_util::stream::iter(
            big.into_bytes()
                .chunks(64 * 1024)
                .map(|c| Ok::<_, std::io::Error>(bytes::Bytes::copy_from_slice(c)))
                .collect::<Vec<_>>(),
        );
        let (status, _) = send(Some("application/json"), Body::from_stream(stream)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn content_type_rule_matches_check_for_json() {
        assert!(check_json_content_type(None, true).is_ok());
        assert!(check_json_content_type(Some("APPLICATION/JSON"), false).is_ok());
        assert!(check_json_content_type(Some("application/x-www-form-urlencoded"), false).is_err());
    }
}
