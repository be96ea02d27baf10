//! A run's monitor: waits for the task to exit, collects the exit code (and whether the OOM killer ended
//! it), removes the run's containerd objects, records the exit, tells waiters and the events bus, then
//! applies the restart policy or `AutoRemove`.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::io::Fifos;
use super::start::Run;
use super::{Handle, Runtime};
use crate::containers::record::now_nanos;
use crate::containers::restart::{self, Backoff};
use crate::containers::spec::DEFAULT_CGROUP_PARENT;

/// How long the output may keep flowing after the task exited (a process that escaped the container's
/// end would otherwise hold the FIFOs open for ever).
pub(super) const OUTPUT_DRAIN: Duration = Duration::from_secs(2);

/// How long to wait between attempts to reach containerd while it restarts.
const RETRY: Duration = Duration::from_millis(500);

/// The exit status containerd reports for a task it lost.
const LOST_TASK_EXIT: u32 = 255;

/// Whether the OOM killer killed a process of container `id`'s cgroup (v1 `memory.oom_control`, v2
/// `memory.events`).
fn oom_killed(id: &str) -> bool {
    let parent = DEFAULT_CGROUP_PARENT.trim_start_matches('/');
    let v1 = PathBuf::from("/sys/fs/cgroup/memory")
        .join(parent)
        .join(id)
        .join("memory.oom_control");
    let v2 = PathBuf::from("/sys/fs/cgroup")
        .join(parent)
        .join(id)
        .join("memory.events");
    [v1, v2].iter().any(|path| {
        std::fs::read_to_string(path).is_ok_and(|text| {
            text.lines().any(|l| {
                l.strip_prefix("oom_kill ")
                    .and_then(|n| n.trim().parse::<u64>().ok())
                    .is_some_and(|n| n > 0)
            })
        })
    })
}

impl Runtime {
    pub(super) fn spawn_monitor(&self, id: String, handle: Arc<Handle>, run: Run) {
        self.start_health(&id, &handle);
        let rt = self.clone();
        tokio::spawn(async move { rt.monitor(id, handle, run).await });
    }

    /// Waits for the task to exit, retrying while containerd is away.
    async fn wait_exit(&self, id: &str) -> u32 {
        loop {
            match self.inner.cd.task_wait(id).await {
                Ok(status) => return status,
                Err(e) if e.is_not_found() => return LOST_TASK_EXIT,
                Err(e) => {
                    tracing::debug!(container = id, "waiting for the task: {e}; retrying");
                    tokio::time::sleep(RETRY).await;
                }
            }
        }
    }

    async fn monitor(&self, id: String, handle: Arc<Handle>, run: Run) {
        let status = i64::from(self.wait_exit(&id).await);
        let oom = oom_killed(&id);
        if tokio::time::timeout(OUTPUT_DRAIN, run.copier)
            .await
            .is_err()
        {
            tracing::warn!(container = %id, "output still open {OUTPUT_DRAIN:?} after the exit; closing it");
        }
        self.finish_run(&id, &handle, status, oom).await;
        // The decision is taken before waiters hear of the exit, so that a `docker restart` (which waits
        // for it, then starts the container) never races a restart by policy.
        let restart = self.restart_decision(&id, &handle, status, run.started.elapsed());
        handle.notify_exit(status);
        match restart {
            Some(delay) => self.restart_after(&id, &handle, delay).await,
            None => self.auto_remove(&id).await,
        }
    }

    /// Removes the run's containerd objects and FIFOs and records its exit.
    pub(super) async fn finish_run(&self, id: &str, handle: &Arc<Handle>, code: i64, oom: bool) {
        let cd = &self.inner.cd;
        if let Err(e) = cd.task_delete(id).await {
            if !e.is_not_found() {
                tracing::warn!(container = id, "deleting the task: {e}");
            }
        }
        if let Err(e) = cd.container_delete(id).await {
            if !e.is_not_found() {
                tracing::warn!(container = id, "deleting the containerd container: {e}");
            }
        }
        *handle.stdin.lock().await = None;
        // Execs that never started cannot start any more (dockerd forgets them at the exit too).
        self.inner.execs.forget_unstarted(id);
        Fifos::in_dir(&self.fifo_dir(id), true, false).remove();
        self.detach_network(id).await;
        handle.attach.close_all();
        // The probes end with the run, which leaves the health `unhealthy` (as dockerd's).
        self.stop_health(handle);
        let recorded = self
            .update(id, move |r| {
                r.state.set_stopped(code, oom, now_nanos());
                if let Some(health) = r.state.health.as_mut() {
                    health.stop();
                }
                Ok(())
            })
            .await;
        handle.output_done.send_replace(true);
        match recorded {
            Ok(((), record)) => {
                self.release_volumes(&record);
                if oom {
                    self.emit(&record, "oom", &[]);
                }
                self.emit(&record, "die", &[("exitCode", code.to_string())]);
            }
            Err(e) => tracing::warn!(container = id, "recording the exit: {e}"),
        }
    }

    /// Applies the restart policy to an exit: the delay before the next run, with the record marked
    /// restarting, or `None`.
    fn restart_decision(
        &self,
        id: &str,
        handle: &Handle,
        code: i64,
        ran_for: Duration,
    ) -> Option<Duration> {
        if handle.manual_stop.load(Ordering::Relaxed) || self.shutting_down() {
            return None;
        }
        let record = self.store().get(id).ok()?;
        let policy = restart::policy_of(&record.host_config).ok()?;
        let mut backoff = Backoff {
            delay: handle.backoff_delay(),
            restart_count: record.restart_count,
        };
        let delay = restart::should_restart(policy, code, false, ran_for, &mut backoff)?;
        handle.set_backoff_delay(backoff.delay);
        self.store()
            .update(id, |r| {
                r.restart_count = backoff.restart_count;
                r.state.set_restarting(code, now_nanos());
                Ok(())
            })
            .ok()?;
        Some(delay)
    }

    async fn auto_remove(&self, id: &str) {
        let auto = self
            .store()
            .get(id)
            .is_ok_and(|r| r.host_config.auto_remove.unwrap_or(false));
        if auto {
            if let Err(e) = self.remove_with(id, true, true).await {
                tracing::warn!(container = id, "auto-removing: {e}");
            }
        }
    }

    async fn restart_after(&self, id: &str, handle: &Arc<Handle>, delay: Duration) {
        let cancelled = tokio::select! {
            _ = tokio::time::sleep(delay) => false,
            _ = handle.cancel_restart.notified() => true,
        };
        let _op = handle.op.lock().await;
        let still_restarting = self.store().get(id).is_ok_and(|r| r.state.restarting);
        if cancelled || !still_restarting || self.shutting_down() {
            return;
        }
        if let Err(e) = self.start_locked(id, handle).await {
            tracing::warn!(container = id, "restart by policy failed: {e}");
        }
    }
}
