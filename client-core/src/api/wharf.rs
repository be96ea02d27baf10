//! Wharf's own endpoints, under `/wharf/v1/` and never version-prefixed (they are not Docker's, so Docker's
//! API version says nothing about them): tokens for clients that cannot present a certificate, and
//! one-use tickets for WebSocket upgrades, which cannot carry an `Authorization` header.

use http::Method;
use serde::{Deserialize, Serialize};

use super::{Json, NoContent, TypedRequest};
use crate::error::Error;
use crate::query::escape_path;
use crate::request::RequestFactory;

/// Where the token endpoints live.
pub const TOKENS_PATH: &str = "/wharf/v1/tokens";

/// Where tickets are issued.
pub const WS_TICKET_PATH: &str = "/wharf/v1/ws-ticket";

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
