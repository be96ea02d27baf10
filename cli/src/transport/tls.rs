//! rustls client configurations from the docker CLI's TLS settings.
//!
//! `--tlsverify` verifies the daemon against the CA bundle; `--tls` alone encrypts but trusts any daemon
//! certificate, as the docker CLI does. A client certificate is presented when its files exist; files named
//! on the command line must exist. The ring provider is passed explicitly so no process default matters.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{self, CryptoProvider};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use wharf_client_core::host::TlsSettings;
use wharf_client_core::{TransportError, TransportErrorKind};

/// The one protocol this transport speaks inside TLS.
pub const ALPN_HTTP1: &[u8] = b"http/1.1";

fn config_error(message: impl Into<String>) -> TransportError {
    TransportError::new(TransportErrorKind::Config, message)
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(crypto::ring::default_provider())
}

/// The server name to check the daemon's certificate against and send as SNI.
pub fn server_name(host: &str) -> Result<ServerName<'static>, TransportError> {
    ServerName::try_from(host.to_owned())
        .map_err(|e| config_error(format!("invalid TLS server name {host:?}: {e}")))
}

/// A client configuration for `settings`.
pub fn client_config(settings: &TlsSettings) -> Result<Arc<ClientConfig>, TransportError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| config_error(format!("cannot set up TLS: {e}")))?;
    let builder = if settings.verify {
        builder.with_root_certificates(load_roots(&settings.ca)?)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert { provider }))
    };
    let mut config = match client_identity(settings)? {
        Some((certs, key)) => builder.with_client_auth_cert(certs, key).map_err(|e| {
            config_error(format!(
                "cannot use the client certificate {} with key {}: {e}",
                settings.cert, settings.key
            ))
        })?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
    Ok(Arc::new(config))
}

fn load_roots(ca: &str) -> Result<RootCertStore, TransportError> {
    if !Path::new(ca).exists() {
        return Err(config_error(format!(
            "cannot verify the daemon: CA certificate {ca} does not exist"
        )));
    }
    let mut roots = RootCertStore::empty();
    for cert in read_certs(ca)? {
        roots
            .add(cert)
            .map_err(|e| config_error(format!("invalid CA certificate in {ca}: {e}")))?;
    }
    Ok(roots)
}

fn read_certs(path: &str) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| config_error(format!("cannot read certificates from {path}: {e}")))?;
    if certs.is_empty() {
        return Err(config_error(format!("no PEM certificate found in {path}")));
    }
    Ok(certs)
}

type Identity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

/// The client certificate and key, when there are any: explicit paths must exist, defaulted ones are skipped
/// when both are absent (the docker CLI's behaviour), and one without the other is an error either way.
fn client_identity(settings: &TlsSettings) -> Result<Option<Identity>, TransportError> {
    let cert_exists = Path::new(&settings.cert).exists();
    let key_exists = Path::new(&settings.key).exists();
    if !cert_exists && !key_exists && !settings.explicit {
        return Ok(None);
    }
    for (path, exists, what) in [
        (&settings.cert, cert_exists, "client certificate"),
        (&settings.key, key_exists, "client key"),
    ] {
        if !exists {
            return Err(config_error(format!("{what} {path} does not exist")));
        }
    }
    let certs = read_certs(&settings.cert)?;
    let key = PrivateKeyDer::from_pem_file(&settings.key).map_err(|e| {
        config_error(format!(
            "cannot read a private key from {}: {e}",
            settings.key
        ))
    })?;
    Ok(Some((certs, key)))
}

/// `--tls` without `--tlsverify`: any certificate is accepted, but handshake signatures are still checked
/// so the session is at least bound to the certificate shown.
#[derive(Debug)]
struct AcceptAnyServerCert {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
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
        crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(dir: &Path, verify: bool, explicit: bool) -> TlsSettings {
        let p = |f: &str| dir.join(f).to_string_lossy().into_owned();
        TlsSettings {
            verify,
            ca: p("ca.pem"),
            cert: p("cert.pem"),
            key: p("key.pem"),
            explicit,
        }
    }

    /// A fresh directory, removed when dropped.
    fn temp_dir(name: &str) -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix(&format!("wharf-cli-tls-{name}-"))
            .tempdir()
            .unwrap()
    }

    #[test]
    fn tls_without_verify_and_without_default_files_needs_nothing() {
        let dir = temp_dir("empty");
        let config = client_config(&settings(dir.path(), false, false)).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
        assert!(!config.client_auth_cert_resolver.has_certs());
    }

    #[test]
    fn missing_files_are_named() {
        let dir = temp_dir("missing");
        let err = client_config(&settings(dir.path(), true, false)).unwrap_err();
        assert_eq!(err.kind, TransportErrorKind::Config);
        assert!(err.message.contains("ca.pem"), "{}", err.message);
        let err = client_config(&settings(dir.path(), false, true)).unwrap_err();
        assert!(
            err.message.contains("client certificate"),
            "{}",
            err.message
        );
        assert!(err.message.contains("cert.pem"), "{}", err.message);
    }

    #[test]
    fn a_cert_without_its_key_is_an_error_even_when_defaulted() {
        let dir = temp_dir("half");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["client".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        std::fs::write(dir.path().join("cert.pem"), cert.pem()).unwrap();
        let err = client_config(&settings(dir.path(), false, false)).unwrap_err();
        assert!(err.message.contains("client key"), "{}", err.message);
        std::fs::write(dir.path().join("key.pem"), key.serialize_pem()).unwrap();
        let config = client_config(&settings(dir.path(), false, false)).unwrap();
        assert!(config.client_auth_cert_resolver.has_certs());
    }

    #[test]
    fn server_names_accept_hosts_and_ips() {
        assert!(server_name("localhost").is_ok());
        assert!(server_name("127.0.0.1").is_ok());
        assert!(server_name("::1").is_ok());
        assert_eq!(
            server_name("bad name!").unwrap_err().kind,
            TransportErrorKind::Config
        );
    }
}
