//! `wharfd certs`: development certificates in the docker CLI's layout — a CA, a server certificate for
//! localhost plus the names given, and a client certificate — so that mutual TLS is easy to set up.

use std::fs::{DirBuilder, OpenOptions};
use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};

/// What to generate.
#[derive(Clone, Debug)]
pub struct CertRequest {
    /// The output directory (created 0700 when missing).
    pub dir: PathBuf,
    /// Extra DNS names for the server certificate.
    pub names: Vec<String>,
    /// Extra IP addresses for the server certificate.
    pub ips: Vec<IpAddr>,
    /// Overwrite existing files.
    pub force: bool,
}

/// The files written, in order, with whether each is secret (0600).
pub const FILES: [(&str, bool); 6] = [
    ("ca.pem", false),
    ("ca-key.pem", true),
    ("server-cert.pem", false),
    ("server-key.pem", true),
    ("cert.pem", false),
    ("key.pem", true),
];

/// Why the certificates were not written.
#[derive(Debug, thiserror::Error)]
pub enum CertsError {
    /// A file exists and `--force` was not given.
    #[error("{} already exists; pass --force to overwrite", .0.display())]
    Exists(PathBuf),
    /// Creating the directory or a file failed.
    #[error("cannot write {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// rcgen failed.
    #[error("cannot generate certificates: {0}")]
    Generate(#[from] rcgen::Error),
}

/// Generates and writes the six files; returns their paths.
pub fn generate(req: &CertRequest) -> Result<Vec<PathBuf>, CertsError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| CertsError::Io { path, source }
    };
    if !req.dir.exists() {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&req.dir)
            .map_err(io(&req.dir))?;
    }
    if !req.force {
        if let Some(existing) = FILES
            .iter()
            .map(|(f, _)| req.dir.join(f))
            .find(|p| p.exists())
        {
            return Err(CertsError::Exists(existing));
        }
    }

    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Wharf development CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = ca_params.self_signed(&ca_key)?;

    let mut server_params = CertificateParams::new(
        std::iter::once("localhost".to_owned())
            .chain(req.names.iter().cloned())
            .collect::<Vec<_>>(),
    )?;
    let mut ips = vec![
        IpAddr::from([127, 0, 0, 1]),
        IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]),
    ];
    ips.extend(req.ips.iter().copied());
    ips.dedup();
    server_params
        .subject_alt_names
        .extend(ips.into_iter().map(SanType::IpAddress));
    server_params
        .distinguished_name
        .push(DnType::CommonName, "wharfd");
    server_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server_params.use_authority_key_identifier_extension = true;
    let server_key = KeyPair::generate()?;
    let server = server_params.signed_by(&server_key, &ca, &ca_key)?;

    let mut client_params = CertificateParams::new(Vec::<String>::new())?;
    client_params
        .distinguished_name
        .push(DnType::CommonName, "client");
    client_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    client_params.use_authority_key_identifier_extension = true;
    let client_key = KeyPair::generate()?;
    let client = client_params.signed_by(&client_key, &ca, &ca_key)?;

    let contents = [
        ca.pem(),
        ca_key.serialize_pem(),
        server.pem(),
        server_key.serialize_pem(),
        client.pem(),
        client_key.serialize_pem(),
    ];
    let mut written = Vec::new();
    for ((name, secret), text) in FILES.iter().zip(contents) {
        let path = req.dir.join(name);
        write_new(&path, text.as_bytes(), if *secret { 0o600 } else { 0o644 })
            .map_err(io(&path))?;
        written.push(path);
    }
    Ok(written)
}

/// Creates `path` with `mode` from the start (never a chmod after); an old file is removed first.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_the_docker_layout_with_private_keys_0600() {
        let d = tempfile::tempdir().unwrap();
        let req = CertRequest {
            dir: d.path().join("sub"),
            names: vec!["example.test".into()],
            ips: vec!["10.1.2.3".parse().unwrap()],
            force: false,
        };
        let files = generate(&req).unwrap();
        assert_eq!(files.len(), 6);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&req.dir), 0o700);
        assert_eq!(mode(&req.dir.join("key.pem")), 0o600);
        assert_eq!(mode(&req.dir.join("ca-key.pem")), 0o600);
        assert_eq!(mode(&req.dir.join("server-key.pem")), 0o600);
        assert_eq!(mode(&req.dir.join("cert.pem")), 0o644);
        let pem = std::fs::read_to_string(req.dir.join("server-cert.pem")).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));

        // Not overwritten without --force, overwritten with it.
        let e = generate(&req).unwrap_err();
        assert!(matches!(e, CertsError::Exists(_)), "{e}");
        let forced = CertRequest {
            force: true,
            ..req.clone()
        };
        generate(&forced).unwrap();
        assert_ne!(
            std::fs::read_to_string(req.dir.join("server-cert.pem")).unwrap(),
            pem
        );
    }
}
