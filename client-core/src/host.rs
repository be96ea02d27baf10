//! Where the daemon is: `DOCKER_HOST` and `-H` values, parsed by the docker CLI's rules, and the TLS
//! settings that `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH` imply.
//!
//! The daemon parses its `-H` listeners with the same code, so both sides agree on default ports.

use std::fmt;

/// The port for `tcp://` without one when TLS is on.
pub const DEFAULT_TLS_PORT: u16 = 2376;
/// The port for `tcp://` without one when TLS is off.
pub const DEFAULT_PLAIN_PORT: u16 = 2375;
/// The host for `tcp://` or `tcp://:port` without one.
pub const DEFAULT_TCP_HOST: &str = "localhost";
/// The socket a root daemon listens on and a client connects to when nothing else is said.
pub const DEFAULT_ROOT_SOCKET: &str = "/run/wharf/wharf.sock";

/// A daemon address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DockerHost {
    /// `unix:///path/to.sock`.
    Unix {
        /// The socket's path.
        path: String,
    },
    /// `tcp://host:port[/base]`.
    Tcp {
        /// Host name or IP address (IPv6 without brackets).
        host: String,
        /// Port.
        port: u16,
        /// A path prefix for every request, `""` when none.
        base_path: String,
    },
    /// `fd://` or `fd://N`: sockets handed over by systemd. Only a daemon listens on these.
    Fd {
        /// What follows `fd://`: empty for all, or a number or name.
        spec: String,
    },
}

/// A host string that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// Unknown scheme or shape.
    #[error("invalid bind address format: {0}")]
    InvalidFormat(String),
    /// `tcp://` with a second scheme inside.
    #[error("invalid proto, expected tcp: {0}")]
    InvalidProto(String),
    /// A scheme a client cannot connect to.
    #[error("unsupported protocol for a client: {0} (fd:// is for a daemon's systemd sockets)")]
    ClientUnsupported(String),
}

/// Which side is parsing: a daemon may listen on `fd://`, a client cannot connect to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// `wharf`, `docker`: connects.
    Client,
    /// `wharfd`: listens.
    Daemon,
}

impl DockerHost {
    /// Parses `-H`/`DOCKER_HOST` as the docker CLI does; `tls` picks the default TCP port.
    pub fn parse(input: &str, tls: bool, side: Side) -> Result<Self, HostError> {
        let input = input.trim();
        let default_port = if tls {
            DEFAULT_TLS_PORT
        } else {
            DEFAULT_PLAIN_PORT
        };
        let (scheme, rest) = match input.split_once("://") {
            Some((scheme, rest)) => (scheme, rest),
            None if !input.is_empty() => ("tcp", input),
            None => return Err(HostError::InvalidFormat(input.to_owned())),
        };
        match scheme {
            "unix" => {
                let path = if rest.is_empty() {
                    DEFAULT_ROOT_SOCKET
                } else {
                    rest
                };
                Ok(Self::Unix {
                    path: path.to_owned(),
                })
            }
            "tcp" => parse_tcp(input, rest, default_port),
            "fd" if side == Side::Daemon => Ok(Self::Fd {
                spec: rest.to_owned(),
            }),
            "fd" => Err(HostError::ClientUnsupported(input.to_owned())),
            _ => Err(HostError::InvalidFormat(input.to_owned())),
        }
    }

    /// The `Host` header requests to this daemon carry.
    pub fn host_header(&self) -> String {
        match self {
            Self::Tcp { host, port, .. } => join_host_port(host, *port),
            Self::Unix { .. } | Self::Fd { .. } => crate::request::DUMMY_HOST.to_owned(),
        }
    }

    /// The path prefix before `/v{version}`.
    pub fn base_path(&self) -> &str {
        match self {
            Self::Tcp { base_path, .. } => base_path,
            _ => "",
        }
    }

    /// Whether this is a TCP address on a loopback interface.
    pub fn is_loopback_tcp(&self) -> bool {
        match self {
            Self::Tcp { host, .. } => {
                host == "localhost"
                    || host
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
            _ => false,
        }
    }
}

impl fmt::Display for DockerHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unix { path } => write!(f, "unix://{path}"),
            Self::Tcp {
                host,
                port,
                base_path,
            } => write!(f, "tcp://{}{base_path}", join_host_port(host, *port)),
            Self::Fd { spec } => write!(f, "fd://{spec}"),
        }
    }
}

fn parse_tcp(input: &str, rest: &str, default_port: u16) -> Result<DockerHost, HostError> {
    if rest.contains("://") {
        return Err(HostError::InvalidProto(input.to_owned()));
    }
    let (authority, base_path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (host, port) =
        split_host_port(authority).ok_or_else(|| HostError::InvalidFormat(input.to_owned()))?;
    let host = if host.is_empty() {
        DEFAULT_TCP_HOST
    } else {
        host
    };
    let port = match port {
        None | Some("") => default_port,
        Some(p) => p
            .parse()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| HostError::InvalidFormat(input.to_owned()))?,
    };
    Ok(DockerHost::Tcp {
        host: host.to_owned(),
        port,
        base_path: base_path.trim_end_matches('/').to_owned(),
    })
}

/// `host`, `host:port`, `[v6]`, `[v6]:port` into host and optional port text.
fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after {
            "" => Some((host, None)),
            _ => Some((host, Some(after.strip_prefix(':')?))),
        };
    }
    match authority.matches(':').count() {
        0 => Some((authority, None)),
        1 => authority.split_once(':').map(|(h, p)| (h, Some(p))),
        _ => None, // a bare IPv6 address needs brackets
    }
}

fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// TLS as the docker CLI settles it from `--tls`, `--tlsverify`, the certificate flags and the environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsFlags {
    /// `--tls`, or `DOCKER_TLS` set.
    pub tls: bool,
    /// `--tlsverify`, or `DOCKER_TLS_VERIFY` set; `None` when neither said.
    pub verify: Option<bool>,
    /// `--tlscacert`.
    pub ca: Option<String>,
    /// `--tlscert`.
    pub cert: Option<String>,
    /// `--tlskey`.
    pub key: Option<String>,
}

/// Which certificate files to use, once flags and environment are settled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSettings {
    /// Verify the daemon's certificate against `ca` (else trust any: `--tls` alone).
    pub verify: bool,
    /// The CA bundle.
    pub ca: String,
    /// The client certificate.
    pub cert: String,
    /// The client key.
    pub key: String,
    /// Whether the certificate paths were named explicitly (flags) rather than defaulted: an explicit missing
    /// file is an error, a defaulted one is skipped as the docker CLI does for `--tls`.
    pub explicit: bool,
}

impl TlsFlags {
    /// Reads `DOCKER_TLS` and `DOCKER_TLS_VERIFY` (any non-empty value turns them on) for flags not given.
    pub fn with_env(mut self, env: impl Fn(&str) -> Option<String>) -> Self {
        let set = |name: &str| env(name).is_some_and(|v| !v.is_empty());
        if self.verify.is_none() && set("DOCKER_TLS_VERIFY") {
            self.verify = Some(true);
        }
        if set("DOCKER_TLS") {
            self.tls = true;
        }
        self
    }

    /// The settings to connect with, or `None` for plain HTTP. `cert_dir` is `DOCKER_CERT_PATH` or `~/.docker`.
    pub fn settle(&self, cert_dir: &str) -> Option<TlsSettings> {
        let verify = self.verify.unwrap_or(false);
        if !self.tls && !verify {
            return None;
        }
        let path = |given: &Option<String>, file: &str| {
            given
                .clone()
                .unwrap_or_else(|| format!("{}/{file}", cert_dir.trim_end_matches('/')))
        };
        Some(TlsSettings {
            verify,
            ca: path(&self.ca, "ca.pem"),
            cert: path(&self.cert, "cert.pem"),
            key: path(&self.key, "key.pem"),
            explicit: self.ca.is_some() || self.cert.is_some() || self.key.is_some(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(s: &str) -> Result<DockerHost, HostError> {
        DockerHost::parse(s, false, Side::Client)
    }

    #[test]
    fn parses_the_docker_cli_forms() {
        assert_eq!(
            client("unix:///var/run/docker.sock").unwrap(),
            DockerHost::Unix {
                path: "/var/run/docker.sock".into()
            }
        );
        assert_eq!(
            client("unix://").unwrap(),
            DockerHost::Unix {
                path: DEFAULT_ROOT_SOCKET.into()
            }
        );
        let tcp = |h: &str, p: u16, b: &str| DockerHost::Tcp {
            host: h.into(),
            port: p,
            base_path: b.into(),
        };
        assert_eq!(
            client("tcp://1.2.3.4:5678/base/").unwrap(),
            tcp("1.2.3.4", 5678, "/base")
        );
        assert_eq!(
            client("example.com:99").unwrap(),
            tcp("example.com", 99, "")
        );
        assert_eq!(client("tcp://:7").unwrap(), tcp("localhost", 7, ""));
        assert_eq!(client("tcp://host").unwrap(), tcp("host", 2375, ""));
        assert_eq!(
            DockerHost::parse("tcp://host", true, Side::Client).unwrap(),
            tcp("host", 2376, "")
        );
        assert_eq!(client("tcp://[::1]:80").unwrap(), tcp("::1", 80, ""));
        assert_eq!(client("tcp://[::1]:80").unwrap().host_header(), "[::1]:80");
        assert_eq!(client("tcp://h:1/b").unwrap().to_string(), "tcp://h:1/b");
    }

    #[test]
    fn rejects_what_the_docker_cli_rejects() {
        assert!(matches!(
            client("fd://"),
            Err(HostError::ClientUnsupported(_))
        ));
        assert_eq!(
            DockerHost::parse("fd://3", false, Side::Daemon).unwrap(),
            DockerHost::Fd { spec: "3".into() }
        );
        assert!(matches!(
            client("tcp://a://b"),
            Err(HostError::InvalidProto(_))
        ));
        assert!(matches!(
            client("ftp://x"),
            Err(HostError::InvalidFormat(_))
        ));
        assert!(client("tcp://h:notaport").is_err());
        assert!(client("tcp://h:0").is_err());
        assert!(client("tcp://h:70000").is_err());
        assert!(client("").is_err());
    }

    #[test]
    fn loopback_is_recognised() {
        assert!(client("tcp://127.0.0.1:1").unwrap().is_loopback_tcp());
        assert!(client("tcp://[::1]:1").unwrap().is_loopback_tcp());
        assert!(!client("tcp://0.0.0.0:1").unwrap().is_loopback_tcp());
        assert!(!client("unix:///x").unwrap().is_loopback_tcp());
    }

    #[test]
    fn tls_env_and_defaults_follow_the_docker_cli() {
        let env = |name: &str| (name == "DOCKER_TLS_VERIFY").then(|| "1".to_owned());
        let settled = TlsFlags::default().with_env(env).settle("/certs/").unwrap();
        assert!(settled.verify);
        assert_eq!(settled.ca, "/certs/ca.pem");
        assert_eq!(settled.key, "/certs/key.pem");
        assert!(!settled.explicit);
        assert!(TlsFlags::default()
            .with_env(|_| None)
            .settle("/c")
            .is_none());
        let explicit = TlsFlags {
            tls: true,
            cert: Some("/x.pem".into()),
            ..TlsFlags::default()
        };
        let settled = explicit.settle("/c").unwrap();
        assert!(!settled.verify && settled.explicit);
        assert_eq!(settled.cert, "/x.pem");
        // An explicit --tlsverify=false beats the environment.
        let off = TlsFlags {
            verify: Some(false),
            ..TlsFlags::default()
        }
        .with_env(env);
        assert!(off.settle("/c").is_none());
    }
}
