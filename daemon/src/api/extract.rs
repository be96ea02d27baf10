//! `JsonBody<T>`: the JSON request body extractor every endpoint that takes a body uses instead of axum's
//! `Json`, so that content-type, size and syntax errors are answered as dockerd answers them (400 or 413
//! with a `{"message": ...}` body) and a slow client cannot hold a handler forever; and [`IdleBody`], which
//! every request body is wrapped in, so that a body that stops arriving ends in an error.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::{Frame, SizeHint};
use serde::de::DeserializeOwned;
use wharf_client_core::ErrorKind;

use crate::error::Error;

/// The largest JSON body accepted.
pub(crate) const MAX_JSON_BODY: usize = 1024 * 1024;

/// How long reading a body may take.
pub(crate) const BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a request body may send nothing before reading it fails.
pub(crate) const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A request body whose reads fail once nothing has arrived for `idle` (hyper has no body timeout of its
/// own): a half-sent body ends in an error, whoever reads it, instead of holding its handler for ever.
pub(crate) struct IdleBody {
    inner: Body,
    idle: Duration,
    /// Armed at the first wait, pushed back at each frame.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl IdleBody {
    /// `body` as is when it is already empty, else wrapped.
    pub(crate) fn wrap(body: Body, idle: Duration) -> Body {
        if hyper::body::Body::is_end_stream(&body) {
            return body;
        }
        Body::new(Self {
            inner: body,
            idle,
            timer: None,
        })
    }
}

/// The error an [`IdleBody`] read ends with.
#[derive(Debug, thiserror::Error)]
#[error("nothing arrived for {0:?}")]
struct BodyIdle(Duration);

impl hyper::body::Body for IdleBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                if let Some(timer) = &mut this.timer {
                    timer
                        .as_mut()
                        .reset(tokio::time::Instant::now() + this.idle);
                }
                Poll::Ready(frame)
            }
            Poll::Pending => {
                let idle = this.idle;
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(BodyIdle(idle))))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

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
        let bytes = json_bytes(request).await?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| invalid_json(&e))
    }
}

/// The error for a body serde could not decode.
pub(crate) fn invalid_json(e: &serde_json::Error) -> Error {
    Error::invalid(format!("invalid JSON: {e}"))
}

/// The body of a request that must be JSON, read as [`JsonBody`] reads it (type, size, time and emptiness
/// checked) but not decoded: for a handler that words some decoding errors itself.
pub(crate) async fn json_bytes(request: Request) -> Result<Bytes, Error> {
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
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::post;
    use axum::Router;
    use futures_util::StreamExt;
    use http::StatusCode;
    use tower::ServiceExt;

    #[derive(serde::Deserialize)]
    struct Payload {
        name: String,
    }

    async fn echo(JsonBody(p): JsonBody<Payload>) -> String {
        p.name
    }

    /// Reads the raw body as the image import and load routes do.
    async fn drain(body: Body) -> String {
        match body.collect().await {
            Ok(c) => format!("{} bytes", c.to_bytes().len()),
            Err(e) => format!("error: {e}"),
        }
    }

    fn router() -> crate::api::ApiService {
        let routes = Router::new()
            .route("/echo", post(echo))
            .route("/drain", post(drain));
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

    /// A body that sends a little, then nothing: every reader gets an error after the idle time, however
    /// long the body was still due to be; a body that keeps coming is read whole.
    #[tokio::test(start_paused = true)]
    async fn a_body_that_stops_arriving_ends_in_an_error_after_the_idle_time() {
        let first =
            futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from("{\"na"))]);
        let stalled = Body::from_stream(first.chain(futures_util::stream::pending()));
        let started = tokio::time::Instant::now();
        let exchange = async {
            let response = router()
                .oneshot(http::Request::post("/drain").body(stalled).unwrap())
                .await
                .unwrap();
            response.into_body().collect().await.unwrap().to_bytes()
        };
        let bytes = tokio::time::timeout(BODY_IDLE_TIMEOUT * 2, exchange)
            .await
            .expect("the stalled body ended");
        let text = String::from_utf8_lossy(&bytes);
        assert_eq!(
            text,
            format!("error: nothing arrived for {BODY_IDLE_TIMEOUT:?}")
        );
        assert!(started.elapsed() >= BODY_IDLE_TIMEOUT);
        assert!(started.elapsed() < BODY_IDLE_TIMEOUT * 2);

        // Slow but steady: a chunk every half idle time, for longer than the idle time in all.
        let steady = futures_util::stream::unfold(0, |n| async move {
            if n == 4 {
                return None;
            }
            tokio::time::sleep(BODY_IDLE_TIMEOUT / 2).await;
            Some((Ok::<_, std::io::Error>(bytes::Bytes::from("abcd")), n + 1))
        });
        let response = router()
            .oneshot(
                http::Request::post("/drain")
                    .body(Body::from_stream(steady))
                    .unwrap(),
            )
            .await
            .unwrap();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(bytes, "16 bytes");
    }

    #[test]
    fn content_type_rule_matches_check_for_json() {
        assert!(check_json_content_type(None, true).is_ok());
        assert!(check_json_content_type(Some("APPLICATION/JSON"), false).is_ok());
        assert!(check_json_content_type(Some("application/x-www-form-urlencoded"), false).is_err());
    }
}
