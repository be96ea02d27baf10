//! A daemon child process: output captured to a log file, a bounded wait until it answers `/_ping`
//! over its unix socket, and a stop that escalates from SIGTERM to SIGKILL.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::http;

/// How often readiness is polled (also the resolution of measured start-up times).
pub const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// A running daemon process, stopped on drop.
#[derive(Debug)]
pub struct DaemonProcess {
    name: String,
    child: Child,
    log: PathBuf,
    spawned_at: Instant,
    stop_timeout: Duration,
    exit: Option<ExitStatus>,
}

/// How a wait for readiness ended.
#[derive(Debug)]
pub enum Readiness {
    /// `/_ping` answered 200 this long after spawning.
    Ready(Duration),
    /// The process exited first.
    Exited(ExitStatus),
}

impl DaemonProcess {
    /// Spawns `cmd` with stdin closed and stdout and stderr appended to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path, stop_timeout: Duration) -> Result<Self> {
        let out = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let spawned_at = Instant::now();
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {name}: {cmd:?}"))?;
        Ok(Self {
            name: name.to_owned(),
            child,
            log: log.to_owned(),
            spawned_at,
            stop_timeout,
            exit: None,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything it has written to stdout and stderr so far.
    pub fn logs(&self) -> String {
        std::fs::read(&self.log)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    /// The log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Its exit status, if it has exited.
    pub fn exit_status(&mut self) -> Result<Option<ExitStatus>> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().context("polling a daemon")?;
        }
        Ok(self.exit)
    }

    /// Polls `GET /_ping` on `socket` every [`POLL_INTERVAL`] until it answers 200, the process exits,
    /// or `timeout` passes (an error carrying the logs).
    pub fn wait_ready(&mut self, socket: &Path, timeout: Duration) -> Result<Readiness> {
        let deadline = self.spawned_at + timeout;
        loop {
            if let Some(status) = self.exit_status()? {
                return Ok(Readiness::Exited(status));
            }
            if ping_ok(socket) {
                return Ok(Readiness::Ready(self.spawned_at.elapsed()));
            }
            if Instant::now() >= deadline {
                bail!(
                    "{} did not answer /_ping on {} within {timeout:?}; its output:\n{}",
                    self.name,
                    socket.display(),
                    self.logs()
                );
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// Waits up to `timeout` for it to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<Option<ExitStatus>> {
        if self.exit.is_none() {
            self.exit = wait_with_deadline_keep(&mut self.child, timeout)?;
        }
        Ok(self.exit)
    }

    /// SIGKILL at once, then reap it.
    pub fn kill(&mut self) -> Result<ExitStatus> {
        if let Some(status) = self.exit_status()? {
            return Ok(status);
        }
        let _ = self.child.kill();
        let status = self.child.wait().context("reaping a killed daemon")?;
        self.exit = Some(status);
        Ok(status)
    }

    /// SIGTERM, wait up to the stop timeout, then SIGKILL. Returns the exit status and whether SIGKILL
    /// was needed.
    pub fn stop(&mut self) -> Result<(ExitStatus, bool)> {
        if let Some(status) = self.exit_status()? {
            return Ok((status, false));
        }
        let pid = Pid::from_raw(i32::try_from(self.pid()).context("pid out of range")?);
        let _ = kill(pid, Signal::SIGTERM);
        if let Some(status) = self.wait_exit(self.stop_timeout)? {
            return Ok((status, false));
        }
        let _ = self.child.kill();
        let status = self.child.wait().context("reaping a killed daemon")?;
        self.exit = Some(status);
        Ok((status, true))
    }
}

impl Drop for DaemonProcess {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Waits up to `timeout` for `child`, leaving it running on overrun.
fn wait_with_deadline_keep(child: &mut Child, timeout: Duration) -> Result<Option<ExitStatus>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().context("waiting for a daemon")? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether `GET /_ping` on `socket` answers 200 right now.
pub fn ping_ok(socket: &Path) -> bool {
    socket.exists() && http::get(socket, "/_ping").is_ok_and(|response| response.status == 200)
}

/// Resident memory of process `pid` in KiB (`VmRSS` in `/proc/<pid>/status`).
pub fn rss_kib(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no VmRSS in {path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_of_this_process_is_positive() {
        assert!(rss_kib(std::process::id()).unwrap() > 0);
    }

    #[test]
    fn a_daemon_that_ignores_sigterm_is_killed() {
        let dir = crate::TempDir::new("wp").unwrap();
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            "trap '' TERM; echo started; while :; do sleep 0.05; done",
        ]);
        let mut daemon = DaemonProcess::spawn(
            "stubborn",
            cmd,
            &dir.path().join("log"),
            Duration::from_millis(300),
        )
        .unwrap();
        let socket = dir.path().join("none.sock");
        let err = daemon
            .wait_ready(&socket, Duration::from_millis(200))
            .unwrap_err();
        assert!(err.to_string().contains("started"), "{err}");
        let (status, killed) = daemon.stop().unwrap();
        assert!(killed);
        assert!(!status.success());
    }

    #[test]
    fn an_exiting_daemon_is_reported_with_its_status() {
        let dir = crate::TempDir::new("wp").unwrap();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo refusing >&2; exit 7"]);
        let mut daemon = DaemonProcess::spawn(
            "quitter",
            cmd,
            &dir.path().join("log"),
            Duration::from_secs(1),
        )
        .unwrap();
        match daemon
            .wait_ready(&dir.path().join("s.sock"), Duration::from_secs(5))
            .unwrap()
        {
            Readiness::Exited(status) => assert_eq!(status.code(), Some(7)),
            other => panic!("{other:?}"),
        }
        assert_eq!(daemon.logs(), "refusing\n");
    }
}
