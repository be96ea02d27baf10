//! Wharf's own routes, under `/wharf/v1/` so they can never collide with Docker's: tokens (admin only,
//! by the policy in `crate::auth::policy`), WebSocket tickets (any identity), who the caller is
//! (`whoami`, any identity: the console decides which actions to show by it), the audit log read back
//! (admin only), how the daemon is reachable (`daemon`, any identity: the console's overview) and a
//! directory's entries in a container (`containers/{id}/files`, operators: the console's file browser;
//! Docker's API has no listing).
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

use super::params::Params;
use super::JsonBody;
use crate::auth::audit_read::{self, StatusFilter};
use crate::auth::tickets::TICKET_TTL;
use crate::auth::{Identity, Role};
use crate::error::Error;
use crate::runtime::Runtime;
use crate::state::AppState;
use crate::timefmt;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/wharf/v1/tokens", get(list).post(create))
        .route("/wharf/v1/tokens/{name}", delete(remove))
        .route("/wharf/v1/ws-ticket", post(ws_ticket))
        .route("/wharf/v1/whoami", get(whoami))
        .route("/wharf/v1/audit", get(audit))
        .route("/wharf/v1/daemon", get(daemon))
        .route("/wharf/v1/containers/{id}/files", get(files))
}

/// `GET /wharf/v1/containers/{id}/files?path=`: the entries of a directory in the container, for the
/// console's file browser (`/` when no path is given).
async fn files(rt: Runtime, Path(id): Path<String>, p: Params) -> Result<Response, Error> {
    let path = match p.get("path") {
        "" => "/",
        path => path,
    };
    Ok(Json(rt.list_files(&id, path).await?).into_response())
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

/// The identity the middleware put on an authenticated request.
fn caller(identity: Option<Extension<Identity>>) -> Result<Identity, Error> {
    identity
        .map(|Extension(i)| i)
        .ok_or_else(|| Error::system("no identity on an authenticated request"))
}

/// `GET /wharf/v1/whoami`'s answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct WhoAmI {
    /// `unix`, `cert:<CN>` or `token:<name>`, as the audit log names it.
    identity: String,
    role: Role,
    /// `unix`, `cert` or `token`.
    kind: &'static str,
}

/// `GET /wharf/v1/whoami`: who the caller is and with which role.
async fn whoami(identity: Option<Extension<Identity>>) -> Result<Response, Error> {
    let identity = caller(identity)?;
    let kind = match identity.label.split_once(':') {
        Some(("cert", _)) => "cert",
        Some(("token", _)) => "token",
        _ => "unix",
    };
    Ok(Json(WhoAmI {
        identity: identity.label.to_string(),
        role: identity.role,
        kind,
    })
    .into_response())
}

/// The header that counts audit lines that could not be read.
const SKIPPED_HEADER: &str = "x-wharf-audit-skipped";

/// `GET /wharf/v1/audit`'s query, checked.
fn audit_query(params: &Params) -> Result<audit_read::Query, Error> {
    let text = |key: &str| Some(params.get(key).to_owned()).filter(|v| !v.is_empty());
    let now = std::time::SystemTime::now();
    let time = |key: &str| {
        crate::events::timearg::parse_event_time(params.get(key), now)
            .map_err(|e| Error::invalid(e.to_string()))
    };
    let limit = match params.get("limit") {
        "" => audit_read::DEFAULT_LIMIT,
        n => n
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| Error::invalid(format!("invalid limit {n:?}: use a positive number")))?
            .min(audit_read::MAX_LIMIT),
    };
    let query = audit_read::Query {
        identity: text("identity"),
        method: text("method"),
        path: text("path"),
        status: text("status")
            .map(|s| StatusFilter::parse(&s))
            .transpose()?,
        since: time("since")?,
        until: time("until")?,
        limit,
    };
    if let (Some(s), Some(u)) = (query.since, query.until) {
        if u < s {
            return Err(Error::invalid(format!(
                "`since` time ({}) cannot be after `until` time ({})",
                params.get("since"),
                params.get("until")
            )));
        }
    }
    Ok(query)
}

/// `GET /wharf/v1/audit`: the audit log's records as written, newest first, filtered; the count of
/// lines that could not be read in `X-Wharf-Audit-Skipped`.
async fn audit(State(state): State<AppState>, params: Params) -> Result<Response, Error> {
    let query = audit_query(&params)?;
    let page = blocking(state, move |s| match s.auth().audit.path() {
        Some(path) => audit_read::read(path, &query),
        None => Ok(audit_read::Page::default()),
    })
    .await?;
    Ok((
        [(SKIPPED_HEADER, page.skipped.to_string())],
        Json(page.records),
    )
        .into_response())
}

/// One listener in `GET /wharf/v1/daemon`'s answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListenerJson {
    /// `unix:///run/wharf.sock`, `tcp://127.0.0.1:2376` or `fd://3`.
    address: String,
    tls: bool,
    /// Whether a client certificate signed by the CA is an identity here (mutual TLS); without one, a
    /// token is needed all the same.
    client_certs: bool,
    /// Whether a request without a client certificate needs a bearer token (every TCP listener).
    token_required: bool,
}

/// `GET /wharf/v1/daemon`'s answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct DaemonJson {
    listeners: Vec<ListenerJson>,
    /// Whether any listener needs a token from a client without a certificate.
    tokens_required: bool,
    /// Browser origins besides the daemon's own that are allowed.
    allowed_origins: usize,
    /// Audit records dropped since start because the writer fell behind.
    audit_dropped: u64,
}

/// `GET /wharf/v1/daemon`: how the daemon is reached and guarded; never a secret or a key's path.
async fn daemon(State(state): State<AppState>) -> Response {
    let listeners: Vec<ListenerJson> = state
        .listeners()
        .iter()
        .map(|l| ListenerJson {
            address: l.address.clone(),
            tls: l.tls,
            client_certs: l.client_certs,
            token_required: l.token_required,
        })
        .collect();
    Json(DaemonJson {
        tokens_required: listeners.iter().any(|l| l.token_required),
        listeners,
        allowed_origins: state.allowed_origins().len(),
        audit_dropped: state.auth().audit.dropped(),
    })
    .into_response()
}
