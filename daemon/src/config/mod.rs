//! The daemon's settings: flags, `daemon.json` and defaults merged by dockerd's rules into one [`Config`].
//!
//! A setting given both as a flag and in the file is an error naming both values; an unknown file key is an
//! error naming it. The result is validated here (hosts parse, log level, plain HTTP only on loopback) so that
//! `--validate` and start-up refuse the same things.

pub mod file;
pub mod network;
mod origin;
pub mod paths;
pub mod registry;

use std::collections::BTreeMap;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::time::Duration;

use wharf_client_core::host::{DockerHost, HostError, Side};

use crate::cli::DaemonFlags;
use crate::logging::LogLevel;
use crate::tls::{TlsFiles, TlsMode};
pub use file::FileConfig;
pub use network::NetworkConfig;
use origin::is_origin;
pub use paths::Defaults;
pub use registry::RegistryConfig;

/// The seconds `--shutdown-timeout` defaults to, as dockerd.
pub const DEFAULT_SHUTDOWN_TIMEOUT: u64 = 15;

/// The group the unix socket is given when none is named, as dockerd.
pub const DEFAULT_SOCKET_GROUP: &str = "docker";

/// The containerd namespace wharfd's objects live in unless told otherwise.
pub const DEFAULT_CONTAINERD_NAMESPACE: &str = "wharf";

/// The largest import or load body by default: 32 GiB.
pub const DEFAULT_MAX_IMPORT_SIZE: u64 = 32 << 30;

/// The containerd snapshotter images are unpacked with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageDriver {
    /// Overlay filesystem layers (dockerd's `overlay2`).
    Overlayfs,
    /// Full copies, for file systems overlay cannot sit on (dockerd's `vfs`).
    Native,
}

impl StorageDriver {
    /// The snapshotter's name in containerd.
    pub fn snapshotter(self) -> &'static str {
        match self {
            Self::Overlayfs => "overlayfs",
            Self::Native => "native",
        }
    }
}

impl std::str::FromStr for StorageDriver {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, ConfigError> {
        match s {
            "overlayfs" | "overlay2" | "overlay" => Ok(Self::Overlayfs),
            "native" | "vfs" => Ok(Self::Native),
            other => Err(ConfigError::StorageDriver(other.to_owned())),
        }
    }
}

/// The unix socket's group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SocketGroup {
    /// Not named: `docker` if it exists, else none.
    Default,
    /// Named with `--group` or `"group"`; must exist. Empty means no group change.
    Named(String),
}

/// The settled configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Where to listen.
    pub hosts: Vec<DockerHost>,
    /// How TCP listeners use TLS.
    pub tls_mode: TlsMode,
    /// The certificate files TCP listeners use.
    pub tls_files: TlsFiles,
    /// Persistent state.
    pub data_root: PathBuf,
    /// Run-time state.
    pub exec_root: PathBuf,
    /// The PID file.
    pub pidfile: PathBuf,
    /// `-D`.
    pub debug: bool,
    /// `--log-level`.
    pub log_level: LogLevel,
    /// The unix socket's group.
    pub group: SocketGroup,
    /// How long to drain at shutdown.
    pub shutdown_timeout: Duration,
    /// The configuration file that was read, if any.
    pub config_file: Option<PathBuf>,
    /// A running containerd to use instead of starting one.
    pub containerd: Option<PathBuf>,
    /// The containerd namespace.
    pub containerd_namespace: String,
    /// The snapshotter asked for; `None` picks overlayfs where it works, else native.
    pub storage_driver: Option<StorageDriver>,
    /// The largest import or load body, in bytes.
    pub max_import_size: u64,
    /// Containers keep running while the daemon is down.
    pub live_restore: bool,
    /// `--seccomp-profile`: a path, `unconfined`, or `builtin` (`None`: the built-in profile).
    pub seccomp_profile: Option<String>,
    /// `--allow-origin`: browser origins besides the daemon's own that may open WebSockets (and get CORS
    /// answers), as `scheme://host[:port]`.
    pub allow_origins: Vec<String>,
    /// daemon.json's `client-cert-roles`: a client certificate's subject CN → its role name (checked).
    pub client_cert_roles: BTreeMap<String, String>,
    /// `--console`: serve the browser console at `/` (the default).
    pub console: bool,
    /// `--console-dir`: serve the console from this directory rather than the built-in one.
    pub console_dir: Option<PathBuf>,
    /// The registry settings (insecure registries, mirrors, certs.d, concurrency).
    pub registry: RegistryConfig,
    /// The network settings (bridge, bip, address pools).
    pub network: NetworkConfig,
}

/// The role names `client-cert-roles` may give.
pub const ROLE_NAMES: &[&str] = &["viewer", "operator", "admin"];

/// Why the flags and file do not make a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The named file cannot be read.
    #[error("unable to configure the wharf daemon with file {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not a configuration.
    #[error("unable to configure the wharf daemon with file {}: {source}", .path.display())]
    File {
        path: PathBuf,
        #[source]
        source: file::FileError,
    },
    /// Settings given twice.
    #[error("unable to configure the wharf daemon with file {}: the following directives are specified both as a flag and in the configuration file: {}", .path.display(), .conflicts.join(", "))]
    Conflict {
        path: PathBuf,
        /// `key: (from flag: x, from file: y)` for each.
        conflicts: Vec<String>,
    },
    /// A `-H` or `hosts` value that does not parse.
    #[error(transparent)]
    Host(#[from] HostError),
    /// A log level that is none of dockerd's.
    #[error("unable to parse logging level: {0}")]
    LogLevel(String),
    /// `--tls=false` together with `--tlsverify`.
    #[error("conflicting options: --tls=false and --tlsverify=true; drop one of them")]
    TlsContradiction,
    /// A storage driver wharfd does not have.
    #[error("unsupported storage driver: {0} (wharfd supports overlayfs and native)")]
    StorageDriver(String),
    /// A namespace containerd would refuse.
    #[error("invalid containerd namespace {0:?}: use letters, digits and single '.', '_' or '-' between them")]
    Namespace(String),
    /// An `--allow-origin` that is no origin.
    #[error("invalid origin {0:?} for --allow-origin: give scheme://host[:port] (http or https, no path), e.g. https://console.example.com:8443")]
    Origin(String),
    /// Plain HTTP on an address other hosts can reach.
    #[error("refusing to serve the API over plain HTTP on {0}: anyone who can reach it controls the host. Use TLS (drop --tls=false and give --tlscacert, --tlscert and --tlskey; `wharfd certs --dir DIR` makes development certificates) or listen on a loopback address such as tcp://127.0.0.1:2375")]
    PlainNonLoopback(String),
    /// A `client-cert-roles` value that is no role.
    #[error("client-cert-roles: {cn:?} maps to {role:?}, which is not a role: use viewer, operator or admin")]
    CertRole { cn: String, role: String },
    /// An insecure registry, mirror or concurrency limit dockerd would refuse.
    #[error(transparent)]
    Registry(#[from] registry::RegistryConfigError),
    /// A bridge, bip or address pool that cannot be used.
    #[error(transparent)]
    Network(#[from] network::NetworkConfigError),
}

/// Reads the configuration file: `flags.config_file` must exist; the default one is skipped when absent.
pub fn load_file(
    flags: &DaemonFlags,
    defaults: &Defaults,
) -> Result<Option<(PathBuf, FileConfig)>, ConfigError> {
    let (path, explicit) = match &flags.config_file {
        Some(p) => (p.clone(), true),
        None => (defaults.config_file.clone(), false),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if !explicit && e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(ConfigError::Read { path, source }),
    };
    let parsed = file::parse(&text).map_err(|source| ConfigError::File {
        path: path.clone(),
        source,
    })?;
    Ok(Some((path, parsed)))
}

/// Flags, file and defaults into a validated configuration.
pub fn resolve(flags: &DaemonFlags, defaults: &Defaults) -> Result<Config, ConfigError> {
    let file = load_file(flags, defaults)?;
    merge(flags, file, defaults)
}

fn show_list(v: &[String]) -> String {
    format!("[{}]", v.join(" "))
}

/// Records a conflict when both sides set a value.
fn both<T, U: Display>(
    conflicts: &mut Vec<String>,
    key: &str,
    flag: Option<T>,
    file: Option<T>,
    show: impl Fn(&T) -> U,
) -> Option<T> {
    match (flag, file) {
        (Some(a), Some(b)) => {
            conflicts.push(format!(
                "{key}: (from flag: {}, from file: {})",
                show(&a),
                show(&b)
            ));
            Some(a)
        }
        (a, b) => a.or(b),
    }
}

/// Merges flags with an already-read file.
pub fn merge(
    flags: &DaemonFlags,
    file: Option<(PathBuf, FileConfig)>,
    defaults: &Defaults,
) -> Result<Config, ConfigError> {
    let (path, f) = file.map_or((None, FileConfig::default()), |(p, f)| (Some(p), f));
    let mut c = Vec::new();
    let registry = registry::merge(flags, &f, &mut c);
    let network = network::merge(flags, &f, &mut c);
    let path_show = |p: &PathBuf| p.display().to_string();
    let hosts = both(
        &mut c,
        "hosts",
        (!flags.hosts.is_empty()).then(|| flags.hosts.clone()),
        f.hosts,
        |v| show_list(v),
    );
    let tls = both(&mut c, "tls", flags.tls, f.tls, |b| *b);
    let tlsverify = both(&mut c, "tlsverify", flags.tlsverify, f.tlsverify, |b| *b);
    let tlscacert = both(
        &mut c,
        "tlscacert",
        flags.tlscacert.clone(),
        f.tlscacert,
        path_show,
    );
    let tlscert = both(
        &mut c,
        "tlscert",
        flags.tlscert.clone(),
        f.tlscert,
        path_show,
    );
    let tlskey = both(&mut c, "tlskey", flags.tlskey.clone(), f.tlskey, path_show);
    let data_root = both(
        &mut c,
        "data-root",
        flags.data_root.clone(),
        f.data_root,
        path_show,
    );
    let exec_root = both(
        &mut c,
        "exec-root",
        flags.exec_root.clone(),
        f.exec_root,
        path_show,
    );
    let pidfile = both(
        &mut c,
        "pidfile",
        flags.pidfile.clone(),
        f.pidfile,
        path_show,
    );
    let debug = both(&mut c, "debug", flags.debug.then_some(true), f.debug, |b| {
        *b
    });
    let live_restore = both(
        &mut c,
        "live-restore",
        flags.live_restore.then_some(true),
        f.live_restore,
        |b| *b,
    );
    let seccomp_profile = both(
        &mut c,
        "seccomp-profile",
        flags.seccomp_profile.clone(),
        f.seccomp_profile,
        |s| s.clone(),
    );
    let log_level = both(
        &mut c,
        "log-level",
        flags.log_level.clone(),
        f.log_level,
        |s| s.clone(),
    );
    let group = both(&mut c, "group", flags.group.clone(), f.group, |s| s.clone());
    let shutdown = both(
        &mut c,
        "shutdown-timeout",
        flags.shutdown_timeout,
        f.shutdown_timeout,
        |s| *s,
    );
    let containerd = both(
        &mut c,
        "containerd",
        flags.containerd.clone(),
        f.containerd,
        path_show,
    );
    let namespace = both(
        &mut c,
        "containerd-namespace",
        flags.containerd_namespace.clone(),
        f.containerd_namespace,
        |s| s.clone(),
    );
    let storage_driver = both(
        &mut c,
        "storage-driver",
        flags.storage_driver.clone(),
        f.storage_driver,
        |s| s.clone(),
    );
    let max_import = both(
        &mut c,
        "max-import-size",
        flags.max_import_size,
        f.max_import_size,
        |s| *s,
    );
    let allow_origins = both(
        &mut c,
        "allow-origins",
        (!flags.allow_origins.is_empty()).then(|| flags.allow_origins.clone()),
        f.allow_origins,
        |o| o.join(" "),
    )
    .unwrap_or_default();
    let console = both(&mut c, "console", flags.console, f.console, |b| *b);
    let console_dir = both(
        &mut c,
        "console-dir",
        flags.console_dir.clone(),
        f.console_dir,
        path_show,
    );
    if !c.is_empty() {
        return Err(ConfigError::Conflict {
            path: path.unwrap_or_default(),
            conflicts: c,
        });
    }

    let registry = registry?;
    let network = network?;
    let tls_mode = TlsMode::select(tls, tlsverify)?;
    let tls_on = tls_mode != TlsMode::Plain;
    let hosts = hosts
        .unwrap_or_else(|| vec![defaults.host.clone()])
        .iter()
        .map(|h| DockerHost::parse(h, tls_on, Side::Daemon))
        .collect::<Result<Vec<_>, _>>()?;
    if !tls_on {
        if let Some(open) = hosts
            .iter()
            .find(|h| matches!(h, DockerHost::Tcp { .. }) && !h.is_loopback_tcp())
        {
            return Err(ConfigError::PlainNonLoopback(open.to_string()));
        }
    }
    let log_level = match log_level {
        Some(s) => s.parse().map_err(|_| ConfigError::LogLevel(s))?,
        None => LogLevel::Info,
    };
    let containerd_namespace = namespace.unwrap_or_else(|| DEFAULT_CONTAINERD_NAMESPACE.to_owned());
    if !crate::containerd::error::valid_namespace(&containerd_namespace) {
        return Err(ConfigError::Namespace(containerd_namespace));
    }
    let storage_driver = storage_driver.map(|s| s.parse()).transpose()?;
    if let Some(bad) = allow_origins.iter().find(|o| !is_origin(o)) {
        return Err(ConfigError::Origin(bad.clone()));
    }
    let client_cert_roles = f.client_cert_roles.unwrap_or_default();
    if let Some((cn, role)) = client_cert_roles
        .iter()
        .find(|(_, r)| !ROLE_NAMES.contains(&r.as_str()))
    {
        return Err(ConfigError::CertRole {
            cn: cn.clone(),
            role: role.clone(),
        });
    }
    let cert =
        |given: Option<PathBuf>, name: &str| given.unwrap_or_else(|| defaults.cert_dir.join(name));
    Ok(Config {
        hosts,
        tls_mode,
        tls_files: TlsFiles {
            ca: cert(tlscacert, "ca.pem"),
            cert: cert(tlscert, "cert.pem"),
            key: cert(tlskey, "key.pem"),
        },
        data_root: data_root.unwrap_or_else(|| defaults.data_root.clone()),
        exec_root: exec_root.unwrap_or_else(|| defaults.exec_root.clone()),
        pidfile: pidfile.unwrap_or_else(|| defaults.pidfile.clone()),
        debug: debug.unwrap_or(false),
        log_level,
        group: group.map_or(SocketGroup::Default, SocketGroup::Named),
        shutdown_timeout: Duration::from_secs(shutdown.unwrap_or(DEFAULT_SHUTDOWN_TIMEOUT)),
        config_file: path,
        containerd,
        containerd_namespace,
        storage_driver,
        max_import_size: max_import.unwrap_or(DEFAULT_MAX_IMPORT_SIZE),
        live_restore: live_restore.unwrap_or(false),
        seccomp_profile,
        allow_origins,
        client_cert_roles,
        console: console.unwrap_or(true),
        console_dir,
        registry,
        network,
    })
}

impl Config {
    /// Whether any listener is TCP (and so needs the certificate files unless plain).
    pub fn has_tcp(&self) -> bool {
        self.hosts
            .iter()
            .any(|h| matches!(h, DockerHost::Tcp { .. }))
    }

    /// The unix socket paths this configuration listens on.
    pub fn unix_paths(&self) -> impl Iterator<Item = &Path> {
        self.hosts.iter().filter_map(|h| match h {
            DockerHost::Unix { path } => Some(Path::new(path.as_str())),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Defaults {
        Defaults::compute(true, 0, |k| (k == "HOME").then(|| "/root".to_owned()))
    }

    fn with_file(flags: &DaemonFlags, json: &str) -> Result<Config, ConfigError> {
        let f = file::parse(json).unwrap();
        merge(
            flags,
            Some(("/etc/wharf/daemon.json".into(), f)),
            &defaults(),
        )
    }

    #[test]
    fn defaults_apply_without_flags_or_file() {
        let c = merge(&DaemonFlags::default(), None, &defaults()).unwrap();
        assert_eq!(
            c.hosts,
            [DockerHost::Unix {
                path: "/run/wharf/wharf.sock".into()
            }]
        );
        assert_eq!(c.tls_mode, TlsMode::Mutual);
        assert_eq!(c.tls_files.ca, PathBuf::from("/root/.docker/ca.pem"));
        assert_eq!(c.shutdown_timeout, Duration::from_secs(15));
        assert_eq!(c.group, SocketGroup::Default);
        assert_eq!(c.log_level, LogLevel::Info);
        assert!(!c.has_tcp());
    }

    #[test]
    fn file_values_fill_in_when_no_flag_is_given() {
        let flags = DaemonFlags {
            debug: true,
            ..DaemonFlags::default()
        };
        let c = with_file(
            &flags,
            r#"{"hosts":["tcp://h"],"group":"","shutdown-timeout":2}"#,
        )
        .unwrap();
        assert!(c.debug);
        assert_eq!(c.hosts[0].to_string(), "tcp://h:2376");
        assert_eq!(c.group, SocketGroup::Named(String::new()));
        assert_eq!(c.shutdown_timeout, Duration::from_secs(2));
        assert_eq!(c.config_file, Some("/etc/wharf/daemon.json".into()));
    }

    #[test]
    fn a_setting_in_both_places_is_an_error_naming_both_values() {
        let flags = DaemonFlags {
            hosts: vec!["unix:///a".into()],
            debug: true,
            ..DaemonFlags::default()
        };
        let e = with_file(&flags, r#"{"hosts":["tcp://b"],"debug":false}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unable to configure the wharf daemon with file /etc/wharf/daemon.json: the following directives are specified both as a flag and in the configuration file: hosts: (from flag: [unix:///a], from file: [tcp://b]), debug: (from flag: true, from file: false)"
        );
    }

    #[test]
    fn plain_http_is_only_for_loopback() {
        let flags = |hosts: &[&str]| DaemonFlags {
            hosts: hosts.iter().map(|s| s.to_string()).collect(),
            tls: Some(false),
            ..DaemonFlags::default()
        };
        let ok = merge(&flags(&["tcp://127.0.0.1", "unix:///x"]), None, &defaults()).unwrap();
        assert_eq!(ok.tls_mode, TlsMode::Plain);
        assert_eq!(ok.hosts[0].to_string(), "tcp://127.0.0.1:2375");
        let e = merge(
            &flags(&["tcp://127.0.0.1:1", "tcp://0.0.0.0:2375"]),
            None,
            &defaults(),
        )
        .unwrap_err();
        assert!(matches!(e, ConfigError::PlainNonLoopback(ref a) if a == "tcp://0.0.0.0:2375"));
        assert!(e.to_string().contains("tcp://127.0.0.1:2375"));
    }

    #[test]
    fn bad_values_are_errors() {
        let bad_level = DaemonFlags {
            log_level: Some("loud".into()),
            ..DaemonFlags::default()
        };
        assert_eq!(
            merge(&bad_level, None, &defaults())
                .unwrap_err()
                .to_string(),
            "unable to parse logging level: loud"
        );
        let bad_host = DaemonFlags {
            hosts: vec!["ftp://x".into()],
            ..DaemonFlags::default()
        };
        assert!(matches!(
            merge(&bad_host, None, &defaults()),
            Err(ConfigError::Host(_))
        ));
    }

    #[test]
    fn containerd_settings_merge_and_validate() {
        let c = merge(&DaemonFlags::default(), None, &defaults()).unwrap();
        assert_eq!(c.containerd, None);
        assert_eq!(c.containerd_namespace, "wharf");
        assert_eq!(c.storage_driver, None);
        assert_eq!(c.max_import_size, 32 << 30);
        let c = with_file(
            &DaemonFlags::default(),
            r#"{"containerd":"/run/c.sock","containerd-namespace":"ns1","storage-driver":"vfs","max-import-size":10}"#,
        )
        .unwrap();
        assert_eq!(c.containerd, Some(PathBuf::from("/run/c.sock")));
        assert_eq!(c.containerd_namespace, "ns1");
        assert_eq!(c.storage_driver, Some(StorageDriver::Native));
        assert_eq!(c.max_import_size, 10);
        let flags = DaemonFlags {
            storage_driver: Some("overlay2".into()),
            ..DaemonFlags::default()
        };
        let e = with_file(&flags, r#"{"storage-driver":"native"}"#).unwrap_err();
        assert!(
            e.to_string()
                .contains("storage-driver: (from flag: overlay2, from file: native)"),
            "{e}"
        );
        assert_eq!(
            merge(&flags, None, &defaults()).unwrap().storage_driver,
            Some(StorageDriver::Overlayfs)
        );
        let bad = DaemonFlags {
            storage_driver: Some("btrfs".into()),
            ..DaemonFlags::default()
        };
        assert_eq!(
            merge(&bad, None, &defaults()).unwrap_err().to_string(),
            "unsupported storage driver: btrfs (wharfd supports overlayfs and native)"
        );
        let bad = DaemonFlags {
            containerd_namespace: Some("a/b".into()),
            ..DaemonFlags::default()
        };
        assert!(matches!(
            merge(&bad, None, &defaults()),
            Err(ConfigError::Namespace(_))
        ));
    }

    #[test]
    fn config_file_presence_rules() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let mut d = defaults();
        d.config_file = dir.join("absent.json");
        assert!(load_file(&DaemonFlags::default(), &d).unwrap().is_none());
        let explicit = DaemonFlags {
            config_file: Some(dir.join("absent.json")),
            ..DaemonFlags::default()
        };
        assert!(matches!(
            load_file(&explicit, &d),
            Err(ConfigError::Read { .. })
        ));
        let unknown = dir.join("unknown.json");
        std::fs::write(&unknown, r#"{"foo":true}"#).unwrap();
        let named = DaemonFlags {
            config_file: Some(unknown.clone()),
            ..DaemonFlags::default()
        };
        let e = resolve(&named, &d).unwrap_err().to_string();
        assert!(
            e.ends_with("the following directives don't match any configuration option: foo"),
            "{e}"
        );
    }

    #[test]
    fn registry_settings_merge_with_dockerd_defaults_and_checks() {
        let c = merge(&DaemonFlags::default(), None, &defaults()).unwrap();
        assert_eq!(c.registry, RegistryConfig::default());
        assert_eq!(c.registry.max_concurrent_downloads, 3);
        assert_eq!(c.registry.max_concurrent_uploads, 5);
        assert_eq!(c.registry.certs_dir, PathBuf::from("/etc/docker/certs.d"));
        let c = with_file(
            &DaemonFlags::default(),
            r#"{"insecure-registries":["reg:5000","10.1.0.0/16"],"registry-mirrors":["https://m.example"],"max-concurrent-downloads":8,"max-concurrent-uploads":2,"registry-certs-dir":"/c"}"#,
        )
        .unwrap();
        assert_eq!(c.registry.insecure, ["reg:5000", "10.1.0.0/16"]);
        assert_eq!(c.registry.mirrors, ["https://m.example/"]);
        assert_eq!(c.registry.max_concurrent_downloads, 8);
        assert_eq!(c.registry.max_concurrent_uploads, 2);
        assert_eq!(c.registry.certs_dir, PathBuf::from("/c"));
        let flags = DaemonFlags {
            insecure_registries: vec!["a:1".into()],
            ..DaemonFlags::default()
        };
        let e = with_file(&flags, r#"{"insecure-registries":["b:2"]}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("insecure-registries: (from flag: [a:1], from file: [b:2])"),
            "{e}"
        );
        let bad = DaemonFlags {
            max_concurrent_downloads: Some(-1),
            ..DaemonFlags::default()
        };
        assert_eq!(
            merge(&bad, None, &defaults()).unwrap_err().to_string(),
            "invalid max concurrent downloads: -1"
        );
    }

    #[test]
    fn client_cert_roles_are_read_and_checked() {
        let c = with_file(
            &DaemonFlags::default(),
            r#"{"client-cert-roles":{"ro":"viewer","ops":"operator"}}"#,
        )
        .unwrap();
        assert_eq!(c.client_cert_roles["ro"], "viewer");
        assert_eq!(c.client_cert_roles.len(), 2);
        let e = with_file(
            &DaemonFlags::default(),
            r#"{"client-cert-roles":{"x":"root"}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("\"root\"") && e.contains("viewer"), "{e}");
    }
}
