//! A real image registry for the pull, push and login tests and the bench: Debian's `docker-registry`
//! (distribution 2.8) on a private directory, with filesystem storage the tests can reach (to tamper with
//! a blob), optionally TLS from a CA made here and htpasswd (bcrypt) basic auth.
//!
//! dockerd and wharfd treat registries on 127.0.0.0/8 as insecure without being told, so a registry
//! whose TLS (or lack of it) matters binds the host's non-loopback address ([`host_ip`]). A daemon is
//! told to trust the CA through a `certs.d` directory (`<dir>/<host:port>/ca.crt`, dockerd's layout):
//! [`Registry::certs_d`] for wharfd's `--registry-certs-dir`, [`DockerdTrust`] for dockerd, which reads
//! only `/etc/docker/certs.d`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::command::RunCommand;
use crate::process::DaemonProcess;
use crate::tmp::TempDir;

/// The registry binary (Debian's `docker-registry`).
pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// Where dockerd reads registry CAs from.
pub const DOCKERD_CERTS_D: &str = "/etc/docker/certs.d";

/// Why a registry cannot be started here, if it cannot.
pub fn missing_registry() -> Option<String> {
    if !Path::new(REGISTRY_BIN).exists() {
        return Some(format!(
            "{REGISTRY_BIN} is missing (apt-get install docker-registry, or cargo xtask setup)"
        ));
    }
    if !crate::prereq::on_path("htpasswd") {
        return Some("htpasswd is missing (apt-get install apache2-utils)".into());
    }
    None
}

/// The host's first non-loopback IPv4 address (what `hostname -I` lists first).
pub fn host_ip() -> Result<Ipv4Addr> {
    let out = RunCommand::new("hostname").arg("-I").run()?.ok()?;
    out.stdout
        .split_whitespace()
        .filter_map(|a| a.parse::<Ipv4Addr>().ok())
        .find(|a| !a.is_loopback())
        .context("this host has no non-loopback IPv4 address")
}

/// How a registry is to be started.
#[derive(Clone, Debug, Default)]
pub struct RegistryBuilder {
    tls: bool,
    users: Vec<(String, String)>,
    loopback: bool,
}

impl RegistryBuilder {
    /// Serve HTTPS with a certificate from a CA made for this registry.
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    /// Require basic auth, with this user among those accepted.
    pub fn user(mut self, name: &str, password: &str) -> Self {
        self.users.push((name.to_owned(), password.to_owned()));
        self
    }

    /// Bind 127.0.0.1 (which daemons take as insecure) instead of the host's address.
    pub fn loopback(mut self) -> Self {
        self.loopback = true;
        self
    }

    /// Writes the configuration (and CA, certificate, htpasswd) and starts the registry.
    pub fn start(self) -> Result<Registry> {
        if let Some(why) = missing_registry() {
            bail!("cannot start a registry: {why}");
        }
        let dir = TempDir::new("rg")?;
        let root = dir.path();
        let ip = if self.loopback {
            Ipv4Addr::LOCALHOST
        } else {
            host_ip()?
        };
        let addr = free_addr(ip)?;
        let storage = root.join("storage");
        std::fs::create_dir(&storage)?;
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n  \
             maintenance:\n    uploadpurging:\n      enabled: false\n\
             http:\n  addr: {addr}\n",
            storage.display()
        );
        let mut ca = None;
        if self.tls {
            let made = make_tls(root, IpAddr::V4(ip))?;
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                made.1.display(),
                made.2.display()
            ));
            ca = Some(made.0);
        }
        if !self.users.is_empty() {
            let mut file = String::new();
            for (user, password) in &self.users {
                let out = RunCommand::new("htpasswd")
                    .args(["-Bbn", user, password])
                    .run()?
                    .ok()?;
                file.push_str(out.stdout.trim_end());
                file.push('\n');
            }
            let path = root.join("htpasswd");
            std::fs::write(&path, file)?;
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: wharf-test\n    path: {}\n",
                path.display()
            ));
        }
        let config_path = root.join("config.yml");
        std::fs::write(&config_path, config)?;
        let certs_d = match &ca {
            Some(ca) => {
                let d = root.join("certs.d");
                let host_dir = d.join(addr.to_string());
                std::fs::create_dir_all(&host_dir)?;
                std::fs::copy(ca, host_dir.join("ca.crt"))?;
                Some(d)
            }
            None => None,
        };
        let mut registry = Registry {
            process: None,
            addr,
            storage,
            config: config_path,
            ca,
            certs_d,
            dir,
        };
        registry.spawn()?;
        Ok(registry)
    }
}

/// A running registry, killed on drop (its directory removed).
#[derive(Debug)]
pub struct Registry {
    process: Option<DaemonProcess>,
    addr: SocketAddr,
    storage: PathBuf,
    config: PathBuf,
    ca: Option<PathBuf>,
    certs_d: Option<PathBuf>,
    dir: TempDir,
}

impl Registry {
    /// A builder: plain HTTP on the host's address, no auth.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder::default()
    }

    fn spawn(&mut self) -> Result<()> {
        let mut cmd = Command::new(REGISTRY_BIN);
        cmd.arg("serve").arg(&self.config);
        let log = self.dir.path().join("registry.log");
        let process = DaemonProcess::spawn("docker-registry", cmd, &log, Duration::from_secs(5))?;
        self.process = Some(process);
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_err() {
            if let Some(p) = self.process.as_mut() {
                if let Some(status) = p.exit_status()? {
                    bail!("docker-registry exited ({status}):\n{}", p.logs());
                }
            }
            if Instant::now() > deadline {
                bail!("docker-registry did not listen on {} in 15 s", self.addr);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// `host:port`, as image names and `certs.d` name it.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://host:port` or `http://host:port`.
    pub fn url(&self) -> String {
        let scheme = if self.ca.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The CA that signed its certificate, when it serves TLS.
    pub fn ca(&self) -> Option<&Path> {
        self.ca.as_deref()
    }

    /// A `certs.d` directory holding `<host:port>/ca.crt`, for wharfd's `--registry-certs-dir`.
    pub fn certs_d(&self) -> Option<&Path> {
        self.certs_d.as_deref()
    }

    /// The filesystem storage's root.
    pub fn storage(&self) -> &Path {
        &self.storage
    }

    /// Where the blob `digest` (`sha256:...`) is kept on disk.
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.storage
            .join("docker/registry/v2/blobs/sha256")
            .join(hex.get(..2).unwrap_or_default())
            .join(hex)
            .join("data")
    }

    /// Flips bytes in the middle of the blob `digest` on disk, keeping its size: the registry then serves
    /// bytes that do not match their digest.
    pub fn tamper_blob(&self, digest: &str) -> Result<()> {
        let path = self.blob_path(digest);
        let mut bytes =
            std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        if bytes.is_empty() {
            bail!("blob {digest} is empty");
        }
        let middle = bytes.len() / 2;
        let end = (middle + 16).min(bytes.len());
        for b in &mut bytes[middle..end] {
            *b ^= 0xff;
        }
        std::fs::write(&path, bytes)?;
        Ok(())
    }

    /// The registry's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(DaemonProcess::pid)
    }

    /// Kills the registry at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) -> Result<()> {
        if let Some(mut p) = self.process.take() {
            p.kill()?;
        }
        Ok(())
    }

    /// Starts it again on the same address and storage (after [`Self::kill`]).
    pub fn restart(&mut self) -> Result<()> {
        self.kill()?;
        self.spawn()
    }

    /// Its log so far.
    pub fn logs(&self) -> String {
        self.process
            .as_ref()
            .map(DaemonProcess::logs)
            .unwrap_or_default()
    }

    /// Its private directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// dockerd's trust in a registry's CA: `/etc/docker/certs.d/<host:port>/ca.crt`, removed on drop. The
/// port is the registry's own (free when it started), so no other test's directory is touched.
#[derive(Debug)]
pub struct DockerdTrust {
    dir: PathBuf,
}

impl DockerdTrust {
    /// Writes the registry's CA where dockerd looks for it.
    pub fn install(registry: &Registry) -> Result<Self> {
        let ca = registry.ca().context("the registry serves no TLS")?;
        let dir = Path::new(DOCKERD_CERTS_D).join(registry.host());
        std::fs::create_dir_all(&dir)?;
        std::fs::copy(ca, dir.join("ca.crt"))?;
        Ok(Self { dir })
    }
}

impl Drop for DockerdTrust {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An address on `ip` whose port was free a moment ago.
fn free_addr(ip: Ipv4Addr) -> Result<SocketAddr> {
    let listener = TcpListener::bind((ip, 0)).with_context(|| format!("binding {ip}:0"))?;
    Ok(listener.local_addr()?)
}

/// A CA and a server certificate for `ip` signed by it, in `dir`: (ca.crt, server.crt, server.key).
fn make_tls(dir: &Path, ip: IpAddr) -> Result<(PathBuf, PathBuf, PathBuf)> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "wharf test registry CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key)?;
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, ip.to_string());
    params.subject_alt_names = vec![SanType::IpAddress(ip)];
    let cert = params.signed_by(&key, &ca, &ca_key)?;
    let paths = (
        dir.join("ca.crt"),
        dir.join("server.crt"),
        dir.join("server.key"),
    );
    std::fs::write(&paths.0, ca.pem())?;
    std::fs::write(&paths.1, cert.pem())?;
    std::fs::write(&paths.2, key.serialize_pem())?;
    Ok(paths)
}
