//! Running a client command (`docker`, `wharf`, `wharfd certs`) to completion with a deadline, capturing
//! its status, stdout and stderr.

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Environment variables the docker CLI and `wharf` read to pick a daemon; cleared unless set explicitly.
pub const DOCKER_ENV: &[&str] = &[
    "DOCKER_HOST",
    "DOCKER_TLS_VERIFY",
    "DOCKER_CERT_PATH",
    "DOCKER_CONTEXT",
    "DOCKER_API_VERSION",
    "DOCKER_TLS",
];

/// A command to run once, with stdin closed and output captured.
#[derive(Debug)]
pub struct RunCommand {
    cmd: Command,
    timeout: Duration,
}

/// What a finished command did.
#[derive(Debug, Clone)]
pub struct CommandOutput {
    /// How it exited.
    pub status: ExitStatus,
    /// Its standard output, lossily decoded.
    pub stdout: String,
    /// Its standard error, lossily decoded.
    pub stderr: String,
}

impl RunCommand {
    /// `program` with the docker selection variables ([`DOCKER_ENV`]) removed and a 60 s deadline.
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        let mut cmd = Command::new(program);
        for name in DOCKER_ENV {
            cmd.env_remove(name);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Self {
            cmd,
            timeout: Duration::from_secs(60),
        }
    }

    /// Adds an argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.cmd.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    /// Sets environment variables, e.g. [`crate::Endpoints::docker_env_tls`].
    pub fn envs<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.cmd.envs(vars);
        self
    }

    /// Removes an environment variable.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.cmd.env_remove(key);
        self
    }

    /// Kills the command and fails if it runs longer than this.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs to completion. Fails only if it cannot start or overruns the deadline; a non-zero exit is
    /// reported in [`CommandOutput::status`] (see [`CommandOutput::ok`]).
    pub fn run(mut self) -> Result<CommandOutput> {
        let shown = format!("{:?}", self.cmd);
        // A process group of its own, so that an overrun kills what it started too (`sh -c "... |
        // docker run ..."`): a grandchild left running would hold the output pipes open, and reading
        // them to the end would wait for ever instead of reporting the overrun.
        let mut child = self
            .cmd
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {shown}"))?;
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        let status = wait_with_deadline(&mut child, self.timeout)?;
        let stdout = join(stdout);
        let stderr = join(stderr);
        match status {
            Some(status) => Ok(CommandOutput {
                status,
                stdout,
                stderr,
            }),
            None => bail!(
                "{shown} did not finish within {:?}; stdout:\n{stdout}\nstderr:\n{stderr}",
                self.timeout
            ),
        }
    }
}

impl CommandOutput {
    /// Whether it exited with status 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Itself if it succeeded, else an error carrying its status and output.
    pub fn ok(self) -> Result<Self> {
        if !self.success() {
            bail!(
                "command failed ({}); stdout:\n{}\nstderr:\n{}",
                self.status,
                self.stdout,
                self.stderr
            );
        }
        Ok(self)
    }
}

/// Runs the docker CLI with `env` (e.g. an [`Endpoints`](crate::Endpoints) environment) and `args`.
pub fn docker(env: &[(String, String)], args: &[&str]) -> Result<CommandOutput> {
    RunCommand::new("docker")
        .envs(env.iter().cloned())
        .args(args)
        .run()
}

/// Waits for `child` until `timeout`; on overrun kills it and returns `None`.
fn wait_with_deadline(child: &mut Child, timeout: Duration) -> Result<Option<ExitStatus>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().context("waiting for a child process")? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            // The child leads its own group (see `run`): kill the group, then the child in case it
            // left it.
            if let Ok(pid) = i32::try_from(child.id()) {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> Option<JoinHandle<Vec<u8>>> {
    pipe.map(|mut pipe| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    })
}

fn join(handle: Option<JoinHandle<Vec<u8>>>) -> String {
    let bytes = handle
        .and_then(|handle| handle.join().ok())
        .unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_output_status_and_env() {
        let out = RunCommand::new("sh")
            .args([
                "-c",
                "echo out; echo err >&2; echo \"${X}-${DOCKER_HOST:-unset}\"; exit 3",
            ])
            .env("X", "x")
            .run()
            .unwrap();
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(out.stdout, "out\nx-unset\n");
        assert_eq!(out.stderr, "err\n");
        assert!(out.ok().is_err());
    }

    #[test]
    fn overrunning_the_deadline_is_an_error() {
        let err = RunCommand::new("sleep")
            .arg("5")
            .timeout(Duration::from_millis(100))
            .run()
            .unwrap_err();
        assert!(err.to_string().contains("did not finish"), "{err}");
    }

    #[test]
    fn an_overrun_also_ends_what_the_command_started() {
        // A grandchild holds stdout: the deadline must still end the run, and the grandchild.
        let started = Instant::now();
        let err = RunCommand::new("sh")
            .args(["-c", "sleep 30 & echo started; wait"])
            .timeout(Duration::from_millis(500))
            .run()
            .unwrap_err();
        assert!(err.to_string().contains("did not finish"), "{err}");
        assert!(err.to_string().contains("started"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(20), "{err}");
    }
}
