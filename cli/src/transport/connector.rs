//! The connector hyper-util's pool calls for a new connection: it opens the one daemon address this
//! transport was made for (the request URI only keys the pool), within the connect timeout, with TLS when
//! configured.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::net::{TcpStream, UnixStream};
use tokio_rustls::TlsConnector;

use super::stream::{Conn, SniffedStream, Stream};

/// Where to connect.
#[derive(Clone, Debug)]
pub enum Endpoint {
    /// A unix socket.
    Unix(PathBuf),
    /// A TCP address, with TLS when `tls` is set.
    Tcp {
        /// Host name or IP.
        host: String,
        /// Port.
        port: u16,
        /// The TLS configuration and the name to verify and send as SNI.
        tls: Option<(Arc<ClientConfig>, ServerName<'static>)>,
    },
}

/// Opens connections to one [`Endpoint`].
#[derive(Clone, Debug)]
pub struct Connector {
    endpoint: Arc<Endpoint>,
    connect_timeout: Duration,
    tls_answer: Arc<AtomicBool>,
}

impl Connector {
    /// A connector to `endpoint`; `tls_answer` is raised when a plain connection receives TLS.
    pub fn new(endpoint: Endpoint, connect_timeout: Duration, tls_answer: Arc<AtomicBool>) -> Self {
        Self {
            endpoint: Arc::new(endpoint),
            connect_timeout,
            tls_answer,
        }
    }

    async fn connect(self) -> io::Result<Conn> {
        let timeout = self.connect_timeout;
        let stream = tokio::time::timeout(timeout, open(&self.endpoint))
            .await
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no connection within {}s", timeout.as_secs_f32()),
                )
            })??;
        Ok(Conn::new(SniffedStream::new(stream, self.tls_answer)))
    }
}

async fn open(endpoint: &Endpoint) -> io::Result<Stream> {
    match endpoint {
        Endpoint::Unix(path) => {
            tracing::debug!(path = %path.display(), "connecting to unix socket");
            Ok(Stream::Unix(UnixStream::connect(path).await?))
        }
        Endpoint::Tcp { host, port, tls } => {
            tracing::debug!(%host, port, tls = tls.is_some(), "connecting over TCP");
            let tcp = TcpStream::connect((host.as_str(), *port)).await?;
            tcp.set_nodelay(true)?;
            match tls {
                None => Ok(Stream::Tcp(tcp)),
                Some((config, name)) => {
                    let tls = TlsConnector::from(config.clone())
                        .connect(name.clone(), tcp)
                        .await?;
                    Ok(Stream::Tls(Box::new(tls)))
                }
            }
        }
    }
}

impl tower_service::Service<Uri> for Connector {
    type Response = Conn;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Conn>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: Uri) -> Self::Future {
        Box::pin(self.clone().connect())
    }
}
