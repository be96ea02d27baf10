//! The TLS a registry is reached with, as dockerd builds it: the system's CAs plus the registry's own
//! from `<certs-dir>/<host:port>/*.crt`, a client certificate from a `*.cert`/`*.key` pair there, and
//! for insecure registries no verification at all. Our rustls configuration (ring) is handed to
//! reqwest, so every connection to a registry uses exactly these roots.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use crate::error::Error;

/// What `<certs-dir>/<host:port>/` holds for one registry.
#[derive(Debug, Default)]
pub(crate) struct CertsDir {
    /// The CAs of the `*.crt` files.
    pub cas: Vec<CertificateDer<'static>>,
    /// The first `*.cert` with its `*.key`.
    pub client: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
}

/// Reads `dir` as dockerd's `ReadCertsDirectory`: `*.crt` are CAs, `*.cert` needs its `*.key` and the
/// other way round (each missing half is an error naming both). An absent directory is empty.
pub(crate) fn read_certs_dir(dir: &Path) -> Result<CertsDir, Error> {
    let mut out = CertsDir::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::system(format!("{}: {e}", dir.display()))),
    };
    let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    names.sort();
    let bad = |path: &Path, e: &dyn std::fmt::Display| {
        Error::system(format!("cannot read {}: {e}", path.display()))
    };
    for path in &names {
        let name = path.to_string_lossy();
        if let Some(stem) = name.strip_suffix(".crt") {
            let _ = stem;
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(path, &e))? {
                out.cas.push(cert.map_err(|e| bad(path, &e))?);
            }
        } else if let Some(stem) = name.strip_suffix(".cert") {
            let key = PathBuf::from(format!("{stem}.key"));
            if !key.exists() {
                return Err(Error::system(format!(
                    "missing key {} for client certificate {}. Note that CA certificates should use the extension .crt",
                    key.display(),
                    path.display()
                )));
            }
            if out.client.is_none() {
                let chain = CertificateDer::pem_file_iter(path)
                    .map_err(|e| bad(path, &e))?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| bad(path, &e))?;
                let key_der = PrivateKeyDer::from_pem_file(&key).map_err(|e| bad(&key, &e))?;
                out.client = Some((chain, key_der));
            }
        } else if let Some(stem) = name.strip_suffix(".key") {
            let cert = PathBuf::from(format!("{stem}.cert"));
            if !cert.exists() {
                return Err(Error::system(format!(
                    "missing client certificate {} for key {}",
                    cert.display(),
                    path.display()
                )));
            }
        }
    }
    Ok(out)
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The system's CAs, read once (a few hundred certificates; unreadable ones are skipped, as Go's pool).
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::warn!("system CA certificates: {e}");
        }
        found.certs
    })
}

/// The client configuration for a registry: `verify` with the system's and `certs`' CAs, else (an
/// insecure registry) accepting any certificate; `certs`' client certificate either way.
pub(crate) fn client_config(certs: &CertsDir, verify: bool) -> Result<ClientConfig, Error> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(Error::system)?;
    let builder = if verify {
        let mut roots = RootCertStore::empty();
        let (_added, _ignored) = roots.add_parsable_certificates(system_roots().iter().cloned());
        for ca in &certs.cas {
            roots
                .add(ca.clone())
                .map_err(|e| Error::system(format!("invalid CA certificate: {e}")))?;
        }
        builder.with_root_certificates(roots)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
    };
    let mut config = match &certs.client {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain.clone(), key.clone_key())
            .map_err(|e| Error::system(format!("invalid client certificate: {e}")))?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// An insecure registry's verifier: any certificate is accepted (dockerd's `InsecureSkipVerify`), the
/// handshake's signatures are still checked.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certs_dir_pairs_client_files_and_reads_cas() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_certs_dir(&dir.path().join("absent"))
            .unwrap()
            .cas
            .is_empty());
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["reg".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        std::fs::write(dir.path().join("ca.crt"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("client.cert"), cert.pem()).unwrap();
        let e = read_certs_dir(dir.path()).unwrap_err();
        assert!(e.message.starts_with("missing key"), "{e}");
        assert!(e.message.contains("should use the extension .crt"), "{e}");
        std::fs::write(dir.path().join("client.key"), key.serialize_pem()).unwrap();
        let read = read_certs_dir(dir.path()).unwrap();
        assert_eq!(read.cas.len(), 1);
        assert!(read.client.is_some());
        client_config(&read, true).unwrap();
        client_config(&read, false).unwrap();
        std::fs::remove_file(dir.path().join("client.cert")).unwrap();
        let e = read_certs_dir(dir.path()).unwrap_err();
        assert!(e.message.starts_with("missing client certificate"), "{e}");
    }
}
