//! Where to connect and how: the global connection flags and the docker CLI's environment variables,
//! settled into one [`Target`].
//!
//! Flags beat the environment. The environment is read through a closure so the rules are testable without
//! touching the process's variables.

use wharf_client_core::host::{HostError, Side, TlsFlags, TlsSettings, DEFAULT_ROOT_SOCKET};
use wharf_client_core::version::InvalidApiVersion;
use wharf_client_core::{ApiVersion, ClientConfig, DockerHost};

/// The connection flags every command accepts, as the docker CLI spells them.
#[derive(Clone, Debug, Default, PartialEq, Eq, clap::Args)]
pub struct ConnectionFlags {
    /// Daemon socket to connect to (unix:///path or tcp://host:port).
    #[arg(short = 'H', long = "host", global = true, value_name = "HOST")]
    pub host: Option<String>,
    /// Use TLS; implied by --tlsverify.
    #[arg(long, global = true)]
    pub tls: bool,
    /// Use TLS and verify the daemon's certificate.
    #[arg(
        long,
        global = true,
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub tlsverify: Option<bool>,
    /// Trust certs signed only by this CA.
    #[arg(long, global = true, value_name = "PATH")]
    pub tlscacert: Option<String>,
    /// Path to TLS certificate file.
    #[arg(long, global = true, value_name = "PATH")]
    pub tlscert: Option<String>,
    /// Path to TLS key file.
    #[arg(long, global = true, value_name = "PATH")]
    pub tlskey: Option<String>,
}

/// A daemon to talk to, settled from flags and environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The parsed address.
    pub host: DockerHost,
    /// The address as the user gave it (or the default), for messages.
    pub host_label: String,
    /// TLS settings, `None` for plain HTTP.
    pub tls: Option<TlsSettings>,
    /// `DOCKER_API_VERSION`, when set.
    pub pinned_version: Option<ApiVersion>,
}

impl Target {
    /// The client-core configuration for this target.
    pub fn client_config(&self) -> ClientConfig {
        ClientConfig {
            host_header: self.host.host_header(),
            base_path: self.host.base_path().to_owned(),
            pinned_version: self.pinned_version,
        }
    }

    /// Whether requests to this target use TLS (never over a unix socket).
    pub fn uses_tls(&self) -> bool {
        self.tls.is_some() && matches!(self.host, DockerHost::Tcp { .. })
    }
}

/// Flags or environment that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `-H` or `DOCKER_HOST` does not parse.
    #[error("invalid daemon address {input:?}: {source}")]
    InvalidHost {
        /// The value given.
        input: String,
        /// Why it was refused.
        #[source]
        source: HostError,
    },
    /// `DOCKER_API_VERSION` is not `MAJOR.MINOR`.
    #[error("DOCKER_API_VERSION: {0}")]
    InvalidApiVersion(#[source] InvalidApiVersion),
}

/// The socket used when no host is given: the system socket for root, the per-user one otherwise.
pub fn default_host(is_root: bool, env: &impl Fn(&str) -> Option<String>) -> String {
    if is_root {
        return format!("unix://{DEFAULT_ROOT_SOCKET}");
    }
    match non_empty(env, "XDG_RUNTIME_DIR") {
        Some(dir) => format!("unix://{}/wharf/wharf.sock", dir.trim_end_matches('/')),
        None => format!(
            "unix:///run/user/{}/wharf/wharf.sock",
            nix::unistd::geteuid()
        ),
    }
}

/// Settles `flags` and the environment `env` into a [`Target`]; `is_root` picks the default socket.
pub fn resolve(
    flags: &ConnectionFlags,
    env: impl Fn(&str) -> Option<String>,
    is_root: bool,
) -> Result<Target, ConfigError> {
    let tls_flags = TlsFlags {
        tls: flags.tls,
        verify: flags.tlsverify,
        ca: flags.tlscacert.clone(),
        cert: flags.tlscert.clone(),
        key: flags.tlskey.clone(),
    }
    .with_env(&env);
    let cert_dir = non_empty(&env, "DOCKER_CERT_PATH").unwrap_or_else(|| {
        let home = non_empty(&env, "HOME").unwrap_or_else(|| "~".to_owned());
        format!("{}/.docker", home.trim_end_matches('/'))
    });
    let tls = tls_flags.settle(&cert_dir);
    let host_label = flags
        .host
        .clone()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| non_empty(&env, "DOCKER_HOST"))
        .unwrap_or_else(|| default_host(is_root, &env));
    let host = DockerHost::parse(&host_label, tls.is_some(), Side::Client).map_err(|source| {
        ConfigError::InvalidHost {
            input: host_label.clone(),
            source,
        }
    })?;
    let pinned_version = non_empty(&env, "DOCKER_API_VERSION")
        .map(|v| v.trim().parse::<ApiVersion>())
        .transpose()
        .map_err(ConfigError::InvalidApiVersion)?;
    Ok(Target {
        host,
        host_label,
        tls,
        pinned_version,
    })
}

fn non_empty(env: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    env(name).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn flags(host: Option<&str>) -> ConnectionFlags {
        ConnectionFlags {
            host: host.map(str::to_owned),
            ..ConnectionFlags::default()
        }
    }

    #[test]
    fn default_socket_depends_on_the_user() {
        let root = resolve(&flags(None), env(&[]), true).unwrap();
        assert_eq!(root.host_label, "unix:///run/wharf/wharf.sock");
        assert_eq!(
            root.host,
            DockerHost::Unix {
                path: "/run/wharf/wharf.sock".into()
            }
        );
        let user = resolve(
            &flags(None),
            env(&[("XDG_RUNTIME_DIR", "/run/user/1000/")]),
            false,
        )
        .unwrap();
        assert_eq!(user.host_label, "unix:///run/user/1000/wharf/wharf.sock");
        assert!(user.tls.is_none() && user.pinned_version.is_none());
    }

    #[test]
    fn the_host_flag_beats_docker_host_which_beats_the_default() {
        let e = env(&[("DOCKER_HOST", "tcp://from-env:1")]);
        let t = resolve(&flags(Some("unix:///flag.sock")), &e, true).unwrap();
        assert_eq!(t.host_label, "unix:///flag.sock");
        let t = resolve(&flags(None), &e, true).unwrap();
        assert_eq!(t.host_label, "tcp://from-env:1");
        let t = resolve(&flags(None), env(&[("DOCKER_HOST", "")]), true).unwrap();
        assert_eq!(t.host_label, "unix:///run/wharf/wharf.sock");
    }

    #[test]
    fn tls_picks_the_default_port_and_cert_dir() {
        let e = env(&[("DOCKER_TLS_VERIFY", "1"), ("HOME", "/home/u")]);
        let t = resolve(&flags(Some("tcp://h")), &e, false).unwrap();
        assert_eq!(
            t.host,
            DockerHost::Tcp {
                host: "h".into(),
                port: 2376,
                base_path: String::new()
            }
        );
        let tls = t.tls.clone().unwrap();
        assert!(tls.verify);
        assert_eq!(tls.ca, "/home/u/.docker/ca.pem");
        assert!(t.uses_tls());
        let e = env(&[("DOCKER_TLS", "1"), ("DOCKER_CERT_PATH", "/certs")]);
        let tls = resolve(&flags(Some("tcp://h")), &e, false)
            .unwrap()
            .tls
            .unwrap();
        assert!(!tls.verify);
        assert_eq!(tls.key, "/certs/key.pem");
        let plain = resolve(&flags(Some("tcp://h")), env(&[]), false).unwrap();
        assert!(matches!(plain.host, DockerHost::Tcp { port: 2375, .. }));
        assert!(!plain.uses_tls());
    }

    #[test]
    fn tls_flags_beat_the_environment() {
        let off = ConnectionFlags {
            tlsverify: Some(false),
            ..flags(Some("tcp://h"))
        };
        let t = resolve(&off, env(&[("DOCKER_TLS_VERIFY", "1")]), false).unwrap();
        assert!(t.tls.is_none());
        let explicit = ConnectionFlags {
            tlsverify: Some(true),
            tlscacert: Some("/my/ca.pem".into()),
            ..flags(Some("tcp://h:9"))
        };
        let tls = resolve(&explicit, env(&[("DOCKER_CERT_PATH", "/c")]), false)
            .unwrap()
            .tls
            .unwrap();
        assert_eq!(tls.ca, "/my/ca.pem");
        assert_eq!(tls.cert, "/c/cert.pem");
        assert!(tls.explicit);
    }

    #[test]
    fn a_unix_socket_never_uses_tls() {
        let t = resolve(
            &flags(Some("unix:///x.sock")),
            env(&[("DOCKER_TLS_VERIFY", "1")]),
            true,
        )
        .unwrap();
        assert!(t.tls.is_some());
        assert!(!t.uses_tls());
    }

    #[test]
    fn docker_api_version_pins_and_must_parse() {
        let t = resolve(&flags(None), env(&[("DOCKER_API_VERSION", "1.41")]), true).unwrap();
        assert_eq!(t.pinned_version, Some(ApiVersion::new(1, 41)));
        assert_eq!(
            t.client_config().pinned_version,
            Some(ApiVersion::new(1, 41))
        );
        let err =
            resolve(&flags(None), env(&[("DOCKER_API_VERSION", "latest")]), true).unwrap_err();
        assert!(matches!(err, ConfigError::InvalidApiVersion(_)));
        assert!(err.to_string().contains("DOCKER_API_VERSION"), "{err}");
        assert!(err.to_string().contains("latest"), "{err}");
    }

    #[test]
    fn bad_hosts_are_refused_with_the_value() {
        let err = resolve(&flags(Some("fd://")), env(&[]), true).unwrap_err();
        assert!(matches!(err, ConfigError::InvalidHost { .. }));
        assert!(err.to_string().contains("fd://"), "{err}");
        let t = resolve(&flags(Some("tcp://h:1/base")), env(&[]), true).unwrap();
        let c = t.client_config();
        assert_eq!(
            (c.host_header.as_str(), c.base_path.as_str()),
            ("h:1", "/base")
        );
    }
}
