//! Binding the `-H` addresses: unix sockets (0660, the `docker` group, stale files replaced, live ones
//! refused), TCP ports and systemd's `fd://` sockets. TLS is attached to TCP sockets here; plain HTTP on a
//! TCP socket that is not loopback is refused.

use std::io::ErrorKind;
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nix::sys::socket::{getsockname, AddressFamily, SockaddrLike, SockaddrStorage};
use nix::unistd::{Gid, Group};
use rustls::ServerConfig;
use tokio::net::{TcpListener, UnixListener};
use wharf_client_core::host::DockerHost;

use crate::config::{SocketGroup, DEFAULT_SOCKET_GROUP};
use crate::tls::TlsError;

/// A bound socket ready to accept.
#[derive(Debug)]
pub(crate) enum Listener {
    /// A unix socket.
    Unix {
        listener: UnixListener,
        /// The socket file to remove at exit (`None` for systemd's sockets).
        path: Option<PathBuf>,
        display: String,
    },
    /// A TCP socket, with TLS unless plain HTTP was chosen.
    Tcp {
        listener: TcpListener,
        /// The TLS configuration, `None` for plain HTTP.
        tls: Option<Arc<ServerConfig>>,
        display: String,
    },
}

impl Listener {
    /// What logs call this listener.
    pub(crate) fn display(&self) -> &str {
        match self {
            Self::Unix { display, .. } | Self::Tcp { display, .. } => display,
        }
    }

    /// `unix`, `tcp+tls` or `tcp`.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Unix { .. } => "unix",
            Self::Tcp { tls: Some(_), .. } => "tcp+tls",
            Self::Tcp { tls: None, .. } => "tcp",
        }
    }
}

/// Why a listener could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// Something accepts on the socket already.
    #[error("{}: another daemon is already listening on this socket; stop it or choose another -H", .0.display())]
    InUse(PathBuf),
    /// The path exists and is not a socket.
    #[error("{}: exists and is not a socket; remove it or choose another -H", .0.display())]
    NotASocket(PathBuf),
    /// An explicitly named group does not exist.
    #[error("group {0} not found; create it or pass --group with an existing group (--group \"\" keeps the user's group)")]
    NoSuchGroup(String),
    /// Binding or preparing a socket failed.
    #[error("cannot listen on {addr}: {source}")]
    Io {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// TLS could not be configured.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// Plain HTTP on a socket others can reach.
    #[error(
        "refusing to serve the API over plain HTTP on {0}: it is not a loopback address; use TLS"
    )]
    PlainNonLoopback(String),
    /// `fd://N` names no socket systemd passed.
    #[error("fd://{0}: no such socket from systemd (LISTEN_FDS)")]
    NoSuchFd(String),
    /// `fd://` without socket activation.
    #[error("fd://: no sockets were passed by systemd (LISTEN_FDS/LISTEN_PID unset)")]
    NoFds,
}

fn io_err(addr: &str) -> impl FnOnce(std::io::Error) -> ListenError + '_ {
    move |source| ListenError::Io {
        addr: addr.to_owned(),
        source,
    }
}

/// The group to give unix sockets: `None` to leave it.
pub(crate) fn resolve_group(group: &SocketGroup) -> Result<Option<Gid>, ListenError> {
    let name = match group {
        SocketGroup::Default => {
            return Ok(Group::from_name(DEFAULT_SOCKET_GROUP)
                .ok()
                .flatten()
                .map(|g| g.gid));
        }
        SocketGroup::Named(name) if name.is_empty() => return Ok(None),
        SocketGroup::Named(name) => name,
    };
    if let Ok(gid) = name.parse::<u32>() {
        return Ok(Some(Gid::from_raw(gid)));
    }
    match Group::from_name(name) {
        Ok(Some(g)) => Ok(Some(g.gid)),
        _ => Err(ListenError::NoSuchGroup(name.clone())),
    }
}

/// Builds the TLS acceptor the first time a TCP socket needs it.
#[derive(Debug)]
pub(crate) struct LazyTls<F> {
    make: F,
    made: Option<Option<Arc<ServerConfig>>>,
}

impl<F: FnMut() -> Result<Option<Arc<ServerConfig>>, TlsError>> LazyTls<F> {
    pub(crate) fn new(make: F) -> Self {
        Self { make, made: None }
    }

    fn get(&mut self) -> Result<Option<Arc<ServerConfig>>, TlsError> {
        if let Some(made) = &self.made {
            return Ok(made.clone());
        }
        let made = (self.make)()?;
        self.made = Some(made.clone());
        Ok(made)
    }
}

/// Binds every host. Must run inside the tokio runtime.
pub(crate) fn bind_all<F>(
    hosts: &[DockerHost],
    tls: &mut LazyTls<F>,
    group: &SocketGroup,
) -> Result<Vec<Listener>, ListenError>
where
    F: FnMut() -> Result<Option<Arc<ServerConfig>>, TlsError>,
{
    let mut listeners = Vec::new();
    let mut systemd: Option<Vec<RawFd>> = None;
    for host in hosts {
        match host {
            DockerHost::Unix { path } => {
                let gid = resolve_group(group)?;
                let strict = matches!(group, SocketGroup::Named(_));
                listeners.push(bind_unix(Path::new(path), gid, strict)?);
            }
            DockerHost::Tcp { host: h, port, .. } => {
                let addr = host.to_string();
                let std =
                    std::net::TcpListener::bind((h.as_str(), *port)).map_err(io_err(&addr))?;
                listeners.push(tcp_listener(std, tls.get()?, &addr)?);
            }
            DockerHost::Fd { spec } => {
                if systemd.is_none() {
                    let fds: Vec<RawFd> =
                        sd_notify::listen_fds().map_err(io_err("fd://"))?.collect();
                    systemd = Some(fds);
                }
                let fds = systemd.as_deref().unwrap_or_default();
                let chosen: Vec<RawFd> = if spec.is_empty() {
                    if fds.is_empty() {
                        return Err(ListenError::NoFds);
                    }
                    fds.to_vec()
                } else {
                    let n: RawFd = spec
                        .parse()
                        .map_err(|_| ListenError::NoSuchFd(spec.clone()))?;
                    if !fds.contains(&n) {
                        return Err(ListenError::NoSuchFd(spec.clone()));
                    }
                    vec![n]
                };
                for fd in chosen {
                    listeners.push(adopt_fd(fd, tls)?);
                }
            }
        }
    }
    Ok(listeners)
}

fn tcp_listener(
    std: std::net::TcpListener,
    tls: Option<Arc<ServerConfig>>,
    display: &str,
) -> Result<Listener, ListenError> {
    let local = std.local_addr().map_err(io_err(display))?;
    if tls.is_none() && !local.ip().is_loopback() {
        return Err(ListenError::PlainNonLoopback(display.to_owned()));
    }
    std.set_nonblocking(true).map_err(io_err(display))?;
    Ok(Listener::Tcp {
        listener: TcpListener::from_std(std).map_err(io_err(display))?,
        tls,
        display: local.to_string(),
    })
}

/// Binds a unix socket, replacing a stale socket file and refusing one that something still accepts on.
fn bind_unix(path: &Path, gid: Option<Gid>, strict_group: bool) -> Result<Listener, ListenError> {
    let display = path.display().to_string();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io_err(&display))?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_socket() => {
            return Err(ListenError::NotASocket(path.to_owned()))
        }
        Ok(_) => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(ListenError::InUse(path.to_owned()));
            }
            std::fs::remove_file(path).map_err(io_err(&display))?;
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(&display)(e)),
    }
    let std = std::os::unix::net::UnixListener::bind(path).map_err(io_err(&display))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .map_err(io_err(&display))?;
    if let Some(gid) = gid {
        if let Err(e) = nix::unistd::chown(path, None, Some(gid)) {
            if strict_group {
                return Err(io_err(&display)(e.into()));
            }
            tracing::warn!(
                "cannot give {} to group {}: {}",
                path.display(),
                DEFAULT_SOCKET_GROUP,
                e
            );
        }
    }
    std.set_nonblocking(true).map_err(io_err(&display))?;
    Ok(Listener::Unix {
        listener: UnixListener::from_std(std).map_err(io_err(&display))?,
        path: Some(path.to_owned()),
        display,
    })
}

/// Takes ownership of a listening socket systemd passed.
#[allow(unsafe_code)]
fn owned_fd(fd: RawFd) -> OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: `fd` comes from sd_notify::listen_fds(), which validated LISTEN_PID/LISTEN_FDS for this process:
    // it is an open descriptor systemd handed to us, and bind_all adopts each one exactly once.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn adopt_fd<F>(fd: RawFd, tls: &mut LazyTls<F>) -> Result<Listener, ListenError>
where
    F: FnMut() -> Result<Option<Arc<ServerConfig>>, TlsError>,
{
    let display = format!("fd://{fd}");
    let family = getsockname::<SockaddrStorage>(fd)
        .map_err(|e| io_err(&display)(e.into()))?
        .family();
    let owned = owned_fd(fd);
    match family {
        Some(AddressFamily::Unix) => {
            let std = std::os::unix::net::UnixListener::from(owned);
            std.set_nonblocking(true).map_err(io_err(&display))?;
            Ok(Listener::Unix {
                listener: UnixListener::from_std(std).map_err(io_err(&display))?,
                path: None,
                display,
            })
        }
        Some(AddressFamily::Inet | AddressFamily::Inet6) => {
            tcp_listener(std::net::TcpListener::from(owned), tls.get()?, &display)
        }
        _ => Err(io_err(&display)(std::io::Error::other(
            "not a unix or TCP socket",
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_tls() -> LazyTls<impl FnMut() -> Result<Option<Arc<ServerConfig>>, TlsError>> {
        LazyTls::new(|| Ok(None))
    }

    #[tokio::test]
    async fn unix_socket_is_0660_stale_replaced_live_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let path = dir.join("nested/w.sock");
        let host = DockerHost::Unix {
            path: path.display().to_string(),
        };
        let group = SocketGroup::Named(String::new());
        let first = bind_all(std::slice::from_ref(&host), &mut no_tls(), &group).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o660);
        // Something accepts on it: refused.
        let e = bind_all(std::slice::from_ref(&host), &mut no_tls(), &group).unwrap_err();
        assert!(matches!(e, ListenError::InUse(_)), "{e}");
        // Once the first listener is gone, the file is stale and replaced.
        drop(first);
        assert!(path.exists());
        bind_all(std::slice::from_ref(&host), &mut no_tls(), &group).unwrap();
        // A regular file is never removed.
        let file = dir.join("plain");
        std::fs::write(&file, "x").unwrap();
        let e = bind_all(
            &[DockerHost::Unix {
                path: file.display().to_string(),
            }],
            &mut no_tls(),
            &group,
        )
        .unwrap_err();
        assert!(matches!(e, ListenError::NotASocket(_)));
    }

    #[test]
    fn groups_default_silently_but_named_must_exist() {
        assert!(resolve_group(&SocketGroup::Default).is_ok());
        assert_eq!(
            resolve_group(&SocketGroup::Named(String::new())).unwrap(),
            None
        );
        assert_eq!(
            resolve_group(&SocketGroup::Named("0".into())).unwrap(),
            Some(Gid::from_raw(0))
        );
        let e = resolve_group(&SocketGroup::Named("no-such-group-wharf".into())).unwrap_err();
        assert!(e.to_string().contains("no-such-group-wharf"));
    }

    #[tokio::test]
    async fn plain_tcp_binds_only_on_loopback() {
        let host = DockerHost::Tcp {
            host: "127.0.0.1".into(),
            port: free_port(),
            base_path: String::new(),
        };
        let l = bind_all(&[host], &mut no_tls(), &SocketGroup::Default).unwrap();
        assert_eq!(l[0].kind(), "tcp");
        let open = DockerHost::Tcp {
            host: "0.0.0.0".into(),
            port: free_port(),
            base_path: String::new(),
        };
        let e = bind_all(&[open], &mut no_tls(), &SocketGroup::Default).unwrap_err();
        assert!(matches!(e, ListenError::PlainNonLoopback(_)), "{e}");
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }
}
