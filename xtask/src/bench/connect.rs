//! Client connections for the load generator: a unix socket, or TCP with mutual TLS (rustls, ring
//! provider, the development client certificate). HTTP itself is spoken by `load.rs` over the raw
//! stream, so a connection here is only a byte pipe.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use wharf_tests::DevCerts;

/// How to reach a daemon.
#[derive(Clone)]
pub enum Transport {
    /// A unix socket.
    Unix(PathBuf),
    /// Mutual TLS on a 127.0.0.1 port.
    Tls {
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

    /// Opens a connection (and completes the TLS handshake).
    pub async fn connect(&self) -> io::Result<Conn> {
        match self {
            Self::Unix(path) => Ok(Conn::Unix(UnixStream::connect(path).await?)),
            Self::Tls { addr, connector } => {
                let tcp = TcpStream::connect(addr).await?;
                tcp.set_nodelay(true)?;
                let name = ServerName::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST).into());
                Ok(Conn::Tls(Box::new(connector.connect(name, tcp).await?)))
            }
        }
    }
}

/// One open connection: a byte stream in either direction.
pub enum Conn {
    /// A unix socket.
    Unix(UnixStream),
    /// Mutual TLS over TCP.
    Tls(Box<TlsStream<TcpStream>>),
}

impl Conn {
    /// Sends all of `bytes` (for TLS, as records actually written to the socket).
    pub async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Self::Unix(stream) => stream.write_all(bytes).await,
            Self::Tls(stream) => {
                stream.write_all(bytes).await?;
                stream.flush().await
            }
        }
    }

    /// Reads what is available into `buf`; 0 at end of stream.
    pub async fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Unix(stream) => stream.read(buf).await,
            Self::Tls(stream) => stream.read(buf).await,
        }
    }
}

fn connector(certs: &DevCerts) -> Result<TlsConnector> {
    Ok(TlsConnector::from(client_config(certs)?))
}

/// A client configuration with the development CA and client certificate (an admin identity).
pub fn client_config(certs: &DevCerts) -> Result<Arc<rustls::ClientConfig>> {
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
    Ok(Arc::new(config))
}
