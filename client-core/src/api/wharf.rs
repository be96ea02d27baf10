//! Wharf's own endpoints, under `/wharf/v1/` and never version-prefixed (they are not Docker's, so Docker's
//! API version says nothing about them): tokens for clients that cannot present a certificate,
//! one-use tickets for WebSocket upgrades, which cannot carry an `Authorization` header, who the caller
//! is (`whoami`), the audit log read back and how the daemon is reached (`daemon`).

use http::Method;
use serde::{Deserialize, Serialize};

use super::{Json, NoContent, TypedRequest};
use crate::error::Error;
use crate::query::{escape_path, Query};
use crate::request::RequestFactory;

/// Where the token endpoints live.
pub const TOKENS_PATH: &str = "/wharf/v1/tokens";

/// Where tickets are issued.
pub const WS_TICKET_PATH: &str = "/wharf/v1/ws-ticket";

/// Who the caller is.
pub const WHOAMI_PATH: &str = "/wharf/v1/whoami";

/// The audit log, admin only.
pub const AUDIT_PATH: &str = "/wharf/v1/audit";

/// Where a container's directory listings are (`{FILES_PATH}/{id}/files`).
pub const FILES_PATH: &str = "/wharf/v1/containers";

/// How the daemon is reached.
pub const DAEMON_PATH: &str = "/wharf/v1/daemon";

/// The header of `GET /wharf/v1/audit`'s answer that counts the log's lines that could not be read.
pub const AUDIT_SKIPPED_HEADER: &str = "x-wharf-audit-skipped";

/// The roles a token (or a mapped client certificate) can have, weakest first.
pub const ROLES: &[&str] = &["viewer", "operator", "admin"];

/// A token as listed: never its text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TokenInfo {
    /// Its name, unique.
    pub name: String,
    /// `viewer`, `operator` or `admin`.
    pub role: String,
    /// RFC 3339.
    pub created: String,
    /// RFC 3339; `None` for a token that does not expire.
    pub expires: Option<String>,
}

/// `POST /wharf/v1/tokens`'s body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateToken {
    /// Its name: 1 to 64 letters, digits, `_`, `.` or `-`.
    pub name: String,
    /// `viewer`, `operator` or `admin`.
    pub role: String,
    /// Seconds until it expires; never when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
}

/// A new token: the only answer that carries its text.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreatedToken {
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: String,
    /// The token itself, `wharf_` and 43 base64url symbols: shown once.
    pub token: String,
    /// RFC 3339, if it expires.
    pub expires: Option<String>,
}

/// Never prints the token.
impl std::fmt::Debug for CreatedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedToken")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("token", &"<redacted>")
            .field("expires", &self.expires)
            .finish()
    }
}

/// A one-use ticket for a WebSocket upgrade (its `ticket=` query), valid for 30 seconds.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WsTicket {
    /// The ticket.
    pub ticket: String,
    /// RFC 3339.
    pub expires: String,
}

/// Never prints the ticket.
impl std::fmt::Debug for WsTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsTicket")
            .field("ticket", &"<redacted>")
            .field("expires", &self.expires)
            .finish()
    }
}

/// `GET /wharf/v1/tokens`.
pub fn list_tokens_request(factory: &RequestFactory) -> TypedRequest<Json<Vec<TokenInfo>>> {
    TypedRequest::new(factory.build_unversioned(Method::GET, TOKENS_PATH))
}

/// `POST /wharf/v1/tokens`.
pub fn create_token_request(
    factory: &RequestFactory,
    body: &CreateToken,
) -> Result<TypedRequest<Json<CreatedToken>>, Error> {
    factory
        .build_json_unversioned(Method::POST, TOKENS_PATH, body)
        .map(TypedRequest::new)
}

/// `DELETE /wharf/v1/tokens/{name}`.
pub fn remove_token_request(
    factory: &RequestFactory,
    name: &str,
) -> Result<TypedRequest<NoContent>, Error> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::InvalidArgument(
            "invalid token name: value is empty".to_owned(),
        ));
    }
    let path = format!("{TOKENS_PATH}/{}", escape_path(name));
    Ok(TypedRequest::new(
        factory.build_unversioned(Method::DELETE, &path),
    ))
}

/// `POST /wharf/v1/ws-ticket`.
pub fn ws_ticket_request(factory: &RequestFactory) -> TypedRequest<Json<WsTicket>> {
    TypedRequest::new(factory.build_unversioned(Method::POST, WS_TICKET_PATH))
}

/// `GET /wharf/v1/whoami`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WhoAmI {
    /// `unix`, `cert:<CN>` or `token:<name>`, as the audit log names it.
    pub identity: String,
    /// `viewer`, `operator` or `admin`.
    pub role: String,
    /// `unix`, `cert` or `token`.
    pub kind: String,
}

/// `GET /wharf/v1/audit`'s filters; every one optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    /// The identity exactly: `token:ci`, `cert:client`, `unix` or `anonymous`.
    pub identity: Option<String>,
    /// The method, in any case.
    pub method: Option<String>,
    /// A part of the path.
    pub path: Option<String>,
    /// A status (`404`) or a class (`4xx`).
    pub status: Option<String>,
    /// Records at or after: RFC 3339, Unix seconds or a duration before now (`10m`), as `/events` takes.
    pub since: Option<String>,
    /// Records at or before, in the same forms.
    pub until: Option<String>,
    /// Records answered at most: 500 when absent, 5000 at most.
    pub limit: Option<u32>,
}

/// One audit record, as the daemon writes it (its keys are lowercase, as in the log's lines).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// RFC 3339 with nanoseconds.
    pub time: String,
    /// `unix`, `cert:<CN>`, `token:<name>`, or `anonymous` for a refused token.
    pub identity: String,
    /// The identity's role, `None` for `anonymous`.
    pub role: Option<String>,
    pub method: String,
    /// The path without its query.
    pub path: String,
    /// The container, exec, image or token the path names.
    pub id: Option<String>,
    pub status: u16,
}

/// A listener in `GET /wharf/v1/daemon`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DaemonListener {
    /// `unix:///run/wharf.sock`, `tcp://127.0.0.1:2376` or `fd://3`.
    pub address: String,
    pub tls: bool,
    /// Whether a client certificate signed by the daemon's CA is an identity there.
    pub client_certs: bool,
    /// Whether a client without a certificate needs a bearer token there.
    pub token_required: bool,
}

/// `GET /wharf/v1/daemon`'s answer: what the overview shows beside `/info`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DaemonInfo {
    pub listeners: Vec<DaemonListener>,
    /// Whether any listener needs a token from a client without a certificate.
    pub tokens_required: bool,
    /// How many browser origins besides the daemon's own are allowed.
    pub allowed_origins: u64,
    /// Audit records dropped since the daemon started, because the log's writer fell behind.
    pub audit_dropped: u64,
}

/// `GET /wharf/v1/whoami`.
pub fn whoami_request(factory: &RequestFactory) -> TypedRequest<Json<WhoAmI>> {
    TypedRequest::new(factory.build_unversioned(Method::GET, WHOAMI_PATH))
}

/// `GET /wharf/v1/audit`, newest record first.
pub fn audit_request(
    factory: &RequestFactory,
    query: &AuditQuery,
) -> TypedRequest<Json<Vec<AuditRecord>>> {
    let mut q = Query::new();
    q.optional("identity", query.identity.as_deref())
        .optional("method", query.method.as_deref())
        .optional("path", query.path.as_deref())
        .optional("status", query.status.as_deref())
        .optional("since", query.since.as_deref())
        .optional("until", query.until.as_deref())
        .optional("limit", query.limit);
    let path = if q.is_empty() {
        AUDIT_PATH.to_owned()
    } else {
        format!("{AUDIT_PATH}?{}", q.encode())
    };
    TypedRequest::new(factory.build_unversioned(Method::GET, &path))
}

/// A directory's entries in a container (the console's file browser): Docker's API has no listing (a
/// `GET /containers/{id}/archive` of a directory is the whole tree as a tar).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FileListing {
    /// The directory, as the container sees it (absolute, cleaned).
    pub path: String,
    /// Its entries by name, each as `HEAD /containers/{id}/archive` states a path (a symlink's own
    /// stat, its target in `linkTarget`).
    pub entries: Vec<super::archive::ContainerPathStat>,
    /// Whether entries were left out (the daemon sends at most a bounded number).
    #[serde(default)]
    pub truncated: bool,
}

/// `GET /wharf/v1/containers/{id}/files?path=`: the entries of the directory `path` in the container,
/// resolved inside its root as `docker cp` resolves it.
pub fn files_request(
    factory: &RequestFactory,
    id: &str,
    path: &str,
) -> Result<TypedRequest<Json<FileListing>>, Error> {
    let id = id.trim();
    if id.is_empty() || id.contains('/') {
        return Err(Error::InvalidArgument(format!(
            "invalid container name or ID: {id:?}"
        )));
    }
    let mut q = Query::new();
    q.append("path", if path.is_empty() { "/" } else { path });
    let route = format!("{FILES_PATH}/{}/files?{}", escape_path(id), q.encode());
    Ok(TypedRequest::new(
        factory.build_unversioned(Method::GET, &route),
    ))
}

/// `GET /wharf/v1/daemon`.
pub fn daemon_request(factory: &RequestFactory) -> TypedRequest<Json<DaemonInfo>> {
    TypedRequest::new(factory.build_unversioned(Method::GET, DAEMON_PATH))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_output() {
        let created = CreatedToken {
            name: "ci".into(),
            role: "viewer".into(),
            token: "wharf_secret".into(),
            expires: None,
        };
        assert!(!format!("{created:?}").contains("wharf_secret"));
        let ticket = WsTicket {
            ticket: "wharft_secret".into(),
            expires: "x".into(),
        };
        assert!(!format!("{ticket:?}").contains("wharft_secret"));
    }
}
