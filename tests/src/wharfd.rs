//! The `Wharfd` fixture: the real `wharfd` on a private temporary directory, with a unix socket and an
//! optional mutual-TLS listener on a free 127.0.0.1 port, ready once `/_ping` answers.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;

use anyhow::{bail, Result};

use crate::bins::Binaries;
use crate::certs::DevCerts;
use crate::endpoints::Endpoints;
use crate::net::free_loopback_addr;
use crate::process::{DaemonProcess, Readiness};
use crate::tmp::TempDir;

/// How `wharfd` is to be started.
#[derive(Debug, Clone)]
pub struct WharfdBuilder {
    bins: Option<Binaries>,
    tcp: bool,
    plain_tcp: bool,
    certs: Option<DevCerts>,
    config_json: Option<String>,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    start_timeout: Duration,
    stop_timeout: Duration,
}

/// A running `wharfd`, stopped (and its directory removed) on drop.
#[derive(Debug)]
pub struct Wharfd {
    process: DaemonProcess,
    endpoints: Endpoints,
    startup: Duration,
    dir: TempDir,
    builder: WharfdBuilder,
}

/// A `wharfd` that exited during start-up, as expected.
#[derive(Debug)]
pub struct FailedStart {
    /// Its exit status.
    pub status: ExitStatus,
    /// Everything it wrote to stdout and stderr.
    pub stderr: String,
}

impl Default for WharfdBuilder {
    fn default() -> Self {
        Self {
            bins: None,
            tcp: false,
            plain_tcp: false,
            certs: None,
            config_json: Some("{}".into()),
            args: Vec::new(),
            envs: Vec::new(),
            start_timeout: Duration::from_secs(10),
            // Longer than wharfd's own shutdown with running containers (their 10 s stop timeout, then
            // SIGKILL): a fixture that SIGKILLs wharfd first leaves its containerd and containers behind.
            stop_timeout: Duration::from_secs(30),
        }
    }
}

impl WharfdBuilder {
    /// Binaries from somewhere other than [`Binaries::locate`].
    pub fn binaries(mut self, bins: Binaries) -> Self {
        self.bins = Some(bins);
        self
    }

    /// Also listen on `tcp://127.0.0.1:<free port>` with mutual TLS.
    pub fn tcp(mut self, enabled: bool) -> Self {
        self.tcp = enabled;
        self
    }

    /// Also listen on a free loopback port with plain HTTP (`--tls=false`): no identity of its own, so a
    /// request there needs a token (`endpoints().tcp` has the address).
    pub fn plain_tcp(mut self) -> Self {
        self.plain_tcp = true;
        self
    }

    /// Use these certificates instead of generating fresh ones in the fixture's directory.
    pub fn certs(mut self, certs: DevCerts) -> Self {
        self.certs = Some(certs);
        self
    }

    /// The `--config-file` contents (default `{}`); `None` passes no `--config-file`.
    pub fn config_json(mut self, json: Option<&str>) -> Self {
        self.config_json = json.map(str::to_owned);
        self
    }

    /// An extra argument for `wharfd`.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Extra arguments for `wharfd`.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// An environment variable for `wharfd`.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.envs.push((key.into(), value.into()));
        self
    }

    /// How long start-up may take (default 10 s).
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = timeout;
        self
    }

    /// Starts `wharfd` and waits until `/_ping` answers on the unix socket. If another process took the
    /// free TCP port between probing and binding, it retries on a new port.
    pub fn start(mut self) -> Result<Wharfd> {
        // Chosen once, so that a restart keeps them.
        let own = own_network_args(&self.args, self.config_json.as_deref());
        self.args.extend(own);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (dir, endpoints, mut process) = self.spawn()?;
            match process.wait_ready(&endpoints.socket, self.start_timeout)? {
                Readiness::Ready(startup) => {
                    return Ok(Wharfd {
                        process,
                        endpoints,
                        startup,
                        dir,
                        builder: self.clone(),
                    })
                }
                Readiness::Exited(_)
                    if (self.tcp || self.plain_tcp)
                        && attempts < 3
                        && port_taken(&process.logs()) =>
                {
                    continue
                }
                Readiness::Exited(status) => bail!(
                    "wharfd exited during start-up ({status}); its output:\n{}",
                    process.logs()
                ),
            }
        }
    }

    /// Starts `wharfd` expecting it to exit during start-up (e.g. refusing a plain non-loopback TCP
    /// listener, or missing containerd); an error if it keeps running past the start timeout. Answering
    /// `/_ping` first is no success: listeners serve while containerd starts.
    pub fn start_expect_failure(self) -> Result<FailedStart> {
        let (_dir, _endpoints, mut process) = self.spawn()?;
        match process.wait_exit(self.start_timeout) {
            Ok(Some(status)) => Ok(FailedStart {
                status,
                stderr: process.logs(),
            }),
            Ok(None) => {
                let _ = process.stop();
                bail!(
                    "wharfd kept running but was expected to fail; its output:\n{}",
                    process.logs()
                )
            }
            Err(err) => Err(err.context("wharfd was expected to exit during start-up")),
        }
    }

    fn spawn(&self) -> Result<(TempDir, Endpoints, DaemonProcess)> {
        let bins = match &self.bins {
            Some(bins) => bins.clone(),
            None => Binaries::locate()?,
        };
        let wharfd = bins.wharfd()?;
        let dir = TempDir::new("wd")?;
        let root = dir.path();
        let certs = match (&self.certs, self.tcp) {
            (Some(certs), _) => Some(certs.clone()),
            (None, true) => Some(DevCerts::generate_in_fixture(&wharfd, root)?),
            (None, false) => None,
        };
        let endpoints = Endpoints {
            socket: root.join("s.sock"),
            tcp: if self.tcp || self.plain_tcp {
                Some(free_loopback_addr()?)
            } else {
                None
            },
            certs,
        };
        let cmd = self.command(&wharfd, &endpoints, root)?;
        let process =
            DaemonProcess::spawn("wharfd", cmd, &root.join("wharfd.log"), self.stop_timeout)?;
        Ok((dir, endpoints, process))
    }

    /// The command line for `endpoints` with its state in `root`.
    fn command(&self, wharfd: &Path, endpoints: &Endpoints, root: &Path) -> Result<Command> {
        let mut cmd = Command::new(wharfd);
        cmd.arg("-H").arg(endpoints.unix_host());
        if let (Some(host), Some(certs)) = (endpoints.tcp_host(), &endpoints.certs) {
            cmd.arg("-H").arg(host).args(certs.daemon_tls_args());
        } else if let (Some(host), true) = (endpoints.tcp_host(), self.plain_tcp) {
            cmd.arg("-H").arg(host).arg("--tls=false");
        }
        cmd.args(state_args(root));
        if let Some(json) = &self.config_json {
            let config = root.join("daemon.json");
            std::fs::write(&config, json)?;
            cmd.arg("--config-file").arg(config);
        }
        cmd.args(&self.args);
        cmd.envs(self.envs.iter().map(|(k, v)| (k, v)));
        Ok(cmd)
    }
}

/// `--bridge` and `--bip` of a bridge and subnet no other wharfd of this run has (a counter and the
/// test process's ID), unless the test gives its own: wharfd's defaults (`wharf0`, 172.17.0.0/16)
/// would be shared by parallel tests. Each gets a /20 of 10.64.0.0/10 (the default bridge on its first
/// /24, user networks' subnets from the rest); names fit Linux's 15 bytes.
fn own_network_args(args: &[OsString], config_json: Option<&str>) -> Vec<OsString> {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let given = |flags: &[&str], key: &str| {
        args.iter().any(|a| {
            let a = a.to_string_lossy();
            flags
                .iter()
                .any(|f| a == *f || a.starts_with(&format!("{f}=")))
        }) || config_json.is_some_and(|j| j.contains(&format!("\"{key}\"")))
    };
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let pid = std::process::id();
    let mut out = Vec::new();
    if !given(&["-b", "--bridge"], "bridge") {
        out.push(format!("--bridge=wt{}x{n}", pid % 100_000).into());
    }
    if !given(&["--bip", "--default-address-pool"], "bip") && !given(&[], "default-address-pools") {
        // A /20 of its own: the default bridge on its first /24, user networks from the rest.
        let slot = (pid.wrapping_mul(131).wrapping_add(n)) % 1024;
        let (a, b) = (64 + slot / 16, (slot % 16) * 16);
        out.push(format!("--bip=10.{a}.{b}.1/24").into());
        out.push(format!("--default-address-pool=base=10.{a}.{b}.0/20,size=24").into());
    }
    out
}

/// Whether a daemon's output says its listener's port was taken.
pub(crate) fn port_taken(logs: &str) -> bool {
    logs.to_ascii_lowercase().contains("address already in use")
}

/// `--data-root`, `--exec-root` and `--pidfile` inside `root`.
pub(crate) fn state_args(root: &Path) -> Vec<OsString> {
    vec![
        "--data-root".into(),
        root.join("data").into(),
        "--exec-root".into(),
        root.join("exec").into(),
        "--pidfile".into(),
        root.join("daemon.pid").into(),
    ]
}

impl Wharfd {
    /// A builder with the defaults: unix socket only, `{}` config, 10 s start deadline.
    pub fn builder() -> WharfdBuilder {
        WharfdBuilder::default()
    }

    /// Starts a default `wharfd` (unix socket only).
    pub fn start() -> Result<Self> {
        Self::builder().start()
    }

    /// Starts `wharfd` with a unix socket and a mutual-TLS TCP listener.
    pub fn start_with_tls() -> Result<Self> {
        Self::builder().tcp(true).start()
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

    /// `tcp://127.0.0.1:PORT`, when started with TCP.
    pub fn tcp_host(&self) -> Option<String> {
        self.endpoints.tcp_host()
    }

    /// Its certificates (a `DOCKER_CERT_PATH`), when started with TCP or given certificates.
    pub fn certs(&self) -> Option<&DevCerts> {
        self.endpoints.certs.as_ref()
    }

    /// Its private directory (data root, exec root, pidfile, log, config).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The pidfile it was told to write.
    pub fn pidfile(&self) -> PathBuf {
        self.dir.path().join("daemon.pid")
    }

    /// Its process id.
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

    /// The running process, e.g. to check whether it has exited.
    pub fn process(&mut self) -> &mut DaemonProcess {
        &mut self.process
    }

    /// Leaves its directory in place after drop, for post-mortems.
    pub fn keep_dir(&mut self) {
        self.dir.keep();
    }

    /// Kills wharfd with SIGKILL (no shutdown at all: its containerd and containers stay behind), then starts
    /// it again with the same flags on the same directory, ready once `/_ping` answers. The earlier log is
    /// kept as `wharfd.<n>.log`.
    pub fn kill_and_restart(&mut self) -> Result<()> {
        self.kill_9()?;
        self.restart()
    }

    /// Kills wharfd with SIGKILL and reaps it: its containerd and containers stay behind, until
    /// [`Wharfd::restart`].
    pub fn kill_9(&mut self) -> Result<()> {
        self.process.kill()?;
        Ok(())
    }

    /// Starts wharfd again after [`Wharfd::kill_9`], as [`Wharfd::kill_and_restart`] does.
    pub fn restart(&mut self) -> Result<()> {
        let root = self.dir.path().to_owned();
        let mut n = 1;
        while root.join(format!("wharfd.{n}.log")).exists() {
            n += 1;
        }
        std::fs::rename(
            root.join("wharfd.log"),
            root.join(format!("wharfd.{n}.log")),
        )?;
        let bins = match &self.builder.bins {
            Some(bins) => bins.clone(),
            None => Binaries::locate()?,
        };
        let cmd = self
            .builder
            .command(&bins.wharfd()?, &self.endpoints, &root)?;
        self.process = DaemonProcess::spawn(
            "wharfd",
            cmd,
            &root.join("wharfd.log"),
            self.builder.stop_timeout,
        )?;
        match self
            .process
            .wait_ready(&self.endpoints.socket, self.builder.start_timeout)?
        {
            Readiness::Ready(startup) => {
                self.startup = startup;
                Ok(())
            }
            Readiness::Exited(status) => bail!(
                "wharfd exited during its restart ({status}); its output:\n{}",
                self.process.logs()
            ),
        }
    }

    /// SIGTERM and wait (SIGKILL after the stop timeout, 30 s by default); the exit status and whether SIGKILL
    /// was needed.
    pub fn stop(&mut self) -> Result<(ExitStatus, bool)> {
        self.process.stop()
    }
}

impl Drop for Wharfd {
    fn drop(&mut self) {
        let _ = self.process.stop();
    }
}
