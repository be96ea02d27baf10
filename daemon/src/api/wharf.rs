//! Wharf's own routes, under `/wharf/v1/` so they can never collide with Docker's: tokens (admin only,
//! by the policy in `crate::auth::policy`) and WebSocket tickets (any identity).
//!
//! A token's text is in one answer only, the one to its creation; it is never logged (the request log
//! has the path alone), never audited and never stored.

use std::time::Instant;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use http::StatusCode;
use serde::{Deserialize, Serialize};

use super::JsonBody;
use crate::auth::tickets::TICKET_TTL;
use crate::auth::{Identity, Role};
use crate::error::Error;
use crate::state::AppState;
use crate::timefmt;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/wharf/v1/tokens", get(list).post(create))
        .route("/wharf/v1/tokens/{name}", delete(remove))
        .route("/wharf/v1/ws-ticket", post(ws_ticket))
}

/// `POST /wharf/v1/tokens`'s body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateBody {
    name: String,
    role: String,
    /// Seconds until it expires; never when absent.
    expires_in: Option<u64>,
}

/// Runs `f` on the token store off the async threads: it writes and syncs a file.
async fn blocking<T: Send + 'static>(
    state: AppState,
    f: impl FnOnce(&AppState) -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(move || f(&state))
        .await
        .map_err(Error::system)?
}

/// `GET /wharf/v1/tokens`: every token, without secrets.
async fn list(State(state): State<AppState>) -> Response {
    Json(state.auth().tokens.list()).into_response()
}

/// `POST /wharf/v1/tokens`: a new token, its text shown this once.
async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<Response, Error> {
    let role = Role::parse(&body.role)?;
    let created = blocking(state, move |s| {
        s.auth().tokens.create(&body.name, role, body.expires_in)
    })
    .await?;
    tracing::info!(
        "token {:?} created with role {}",
        created.name,
        created.role
    );
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// `DELETE /wharf/v1/tokens/{name}`: the token stops working at once.
async fn remove(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<StatusCode, Error> {
    let removed = name.clone();
    blocking(state, move |s| s.auth().tokens.remove(&name)).await?;
    tracing::info!("token {removed:?} removed");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /wharf/v1/ws-ticket`'s answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Ticket {
    ticket: String,
    /// RFC 3339.
    expires: String,
}

/// `POST /wharf/v1/ws-ticket`: a one-use ticket for a WebSocket upgrade, as the caller.
async fn ws_ticket(
    State(state): State<AppState>,
    identity: Option<Extension<Identity>>,
) -> Result<Response, Error> {
    let Some(Extension(identity)) = identity else {
        return Err(Error::system("no identity on an authenticated request"));
    };
    let ticket = state.auth().tickets.issue(identity, Instant::now())?;
    let expires = timefmt::rfc3339_seconds(
        crate::auth::tokens::unix_now().saturating_add(TICKET_TTL.as_secs()),
    );
    Ok((StatusCode::CREATED, Json(Ticket { ticket, expires })).into_response())
}
