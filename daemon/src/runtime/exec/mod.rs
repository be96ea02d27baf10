//! `docker exec`: more processes in a running container, as dockerd runs them.
//!
//! `POST /containers/{id}/exec` records what to run; `POST /exec/{id}/start` adds the process to the
//! container's containerd task with the container's own process settings (from the spec its task runs
//! with) changed by the exec's command, environment, user, working directory, TTY and privilege, and
//! streams its output to the client that started it; `GET /exec/{id}/json` tells whether it runs and how
//! it ended. The exit code is recorded before the stream ends, so a client that inspects the exec once
//! its output ended (the docker CLI does) always finds it.
//!
//! An exec's FIFOs live in their own directory, `<exec-root>/execs/<exec-id>`, removed (by [`ExecFifos`]
//! being dropped) when a launch fails or, once the process is gone, by its monitor. Its output goes only to
//! the client that started it, never to the container's log. Ended execs stay inspectable until their
//! container is removed, up to [`table::MAX_ENDED`] of them (the oldest go first).

mod table;

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use containerd_client::services::v1::ExecProcessRequest;
use oci_spec::runtime::{BoxBuilder, Process, Spec};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use wharf_client_core::models::{ExecConfig, ExecInspectResponse, ProcessConfig};
use wharf_client_core::ErrorKind;

use self::table::Exec;
pub(super) use self::table::ExecTable;
use super::control::{not_running, restarting};
use super::exit::OUTPUT_DRAIN;
use super::io::{AttachHub, Chunk, Fifos};
use super::{rootfs, Runtime};
use crate::containers::ids::new_id;
use crate::containers::record::ContainerRecord;
use crate::containers::spec::{caps, process};
use crate::containers::users::resolve_user_in;
use crate::error::Error;

/// containerd's type URL for an OCI process spec.
const PROCESS_TYPE_URL: &str = "types.containerd.io/opencontainers/runtime-spec/1/Process";

/// dockerd's exit code for an exec whose process could not be started.
const START_FAILED: i64 = 126;

/// How long a resize waits for the exec to start.
const RESIZE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long to wait for the shim to open an exec's stdin.
const STDIN_OPEN_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A TTY's size: rows, columns.
pub(crate) type ConsoleSize = (u32, u32);

/// Docker's `ConsoleSize` (`[height, width]`, in an exec's create or start body) as a size.
pub(crate) fn console_size(docker: Option<&[i32]>) -> Option<ConsoleSize> {
    match docker {
        Some([h, w]) => u32::try_from(*h).ok().zip(u32::try_from(*w).ok()),
        _ => None,
    }
}

/// A started exec, for the client that started it.
#[derive(Debug)]
pub(crate) struct ExecStream {
    /// Its output, until it ends; `None` when detached.
    pub output: Option<mpsc::Receiver<Chunk>>,
    /// Becomes true once the exit code is recorded.
    pub ended: watch::Receiver<bool>,
}

impl Runtime {
    /// `POST /containers/{id}/exec`: the new exec's ID.
    pub(crate) async fn exec_create(
        &self,
        id_or_name: &str,
        config: ExecConfig,
    ) -> Result<String, Error> {
        let record = self.store().get(id_or_name)?;
        if config.cmd.as_ref().is_none_or(Vec::is_empty) {
            return Err(Error::invalid("No exec command specified"));
        }
        if let Some(keys) = config.detach_keys.as_deref().filter(|k| !k.is_empty()) {
            wharf_client_core::detach::parse(keys)
                .map_err(|_| Error::invalid(format!("Invalid escape keys ({keys}) provided")))?;
        }
        ensure_running(&record, id_or_name)?;
        let exec = Arc::new(Exec::new(new_id()?, record.id.clone(), config));
        self.inner.execs.insert(exec.clone())?;
        self.emit(
            &record,
            &exec.event("exec_create"),
            &[("execID", exec.id.clone())],
        );
        Ok(exec.id.clone())
    }

    /// `GET /exec/{id}/json`.
    pub(crate) fn exec_inspect(&self, id: &str) -> Result<ExecInspectResponse, Error> {
        let exec = self.inner.execs.get(id)?;
        let p = exec.progress();
        let command = exec.command();
        let user = exec.config.user.clone().filter(|u| !u.is_empty());
        Ok(ExecInspectResponse {
            id: Some(exec.id.clone()),
            running: Some(p.running),
            exit_code: p.exit_code,
            process_config: Some(ProcessConfig {
                tty: Some(exec.tty()),
                entrypoint: command.first().cloned(),
                arguments: Some(command.iter().skip(1).cloned().collect()),
                privileged: Some(exec.config.privileged.unwrap_or(false)),
                user,
            }),
            open_stdin: Some(exec.config.attach_stdin.unwrap_or(false)),
            open_stdout: Some(exec.config.attach_stdout.unwrap_or(false)),
            open_stderr: Some(exec.config.attach_stderr.unwrap_or(false)),
            can_remove: Some(false),
            container_id: Some(exec.container_id.clone()),
            detach_keys: Some(exec.config.detach_keys.clone().unwrap_or_default()),
            pid: Some(i64::from(p.pid)),
        })
    }

    /// An exec's exit code, once it ended.
    pub(super) fn exec_exit_code(&self, id: &str) -> Option<i64> {
        self.inner.execs.get(id).ok()?.progress().exit_code
    }

    /// The IDs of a container's execs that have not ended.
    pub(crate) fn open_execs(&self, container_id: &str) -> Vec<String> {
        self.inner.execs.open_in(container_id)
    }

    /// `POST /exec/{id}/start`: starts the process; with `attach`, its output comes back as a stream.
    /// An exec starts once: again, or while it runs, is a conflict.
    /// With `stdin`, the caller owns the exec's stdin (when it was created to attach it) and must close
    /// it with [`Runtime::exec_write_stdin`] and `None`.
    pub(crate) async fn exec_start(
        &self,
        id: &str,
        attach: bool,
        stdin: bool,
        console_size: Option<ConsoleSize>,
    ) -> Result<ExecStream, Error> {
        let exec = self.inner.execs.get(id)?;
        {
            let mut p = exec.progress();
            if p.exit_code.is_some() {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!("Error: Exec command {id} has already run"),
                ));
            }
            if p.started {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!("Error: Exec command {id} is already running"),
                ));
            }
            p.started = true;
        }
        let ended = exec.ended.subscribe();
        match self.launch_exec(&exec, attach, stdin, console_size).await {
            Ok(output) => Ok(ExecStream { output, ended }),
            Err(e) => {
                exec.end(START_FAILED);
                Err(e)
            }
        }
    }

    /// Writes to a running exec's stdin, once it started; `None` closes it.
    pub(crate) async fn exec_write_stdin(
        &self,
        id: &str,
        data: Option<Bytes>,
    ) -> Result<(), Error> {
        use tokio::io::AsyncWriteExt;
        let exec = self.inner.execs.get(id)?;
        let _ = exec
            .launched
            .subscribe()
            .wait_for(|launched| *launched)
            .await;
        let mut stdin = exec.stdin.lock().await;
        match data {
            Some(data) => match stdin.as_mut() {
                Some(pipe) => pipe.write_all(&data).await.map_err(Error::system),
                None => Ok(()),
            },
            None => {
                if stdin.take().is_some() {
                    let _ = self
                        .inner
                        .cd
                        .process_close_stdin(&exec.container_id, &exec.id)
                        .await;
                }
                Ok(())
            }
        }
    }

    /// `POST /exec/{id}/resize`.
    pub(crate) async fn exec_resize(&self, id: &str, height: u32, width: u32) -> Result<(), Error> {
        let exec = self.inner.execs.get(id)?;
        // The docker CLI resizes as soon as the connection is handed over, before the process may
        // have started: wait for it, as dockerd does (up to 10 s).
        let mut launched = exec.launched.subscribe();
        let _ = tokio::time::timeout(RESIZE_WAIT, launched.wait_for(|l| *l)).await;
        if !exec.progress().running {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("Exec {id} is not running"),
            ));
        }
        self.inner
            .cd
            .process_resize(&exec.container_id, &exec.id, width, height)
            .await
            .map_err(Into::into)
    }

    /// Kills an exec's process if it is still running (a WebSocket client that went away ends its
    /// process). Its monitor records the exit as for any other end.
    pub(crate) async fn exec_kill(&self, id: &str) -> Result<(), Error> {
        let exec = self.inner.execs.get(id)?;
        if !exec.progress().running {
            return Ok(());
        }
        let signal = nix::sys::signal::Signal::SIGKILL as u32;
        self.inner
            .cd
            .process_kill(&exec.container_id, &exec.id, signal)
            .await
            .map_err(Into::into)
    }

    /// Adds the process to the container's task and starts it; spawns what copies its output and its
    /// monitor.
    async fn launch_exec(
        &self,
        exec: &Arc<Exec>,
        attach: bool,
        stdin: bool,
        console_size: Option<ConsoleSize>,
    ) -> Result<Option<mpsc::Receiver<Chunk>>, Error> {
        let cd = &self.inner.cd;
        let record = self.store().get(&exec.container_id)?;
        ensure_running(&record, &record.id)?;
        // dockerd announces the start before it asks containerd, so a process that cannot start has
        // its `exec_start` too (and no `exec_die`).
        self.emit(
            &record,
            &exec.event("exec_start"),
            &[("execID", exec.id.clone())],
        );
        let process = self.exec_process(&record, exec, console_size).await?;
        let value = serde_json::to_vec(&process).map_err(Error::system)?;

        let dir = self.exec_dir(&exec.id);
        let with_stdin = stdin && exec.config.attach_stdin.unwrap_or(false);
        let fifos = ExecFifos(Fifos::named(&dir, "exec", with_stdin, exec.tty()));
        let output = fifos
            .create()
            .and_then(|()| fifos.open_output())
            .map_err(|e| Error::system(format!("cannot create the exec's stdio: {e}")))?;
        let (stdin, stdout, stderr) = fifos.task_paths();
        cd.process_exec(ExecProcessRequest {
            container_id: exec.container_id.clone(),
            exec_id: exec.id.clone(),
            stdin,
            stdout,
            stderr,
            terminal: exec.tty(),
            spec: Some(prost_types::Any {
                type_url: PROCESS_TYPE_URL.to_owned(),
                value,
            }),
        })
        .await?;
        let hub = Arc::new(AttachHub::default());
        let client = attach.then(|| hub.subscribe());
        let copier = tokio::spawn(output.copy(None, hub));
        match cd.task_start(&exec.container_id, &exec.id).await {
            Ok(pid) => {
                {
                    let mut p = exec.progress();
                    p.pid = pid;
                    p.running = true;
                }
                // The shim opens an exec's stdin when it starts the process.
                if fifos.stdin.is_some() {
                    match fifos.open_stdin(STDIN_OPEN_WAIT).await {
                        Ok(sender) => *exec.stdin.lock().await = sender,
                        Err(e) => {
                            tracing::warn!(exec = %exec.id, "cannot open the exec's stdin: {e}")
                        }
                    }
                }
                exec.launched.send_replace(true);
            }
            Err(e) => {
                let _ = cd.process_delete(&exec.container_id, &exec.id).await;
                // The shim may hold the write ends of a process that never ran: nothing more comes.
                copier.abort();
                return Err(Error::new(ErrorKind::InvalidParameter, e.message()));
            }
        }
        tokio::spawn(self.clone().monitor_exec(exec.clone(), copier, fifos));
        Ok(client)
    }

    /// An exec's monitor: waits for its process to exit, gives its output time to drain, deletes the
    /// process, removes the FIFOs, then records the end and emits `exec_die`.
    async fn monitor_exec(self, exec: Arc<Exec>, mut copier: JoinHandle<()>, fifos: ExecFifos) {
        let cd = &self.inner.cd;
        let code = match cd.process_wait(&exec.container_id, &exec.id).await {
            Ok(status) => i64::from(status),
            Err(e) => {
                tracing::warn!(exec = %exec.id, "waiting for the exec: {e}");
                -1
            }
        };
        // A process it left in the background may hold its output open: wait a little, then
        // deleting the process makes the shim let go of it (as dockerd does).
        let drained = tokio::time::timeout(OUTPUT_DRAIN, &mut copier)
            .await
            .is_ok();
        let _ = cd.process_delete(&exec.container_id, &exec.id).await;
        if !drained
            && tokio::time::timeout(OUTPUT_DRAIN, &mut copier)
                .await
                .is_err()
        {
            copier.abort();
        }
        // A write blocked on a full stdin ends with the process's deletion; do not wait longer.
        if let Ok(mut stdin) = tokio::time::timeout(OUTPUT_DRAIN, exec.stdin.lock()).await {
            *stdin = None;
        }
        drop(fifos);
        exec.end(code);
        if let Ok(record) = self.store().get(&exec.container_id) {
            self.emit(
                &record,
                "exec_die",
                &[("execID", exec.id.clone()), ("exitCode", code.to_string())],
            );
        }
    }

    /// The container's process settings as its task runs them, changed as the exec asks.
    /// The TTY's size is the start's (`console_size`), else the create's, so that a process that reads
    /// it at once finds it set (runc sizes the PTY before the process runs).
    async fn exec_process(
        &self,
        record: &ContainerRecord,
        exec: &Exec,
        console_size: Option<ConsoleSize>,
    ) -> Result<Process, Error> {
        let container = self.inner.cd.container_get(&record.id).await?;
        let spec: Spec = container
            .spec
            .as_ref()
            .map(|any| serde_json::from_slice(&any.value))
            .transpose()
            .map_err(Error::system)?
            .ok_or_else(|| Error::system("the container's task has no spec"))?;
        let mut process = spec
            .process()
            .clone()
            .ok_or_else(|| Error::system("the container's spec has no process"))?;
        let config = &exec.config;
        let tty = exec.tty();
        process.set_args(Some(exec.command().to_vec()));
        process.set_terminal(Some(tty));
        let created = self::console_size(config.console_size.as_deref());
        process.set_console_size(match console_size.or(created) {
            Some((h, w)) if tty && h > 0 && w > 0 => BoxBuilder::default()
                .height(u64::from(h))
                .width(u64::from(w))
                .build()
                .ok(),
            _ => None,
        });
        // The container's environment as a process of its would get it (TERM with the exec's TTY),
        // then the exec's own, replacing or adding.
        let mut env_config = record.config.clone();
        env_config.tty = Some(tty);
        env_config.env = Some(
            record
                .config
                .env
                .iter()
                .flatten()
                .chain(config.env.iter().flatten())
                .cloned()
                .collect(),
        );
        let hostname = record.config.hostname.clone().unwrap_or_default();
        process.set_env(Some(process::env(&env_config, &hostname)));
        if let Some(dir) = config.working_dir.as_deref().filter(|d| !d.is_empty()) {
            process.set_cwd(PathBuf::from(dir));
        }
        if let Some(user) = config.user.as_deref().filter(|u| !u.is_empty()) {
            let mounts = self
                .inner
                .cd
                .snapshot_mounts(self.inner.snapshotter, &record.id)
                .await?;
            let resolved = resolve_user_in(
                &rootfs::read_text(&mounts, "etc/passwd"),
                &rootfs::read_text(&mounts, "etc/group"),
                user,
                record.host_config.group_add.as_deref().unwrap_or(&[]),
            )?;
            let mut oci_user = process.user().clone();
            oci_user.set_uid(resolved.uid);
            oci_user.set_gid(resolved.gid);
            oci_user.set_additional_gids(
                (!resolved.additional_gids.is_empty()).then_some(resolved.additional_gids),
            );
            process.set_user(oci_user);
        }
        if config.privileged.unwrap_or(false) {
            let all = caps::tweak_capabilities(&[], &[], true)?;
            process.set_capabilities(Some(caps::process_capabilities(&all)));
        }
        Ok(process)
    }

    /// `<exec-root>/execs`, where every exec's FIFOs live.
    fn execs_dir(&self) -> PathBuf {
        self.inner.exec_root.join("execs")
    }

    /// The directory of an exec's FIFOs.
    fn exec_dir(&self, id: &str) -> PathBuf {
        self.execs_dir().join(id)
    }

    /// Removes every exec's FIFOs (at start-up, for those of a daemon that died).
    pub(super) fn remove_exec_dirs(&self) {
        let dir = self.execs_dir();
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                tracing::warn!("removing {}: {e}", dir.display());
            }
            _ => {}
        }
    }
}

/// An exec needs its container running, and not paused or restarting (dockerd's wording, which names a
/// paused container as the client did).
fn ensure_running(record: &ContainerRecord, as_named: &str) -> Result<(), Error> {
    let s = &record.state;
    if !s.running {
        return Err(not_running(&record.id));
    }
    if s.paused {
        return Err(Error::new(
            ErrorKind::Conflict,
            format!("Container {as_named} is paused, unpause the container before exec"),
        ));
    }
    if s.restarting {
        return Err(restarting(&record.id));
    }
    Ok(())
}

/// An exec's FIFOs, removed with their directory when dropped: on each step of a launch that fails, and
/// by the monitor once the process is gone.
struct ExecFifos(Fifos);

impl Deref for ExecFifos {
    type Target = Fifos;

    fn deref(&self) -> &Fifos {
        &self.0
    }
}

impl Drop for ExecFifos {
    fn drop(&mut self) {
        self.0.remove();
    }
}
