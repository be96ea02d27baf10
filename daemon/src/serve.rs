//! Accept loops: each connection (unix, TCP, TLS) goes to hyper-util's auto builder (HTTP/1.1 and h2) serving
//! the axum router, watched by a `GracefulShutdown` so that shutdown drains in-flight requests.
//!
//! TLS ports answer plain HTTP as Go's server does, requests hyper cannot parse get a JSON body
//! ([`malformed`]), and every wait is bounded: the TLS handshake, HTTP/1
//! headers (which in hyper also bounds a keep-alive connection's idle wait) and h2 keep-alive pings.
//!
//! On a TLS port a connection only takes one of the listener's slots once its handshake is through:
//! handshakes in progress have their own pool ([`Handshakes`]), bounded in all and per source address,
//! where a newcomer pushes out the oldest pending one. So sockets that connect and say nothing (or never
//! finish a handshake) cannot keep a client with a valid certificate waiting.
//!
//! Each connection's service puts who the peer is ([`Peer`]: the unix socket, a verified certificate, or
//! an anonymous TCP client) into every request, for the API's authentication.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch, Semaphore};
use tokio_rustls::TlsAcceptor;

use crate::auth::Peer;
use crate::listeners::Listener;
use malformed::JsonErrors;

mod malformed;

mod peer;
use peer::{tls_peer, WithPeer};

/// Go's answer to plain HTTP on a TLS port.
pub(crate) const PLAIN_HTTP_ON_TLS: &[u8] =
    b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";

/// The first byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// Time limits and bounds for connections.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ServeOptions {
    /// TLS handshake, including the first byte.
    pub tls_handshake_timeout: Duration,
    /// TLS handshakes in progress at once per listener.
    pub max_handshakes: usize,
    /// TLS handshakes in progress at once per listener from one source address.
    pub max_handshakes_per_ip: usize,
    /// HTTP/1 request headers, and the idle wait for the next request.
    pub header_read_timeout: Duration,
    /// h2 keep-alive ping interval; a peer that does not answer within the same time is dropped.
    pub h2_keep_alive: Duration,
    /// Connections served at once per listener (on a TLS port, counted from the end of the handshake).
    pub max_connections: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            tls_handshake_timeout: Duration::from_secs(3),
            max_handshakes: 512,
            max_handshakes_per_ip: 128,
            header_read_timeout: Duration::from_secs(30),
            h2_keep_alive: Duration::from_secs(30),
            max_connections: 1024,
        }
    }
}

fn builder(options: &ServeOptions) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(options.h2_keep_alive)
        .keep_alive_timeout(options.h2_keep_alive)
        .max_concurrent_streams(250);
    builder
}

/// Accepts on `listener` until `shutdown` turns true, then drains its connections for up to `drain`;
/// each connection is served by a clone of `app`.
pub(crate) async fn serve<S, B>(
    listener: Listener,
    app: S,
    mut shutdown: watch::Receiver<bool>,
    drain: Duration,
    options: ServeOptions,
) where
    S: tower::Service<http::Request<Incoming>, Response = http::Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let graceful = GracefulShutdown::new();
    let builder = builder(&options);
    let limit = Arc::new(Semaphore::new(options.max_connections));
    // Clients without a certificate (token clients) hold at most half the slots, so that anonymous
    // connections, which now complete their handshakes, cannot lock out clients with certificates.
    let anonymous = Arc::new(Semaphore::new((options.max_connections / 2).max(1)));
    let handshakes = Arc::new(Handshakes::new(
        options.max_handshakes,
        options.max_handshakes_per_ip,
    ));
    let tls = matches!(listener, Listener::Tcp { tls: Some(_), .. });
    let name = listener.display().to_owned();
    loop {
        // Unix and plain TCP take their slot before accepting, so a full listener leaves newcomers in the
        // backlog; a TLS port accepts on and takes the slot once the handshake is through.
        let permit = if tls {
            None
        } else {
            tokio::select! {
                p = limit.clone().acquire_owned() => match p { Ok(p) => Some(p), Err(_) => break },
                _ = shutdown.wait_for(|stop| *stop) => break,
            }
        };
        let accepted = tokio::select! {
            a = accept(&listener) => a,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        let conn = match accepted {
            Ok(conn) => conn,
            Err(e) => {
                // EMFILE and friends: back off rather than spin.
                tracing::warn!("accept on {name}: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let watcher = graceful.watcher();
        let builder = builder.clone();
        let app = app.clone();
        // Admitted here, in accept order, so that the oldest pending handshake is the one pushed out.
        let pending = match &conn {
            Accepted::Tls(s, peer, _) => Some(handshakes.admit_socket(*peer, s)),
            _ => None,
        };
        let limit = limit.clone();
        let anonymous = anonymous.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match conn {
                Accepted::Unix(s) => {
                    let service = TowerToHyperService::new(WithPeer::new(app, Peer::Unix));
                    let conn = builder
                        .serve_connection_with_upgrades(TokioIo::new(JsonErrors::new(s)), service)
                        .into_owned();
                    log_end(watcher.watch(conn).await);
                }
                Accepted::Tcp(s, ip) => {
                    let service = TowerToHyperService::new(WithPeer::new(app, Peer::Plain { ip }));
                    let conn = builder
                        .serve_connection_with_upgrades(TokioIo::new(JsonErrors::new(s)), service)
                        .into_owned();
                    log_end(watcher.watch(conn).await);
                }
                Accepted::Tls(s, ip, acceptor) => {
                    let Some(pending) = pending else { return };
                    let started = pending.started.clone();
                    let timeout = options.tls_handshake_timeout;
                    let Some(tls) = pending
                        .run(tls_accept(s, &acceptor, timeout, &started))
                        .await
                    else {
                        return;
                    };
                    let slot = tokio::time::timeout(timeout, limit.acquire_owned()).await;
                    let Ok(Ok(_permit)) = slot else {
                        tracing::debug!("no connection slot within {timeout:?}; closing");
                        return;
                    };
                    let peer = tls_peer(&tls, ip);
                    let _anonymous = match peer {
                        Peer::Anonymous { .. } => match anonymous.try_acquire_owned() {
                            Ok(p) => Some(p),
                            Err(_) => {
                                tracing::debug!("anonymous connections at their bound; closing");
                                return;
                            }
                        },
                        _ => None,
                    };
                    let service = TowerToHyperService::new(WithPeer::new(app, peer));
                    let conn = builder
                        .serve_connection_with_upgrades(TokioIo::new(JsonErrors::new(tls)), service)
                        .into_owned();
                    log_end(watcher.watch(conn).await);
                }
            }
        });
    }
    drop(listener);
    tracing::debug!("{name}: stopped accepting, draining");
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("{name}: connections still open after {drain:?}; closing them");
    }
}

fn log_end<E: std::fmt::Display>(result: Result<(), E>) {
    if let Err(e) = result {
        tracing::debug!("connection ended: {e}");
    }
}

/// Whether the peer's first bytes have arrived on the socket `fd`, without reading them or waiting.
fn has_bytes(fd: RawFd) -> bool {
    use nix::sys::socket::{recv, MsgFlags};
    let mut byte = [0u8; 1];
    let flags = MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT;
    matches!(recv(fd, &mut byte, flags), Ok(n) if n > 0)
}

enum Accepted {
    Unix(tokio::net::UnixStream),
    /// With the peer's address, for the failed-login limiter.
    Tcp(TcpStream, IpAddr),
    /// With the peer's address, which the handshake pool counts by.
    Tls(TcpStream, IpAddr, TlsAcceptor),
}

async fn accept(listener: &Listener) -> std::io::Result<Accepted> {
    match listener {
        Listener::Unix { listener, .. } => listener.accept().await.map(|(s, _)| Accepted::Unix(s)),
        Listener::Tcp { listener, tls, .. } => {
            let (s, peer) = listener.accept().await?;
            let _ = s.set_nodelay(true);
            Ok(match tls {
                Some(config) => Accepted::Tls(s, peer.ip(), TlsAcceptor::from(config.clone())),
                None => Accepted::Tcp(s, peer.ip()),
            })
        }
    }
}

/// The TLS handshakes in progress on one listener, at most `total` in all and `per_ip` from one source
/// address. A newcomer over either bound pushes out the oldest pending handshake (of its own address when
/// that address is at its bound), taking those whose peer has not sent a byte yet first: a client that
/// has started its handshake is a few round trips from done, a silent socket may never speak.
///
/// Whether a peer has spoken is not left to its task alone (which sets `started` once its peek returns):
/// under a flood, the accept loop can admit hundreds of newcomers before that task is first polled, so the
/// pool also peeks at a candidate's socket before pushing it out as silent.
pub(crate) struct Handshakes {
    total: usize,
    per_ip: usize,
    state: Mutex<PendingSet>,
}

#[derive(Default)]
struct PendingSet {
    next: u64,
    /// In admission order.
    entries: BTreeMap<u64, PendingEntry>,
    per_ip: HashMap<IpAddr, usize>,
}

struct PendingEntry {
    ip: IpAddr,
    started: Arc<AtomicBool>,
    /// The peer's socket, peeked at before the entry is pushed out as silent. The entry leaves the pool
    /// just after its handshake future (which owns the socket) ends, so in that moment the number may name
    /// a newer socket or file: a peek never consumes, and a non-socket answers `ENOTSOCK`, so the worst
    /// case is a finished entry counted as started.
    socket: Option<RawFd>,
    /// Dropped to push the handshake out: its [`Pending::cancelled`] then resolves.
    _cancel: oneshot::Sender<()>,
}

/// One admitted handshake; it leaves the pool when dropped.
pub(crate) struct Pending {
    pool: Arc<Handshakes>,
    id: u64,
    /// Set once the peer has sent its first byte.
    pub(crate) started: Arc<AtomicBool>,
    cancelled: oneshot::Receiver<()>,
}

impl Handshakes {
    pub(crate) fn new(total: usize, per_ip: usize) -> Self {
        Self {
            total: total.max(1),
            per_ip: per_ip.max(1),
            state: Mutex::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, PendingSet> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Admits the handshake on `stream` from `ip`, pushing out the oldest pending one if a bound is
    /// reached. A peer whose first bytes are already here counts as started at once.
    pub(crate) fn admit_socket(self: &Arc<Self>, ip: IpAddr, stream: &TcpStream) -> Pending {
        let pending = self.admit_entry(ip, Some(stream.as_raw_fd()));
        if has_bytes(stream.as_raw_fd()) {
            pending.started.store(true, Ordering::Relaxed);
        }
        pending
    }

    /// Admits a handshake from `ip` with no socket to peek at (its task alone says when it starts).
    #[cfg(test)]
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Pending {
        self.admit_entry(ip, None)
    }

    fn admit_entry(self: &Arc<Self>, ip: IpAddr, socket: Option<RawFd>) -> Pending {
        let ip = ip.to_canonical();
        let (cancel, cancelled) = oneshot::channel();
        let started = Arc::new(AtomicBool::new(false));
        let mut set = self.state();
        if set.per_ip.get(&ip).is_some_and(|n| *n >= self.per_ip) {
            set.push_out(Some(ip));
        }
        if set.entries.len() >= self.total {
            set.push_out(None);
        }
        let id = set.next;
        set.next += 1;
        set.entries.insert(
            id,
            PendingEntry {
                ip,
                started: started.clone(),
                socket,
                _cancel: cancel,
            },
        );
        *set.per_ip.entry(ip).or_default() += 1;
        Pending {
            pool: self.clone(),
            id,
            started,
            cancelled,
        }
    }

    /// Handshakes pending now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.state().entries.len()
    }
}

impl PendingSet {
    fn remove(&mut self, id: u64) {
        let Some(entry) = self.entries.remove(&id) else {
            return;
        };
        match self.per_ip.get_mut(&entry.ip) {
            Some(n) if *n > 1 => *n -= 1,
            _ => {
                self.per_ip.remove(&entry.ip);
            }
        }
    }

    /// Drops the oldest pending handshake (from `ip` if given), silent ones first.
    fn push_out(&mut self, ip: Option<IpAddr>) {
        let candidates = || {
            self.entries
                .iter()
                .filter(move |(_, e)| ip.is_none_or(|ip| e.ip == ip))
        };
        let victim = candidates()
            .find(|(_, e)| !e.has_spoken())
            .or_else(|| candidates().next())
            .map(|(id, _)| *id);
        if let Some(id) = victim {
            tracing::trace!("handshake pool full: dropping a pending handshake");
            self.remove(id);
        }
    }
}

impl PendingEntry {
    /// Whether the peer has sent a byte: known from its task, or seen now on its socket.
    fn has_spoken(&self) -> bool {
        if self.started.load(Ordering::Relaxed) {
            return true;
        }
        let spoken = self.socket.is_some_and(has_bytes);
        if spoken {
            self.started.store(true, Ordering::Relaxed);
        }
        spoken
    }
}

impl Pending {
    /// Runs `handshake` unless this handshake is pushed out first; then leaves the pool.
    pub(crate) async fn run<T>(
        mut self,
        handshake: impl std::future::Future<Output = Option<T>>,
    ) -> Option<T> {
        tokio::select! {
            done = handshake => done,
            _ = &mut self.cancelled => None,
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.pool.state().remove(self.id);
    }
}

/// Peeks at the first byte (and sets `started` once it has come): a TLS handshake goes on to rustls
/// (within `limit`), anything else gets Go's "HTTP request to an HTTPS server" answer and is closed.
pub(crate) async fn tls_accept(
    stream: TcpStream,
    acceptor: &TlsAcceptor,
    limit: Duration,
    started: &AtomicBool,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let handshake = async {
        let mut first = [0u8; 1];
        let n = stream.peek(&mut first).await.ok()?;
        if n == 0 {
            return None;
        }
        started.store(true, Ordering::Relaxed);
        if first[0] != TLS_HANDSHAKE {
            reject_plain(stream).await;
            return None;
        }
        match acceptor.accept(stream).await {
            Ok(tls) => Some(tls),
            Err(e) => {
                tracing::debug!("TLS handshake failed: {e}");
                None
            }
        }
    };
    tokio::time::timeout(limit, handshake).await.ok().flatten()
}

async fn reject_plain<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) {
    let _ = stream.write_all(PLAIN_HTTP_ON_TLS).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests;
