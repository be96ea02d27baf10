//! How wharfd reaches registries, from daemon.json and flags as dockerd's: `insecure-registries`,
//! `registry-mirrors`, `max-concurrent-downloads`, `max-concurrent-uploads`, and the `certs.d`
//! directory of per-registry CAs and client certificates.

use std::path::PathBuf;

/// The registry part of the daemon's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RegistryConfig {
    /// `insecure-registries`: `host[:port]` names and CIDRs; plain HTTP (or unverified TLS) is tried
    /// for these only. 127.0.0.0/8 and ::1/128 are always in, as dockerd's.
    pub insecure: Vec<String>,
    /// `registry-mirrors`: URLs tried before Docker Hub for its images.
    pub mirrors: Vec<String>,
    /// Where `<host:port>/ca.crt`, `*.cert` and `*.key` are read (dockerd: `/etc/docker/certs.d`).
    pub certs_dir: PathBuf,
    /// `max-concurrent-downloads` (dockerd's default 3).
    pub max_concurrent_downloads: usize,
    /// `max-concurrent-uploads` (dockerd's default 5).
    pub max_concurrent_uploads: usize,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            insecure: Vec::new(),
            mirrors: Vec::new(),
            certs_dir: PathBuf::from("/etc/docker/certs.d"),
            max_concurrent_downloads: 3,
            max_concurrent_uploads: 5,
        }
    }
}
