//! The daemon's start and end for containers: reconciling the records with containerd's tasks after a
//! restart (or a `kill -9`), the restart policies at start, and stopping containers at shutdown unless
//! `--live-restore` keeps them running.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::exit::OUTPUT_DRAIN;
use super::io::Fifos;
use super::start::Run;
use super::{Handle, Runtime};
use crate::containers::record::{now_nanos, ContainerRecord};
use crate::containers::restart::{self, Backoff, Policy};

/// containerd's task status for a running task (`containerd.v1.types.Status`).
const STATUS_RUNNING: i32 = 2;
/// ... and a paused one.
const STATUS_PAUSED: i32 = 4;
/// ... and one being paused.
const STATUS_PAUSING: i32 = 5;

/// The exit code recorded for a container whose task vanished while the daemon was away.
const VANISHED_EXIT: i64 = 255;

/// How long a container may take to stop at shutdown beyond its own stop timeout.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

impl Runtime {
    /// Brings every record in line with containerd: running tasks are re-attached (`--live-restore`) or
    /// stopped, exited ones reaped with their exit codes, unfinished removals finished, starts cut short
    /// adopted or undone, and what no record owns removed (see `reconcile.rs`); then containers whose
    /// restart policy says so are started.
    pub(crate) async fn restore(&self) {
        // Execs do not outlive the daemon that started them: their FIFOs are leftovers.
        self.remove_exec_dirs();
        // Stopped containers' snapshots a `docker cp` had mounted when the last wharfd died.
        super::archive::mount::clean_stale(&self.inner.exec_root.join("archive"));
        let mut held = self.holdings().await;
        let records = self.store().list();
        let mut to_start = Vec::new();
        for record in records {
            let id = record.id.clone();
            let handle = self.handle(&record);
            let task = held.tasks.remove(&id);
            let has_container = held.containers.remove(&id);
            if record.state.removal_in_progress {
                if let Err(e) = self.remove(&id, true).await {
                    tracing::warn!(container = %id, "finishing an interrupted removal: {e}");
                }
                continue;
            }
            if task.is_none() && !has_container && self.create_cut_short(&record, &held) {
                self.forget_cut_short_create(&id).await;
                continue;
            }
            if record.state.running && !record.state.restarting {
                self.restore_run(&record, &handle).await;
            } else {
                let adopted = (task.is_some() || has_container)
                    && self.restore_unrecorded(&record, &handle, task).await;
                if !adopted && record.state.restarting {
                    // The daemon died during a back-off: the run had ended.
                    let code = record.state.exit_code;
                    let _ = self
                        .update(&id, move |r| {
                            r.state.set_stopped(code, false, now_nanos());
                            Ok(())
                        })
                        .await;
                    handle.notify_exit(code);
                }
            }
            if let Ok(r) = self.store().get(&id) {
                if !r.state.running && restart_at_start(&r) {
                    to_start.push(id);
                }
            }
        }
        self.remove_unowned(held).await;
        self.restore_networks().await;
        self.settle_volumes();
        for id in to_start {
            tracing::info!(container = %id, "starting by restart policy");
            if let Some(handle) = self.store().get(&id).ok().map(|r| self.handle(&r)) {
                let _op = handle.op.lock().await;
                if let Err(e) = self.start_locked(&id, &handle).await {
                    tracing::warn!(container = %id, "restart policy: start failed: {e}");
                }
            }
        }
    }

    pub(super) async fn restore_run(&self, record: &ContainerRecord, handle: &Arc<Handle>) {
        let id = record.id.as_str();
        let cd = &self.inner.cd;
        let state = cd.task_state(id).await;
        let alive = matches!(&state, Ok(p) if [STATUS_RUNNING, STATUS_PAUSED, STATUS_PAUSING].contains(&p.status));
        if !alive {
            // What it wrote before its end waits in the FIFOs: into the log before the task goes.
            let copier = self.reopen_output(record, handle);
            if tokio::time::timeout(OUTPUT_DRAIN, copier).await.is_err() {
                tracing::warn!(
                    container = id,
                    "output still open {OUTPUT_DRAIN:?} after the exit; closing it"
                );
            }
            let code = match state {
                Ok(p) => i64::from(p.exit_status),
                Err(_) => VANISHED_EXIT,
            };
            let code = match cd.task_delete(id).await {
                Ok(status) => i64::from(status),
                Err(_) => code,
            };
            tracing::info!(
                container = id,
                "exited while the daemon was away (exit code {code})"
            );
            self.finish_run(id, handle, code, false).await;
            handle.notify_exit(code);
            return;
        }
        // Re-attach the output, whatever happens next: what the container wrote meanwhile waits in the
        // FIFOs and belongs in its log.
        let copier = self.reopen_output(record, handle);
        // Its keeper, should it be gone, for the next time the daemon is away.
        crate::fifo_keeper::spawn(&self.fifo_dir(id)).await;
        handle.status.send_modify(|s| s.running = true);
        let run = Run {
            copier,
            started: Instant::now(),
        };
        self.spawn_monitor(id.to_owned(), handle.clone(), run);
        if self.inner.live_restore {
            tracing::info!(container = id, "still running: re-attached (live-restore)");
            return;
        }
        tracing::info!(
            container = id,
            "still running without --live-restore: stopping it"
        );
        let _op = handle.op.lock().await;
        // Not a user stop: the restart policy applies at start, as after a daemon crash in dockerd.
        let exits = handle.status.borrow().exits;
        let _ = cd
            .task_kill(id, super::signal::Signal::KILL.number(), true)
            .await;
        let mut rx = handle.status.subscribe();
        let _ = tokio::time::timeout(SHUTDOWN_GRACE * 6, rx.wait_for(|s| s.exits > exits)).await;
    }

    /// Opens the FIFOs of `record`'s run again and copies what they hold, and what comes, into its log
    /// and to attached clients until the shim closes them.
    fn reopen_output(
        &self,
        record: &ContainerRecord,
        handle: &Arc<Handle>,
    ) -> tokio::task::JoinHandle<()> {
        let id = record.id.as_str();
        let tty = record.config.tty.unwrap_or(false);
        let fifos = Fifos::in_dir(&self.fifo_dir(id), false, tty);
        match (fifos.open_output(), self.open_log(record)) {
            (Ok(output), Ok(log)) => {
                handle.output_done.send_replace(false);
                tokio::spawn(output.copy(log, handle.attach.clone()))
            }
            (o, l) => {
                tracing::warn!(
                    container = id,
                    "cannot re-open the output: {:?} {:?}",
                    o.err(),
                    l.err()
                );
                tokio::spawn(async {})
            }
        }
    }

    /// At shutdown: without `--live-restore`, stops every running container (its stop signal, then
    /// SIGKILL after its timeout, all at once); with it, leaves them running.
    pub(crate) async fn shutdown(&self) {
        self.inner.shutting_down.store(true, Ordering::Relaxed);
        if self.inner.live_restore {
            tracing::info!("live-restore: leaving containers running");
            self.shutdown_networks().await;
            return;
        }
        let running: Vec<ContainerRecord> = self
            .store()
            .list()
            .into_iter()
            .filter(|r| r.state.running)
            .collect();
        let mut stops = tokio::task::JoinSet::new();
        for record in running {
            let rt = self.clone();
            stops.spawn(async move {
                let handle = rt.handle(&record);
                let _op = handle.op.lock().await;
                handle.cancel_restart.notify_waiters();
                let timeout = record
                    .config
                    .stop_timeout
                    .unwrap_or(super::control::DEFAULT_STOP_TIMEOUT);
                let limit =
                    Duration::from_secs(u64::try_from(timeout).unwrap_or(0)) + SHUTDOWN_GRACE;
                let stop = rt.shutdown_stop(&record.id, &handle);
                if tokio::time::timeout(limit, stop).await.is_err() {
                    tracing::warn!(container = %record.id, "did not stop at shutdown");
                }
            });
        }
        while stops.join_next().await.is_some() {}
        self.shutdown_networks().await;
    }

    /// Stops a container at shutdown without marking it stopped by the user (so `unless-stopped` and
    /// `always` start it again with the daemon).
    async fn shutdown_stop(&self, id: &str, handle: &Arc<Handle>) {
        let was_manual = handle.manual_stop.load(Ordering::Relaxed);
        let result = self.stop_locked(id, handle, None, None).await;
        if !was_manual {
            let _ = self
                .update(id, move |r| {
                    r.has_been_manually_stopped = false;
                    Ok(())
                })
                .await;
        }
        if let Err(e) = result {
            tracing::warn!(container = id, "stopping at shutdown: {e}");
        }
    }
}

/// Whether a stopped container starts with the daemon (moby's restore): `always`, `unless-stopped` unless
/// a user stopped it, `on-failure` after a failure with retries left.
fn restart_at_start(record: &ContainerRecord) -> bool {
    let Ok(policy) = restart::policy_of(&record.host_config) else {
        return false;
    };
    match policy {
        Policy::OnFailure { .. } => {
            let mut backoff = Backoff {
                delay: Duration::ZERO,
                restart_count: record.restart_count,
            };
            !record.has_been_manually_stopped
                && restart::should_restart(
                    policy,
                    record.state.exit_code,
                    false,
                    Duration::ZERO,
                    &mut backoff,
                )
                .is_some()
        }
        Policy::No => false,
        Policy::Always => true,
        Policy::UnlessStopped => !record.has_been_manually_stopped,
    }
}
