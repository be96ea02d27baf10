//! The `RefDockerd` fixture: Debian's `dockerd` (package `docker.io`) as a reference implementation,
//! on a private temporary directory with its own containerd, no bridge and no iptables. It needs root;
//! when it cannot run, [`RefDockerd::unavailable`] says why and tests decide whether to skip.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::bins::Binaries;
use crate::certs::DevCerts;
use crate::command::RunCommand;
use crate::endpoints::Endpoints;
use crate::net::free_loopback_addr;
use crate::process::{DaemonProcess, Readiness};
use crate::tmp::TempDir;
use crate::wharfd::{port_taken, state_args};

/// How the reference `dockerd` is to be started.
#[derive(Debug, Clone)]
pub struct RefDockerdBuilder {
    certs: Option<DevCerts>,
    dev_tls: bool,
    args: Vec<OsString>,
    start_timeout: Duration,
    stop_timeout: Duration,
}

/// A running reference `dockerd`, stopped (with its containerd) on drop.
#[derive(Debug)]
pub struct RefDockerd {
    process: DaemonProcess,
    endpoints: Endpoints,
    startup: Duration,
    dir: TempDir,
}

impl Default for RefDockerdBuilder {
    fn default() -> Self {
        Self {
            certs: None,
            dev_tls: false,
            args: Vec::new(),
            start_timeout: Duration::from_secs(60),
            stop_timeout: Duration::from_secs(30),
        }
    }
}

impl RefDockerdBuilder {
    /// Also listen on `tcp://127.0.0.1:<free port>` with mutual TLS using `certs`.
    pub fn tls(mut self, certs: DevCerts) -> Self {
        self.certs = Some(certs);
        self
    }

    /// Also listen on `tcp://127.0.0.1:<free port>` with mutual TLS, using development certificates
    /// made by `wharfd certs` in the fixture's own directory (so they go when it does).
    pub fn dev_tls(mut self) -> Self {
        self.dev_tls = true;
        self
    }

    /// Whether it is to listen on TCP.
    fn tls_wanted(&self) -> bool {
        self.certs.is_some() || self.dev_tls
    }

    /// Extra arguments for `dockerd`.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Starts `dockerd` and waits (60 s by default) until `/_ping` answers on the unix socket, retrying
    /// on a new port if the probed free TCP port was taken meanwhile.
    pub fn start(self) -> Result<RefDockerd> {
        if let Some(why) = RefDockerd::unavailable() {
            bail!("cannot start the reference dockerd: {why}");
        }
        let mut attempt = 1;
        loop {
            match self.start_once()? {
                Ok(dockerd) => return Ok(dockerd),
                Err(logs) if self.tls_wanted() && attempt < 3 && port_taken(&logs) => {
                    attempt += 1;
                }
                Err(logs) => bail!("dockerd exited during start-up; its output:\n{logs}"),
            }
        }
    }

    /// One start: the daemon, or the output of one that exited.
    fn start_once(&self) -> Result<std::result::Result<RefDockerd, String>> {
        let dir = TempDir::new("rd")?;
        let root = dir.path();
        let certs = match (&self.certs, self.dev_tls) {
            (Some(certs), _) => Some(certs.clone()),
            (None, true) => {
                let wharfd = Binaries::locate()?.wharfd()?;
                Some(DevCerts::generate_in_fixture(&wharfd, root)?)
            }
            (None, false) => None,
        };
        let endpoints = Endpoints {
            socket: root.join("s.sock"),
            tcp: match certs {
                Some(_) => Some(free_loopback_addr()?),
                None => None,
            },
            certs,
        };
        let config = root.join("daemon.json");
        std::fs::write(&config, "{}")?;
        let mut cmd = Command::new(dockerd_path().context("dockerd vanished")?);
        cmd.arg("-H").arg(endpoints.unix_host());
        if let (Some(host), Some(certs)) = (endpoints.tcp_host(), &endpoints.certs) {
            cmd.arg("-H").arg(host).args(certs.daemon_tls_args());
        }
        cmd.args(state_args(root))
            .arg("--config-file")
            .arg(&config)
            .args(["--bridge=none", "--iptables=false", "--ip6tables=false"])
            .args(&self.args);
        let mut process =
            DaemonProcess::spawn("dockerd", cmd, &root.join("dockerd.log"), self.stop_timeout)?;
        match process.wait_ready(&endpoints.socket, self.start_timeout) {
            Ok(Readiness::Ready(startup)) => Ok(Ok(RefDockerd {
                process,
                endpoints,
                startup,
                dir,
            })),
            Ok(Readiness::Exited(status)) => {
                kill_containerd(root);
                unmount_leftovers(root);
                Ok(Err(format!("({status})\n{}", process.logs())))
            }
            Err(err) => {
                let _ = process.stop();
                kill_containerd(root);
                unmount_leftovers(root);
                Err(err)
            }
        }
    }

    /// [`Self::start`] if the reference dockerd can run here, else `None` after printing why to stderr.
    pub fn start_if_available(self) -> Result<Option<RefDockerd>> {
        if let Some(why) = RefDockerd::unavailable() {
            eprintln!("skipping the reference dockerd: {why}");
            return Ok(None);
        }
        self.start().map(Some)
    }
}

impl RefDockerd {
    /// A builder: unix socket only, 60 s start deadline.
    pub fn builder() -> RefDockerdBuilder {
        RefDockerdBuilder::default()
    }

    /// Why the reference dockerd cannot run here (`None` when it can).
    pub fn unavailable() -> Option<String> {
        if dockerd_path().is_none() {
            return Some(
                "dockerd is not installed (apt-get install docker.io, or run `cargo xtask setup`)"
                    .into(),
            );
        }
        if !nix::unistd::geteuid().is_root() {
            return Some("dockerd needs root".into());
        }
        None
    }

    /// Its listeners.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// Its unix socket's path.
    pub fn socket(&self) -> &Path {
        &self.endpoints.socket
    }

    /// `unix:///...`.
    pub fn unix_host(&self) -> String {
        self.endpoints.unix_host()
    }

    /// `tcp://127.0.0.1:PORT`, when started with TLS.
    pub fn tcp_host(&self) -> Option<String> {
        self.endpoints.tcp_host()
    }

    /// Its private directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The `dockerd` process id (its containerd child is a separate process).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Spawn to first 200 on `/_ping`.
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// Everything it has logged so far.
    pub fn logs(&self) -> String {
        self.process.logs()
    }

    /// SIGTERM and wait (SIGKILL after 30 s, then its containerd too); then unmounts what it left
    /// mounted in its directory.
    pub fn stop(&mut self) -> Result<(ExitStatus, bool)> {
        let stopped = self.process.stop()?;
        if stopped.1 {
            kill_containerd(self.dir.path());
        }
        unmount_leftovers(self.dir.path());
        Ok(stopped)
    }
}

impl Drop for RefDockerd {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// `dockerd` on `PATH` or in the sbin directories a non-root `PATH` may lack.
fn dockerd_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("dockerd"))
        .find(|candidate| candidate.is_file())
}

/// Unmounts, deepest first and lazily, whatever is still mounted under `root`, so that the directory can
/// be removed: dockerd leaves the host network's namespace mounted on `exec/netns/default` once a
/// container has used `--network host`, and its data root bind-mounted on itself when it fails to start.
fn unmount_leftovers(root: &Path) {
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    let mut points: Vec<&str> = mounts
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .filter(|point| Path::new(point).starts_with(root))
        .collect();
    points.sort_by_key(|point| std::cmp::Reverse(point.len()));
    for point in points {
        let _ = RunCommand::new("umount").arg("--lazy").arg(point).run();
    }
}

/// Kills the containerd that a killed dockerd leaves behind.
fn kill_containerd(root: &Path) {
    let pidfile = root.join("exec/containerd/containerd.pid");
    if let Some(pid) = std::fs::read_to_string(pidfile)
        .ok()
        .and_then(|text| text.trim().parse::<i32>().ok())
    {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
}
