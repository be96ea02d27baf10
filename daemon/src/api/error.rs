//! The HTTP edge of the daemon's [`Error`]: answered as `{"message": "..."}` with the status that
//! [`ErrorKind::status`] assigns to its kind, so that the status table lives once, in client-core; and
//! dockerd's 404 for an unknown route.

use axum::response::{IntoResponse, Response};
use axum::Json;
use http::StatusCode;
use wharf_client_core::ErrorKind;

use crate::error::Error;

#[derive(serde::Serialize)]
struct Body<'a> {
    message: &'a str,
}

/// 404: what dockerd answers for an unknown route or method.
pub(crate) fn page_not_found() -> Error {
    Error::new(ErrorKind::NotFound, "page not found")
}

/// The HTTP status an error of `kind` is answered with.
pub(crate) fn status(kind: ErrorKind) -> StatusCode {
    StatusCode::from_u16(kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        (
            status(self.kind),
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
        let response = Error::new(ErrorKind::Conflict, "in use").into_response();
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
            status(ErrorKind::Unknown),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(status(page_not_found().kind), StatusCode::NOT_FOUND);
    }
}
