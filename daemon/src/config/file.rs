//! `daemon.json`: dockerd's keys for the settings wharfd has, an unknown key being an error that names it.

use std::path::PathBuf;

use serde::Deserialize;

/// The keys wharfd understands, in dockerd's spelling.
pub const KNOWN_KEYS: &[&str] = &[
    "hosts",
    "tls",
    "tlsverify",
    "tlscacert",
    "tlscert",
    "tlskey",
    "data-root",
    "exec-root",
    "pidfile",
    "debug",
    "log-level",
    "group",
    "shutdown-timeout",
    "containerd",
    "containerd-namespace",
    "storage-driver",
    "max-import-size",
    "live-restore",
    "seccomp-profile",
    "allow-origins",
    "client-cert-roles",
    "console",
    "console-dir",
    "insecure-registries",
    "registry-mirrors",
    "max-concurrent-downloads",
    "max-concurrent-uploads",
    "registry-certs-dir",
    "bridge",
    "bip",
    "default-address-pools",
];

/// The settings a `daemon.json` gives; absent keys are `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `hosts`.
    pub hosts: Option<Vec<String>>,
    /// `tls`.
    pub tls: Option<bool>,
    /// `tlsverify`.
    pub tlsverify: Option<bool>,
    /// `tlscacert`.
    pub tlscacert: Option<PathBuf>,
    /// `tlscert`.
    pub tlscert: Option<PathBuf>,
    /// `tlskey`.
    pub tlskey: Option<PathBuf>,
    /// `data-root`.
    #[serde(rename = "data-root")]
    pub data_root: Option<PathBuf>,
    /// `exec-root`.
    #[serde(rename = "exec-root")]
    pub exec_root: Option<PathBuf>,
    /// `pidfile`.
    pub pidfile: Option<PathBuf>,
    /// `debug`.
    pub debug: Option<bool>,
    /// `log-level`.
    #[serde(rename = "log-level")]
    pub log_level: Option<String>,
    /// `group`.
    pub group: Option<String>,
    /// `shutdown-timeout`, seconds.
    #[serde(rename = "shutdown-timeout")]
    pub shutdown_timeout: Option<u64>,
    /// `containerd`: the socket of a running containerd.
    pub containerd: Option<PathBuf>,
    /// `containerd-namespace`.
    #[serde(rename = "containerd-namespace")]
    pub containerd_namespace: Option<String>,
    /// `storage-driver`.
    #[serde(rename = "storage-driver")]
    pub storage_driver: Option<String>,
    /// `max-import-size`, bytes.
    #[serde(rename = "max-import-size")]
    pub max_import_size: Option<u64>,
    /// `live-restore`.
    #[serde(rename = "live-restore")]
    pub live_restore: Option<bool>,
    /// `seccomp-profile`.
    #[serde(rename = "seccomp-profile")]
    pub seccomp_profile: Option<String>,
    /// `allow-origins`.
    #[serde(rename = "allow-origins")]
    pub allow_origins: Option<Vec<String>>,
    /// `client-cert-roles` (Wharf's own): a client certificate's subject CN → `viewer`, `operator` or
    /// `admin`; certificates not named are admin.
    #[serde(rename = "client-cert-roles")]
    pub client_cert_roles: Option<std::collections::BTreeMap<String, String>>,
    /// `console` (Wharf's own): serve the browser console at `/`.
    pub console: Option<bool>,
    /// `console-dir` (Wharf's own): the console's files, instead of the built-in ones.
    #[serde(rename = "console-dir")]
    pub console_dir: Option<PathBuf>,
    /// `insecure-registries`.
    #[serde(rename = "insecure-registries")]
    pub insecure_registries: Option<Vec<String>>,
    /// `registry-mirrors`.
    #[serde(rename = "registry-mirrors")]
    pub registry_mirrors: Option<Vec<String>>,
    /// `max-concurrent-downloads`.
    #[serde(rename = "max-concurrent-downloads")]
    pub max_concurrent_downloads: Option<i64>,
    /// `max-concurrent-uploads`.
    #[serde(rename = "max-concurrent-uploads")]
    pub max_concurrent_uploads: Option<i64>,
    /// `registry-certs-dir` (Wharf's own): where registries' CAs and client certificates are read.
    #[serde(rename = "registry-certs-dir")]
    pub registry_certs_dir: Option<PathBuf>,
    /// `bridge`.
    pub bridge: Option<String>,
    /// `bip`.
    pub bip: Option<String>,
    /// `default-address-pools`.
    #[serde(rename = "default-address-pools")]
    pub default_address_pools: Option<Vec<super::network::AddressPool>>,
}

/// Why a `daemon.json` text is not a configuration.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Not a JSON object, or a value of the wrong type.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// Keys that are no setting.
    #[error("the following directives don't match any configuration option: {}", .0.join(", "))]
    UnknownKeys(Vec<String>),
}

/// Parses a `daemon.json` text.
pub fn parse(text: &str) -> Result<FileConfig, FileError> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)?;
    let unknown: Vec<String> = object
        .keys()
        .filter(|k| !KNOWN_KEYS.contains(&k.as_str()))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(FileError::UnknownKeys(unknown));
    }
    Ok(serde_json::from_value(serde_json::Value::Object(object))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dockerd_keys() {
        let c = parse(r#"{"hosts":["tcp://b"],"data-root":"/d","debug":true,"shutdown-timeout":4,"log-level":"warn"}"#)
            .unwrap();
        assert_eq!(c.hosts, Some(vec!["tcp://b".to_owned()]));
        assert_eq!(c.data_root, Some(PathBuf::from("/d")));
        assert_eq!(c.debug, Some(true));
        assert_eq!(c.shutdown_timeout, Some(4));
        assert_eq!(parse("{}").unwrap(), FileConfig::default());
        let c = parse(r#"{"console":false,"console-dir":"/srv/c"}"#).unwrap();
        assert_eq!(c.console, Some(false));
        assert_eq!(c.console_dir, Some(PathBuf::from("/srv/c")));
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = parse(r#"{"foo":1,"debug":true,"bar":2}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the following directives don't match any configuration option: bar, foo"
        );
    }

    #[test]
    fn wrong_types_and_syntax_are_errors() {
        assert!(parse(r#"{"debug":"yes"}"#).is_err());
        assert!(parse(r#"{"hosts":"tcp://b"}"#).is_err());
        assert!(parse("[1]").is_err());
        assert!(parse("{").is_err());
    }
}
