//! Authentication and authorization at the HTTP edge, run by [`ApiService`](super::ApiService) on every
//! request before routing (and before any upgrade, so a hijacked attach or exec start is decided while it
//! is an ordinary request):
//!
//! 1. who: the connection's [`Peer`] (set by `serve`) — the unix socket and a verified certificate are
//!    identities of their own; otherwise an `Authorization: Bearer` token, or on a WebSocket upgrade route
//!    a one-use `ticket=` — else 401, or 429 once an address has failed too often;
//! 2. what: the route's [`Action`](crate::auth::policy::Action) against the identity's role, else 403
//!    naming both;
//! 3. the audit line for what changes state or opens a session, once the answer's status is known.
//!
//! The decisions themselves live in `crate::auth`, which knows no HTTP.

use axum::response::{IntoResponse, Response};
use http::header::{AUTHORIZATION, SEC_WEBSOCKET_KEY, UPGRADE, WWW_AUTHENTICATE};
use http::{HeaderValue, Method, Request, StatusCode};
use wharf_client_core::ErrorKind;

use super::version::versioned_path;
use crate::auth::audit::Record;
use crate::auth::{policy, Auth, Identity, Peer, Refusal};
use crate::error::Error;
use crate::timefmt;

/// The 401 for a request that brought no credentials.
pub(crate) const AUTH_REQUIRED: &str =
    "authentication required: present a client certificate or a bearer token";

/// The 401 for a token (or ticket) that is wrong, expired or removed.
pub(crate) const INVALID_CREDENTIALS: &str = "authentication failed: invalid or expired token";

/// The 429 for an address that failed too often.
pub(crate) const TOO_MANY_FAILURES: &str =
    "too many failed authentications from this address: try again in a minute";

/// The connection's peer; requests served in-process (tests that call the router directly) come from
/// the unix socket's side.
fn peer<B>(request: &Request<B>) -> Option<&Peer> {
    request.extensions().get::<Peer>()
}

/// Whether `request` came over plain HTTP on loopback.
pub(crate) fn is_plain<B>(request: &Request<B>) -> bool {
    matches!(peer(request), Some(Peer::Plain { .. }))
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer<B>(request: &Request<B>) -> Option<&str> {
    let value = request.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The `ticket=` of a WebSocket handshake on an upgrade route; `None` on every other request, where a
/// ticket is not accepted: a page could otherwise make a browser send bad tickets with a plain GET (an
/// image's URL), which carries no `Origin`, and have its address refused for failed logins.
fn ticket<B>(request: &Request<B>) -> Option<&str> {
    let path = request.uri().path();
    let path = versioned_path(path).map_or(path, |(_, p)| p);
    let handshake = request
        .headers()
        .get(UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
        && request.headers().contains_key(SEC_WEBSOCKET_KEY);
    if request.method() != Method::GET || !handshake || !policy::is_upgrade_route(path) {
        return None;
    }
    request
        .uri()
        .query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("ticket="))
}

/// Who `request` is.
pub(crate) fn authenticate<B>(auth: &Auth, request: &Request<B>) -> Result<Identity, Refusal> {
    match peer(request) {
        None | Some(Peer::Unix) => Ok(Identity::unix()),
        Some(p) => auth.identify(p, bearer(request), ticket(request)),
    }
}

/// The answer to a request refused as `refusal`, audited if it would have changed something.
pub(crate) fn refuse<B>(auth: &Auth, refusal: Refusal, request: &Request<B>) -> Response {
    let error = match refusal {
        Refusal::Missing => Error::new(ErrorKind::Unauthorized, AUTH_REQUIRED),
        Refusal::Invalid => Error::new(ErrorKind::Unauthorized, INVALID_CREDENTIALS),
        Refusal::Limited => Error::new(ErrorKind::TooManyRequests, TOO_MANY_FAILURES),
    };
    let mut response = error.into_response();
    if response.status() == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    // A refusal for a wrong token is audited (someone tried); one without credentials, or for an address
    // already refused, is only counted: anyone can send those, and their lines would push real ones out
    // of the rotated log.
    if !is_read(request.method()) && refusal == Refusal::Invalid {
        let path = request.uri().path();
        let path = versioned_path(path).map_or(path, |(_, p)| p);
        let action = policy::action(request.method().as_str(), path);
        auth.audit.record(Record {
            time: timefmt::now_rfc3339_nanos(),
            identity: "anonymous".to_owned(),
            role: None,
            method: request.method().to_string(),
            path: path.to_owned(),
            id: action.object,
            status: response.status().as_u16(),
        });
    }
    response
}

fn is_read(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}

/// An audit line waiting for its answer's status.
#[derive(Debug)]
pub(crate) struct PendingAudit {
    identity: Identity,
    method: String,
    path: String,
    object: Option<String>,
}

impl PendingAudit {
    /// Queues the line with `status`.
    pub(crate) fn finish(self, auth: &Auth, status: StatusCode) {
        auth.audit.record(Record {
            time: timefmt::now_rfc3339_nanos(),
            identity: self.identity.label.to_string(),
            role: Some(self.identity.role.as_str()),
            method: self.method,
            path: self.path,
            id: self.object,
            status: status.as_u16(),
        });
    }
}

/// Whether `identity` may do what `request` (its path already without the version prefix) asks: `Err`
/// with the 403 if not. Either way, the audit line to write if the request is audited; the identity
/// goes into the request's extensions for handlers that need it.
pub(crate) fn authorize<B>(
    identity: Identity,
    request: &mut Request<B>,
) -> (Result<(), Error>, Option<PendingAudit>) {
    let method = request.method().as_str();
    let path = request.uri().path();
    let action = policy::action(method, path);
    let audited = (!is_read(request.method()) || action.session).then(|| PendingAudit {
        identity: identity.clone(),
        method: method.to_owned(),
        path: path.to_owned(),
        object: action.object.clone(),
    });
    if identity.role < action.needs {
        let message = format!("role {} may not {}", identity.role, action.name);
        return (Err(Error::new(ErrorKind::Forbidden, message)), audited);
    }
    request.extensions_mut().insert(identity);
    (Ok(()), audited)
}

#[cfg(test)]
mod tests;
