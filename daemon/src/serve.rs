//! Accept loops: each connection (unix, TCP, TLS) goes to hyper-util's auto builder (HTTP/1.1 and h2) serving
//! the axum router, watched by a `GracefulShutdown` so that shutdown drains in-flight requests.
//!
//! TLS ports answer plain HTTP as Go's server does, and every wait is bounded: the TLS handshake, HTTP/1
//! headers (which in hyper also bounds a keep-alive connection's idle wait) and h2 keep-alive pings.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{watch, Semaphore};
use tokio_rustls::TlsAcceptor;

use crate::listeners::Listener;

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
    /// HTTP/1 request headers, and the idle wait for the next request.
    pub header_read_timeout: Duration,
    /// h2 keep-alive ping interval; a peer that does not answer within the same time is dropped.
    pub h2_keep_alive: Duration,
    /// Connections served at once per listener.
    pub max_connections: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            tls_handshake_timeout: Duration::from_secs(10),
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
    let name = listener.display().to_owned();
    loop {
        let permit = tokio::select! {
            p = limit.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = shutdown.wait_for(|stop| *stop) => break,
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
        tokio::spawn(async move {
            let _permit = permit;
            match conn {
                Accepted::Unix(s) => {
                    let conn = builder
                        .serve_connection_with_upgrades(TokioIo::new(s), service)
                        .into_owned();
                    log_end(watcher.watch(conn).await);
                }
                Accepted::Tcp(s, None) => {
                    let conn = builder
                        .serve_connection_with_upgrades(TokioIo::new(s), service)
                        .into_owned();
                    log_end(watcher.watch(conn).await);
                }
                Accepted::Tcp(s, Some(acceptor)) => {
                    if let Some(tls) = tls_accept(s, &acceptor, options.tls_handshake_timeout).await
                    {
                        let conn = builder
                            .serve_connection_with_upgrades(TokioIo::new(tls), service)
                            .into_owned();
                        log_end(watcher.watch(conn).await);
                    }
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

enum Accepted {
    Unix(tokio::net::UnixStream),
    Tcp(TcpStream, Option<TlsAcceptor>),
}

async fn accept(listener: &Listener) -> std::io::Result<Accepted> {
    match listener {
        Listener::Unix { listener, .. } => listener.accept().await.map(|(s, _)| Accepted::Unix(s)),
        Listener::Tcp { listener, tls, .. } => {
            let (s, _) = listener.accept().await?;
            let _ = s.set_nodelay(true);
            Ok(Accepted::Tcp(s, tls.clone().map(TlsAcceptor::from)))
        }
    }
}

/// Peeks at the first byte: a TLS handshake goes on to rustls (within `limit`), anything else gets Go's
/// "HTTP request to an HTTPS server" answer and is closed.
pub(crate) async fn tls_accept(
    stream: TcpStream,
    acceptor: &TlsAcceptor,
    limit: Duration,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let handshake = async {
        let mut first = [0u8; 1];
        let n = stream.peek(&mut first).await.ok()?;
        if n == 0 {
            return None;
        }
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
    use tokio::io::AsyncReadExt;

    fn acceptor(name: &str) -> TlsAcceptor {
        let (_dir, files) = crate::tls::test_files(&format!("serve-{name}"));
        let config = crate::tls::server_config(crate::tls::TlsMode::Server, &files)
            .unwrap()
            .unwrap();
        TlsAcceptor::from(config)
    }

    #[tokio::test]
    async fn plain_http_on_a_tls_port_gets_gos_answer() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = acceptor("plain");
        let server = tokio::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            tls_accept(s, &acceptor, Duration::from_secs(5))
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
        assert!(tls_accept(s, &acceptor, Duration::from_millis(200))
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
