//! TLS for TCP listeners: which mode dockerd's flags select ("secure by default": mutual TLS unless told
//! otherwise) and the rustls server configuration for it (TLS 1.2 minimum, ALPN h2 and http/1.1).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::ConfigError;

/// How TCP listeners speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain HTTP (`--tls=false`): loopback only.
    Plain,
    /// Server-side TLS, no client certificate (`--tls`, or `--tlsverify=false`).
    Server,
    /// Client certificates verified against the CA (`--tlsverify`, or no TLS flag at all); a client without
    /// one is admitted only with a bearer token on each request.
    Mutual,
}

impl TlsMode {
    /// dockerd's rules plus "secure by default": `tls`, `tlsverify` as given (flag or file), `None` when not.
    pub fn select(tls: Option<bool>, tlsverify: Option<bool>) -> Result<Self, ConfigError> {
        match (tls, tlsverify) {
            (Some(false), Some(true)) => Err(ConfigError::TlsContradiction),
            (Some(false), _) => Ok(Self::Plain),
            (_, Some(true)) | (None, None) => Ok(Self::Mutual),
            (Some(true), None) | (_, Some(false)) => Ok(Self::Server),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The CA that signs client certificates (mutual TLS).
    pub ca: PathBuf,
    /// The server certificate chain.
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Why the TLS configuration cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file is missing or unreadable.
    #[error("could not read TLS {what} file {}: {source}", .path.display())]
    Read {
        /// `CA`, `certificate` or `key`.
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file holds no usable PEM object.
    #[error("no {what} found in {}: {detail}", .path.display())]
    Pem {
        /// What was looked for.
        what: &'static str,
        path: PathBuf,
        /// The parser's words.
        detail: String,
    },
    /// rustls refused the certificate, key or CA.
    #[error("invalid TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client verifier cannot be built from the CA.
    #[error("invalid TLS CA {}: {detail}", .path.display())]
    Verifier { path: PathBuf, detail: String },
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_owned(),
        source,
    })
}

fn certs(what: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(what, path)?;
    let pem_err = |detail: String| TlsError::Pem {
        what,
        path: path.to_owned(),
        detail,
    };
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_err(e.to_string()))?;
    if certs.is_empty() {
        return Err(pem_err("no CERTIFICATE block".to_owned()));
    }
    Ok(certs)
}

/// The rustls configuration for `mode`, or `None` for plain HTTP.
pub fn server_config(
    mode: TlsMode,
    files: &TlsFiles,
) -> Result<Option<Arc<ServerConfig>>, TlsError> {
    if mode == TlsMode::Plain {
        return Ok(None);
    }
    let chain = certs("certificate", &files.cert)?;
    let key_bytes = read("key", &files.key)?;
    let key = PrivateKeyDer::from_pem_slice(&key_bytes).map_err(|e| TlsError::Pem {
        what: "private key",
        path: files.key.clone(),
        detail: e.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?;
    let builder = if mode == TlsMode::Mutual {
        let mut roots = RootCertStore::empty();
        for ca in certs("CA", &files.ca)? {
            roots.add(ca).map_err(|e| TlsError::Verifier {
                path: files.ca.clone(),
                detail: e.to_string(),
            })?;
        }
        // A client without a certificate completes the handshake as anonymous: the API then asks each of
        // its requests for a bearer token (`api/auth.rs`). One with a certificate the CA did not sign is
        // still refused here.
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .allow_unauthenticated()
            .build()
            .map_err(|e| TlsError::Verifier {
                path: files.ca.clone(),
                detail: e.to_string(),
            })?;
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let mut config = builder.with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Some(Arc::new(config)))
}

/// Fresh development certificates in a temporary directory (removed when the first value is dropped),
/// and the server's files.
#[cfg(test)]
pub(crate) fn test_files(name: &str) -> (tempfile::TempDir, TlsFiles) {
    let dir = tempfile::Builder::new()
        .prefix(&format!("wharf-{name}-"))
        .tempdir()
        .expect("a temporary directory");
    crate::certs::generate(&crate::certs::CertRequest {
        dir: dir.path().to_owned(),
        names: vec![],
        ips: vec![],
        force: true,
    })
    .expect("development certificates");
    let files = TlsFiles {
        ca: dir.path().join("ca.pem"),
        cert: dir.path().join("server-cert.pem"),
        key: dir.path().join("server-key.pem"),
    };
    (dir, files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_selection_follows_dockerd_and_secure_defaults() {
        use TlsMode::*;
        assert_eq!(TlsMode::select(None, None).unwrap(), Mutual);
        assert_eq!(TlsMode::select(None, Some(true)).unwrap(), Mutual);
        assert_eq!(TlsMode::select(Some(true), Some(true)).unwrap(), Mutual);
        assert_eq!(TlsMode::select(Some(true), None).unwrap(), Server);
        assert_eq!(TlsMode::select(None, Some(false)).unwrap(), Server);
        assert_eq!(TlsMode::select(Some(true), Some(false)).unwrap(), Server);
        assert_eq!(TlsMode::select(Some(false), None).unwrap(), Plain);
        assert_eq!(TlsMode::select(Some(false), Some(false)).unwrap(), Plain);
        assert!(TlsMode::select(Some(false), Some(true)).is_err());
    }

    #[test]
    fn missing_files_are_named() {
        let files = TlsFiles {
            ca: "/nonexistent/ca.pem".into(),
            cert: "/nonexistent/server-cert.pem".into(),
            key: "/nonexistent/server-key.pem".into(),
        };
        let e = server_config(TlsMode::Server, &files)
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/server-cert.pem"), "{e}");
        assert!(server_config(TlsMode::Plain, &files).unwrap().is_none());
    }

    #[test]
    fn builds_from_generated_certificates() {
        let (dir, files) = test_files("tls-test");
        let config = server_config(TlsMode::Mutual, &files).unwrap().unwrap();
        assert_eq!(
            config.alpn_protocols,
            [b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        let bad_ca = TlsFiles {
            ca: dir.path().join("missing-ca.pem"),
            ..files.clone()
        };
        let e = server_config(TlsMode::Mutual, &bad_ca)
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing-ca.pem"), "{e}");
        // Server-only TLS does not need the CA.
        assert!(server_config(TlsMode::Server, &bad_ca).unwrap().is_some());
    }
}
