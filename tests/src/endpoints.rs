//! Where a started daemon listens, and the client environment that reaches it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::certs::DevCerts;
use crate::http::{self, RawResponse};

/// A daemon's listeners: always a unix socket, optionally a mutual-TLS TCP port on 127.0.0.1.
#[derive(Clone, Debug)]
pub struct Endpoints {
    /// The unix socket.
    pub socket: PathBuf,
    /// The mutual-TLS TCP listener, when enabled.
    pub tcp: Option<SocketAddr>,
    /// The certificates, when TLS is enabled.
    pub certs: Option<DevCerts>,
}

impl Endpoints {
    /// The unix socket's path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// `unix:///path/to.sock`.
    pub fn unix_host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// `tcp://127.0.0.1:PORT`, when a TCP listener is enabled.
    pub fn tcp_host(&self) -> Option<String> {
        self.tcp.map(|addr| format!("tcp://{addr}"))
    }

    /// `DOCKER_HOST` for the unix socket.
    pub fn docker_env_unix(&self) -> Vec<(String, String)> {
        vec![("DOCKER_HOST".into(), self.unix_host())]
    }

    /// `DOCKER_HOST`, `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH` for the mutual-TLS listener.
    pub fn docker_env_tls(&self) -> Option<Vec<(String, String)>> {
        let host = self.tcp_host()?;
        let certs = self.certs.as_ref()?;
        Some(vec![
            ("DOCKER_HOST".into(), host),
            ("DOCKER_TLS_VERIFY".into(), "1".into()),
            ("DOCKER_CERT_PATH".into(), certs.dir().display().to_string()),
        ])
    }

    /// `GET /_ping` over the unix socket.
    pub fn ping(&self) -> Result<RawResponse> {
        http::get(&self.socket, "/_ping")
    }
}
