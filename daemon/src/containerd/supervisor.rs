//! Supervision of wharfd's own containerd: write its configuration, spawn it with its output in wharfd's
//! log, wait until it answers, restart it with exponential backoff when it dies, stop it at shutdown
//! (SIGTERM, then SIGKILL after a grace period).

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::client::Containerd;
use super::config::{render, ContainerdPaths};
use super::error::ContainerdError;

/// How long containerd may take to answer after it is spawned.
pub(crate) const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long containerd may take to exit after SIGTERM before it is killed.
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(10);

/// The first and the longest pause before a restart.
const BACKOFF_MIN: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// A containerd that ran this long resets the backoff.
const STABLE_AFTER: Duration = Duration::from_secs(60);

/// A running, supervised containerd.
#[derive(Debug)]
pub(crate) struct Supervisor {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    pid: watch::Receiver<Option<u32>>,
}

/// Finds `name` in `PATH`.
pub(crate) fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn make_dir(path: &Path, mode: u32) -> Result<(), ContainerdError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(path)
        .map_err(|source| ContainerdError::Io {
            what: "cannot create",
            path: path.to_owned(),
            source,
        })
}

/// Waits until the containerd behind `client` answers its version, or `deadline` passes, or `exited`
/// says the process is gone.
pub(crate) async fn wait_ready(
    client: &Containerd,
    timeout: Duration,
    mut exited: impl FnMut() -> Option<String>,
) -> Result<(String, String), ContainerdError> {
    let start = Instant::now();
    loop {
        if let Some(status) = exited() {
            return Err(ContainerdError::Exited(status));
        }
        let last = match tokio::time::timeout(Duration::from_secs(2), client.version()).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "the version call timed out".to_owned(),
        };
        if start.elapsed() >= timeout {
            return Err(ContainerdError::NotReady {
                socket: client.socket().to_owned(),
                secs: timeout.as_secs(),
                last,
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn pid_file(paths: &ContainerdPaths) -> PathBuf {
    paths.state.join("containerd.pid")
}

/// Whether process `pid` runs containerd with `config`.
fn runs_our_config(pid: i32, config: &Path) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
        cmdline
            .split(|b| *b == 0)
            .any(|arg| arg == config.as_os_str().as_encoded_bytes())
    })
}

/// Stops a containerd left running on these paths by a wharfd that was killed (or forced to exit):
/// SIGTERM, then SIGKILL after [`STOP_GRACE`]. Only a process whose command line names this config file.
async fn stop_stale(paths: &ContainerdPaths) {
    let Some(pid) = std::fs::read_to_string(pid_file(paths))
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
    else {
        return;
    };
    if pid <= 1 || !runs_our_config(pid, &paths.config) {
        return;
    }
    tracing::warn!(
        pid,
        "stopping the containerd a previous wharfd left running"
    );
    let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    let deadline = Instant::now() + STOP_GRACE;
    while runs_our_config(pid, &paths.config) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if runs_our_config(pid, &paths.config) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

/// Writes the configuration and spawns containerd, recording its pid.
fn spawn(binary: &Path, paths: &ContainerdPaths) -> Result<Child, ContainerdError> {
    make_dir(&paths.root, 0o711)?;
    make_dir(&paths.state, 0o711)?;
    std::fs::write(&paths.config, render(paths)).map_err(|source| ContainerdError::Io {
        what: "cannot write the containerd configuration",
        path: paths.config.clone(),
        source,
    })?;
    let mut child = Command::new(binary)
        .arg("--config")
        .arg(&paths.config)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| ContainerdError::Io {
            what: "cannot start",
            path: binary.to_owned(),
            source,
        })?;
    if let Some(pid) = child.id() {
        if let Err(e) = std::fs::write(pid_file(paths), format!("{pid}\n")) {
            tracing::warn!("cannot record containerd's pid: {e}");
        }
    }
    if let Some(out) = child.stdout.take() {
        tokio::spawn(forward_log(out));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(forward_log(err));
    }
    Ok(child)
}

/// The level of a logrus line (`time="..." level=info msg="..."`).
pub(crate) fn logrus_level(line: &str) -> &str {
    line.split_whitespace()
        .find_map(|field| field.strip_prefix("level="))
        .unwrap_or("info")
}

async fn forward_log(stream: impl AsyncRead + Unpin) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        match logrus_level(&line) {
            "error" | "fatal" | "panic" => tracing::error!(target: "containerd", "{line}"),
            "warning" | "warn" => tracing::warn!(target: "containerd", "{line}"),
            "debug" | "trace" => tracing::debug!(target: "containerd", "{line}"),
            _ => tracing::info!(target: "containerd", "{line}"),
        }
    }
}

fn describe(status: std::io::Result<ExitStatus>) -> String {
    match status {
        Ok(s) => s.to_string(),
        Err(e) => format!("cannot wait for it: {e}"),
    }
}

/// The pause before restart number `attempt` (0-based): doubling from 250 ms up to 30 s.
pub(crate) fn backoff(attempt: u32) -> Duration {
    BACKOFF_MIN
        .saturating_mul(2u32.saturating_pow(attempt.min(16)))
        .min(BACKOFF_MAX)
}

impl Supervisor {
    /// Starts containerd for these roots and waits until it answers; answers the supervisor and a client.
    pub(crate) async fn start(
        data_root: &Path,
        exec_root: &Path,
        namespace: &str,
    ) -> Result<(Self, Containerd), ContainerdError> {
        let binary = find_in_path("containerd").ok_or(ContainerdError::Missing)?;
        if find_in_path("runc").is_none() {
            tracing::warn!("runc was not found in PATH: images work, containers will not run (apt-get install runc)");
        }
        let paths = ContainerdPaths::new(data_root, exec_root);
        if let Some(long) = paths.too_long_socket() {
            return Err(ContainerdError::SocketPathTooLong(long.to_owned()));
        }
        let client = Containerd::new(&paths.grpc, namespace)?;
        stop_stale(&paths).await;
        let mut child = spawn(&binary, &paths)?;
        let ready = wait_ready(&client, READY_TIMEOUT, || {
            child.try_wait().ok().flatten().map(|s| s.to_string())
        })
        .await;
        let (version, _) = match ready {
            Ok(v) => v,
            Err(e) => {
                let _ = child.start_kill();
                let _ = child.wait().await;
                return Err(e);
            }
        };
        tracing::info!(
            pid = child.id(),
            socket = %paths.grpc.display(),
            "containerd {version} is answering"
        );
        let (stop_tx, stop_rx) = watch::channel(false);
        let (pid_tx, pid_rx) = watch::channel(child.id());
        let task = tokio::spawn(supervise(
            binary,
            paths,
            client.clone(),
            child,
            stop_rx,
            pid_tx,
        ));
        Ok((
            Self {
                stop: stop_tx,
                task,
                pid: pid_rx,
            },
            client,
        ))
    }

    /// The pid of the containerd running now.
    pub(crate) fn pid(&self) -> Option<u32> {
        *self.pid.borrow()
    }

    /// Kills containerd at once, for a forced exit that cannot wait.
    pub(crate) fn kill_now(&self) {
        if let Some(pid) = self.pid().and_then(|p| i32::try_from(p).ok()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }

    /// Stops containerd: SIGTERM, then SIGKILL after [`STOP_GRACE`].
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::warn!("containerd supervisor ended abnormally: {e}");
        }
    }
}

async fn terminate(child: &mut Child) {
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    }
    match tokio::time::timeout(STOP_GRACE, child.wait()).await {
        Ok(status) => tracing::info!("containerd stopped ({})", describe(status)),
        Err(_) => {
            tracing::warn!("containerd did not stop within {STOP_GRACE:?}; killing it");
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }
}

async fn supervise(
    binary: PathBuf,
    paths: ContainerdPaths,
    client: Containerd,
    mut child: Child,
    mut stop: watch::Receiver<bool>,
    pid: watch::Sender<Option<u32>>,
) {
    let mut attempt = 0u32;
    let mut started = Instant::now();
    loop {
        tokio::select! {
            _ = stop.changed() => {
                terminate(&mut child).await;
                return;
            }
            status = child.wait() => {
                let _ = pid.send(None);
                if started.elapsed() >= STABLE_AFTER {
                    attempt = 0;
                }
                let pause = backoff(attempt);
                attempt = attempt.saturating_add(1);
                tracing::error!("containerd exited unexpectedly ({}); restarting in {pause:?}", describe(status));
                tokio::select! {
                    _ = stop.changed() => return,
                    _ = tokio::time::sleep(pause) => {}
                }
                match spawn(&binary, &paths) {
                    Ok(mut next) => {
                        started = Instant::now();
                        let _ = pid.send(next.id());
                        match wait_ready(&client, READY_TIMEOUT, || next.try_wait().ok().flatten().map(|s| s.to_string())).await {
                            Ok((version, _)) => tracing::info!(pid = next.id(), "containerd {version} restarted and answering"),
                            Err(e) => tracing::error!("restarted containerd is not answering: {e}"),
                        }
                        child = next;
                    }
                    Err(e) => {
                        tracing::error!("cannot restart containerd: {e}");
                        // Keep trying: wait on a child that is already gone means spawning again.
                        return restart_loop(binary, paths, client, stop, pid, attempt).await;
                    }
                }
            }
        }
    }
}

/// After a failed spawn: retry with backoff until one succeeds or a stop is asked for.
async fn restart_loop(
    binary: PathBuf,
    paths: ContainerdPaths,
    client: Containerd,
    mut stop: watch::Receiver<bool>,
    pid: watch::Sender<Option<u32>>,
    mut attempt: u32,
) {
    loop {
        let pause = backoff(attempt);
        attempt = attempt.saturating_add(1);
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(pause) => {}
        }
        match spawn(&binary, &paths) {
            Ok(child) => {
                let _ = pid.send(child.id());
                return Box::pin(supervise(binary, paths, client, child, stop, pid)).await;
            }
            Err(e) => tracing::error!("cannot restart containerd: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_ceiling() {
        assert_eq!(backoff(0), Duration::from_millis(250));
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(3), Duration::from_secs(2));
        assert_eq!(backoff(20), Duration::from_secs(30));
        assert_eq!(backoff(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn logrus_levels_are_read() {
        assert_eq!(
            logrus_level(r#"time="2024-01-01T00:00:00Z" level=warning msg="x y""#),
            "warning"
        );
        assert_eq!(logrus_level("no level here"), "info");
    }

    #[test]
    fn only_a_process_running_our_config_is_stale() {
        let me = std::process::id() as i32;
        assert!(!runs_our_config(
            me,
            Path::new("/nonexistent/containerd.toml")
        ));
        assert!(!runs_our_config(i32::MAX, Path::new("/x")));
    }

    #[test]
    fn path_lookup_finds_executables_only() {
        assert!(find_in_path("sh").is_some());
        assert!(find_in_path("surely-not-a-binary-wharf").is_none());
    }
}
