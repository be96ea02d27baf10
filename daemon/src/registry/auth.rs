//! Logging in to a registry: the `WWW-Authenticate` challenge of `GET /v2/`, basic credentials, and
//! bearer tokens from the registry's token server (a GET with basic credentials, or a POST of the
//! identity token with `grant_type=refresh_token`), cached per registry, scope and credentials until
//! they expire. Secrets travel only in headers and bodies, never in URLs or logs.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use sha2::{Digest, Sha256};
use wharf_client_core::registry_auth::RegistryAuth;
use wharf_client_core::ErrorKind;

use super::errors;
use crate::error::Error;

/// The `client_id` dockerd gives token servers.
const CLIENT_ID: &str = "docker";

/// A token's life when the server does not say (the token spec's default).
const DEFAULT_EXPIRY: Duration = Duration::from_secs(60);

/// Tokens kept at most; the oldest go first.
const MAX_TOKENS: usize = 256;

/// The largest token-server answer read.
const MAX_TOKEN_RESPONSE: usize = 1 << 20;

/// How a registry asks to be authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// `Basic realm="..."`: the user name and password on every request.
    Basic,
    /// `Bearer realm="https://auth/token",service="..."`: a token from the realm for each scope.
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

/// Every challenge of a `WWW-Authenticate` value: `(scheme in lower case, parameters)`.
pub(crate) fn parse_challenges(header: &str) -> Vec<(String, HashMap<String, String>)> {
    let mut out: Vec<(String, HashMap<String, String>)> = Vec::new();
    let bytes = header.as_bytes();
    let mut i = 0;
    let is_token = |c: u8| !matches!(c, b' ' | b'\t' | b',' | b'=' | b'"');
    while i < bytes.len() {
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b',') {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && is_token(bytes[i]) {
            i += 1;
        }
        if start == i {
            i += 1;
            continue;
        }
        let token = &header[start..i];
        let mut j = i;
        while j < bytes.len() && matches!(bytes[j], b' ' | b'\t') {
            j += 1;
        }
        if j < bytes.len() && bytes[j] == b'=' && !out.is_empty() {
            // A parameter of the current challenge.
            j += 1;
            while j < bytes.len() && matches!(bytes[j], b' ' | b'\t') {
                j += 1;
            }
            let mut value = String::new();
            if j < bytes.len() && bytes[j] == b'"' {
                j += 1;
                let mut chars = header[j..].char_indices();
                let mut end = header.len();
                while let Some((k, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, escaped)) = chars.next() {
                                value.push(escaped);
                            }
                        }
                        '"' => {
                            end = j + k + 1;
                            break;
                        }
                        c => value.push(c),
                    }
                }
                j = end;
            } else {
                let vstart = j;
                while j < bytes.len() && !matches!(bytes[j], b',' | b' ' | b'\t') {
                    j += 1;
                }
                value.push_str(&header[vstart..j]);
            }
            if let Some((_, params)) = out.last_mut() {
                params.insert(token.to_ascii_lowercase(), value);
            }
            i = j;
        } else {
            out.push((token.to_ascii_lowercase(), HashMap::new()));
        }
    }
    out
}

/// The challenge to answer among a response's `WWW-Authenticate` values: bearer first, as dockerd.
pub(crate) fn pick_challenge<'a>(values: impl Iterator<Item = &'a str>) -> Option<Challenge> {
    let all: Vec<_> = values.flat_map(parse_challenges).collect();
    let bearer = all.iter().find_map(|(scheme, p)| {
        (scheme == "bearer")
            .then(|| p.get("realm"))
            .flatten()
            .map(|realm| Challenge::Bearer {
                realm: realm.clone(),
                service: p.get("service").cloned(),
            })
    });
    bearer.or_else(|| {
        all.iter()
            .any(|(scheme, _)| scheme == "basic")
            .then_some(Challenge::Basic)
    })
}

/// `Basic base64(user:password)`.
pub(crate) fn basic_header(user: &str, password: &str) -> String {
    let raw = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// A token server's answer.
#[derive(Clone, Debug, Default, serde::Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: String,
    #[serde(default)]
    access_token: String,
    #[serde(default)]
    refresh_token: String,
    #[serde(default)]
    expires_in: u64,
}

/// A bearer token and what came with it.
#[derive(Clone)]
pub(crate) struct Token {
    pub access: String,
    /// A refresh token (an identity token for the client), when the server issued one.
    pub refresh: Option<String>,
    expires: Instant,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token").finish_non_exhaustive()
    }
}

/// Asks the token server at `realm` for a token for `scopes`, with `auth`'s identity token (POST
/// `grant_type=refresh_token`) or user name and password (GET with basic credentials) or nothing.
/// `offline` asks for a refresh token too (`docker login`).
pub(crate) async fn fetch_token(
    client: &reqwest::Client,
    realm: &str,
    service: Option<&str>,
    scopes: &[String],
    auth: &RegistryAuth,
    offline: bool,
) -> Result<Token, Error> {
    let realm_url = reqwest::Url::parse(realm)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| Error::system(format!("invalid token realm {realm:?}")))?;
    let creds = auth.credentials();
    let request = if !auth.identitytoken.is_empty() {
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", &auth.identitytoken),
            ("client_id", CLIENT_ID),
        ];
        if let Some(s) = service {
            form.push(("service", s));
        }
        let scope = scopes.join(" ");
        if !scope.is_empty() {
            form.push(("scope", &scope));
        }
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        client
            .post(realm_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    } else {
        let mut query: Vec<(&str, &str)> = Vec::new();
        if let Some(s) = service {
            query.push(("service", s));
        }
        for s in scopes {
            query.push(("scope", s));
        }
        if offline && creds.is_some() {
            query.push(("offline_token", "true"));
            query.push(("client_id", CLIENT_ID));
        }
        let mut r = client.get(realm_url).query(&query);
        if let Some((user, password)) = &creds {
            r = r.header("authorization", basic_header(user, password));
        }
        r
    };
    let response = tokio::time::timeout(super::READ_TIMEOUT, request.send())
        .await
        .map_err(|_| Error::system(format!("Get \"{realm}\": {}", errors::HEAD_TIMEOUT)))?
        .map_err(errors::transport_bare)?;
    let status = response.status();
    let body = errors::read_bounded(response, MAX_TOKEN_RESPONSE).await?;
    if !status.is_success() {
        return Err(errors::token_error(status, &body));
    }
    let parsed: TokenResponse = serde_json::from_slice(&body)
        .map_err(|e| Error::system(format!("unable to decode token response: {e}")))?;
    let access = if parsed.access_token.is_empty() {
        parsed.token
    } else {
        parsed.access_token
    };
    if access.is_empty() {
        return Err(Error::system(
            "authorization server did not include a token in the response",
        ));
    }
    // Go's token client takes a minimum of 60 s; a little margin so a token is not used as it dies.
    let life = Duration::from_secs(parsed.expires_in).max(DEFAULT_EXPIRY);
    Ok(Token {
        access,
        refresh: (!parsed.refresh_token.is_empty()).then_some(parsed.refresh_token),
        expires: Instant::now() + life - Duration::from_secs(10),
    })
}

/// `application/x-www-form-urlencoded` escaping.
fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Bearer tokens by realm, service, scopes and credentials (a hash, so two users never share one).
#[derive(Default)]
pub(crate) struct TokenCache {
    tokens: Mutex<HashMap<[u8; 32], Token>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.tokens.lock().map(|t| t.len()).unwrap_or(0);
        f.debug_struct("TokenCache").field("tokens", &n).finish()
    }
}

impl TokenCache {
    /// The key of a token.
    pub(crate) fn key(
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
        auth: &RegistryAuth,
    ) -> [u8; 32] {
        let mut h = Sha256::new();
        for part in [realm, service.unwrap_or_default()] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        for s in scopes {
            h.update(s.as_bytes());
            h.update([0]);
        }
        let (user, password) = auth.credentials().unwrap_or_default();
        for part in [&user, &password, &auth.identitytoken] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        h.finalize().into()
    }

    /// A token still alive under `key`.
    pub(crate) fn get(&self, key: &[u8; 32]) -> Option<String> {
        let tokens = self.tokens.lock().ok()?;
        tokens
            .get(key)
            .filter(|t| t.expires > Instant::now())
            .map(|t| t.access.clone())
    }

    /// Keeps `token` under `key` (dropping dead ones, and the one closest to its end when full).
    pub(crate) fn put(&self, key: [u8; 32], token: Token) {
        let Ok(mut tokens) = self.tokens.lock() else {
            return;
        };
        let now = Instant::now();
        tokens.retain(|_, t| t.expires > now);
        if tokens.len() >= MAX_TOKENS {
            if let Some(oldest) = tokens
                .iter()
                .min_by_key(|(_, t)| t.expires)
                .map(|(k, _)| *k)
            {
                tokens.remove(&oldest);
            }
        }
        tokens.insert(key, token);
    }

    /// Forgets the token under `key` (the registry refused it).
    pub(crate) fn forget(&self, key: &[u8; 32]) {
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.remove(key);
        }
    }
}

/// The error for a registry that asks for basic credentials when none were given (dockerd's words).
pub(crate) fn no_basic_credentials() -> Error {
    Error::new(ErrorKind::System, "no basic auth credentials")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse_as_registries_send_them() {
        let hub = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#;
        assert_eq!(
            pick_challenge([hub].into_iter()),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into())
            })
        );
        let parsed = parse_challenges(hub);
        assert_eq!(parsed[0].1["scope"], "repository:library/alpine:pull");
        assert_eq!(
            pick_challenge([r#"Basic realm="basic-realm""#].into_iter()),
            Some(Challenge::Basic)
        );
        // Two challenges in one value, an escaped quote, a token value: bearer wins.
        let two = r#"Basic realm="a \"q\" b", Bearer realm=https://t/token, service="s""#;
        let parsed = parse_challenges(two);
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].1["realm"], r#"a "q" b"#);
        assert_eq!(parsed[1].1["realm"], "https://t/token");
        assert_eq!(
            pick_challenge([two].into_iter()),
            Some(Challenge::Bearer {
                realm: "https://t/token".into(),
                service: Some("s".into())
            })
        );
        // A bearer challenge without a realm cannot be answered.
        assert_eq!(pick_challenge([r#"Bearer service="x""#].into_iter()), None);
        assert_eq!(pick_challenge([""].into_iter()), None);
    }

    #[test]
    fn tokens_are_cached_per_credentials_and_scope() {
        let cache = TokenCache::default();
        let alice = RegistryAuth {
            username: "alice".into(),
            password: "a".into(),
            ..RegistryAuth::default()
        };
        let bob = RegistryAuth {
            username: "bob".into(),
            password: "b".into(),
            ..RegistryAuth::default()
        };
        let scope = vec!["repository:x:pull".to_owned()];
        let k1 = TokenCache::key("https://t", Some("s"), &scope, &alice);
        let k2 = TokenCache::key("https://t", Some("s"), &scope, &bob);
        let k3 = TokenCache::key(
            "https://t",
            Some("s"),
            &["repository:x:pull,push".into()],
            &alice,
        );
        assert!(k1 != k2 && k1 != k3);
        let token = |life: u64| Token {
            access: "tok".into(),
            refresh: None,
            expires: Instant::now() + Duration::from_secs(life),
        };
        cache.put(k1, token(60));
        assert_eq!(cache.get(&k1).as_deref(), Some("tok"));
        assert_eq!(cache.get(&k2), None);
        cache.put(k3, token(0));
        assert_eq!(cache.get(&k3), None);
        cache.forget(&k1);
        assert_eq!(cache.get(&k1), None);
        assert!(!format!("{cache:?}").contains("tok\""));
        assert_eq!(basic_header("u", "p"), "Basic dTpw");
        assert_eq!(urlencode("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
    }
}
