//! Client connections for the load generator: HTTP/1.1 over a unix socket, or over TCP with mutual TLS
//! (rustls, ring provider, the development client certificate).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::Empty;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};
use tokio_rustls::TlsConnector;
use wharf_tests::DevCerts;

/// A request sender on one keep-alive connection.
pub type Sender = SendRequest<Empty<Bytes>>;

/// How to reach a daemon.
#[derive(Clone)]
pub enum Transport {
    /// A unix socket.
    Unix(PathBuf),
    /// Mutual TLS on a 127.0.0.1 port.
    Tls {
        /// The listener.
        addr: SocketAddr,
        /// Client configuration with the development CA and client certificate.
        connector: TlsConnector,
    },
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unix(path) => write!(f, "unix://{}", path.display()),
            Self::Tls { addr, .. } => write!(f, "tcp://{addr} (mTLS)"),
        }
    }
}

impl Transport {
    /// Mutual TLS to `addr` (which must be loopback) with `certs`.
    pub fn tls(addr: SocketAddr, certs: &DevCerts) -> Result<Self> {
        anyhow::ensure!(addr.ip().is_loopback(), "the bench only targets 127.0.0.1");
        Ok(Self::Tls {
            addr,
            connector: connector(certs)?,
        })
    }

    /// Opens a connection and completes the HTTP/1.1 (and TLS) handshake.
    pub async fn connect(&self) -> Result<Sender> {
        match self {
            Self::Unix(path) => handshake(UnixStream::connect(path).await?).await,
            Self::Tls { addr, connector } => {
                let tcp = TcpStream::connect(addr).await?;
                tcp.set_nodelay(true)?;
                let name = ServerName::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST).into());
                handshake(connector.connect(name, tcp).await?).await
            }
        }
    }
}

async fn handshake<S>(stream: S) -> Result<Sender>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        // Ends when the sender is dropped or the peer closes; errors show up on the sender.
        let _ = connection.await;
    });
    Ok(sender)
}

fn connector(certs: &DevCerts) -> Result<TlsConnector> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(certs.ca()).context("reading ca.pem")? {
        roots.add(cert.context("parsing ca.pem")?)?;
    }
    let chain = CertificateDer::pem_file_iter(certs.client_cert())
        .context("reading cert.pem")?
        .collect::<Result<Vec<_>, _>>()
        .context("parsing cert.pem")?;
    let key = PrivateKeyDer::from_pem_file(certs.client_key()).context("reading key.pem")?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)?;
    Ok(TlsConnector::from(Arc::new(config)))
}
