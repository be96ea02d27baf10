//! The API's error answer: a Docker error class and a message, sent as `{"message": "..."}` with the status
//! that [`ErrorKind::status`] assigns, so that the status table lives once in client-core.

use axum::response::{IntoResponse, Response};
use axum::Json;
use http::StatusCode;
use wharf_client_core::ErrorKind;

/// An error a handler, extractor or middleware answers with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// The Docker error class, which picks the status code.
    pub kind: ErrorKind,
    /// The message, worded as dockerd words it where dockerd has the same error.
    pub message: String,
}

#[derive(serde::Serialize)]
struct Body<'a> {
    message: &'a str,
}

impl ApiError {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// 400: a malformed request.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidParameter, message)
    }

    /// 404: what dockerd answers for an unknown route or method.
    pub fn page_not_found() -> Self {
        Self::new(ErrorKind::NotFound, "page not found")
    }

    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        (
            status,
            Json(Body {
                message: &self.message,
            }),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn answers_json_message_with_the_kind_status() {
        let response = ApiError::new(ErrorKind::Conflict, "in use").into_response();
        assert_eq!(response.status(), StatusCode::CONFLICT);
        assert_eq!(
            response.headers()[http::header::CONTENT_TYPE],
            "application/json"
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], br#"{"message":"in use"}"#);
    }

    #[test]
    fn unknown_kind_is_a_server_error() {
        assert_eq!(
            ApiError::new(ErrorKind::Unknown, "x").status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(ApiError::page_not_found().status(), StatusCode::NOT_FOUND);
    }
}
