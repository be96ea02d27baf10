//! Registry credentials as they travel to the daemon: the `X-Registry-Auth` header of a pull or push
//! (base64url of a JSON object, as the docker CLI sends it) and the body of `POST /auth`. Both ends use
//! this one model so the field names and the encoding are agreed once.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// What a client gives the daemon to log in to a registry (moby's `registry.AuthConfig`).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryAuth {
    /// The user name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// The password (or a personal access token).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// `base64(username:password)`, as the CLI's config file stores it; read when the two above are empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub auth: String,
    /// Deprecated; kept so that old clients' JSON is read.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub email: String,
    /// The registry (`host[:port]`, or a URL for Docker Hub's index).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub serveraddress: String,
    /// A refresh token a registry's token server gave at login, used instead of the password.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub identitytoken: String,
    /// A bearer token for the registry itself, sent as it is.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub registrytoken: String,
}

impl std::fmt::Debug for RegistryAuth {
    // Secrets never reach a log through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryAuth")
            .field("username", &self.username)
            .field("serveraddress", &self.serveraddress)
            .field(
                "password",
                &(!self.password.is_empty()).then_some("<hidden>"),
            )
            .field("auth", &(!self.auth.is_empty()).then_some("<hidden>"))
            .field(
                "identitytoken",
                &(!self.identitytoken.is_empty()).then_some("<hidden>"),
            )
            .field(
                "registrytoken",
                &(!self.registrytoken.is_empty()).then_some("<hidden>"),
            )
            .finish()
    }
}

/// An `X-Registry-Auth` header that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid X-Registry-Auth header: {0}")]
pub struct RegistryAuthError(String);

impl RegistryAuth {
    /// The user name and password, from `username`/`password` or else from `auth`.
    pub fn credentials(&self) -> Option<(String, String)> {
        if !self.username.is_empty() || !self.password.is_empty() {
            return Some((self.username.clone(), self.password.clone()));
        }
        if self.auth.is_empty() {
            return None;
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(self.auth.trim())
            .ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (user, pass) = text.split_once(':')?;
        Some((user.to_owned(), pass.trim_end_matches('\n').to_owned()))
    }

    /// Whether it carries nothing to authenticate with.
    pub fn is_anonymous(&self) -> bool {
        self.credentials().is_none()
            && self.identitytoken.is_empty()
            && self.registrytoken.is_empty()
    }

    /// The `X-Registry-Auth` value: base64url (padded) of the JSON, as the docker CLI encodes it.
    pub fn to_header(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE.encode(json)
    }

    /// Reads an `X-Registry-Auth` value. Padded or not, URL-safe or standard alphabet (clients differ);
    /// an empty header or `{}` is anonymous.
    pub fn from_header(value: &str) -> Result<Self, RegistryAuthError> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(Self::default());
        }
        let unpadded = value.trim_end_matches('=');
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(unpadded)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(unpadded))
            .map_err(|e| RegistryAuthError(e.to_string()))?;
        serde_json::from_slice(&raw).map_err(|e| RegistryAuthError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_reads_what_the_docker_cli_sends() {
        let auth = RegistryAuth {
            username: "u".into(),
            password: "p?>".into(),
            serveraddress: "127.0.0.1:5000".into(),
            ..RegistryAuth::default()
        };
        let header = auth.to_header();
        assert!(!header.contains('+') && !header.contains('/'));
        assert_eq!(RegistryAuth::from_header(&header).unwrap(), auth);
        // The docker CLI 28's encoding of {"username":"u","password":"p?>"} (URL-safe, padded).
        let cli = "eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6InA_PiJ9";
        let read = RegistryAuth::from_header(cli).unwrap();
        assert_eq!(read.credentials(), Some(("u".into(), "p?>".into())));
        assert!(RegistryAuth::from_header("").unwrap().is_anonymous());
        assert!(RegistryAuth::from_header("e30=").unwrap().is_anonymous());
        assert!(RegistryAuth::from_header("not base64!").is_err());
    }

    #[test]
    fn credentials_come_from_auth_when_the_fields_are_empty() {
        let auth = RegistryAuth {
            auth: "dTpwOnE=".into(), // u:p:q
            ..RegistryAuth::default()
        };
        assert_eq!(auth.credentials(), Some(("u".into(), "p:q".into())));
        assert!(format!("{auth:?}").contains("<hidden>"));
        assert!(!format!("{auth:?}").contains("dTpw"));
    }
}
