//! Development certificates made by `wharfd certs --dir DIR`: a CA, a server pair for 127.0.0.1 and
//! localhost, and a client pair. The layout is what `DOCKER_CERT_PATH` expects.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Result};

use crate::command::RunCommand;

/// The files `wharfd certs` writes.
pub const CERT_FILES: &[&str] = &[
    "ca.pem",
    "ca-key.pem",
    "cert.pem",
    "key.pem",
    "server-cert.pem",
    "server-key.pem",
];

/// A directory of development certificates.
#[derive(Clone, Debug)]
pub struct DevCerts {
    dir: PathBuf,
}

impl DevCerts {
    /// Runs `wharfd certs --dir dir` and checks that every file was written.
    pub fn generate(wharfd: &Path, dir: &Path) -> Result<Self> {
        RunCommand::new(wharfd)
            .arg("certs")
            .arg("--dir")
            .arg(dir)
            .timeout(Duration::from_secs(30))
            .run()?
            .ok()?;
        Self::existing(dir)
    }

    /// [`Self::generate`] into a new `certs` directory inside a fixture's own directory `root`, so
    /// that they go with it.
    pub fn generate_in_fixture(wharfd: &Path, root: &Path) -> Result<Self> {
        let dir = root.join("certs");
        std::fs::create_dir(&dir)?;
        Self::generate(wharfd, &dir)
    }

    /// Certificates already in `dir`; fails naming any missing file.
    pub fn existing(dir: &Path) -> Result<Self> {
        let missing: Vec<_> = CERT_FILES
            .iter()
            .filter(|name| !dir.join(name).is_file())
            .collect();
        if !missing.is_empty() {
            bail!("{} lacks {missing:?}", dir.display());
        }
        Ok(Self {
            dir: dir.to_owned(),
        })
    }

    /// The directory (a `DOCKER_CERT_PATH`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The CA certificate.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// The client certificate.
    pub fn client_cert(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }

    /// The client key.
    pub fn client_key(&self) -> PathBuf {
        self.dir.join("key.pem")
    }

    /// The server certificate.
    pub fn server_cert(&self) -> PathBuf {
        self.dir.join("server-cert.pem")
    }

    /// The server key.
    pub fn server_key(&self) -> PathBuf {
        self.dir.join("server-key.pem")
    }

    /// Daemon flags for mutual TLS with these certificates (the same for wharfd and dockerd).
    pub fn daemon_tls_args(&self) -> Vec<OsString> {
        vec![
            "--tlsverify".into(),
            "--tlscacert".into(),
            self.ca().into(),
            "--tlscert".into(),
            self.server_cert().into(),
            "--tlskey".into(),
            self.server_key().into(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn existing_names_missing_files() {
        let dir = crate::TempDir::new("wc").unwrap();
        std::fs::write(dir.path().join("ca.pem"), b"").unwrap();
        let err = DevCerts::existing(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("server-key.pem") && !err.contains("\"ca.pem\""),
            "{err}"
        );
        for name in CERT_FILES {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let certs = DevCerts::existing(dir.path()).unwrap();
        assert_eq!(certs.client_key(), dir.path().join("key.pem"));
    }
}
