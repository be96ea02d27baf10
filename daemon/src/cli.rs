//! The command line, with dockerd's flag names. Every daemon setting is an `Option` (or an empty list) so that
//! configuration merging can tell a flag given from a flag defaulted, as dockerd's "specified both as a flag
//! and in the configuration file" check needs.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// `wharfd`: the Wharf engine's daemon, serving the Docker Engine API.
#[derive(Debug, Parser)]
#[command(
    name = "wharfd",
    disable_version_flag = true,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// A tool rather than the daemon.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The daemon's settings.
    #[command(flatten)]
    pub daemon: DaemonFlags,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a development CA, server and client certificates in the docker CLI's layout.
    Certs(CertsArgs),
    /// Hold a run's output FIFOs in a directory open until they are removed (wharfd starts this).
    #[command(name = "hold-fifos", hide = true)]
    HoldFifos {
        /// The run's FIFO directory.
        dir: PathBuf,
    },
}

/// `wharfd certs`.
#[derive(Clone, Debug, Args)]
pub struct CertsArgs {
    /// Directory to write ca.pem, ca-key.pem, server-cert.pem, server-key.pem, cert.pem and key.pem to.
    #[arg(long)]
    pub dir: PathBuf,
    /// An extra DNS name for the server certificate (localhost is always included).
    #[arg(long = "name", value_name = "HOSTNAME")]
    pub names: Vec<String>,
    /// An extra IP address for the server certificate (127.0.0.1 and ::1 are always included).
    #[arg(long = "ip", value_name = "IP")]
    pub ips: Vec<IpAddr>,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}

/// The daemon's flags, as dockerd names them.
#[derive(Clone, Debug, Default, Args)]
pub struct DaemonFlags {
    // The help text is clap's, where `[N]` is dockerd's wording, not a link.
    #[allow(rustdoc::broken_intra_doc_links)]
    /// Daemon socket(s) to listen on: unix:///path, tcp://host:port, fd://[N].
    #[arg(short = 'H', long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    /// Use TLS; `--tls=false` serves plain HTTP (loopback TCP only).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_go_bool)]
    pub tls: Option<bool>,
    /// Use TLS and verify the client's certificate (the default).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_go_bool)]
    pub tlsverify: Option<bool>,
    /// Trust certs signed only by this CA [default: ~/.docker/ca.pem].
    #[arg(long, value_name = "FILE")]
    pub tlscacert: Option<PathBuf>,
    /// Path to TLS certificate file [default: ~/.docker/cert.pem].
    #[arg(long, value_name = "FILE")]
    pub tlscert: Option<PathBuf>,
    /// Path to TLS key file [default: ~/.docker/key.pem].
    #[arg(long, value_name = "FILE")]
    pub tlskey: Option<PathBuf>,
    /// Daemon configuration file [default: /etc/wharf/daemon.json].
    #[arg(long = "config-file", value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    /// Root directory of persistent state [default: /var/lib/wharf].
    #[arg(long = "data-root", value_name = "DIR")]
    pub data_root: Option<PathBuf>,
    /// Root directory for execution state files [default: /run/wharf].
    #[arg(long = "exec-root", value_name = "DIR")]
    pub exec_root: Option<PathBuf>,
    /// Path to use for the daemon PID file [default: /run/wharfd.pid].
    #[arg(short = 'p', long, value_name = "FILE")]
    pub pidfile: Option<PathBuf>,
    /// Enable debug mode.
    #[arg(short = 'D', long)]
    pub debug: bool,
    /// Set the logging level: debug, info, warn, error, fatal [default: info].
    #[arg(short = 'l', long = "log-level", value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Group for the unix socket [default: docker].
    #[arg(short = 'G', long, value_name = "GROUP")]
    pub group: Option<String>,
    /// Seconds to wait for in-flight requests at shutdown [default: 15].
    #[arg(long = "shutdown-timeout", value_name = "SECONDS")]
    pub shutdown_timeout: Option<u64>,
    /// The socket of a running containerd to use instead of starting one.
    #[arg(long = "containerd", value_name = "SOCKET")]
    pub containerd: Option<PathBuf>,
    /// The containerd namespace wharfd keeps its objects in [default: wharf].
    #[arg(long = "containerd-namespace", value_name = "NAMESPACE")]
    pub containerd_namespace: Option<String>,
    /// The snapshotter: overlayfs or native [default: overlayfs where available, else native].
    #[arg(short = 's', long = "storage-driver", value_name = "DRIVER")]
    pub storage_driver: Option<String>,
    /// The largest body `docker import` and `docker load` accept, in bytes [default: 32 GiB].
    #[arg(long = "max-import-size", value_name = "BYTES")]
    pub max_import_size: Option<u64>,
    /// The default bridge network's Linux bridge [default: wharf0].
    #[arg(short = 'b', long = "bridge", value_name = "NAME")]
    pub bridge: Option<String>,
    /// The default bridge's address and subnet, such as 172.17.0.1/16 [default: the first free subnet
    /// of the address pools].
    #[arg(long = "bip", value_name = "CIDR")]
    pub bip: Option<String>,
    /// An address pool for networks: `base=10.10.0.0/16,size=24`; repeatable.
    #[arg(long = "default-address-pool", value_name = "POOL")]
    pub default_address_pools: Vec<String>,
    /// Keep containers running while the daemon is down (they are re-attached at start).
    #[arg(long = "live-restore")]
    pub live_restore: bool,
    /// The default seccomp profile of containers: a file in Docker's JSON format, `unconfined`, or
    /// `builtin` [default: builtin].
    #[arg(long = "seccomp-profile", value_name = "PATH")]
    pub seccomp_profile: Option<String>,
    /// A browser origin (scheme://host or scheme://host:port) besides the daemon's own that may open
    /// WebSockets and get CORS answers; repeatable. None by default.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origins: Vec<String>,
    /// Serve the browser console at `/` (`--console=false`: those paths are the API's) [default: true].
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_go_bool)]
    pub console: Option<bool>,
    /// Serve the browser console from this directory (read once at start-up; `index.html` at its root)
    /// instead of the one built into wharfd.
    #[arg(long = "console-dir", value_name = "DIR")]
    pub console_dir: Option<PathBuf>,
    /// A registry reached over HTTPS without verification or plain HTTP: `host[:port]` or a CIDR;
    /// repeatable (127.0.0.0/8 and ::1/128 always are).
    #[arg(long = "insecure-registry", value_name = "REGISTRY")]
    pub insecure_registries: Vec<String>,
    /// A mirror tried before Docker Hub for its images (`https://host[:port]`); repeatable.
    #[arg(long = "registry-mirror", value_name = "URL")]
    pub registry_mirrors: Vec<String>,
    /// Layers a pull downloads at once [default: 3].
    #[arg(
        long = "max-concurrent-downloads",
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub max_concurrent_downloads: Option<i64>,
    /// Layers a push uploads at once [default: 5].
    #[arg(
        long = "max-concurrent-uploads",
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub max_concurrent_uploads: Option<i64>,
    /// Where registries' CAs (`<host:port>/*.crt`) and client certificates (`*.cert`, `*.key`) are
    /// read [default: /etc/docker/certs.d].
    #[arg(long = "registry-certs-dir", value_name = "DIR")]
    pub registry_certs_dir: Option<PathBuf>,
    /// Validate the flags and configuration file, then exit.
    #[arg(long)]
    pub validate: bool,
    /// Print version information and quit.
    #[arg(short = 'v', long)]
    pub version: bool,
}

/// Go's `strconv.ParseBool`, which dockerd's boolean flags accept.
pub fn parse_go_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!("invalid boolean value {s:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("wharfd").chain(args.iter().copied()))
    }

    #[test]
    fn dockerd_flag_shapes_parse() {
        let cli = parse(&[
            "-H",
            "unix:///a.sock",
            "--host",
            "tcp://0.0.0.0:2376",
            "--tls=false",
            "--tlsverify",
            "-D",
            "-l",
            "warn",
            "--shutdown-timeout",
            "3",
        ])
        .unwrap();
        let d = cli.daemon;
        assert_eq!(d.hosts, ["unix:///a.sock", "tcp://0.0.0.0:2376"]);
        assert_eq!((d.tls, d.tlsverify), (Some(false), Some(true)));
        assert!(d.debug);
        assert_eq!(d.log_level.as_deref(), Some("warn"));
        assert_eq!(d.shutdown_timeout, Some(3));
        let none = parse(&[]).unwrap().daemon;
        assert_eq!((none.tls, none.tlsverify), (None, None));
        assert!(none.hosts.is_empty());
    }

    #[test]
    fn bool_flags_do_not_swallow_the_next_argument() {
        let cli = parse(&["--tls", "--validate"]).unwrap();
        assert_eq!(cli.daemon.tls, Some(true));
        assert!(cli.daemon.validate);
        assert!(parse(&["--tls=maybe"]).is_err());
        assert_eq!(parse_go_bool("F"), Ok(false));
    }

    #[test]
    fn console_flags_parse() {
        let d = parse(&["--console=false", "--console-dir", "/srv/console"])
            .unwrap()
            .daemon;
        assert_eq!(d.console, Some(false));
        assert_eq!(d.console_dir, Some(PathBuf::from("/srv/console")));
        assert_eq!(parse(&["--console"]).unwrap().daemon.console, Some(true));
        assert_eq!(parse(&[]).unwrap().daemon.console, None);
    }

    #[test]
    fn registry_flags_parse() {
        let d = parse(&[
            "--insecure-registry",
            "a:5000",
            "--insecure-registry=10.0.0.0/8",
            "--registry-mirror",
            "https://m",
            "--max-concurrent-downloads",
            "7",
            "--max-concurrent-uploads=-1",
            "--registry-certs-dir",
            "/c",
        ])
        .unwrap()
        .daemon;
        assert_eq!(d.insecure_registries, ["a:5000", "10.0.0.0/8"]);
        assert_eq!(d.registry_mirrors, ["https://m"]);
        assert_eq!(d.max_concurrent_downloads, Some(7));
        assert_eq!(d.max_concurrent_uploads, Some(-1));
        assert_eq!(d.registry_certs_dir, Some(PathBuf::from("/c")));
    }

    #[test]
    fn certs_subcommand_parses() {
        let cli = parse(&[
            "certs", "--dir", "/tmp/c", "--name", "a", "--ip", "10.0.0.1",
        ])
        .unwrap();
        let Some(Command::Certs(args)) = cli.command else {
            panic!("no subcommand");
        };
        assert_eq!(args.names, ["a"]);
        assert_eq!(args.ips, ["10.0.0.1".parse::<IpAddr>().unwrap()]);
    }
}
