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

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::IpAddr;
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

use crate::listeners::Listener;
use malformed::JsonErrors;

mod malformed;

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
        let service = TowerToHyperService::new(app.clone());
        // Admitted here, in accept order, so that the oldest pending handshake is the one pushed out.
        let pending = match &conn {
            Accepted::Tls(s, peer, _) => {
                let pending = handshakes.admit(*peer);
                // A client whose first bytes are already here has started now, not when its task first
                // runs: under a flood, many newcomers can come before that and push it out as silent.
                if has_bytes(s) {
                    pending.started.store(true, Ordering::Relaxed);
                }
                Some(pending)
            }
            _ => None,
        };
        let limit = limit.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match conn {
                Accepted::Unix(s) => {
                    let conn = builder
                        .serve_connection_with_upgrades(TokioIo::new(JsonErrors::new(s)), service)
                        .into_owned();
                    log_end(watcher.watch(conn).await);
                }
                Accepted::Tcp(s) => {
                    let conn = builder
                        .serve_connection_with_upgrades(TokioIo::new(JsonErrors::new(s)), service)
                        .into_owned();
                    log_end(watcher.watch(conn).await);
                }
                Accepted::Tls(s, _, acceptor) => {
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

/// Whether the peer's first bytes have arrived on `stream`, without reading them or waiting.
fn has_bytes(stream: &TcpStream) -> bool {
    use nix::sys::socket::{recv, MsgFlags};
    use std::os::fd::AsRawFd;
    let mut byte = [0u8; 1];
    let flags = MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT;
    matches!(recv(stream.as_raw_fd(), &mut byte, flags), Ok(n) if n > 0)
}

enum Accepted {
    Unix(tokio::net::UnixStream),
    Tcp(TcpStream),
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
                None => Accepted::Tcp(s),
            })
        }
    }
}

/// The TLS handshakes in progress on one listener, at most `total` in all and `per_ip` from one source
/// address. A newcomer over either bound pushes out the oldest pending handshake (of its own address when
/// that address is at its bound), taking those whose peer has not sent a byte yet first: a client that
/// has started its handshake is a few round trips from done, a silent socket may never speak.
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

    /// Admits a handshake from `ip`, pushing out the oldest pending one if a bound is reached.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Pending {
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
            .find(|(_, e)| !e.started.load(Ordering::Relaxed))
            .or_else(|| candidates().next())
            .map(|(id, _)| *id);
        if let Some(id) = victim {
            tracing::trace!("handshake pool full: dropping a pending handshake");
            self.remove(id);
        }
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
mod tests {
    use super::*;
    use rustls_pki_types::pem::PemObject;
    use tokio::io::AsyncReadExt;

    fn acceptor(name: &str) -> TlsAcceptor {
        let (_dir, files) = crate::tls::test_files(&format!("serve-{name}"));
        let config = crate::tls::server_config(crate::tls::TlsMode::Server, &files)
            .unwrap()
            .unwrap();
        TlsAcceptor::from(config)
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    fn pushed_out(p: &mut Pending) -> bool {
        matches!(
            p.cancelled.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        )
    }

    #[test]
    fn a_newcomer_over_its_address_bound_pushes_out_that_address_oldest() {
        let pool = Arc::new(Handshakes::new(10, 2));
        let mut a1 = pool.admit(ip(1));
        let mut b1 = pool.admit(ip(2));
        let mut a2 = pool.admit(ip(1));
        let mut a3 = pool.admit(ip(1));
        assert!(pushed_out(&mut a1), "the oldest from 127.0.0.1");
        assert!(!pushed_out(&mut b1), "another address keeps its place");
        assert!(!pushed_out(&mut a2));
        assert!(!pushed_out(&mut a3));
        assert_eq!(pool.len(), 3);
        // The pushed-out one leaving later does not free a place twice.
        drop(a1);
        let mut a4 = pool.admit(ip(1));
        assert!(pushed_out(&mut a2));
        assert!(!pushed_out(&mut a3) && !pushed_out(&mut a4));
        // An IPv4-mapped IPv6 peer counts as its IPv4 address.
        let _a5 = pool.admit("::ffff:127.0.0.1".parse().unwrap());
        assert!(pushed_out(&mut a3));
    }

    #[test]
    fn a_full_pool_pushes_out_its_oldest_silent_handshake_first() {
        let pool = Arc::new(Handshakes::new(3, 3));
        let mut x = pool.admit(ip(1));
        let mut y = pool.admit(ip(2));
        let mut z = pool.admit(ip(3));
        x.started.store(true, Ordering::Relaxed);
        let mut w = pool.admit(ip(4));
        assert!(
            !pushed_out(&mut x),
            "a started handshake outlives silent ones"
        );
        assert!(pushed_out(&mut y), "the oldest silent one goes");
        y.started.store(true, Ordering::Relaxed);
        z.started.store(true, Ordering::Relaxed);
        w.started.store(true, Ordering::Relaxed);
        let mut v = pool.admit(ip(5));
        assert!(pushed_out(&mut x), "all started: the oldest goes");
        assert!(!pushed_out(&mut z) && !pushed_out(&mut w) && !pushed_out(&mut v));
    }

    #[test]
    fn a_finished_handshake_frees_its_place() {
        let pool = Arc::new(Handshakes::new(2, 1));
        drop(pool.admit(ip(1)));
        let mut a = pool.admit(ip(1));
        let mut b = pool.admit(ip(2));
        assert!(!pushed_out(&mut a) && !pushed_out(&mut b));
        assert_eq!(pool.len(), 2);
        drop((a, b));
        assert_eq!(pool.len(), 0);
        assert!(pool.state().per_ip.is_empty());
    }

    #[tokio::test]
    async fn a_pushed_out_handshake_stops_at_once() {
        let pool = Arc::new(Handshakes::new(1, 1));
        let first = pool.admit(ip(1));
        let waiting = tokio::spawn(first.run(std::future::pending::<Option<()>>()));
        let _second = pool.admit(ip(1));
        let ended = tokio::time::timeout(Duration::from_secs(5), waiting).await;
        assert_eq!(ended.unwrap().unwrap(), None);
        assert_eq!(pool.len(), 1);
    }

    /// Silent sockets beyond every bound (handshakes from one address, connection slots) do not keep a
    /// TLS client out: the handshakes push them out, and a slot is only taken once a handshake is through.
    #[tokio::test]
    async fn a_peer_that_already_sent_bytes_is_seen_at_accept() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _silent = TcpStream::connect(addr).await.unwrap();
        let (silent, _) = listener.accept().await.unwrap();
        assert!(!has_bytes(&silent));
        let mut speaking = TcpStream::connect(addr).await.unwrap();
        speaking.write_all(&[TLS_HANDSHAKE]).await.unwrap();
        let (spoke, _) = listener.accept().await.unwrap();
        // Loopback delivers the byte before accept returns once it is in the queue; poll briefly anyway.
        let seen = async {
            while !has_bytes(&spoke) {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), seen)
            .await
            .unwrap();
        assert!(
            has_bytes(&spoke),
            "peeking leaves the byte for the handshake"
        );
    }

    #[tokio::test]
    async fn silent_sockets_do_not_keep_a_tls_client_out() {
        let (_dir, files) = crate::tls::test_files("serve-flood");
        let config = crate::tls::server_config(crate::tls::TlsMode::Server, &files)
            .unwrap()
            .unwrap();
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let listener = Listener::Tcp {
            listener: tcp,
            tls: Some(config),
            display: addr.to_string(),
        };
        let options = ServeOptions {
            max_connections: 2,
            max_handshakes: 8,
            max_handshakes_per_ip: 4,
            tls_handshake_timeout: Duration::from_secs(60),
            ..ServeOptions::default()
        };
        let app = crate::api::router(crate::state::AppState::for_tests());
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(serve(listener, app, rx, Duration::from_secs(2), options));
        let mut silent = Vec::new();
        for _ in 0..20 {
            silent.push(TcpStream::connect(addr).await.unwrap());
        }
        let mut roots = rustls::RootCertStore::empty();
        let ca = std::fs::read(&files.ca).unwrap();
        for cert in rustls_pki_types::CertificateDer::pem_slice_iter(&ca) {
            roots.add(cert.unwrap()).unwrap();
        }
        let client = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
        let exchange = async {
            let tcp = TcpStream::connect(addr).await.unwrap();
            let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
            let mut tls = connector.connect(name, tcp).await.unwrap();
            tls.write_all(b"GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            let mut answer = Vec::new();
            let _ = tls.read_to_end(&mut answer).await;
            String::from_utf8_lossy(&answer).into_owned()
        };
        let answer = tokio::time::timeout(Duration::from_secs(10), exchange)
            .await
            .expect("answered while silent sockets fill every bound");
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        tx.send(true).unwrap();
        drop(silent);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn plain_http_on_a_tls_port_gets_gos_answer() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = acceptor("plain");
        let server = tokio::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            tls_accept(
                s,
                &acceptor,
                Duration::from_secs(5),
                &AtomicBool::new(false),
            )
            .await
            .is_some()
        });
        let mut client = TcpStream::connect(addr).await.unwrap();
        client
            .write_all(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.unwrap();
        assert_eq!(answer, PLAIN_HTTP_ON_TLS);
        assert!(!server.await.unwrap());
    }

    #[tokio::test]
    async fn a_silent_client_is_dropped_at_the_handshake_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = acceptor("silent");
        let _client = TcpStream::connect(addr).await.unwrap();
        let (s, _) = listener.accept().await.unwrap();
        let started = std::time::Instant::now();
        assert!(tls_accept(
            s,
            &acceptor,
            Duration::from_millis(200),
            &AtomicBool::new(false)
        )
        .await
        .is_none());
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn serves_http_on_a_unix_socket_and_drains_on_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let listener = Listener::Unix {
            listener: tokio::net::UnixListener::bind(&path).unwrap(),
            path: Some(path.clone()),
            display: path.display().to_string(),
        };
        let app = crate::api::router(crate::state::AppState::for_tests());
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(serve(
            listener,
            app,
            rx,
            Duration::from_secs(2),
            ServeOptions::default(),
        ));
        let mut client = tokio::net::UnixStream::connect(&path).await.unwrap();
        client
            .write_all(b"GET /v1.47/_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        client.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        assert!(answer.contains("api-version: 1.47"), "{answer}");
        assert!(answer.ends_with("OK"));
        tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
    }
}
