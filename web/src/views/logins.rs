//! The registry logins of this browser session: what the console's registry login form checked with
//! the daemon (`POST /auth`), kept in memory only (never in the browser's storage; a reload forgets
//! them), and given to a pull of an image on that registry as its `X-Registry-Auth`. When the
//! registry's token server answered an identity token, that is kept instead of the password.

use wharf_client_core::registry_auth::RegistryAuth;
use wharf_client_core::Reference;

/// Docker Hub's server address as the docker CLI and dockerd name it in logins.
pub const DOCKER_HUB: &str = "https://index.docker.io/v1/";

/// Logins by registry.
#[derive(Debug, Default)]
pub struct Logins {
    /// (registry key, credentials), at most one per registry.
    entries: Vec<(String, RegistryAuth)>,
}

/// The registry a server address names, as a key: `host[:port]`, with Docker Hub's names as one.
pub fn registry_key(server: &str) -> String {
    let server = server.trim();
    let host = server
        .strip_prefix("https://")
        .or_else(|| server.strip_prefix("http://"))
        .unwrap_or(server);
    let host = host
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match host.as_str() {
        "" | "docker.io" | "index.docker.io" | "registry-1.docker.io" => "docker.io".to_owned(),
        _ => host,
    }
}

impl Logins {
    /// Keeps `auth` for its `serveraddress` (replacing an older login there); the password gives way
    /// to `identity_token` when the registry issued one.
    pub fn remember(&mut self, mut auth: RegistryAuth, identity_token: Option<&str>) {
        if let Some(token) = identity_token.filter(|t| !t.is_empty()) {
            auth.identitytoken = token.to_owned();
            auth.password.clear();
            auth.auth.clear();
        }
        let key = registry_key(&auth.serveraddress);
        self.entries.retain(|(k, _)| *k != key);
        self.entries.push((key, auth));
    }

    /// Forgets the login of `server`; whether there was one.
    pub fn forget(&mut self, server: &str) -> bool {
        let key = registry_key(server);
        let before = self.entries.len();
        self.entries.retain(|(k, _)| *k != key);
        before != self.entries.len()
    }

    /// The registries logged in to, with their user names.
    pub fn list(&self) -> Vec<(String, String)> {
        self.entries
            .iter()
            .map(|(k, a)| (k.clone(), a.username.clone()))
            .collect()
    }

    /// The credentials for pulling `image` (anonymous when its registry has no login, or the name
    /// cannot be read: the daemon gives the error then).
    pub fn for_image(&self, image: &str) -> RegistryAuth {
        let Ok(reference) = Reference::parse(image.trim()) else {
            return RegistryAuth::default();
        };
        let key = registry_key(reference.domain());
        self.entries
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, a)| a.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(server: &str, user: &str) -> RegistryAuth {
        RegistryAuth {
            username: user.into(),
            password: "secret".into(),
            serveraddress: server.into(),
            ..RegistryAuth::default()
        }
    }

    #[test]
    fn an_image_gets_the_login_of_its_registry_only() {
        let mut logins = Logins::default();
        logins.remember(auth("127.0.0.1:5000", "a"), None);
        logins.remember(auth(DOCKER_HUB, "hub"), None);
        assert_eq!(logins.for_image("127.0.0.1:5000/x/y:1").username, "a");
        assert_eq!(logins.for_image("busybox").username, "hub");
        assert_eq!(
            logins.for_image("docker.io/library/busybox").username,
            "hub"
        );
        assert!(logins.for_image("127.0.0.1:5001/x").is_anonymous());
        assert!(logins.for_image("Not A Name").is_anonymous());
    }

    #[test]
    fn a_new_login_replaces_the_old_and_an_identity_token_replaces_the_password() {
        let mut logins = Logins::default();
        logins.remember(auth("https://Reg.Example:443/v2/", "a"), None);
        logins.remember(auth("reg.example:443", "b"), Some("refresh"));
        assert_eq!(logins.list(), vec![("reg.example:443".into(), "b".into())]);
        let kept = logins.for_image("reg.example:443/app");
        assert_eq!(kept.identitytoken, "refresh");
        assert!(kept.password.is_empty());
        assert!(logins.forget("reg.example:443"));
        assert!(!logins.forget("reg.example:443"));
        assert!(logins.for_image("reg.example:443/app").is_anonymous());
    }
}
