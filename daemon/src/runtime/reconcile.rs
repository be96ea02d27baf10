//! Start-up reconciliation with what containerd and runc hold, whatever the records say. A `kill -9` can
//! come between any two steps of a create, a start or a removal: a start cut short leaves a containerd
//! container and a task (created or already running) under a record that says `Created`; containerd's own
//! death during a task create leaves a shim and its `runc init` that containerd no longer lists; a create
//! cut short leaves a record without its writable layer. Each is either adopted (a task that started is
//! the container's run) or removed, and logged.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use containerd_client::types::v1::Process;

use super::io::Fifos;
use super::signal::Signal;
use super::{Handle, Runtime, GC_ROOT};
use crate::containerd::config::task_bundles;
use crate::containerd::shims;
use crate::containers::record::{now_nanos, ContainerRecord};
use crate::error::Error;

/// containerd's task status for a task created but not started (`containerd.v1.types.Status`).
const STATUS_CREATED: i32 = 1;
/// ... and for one that exited.
const STATUS_STOPPED: i32 = 3;

/// containerd's snapshot kind of a writable snapshot (`containerd.services.snapshots.v1.Kind`).
const SNAPSHOT_ACTIVE: i32 = 2;

/// How long a leftover task may take to die once killed.
const KILL_WAIT: Duration = Duration::from_secs(30);

/// The exit code recorded for a start cut short (dockerd's for a failed start).
const CUT_SHORT_EXIT: i64 = 128;

/// What containerd held at start-up, by container ID.
#[derive(Debug, Default)]
pub(super) struct Holdings {
    pub(super) tasks: HashMap<String, Process>,
    pub(super) containers: HashSet<String>,
    /// Writable layers (active snapshots held by a `gc.root` label); `None` when they could not be
    /// listed.
    pub(super) layers: Option<HashSet<String>>,
}

impl Runtime {
    /// Lists what containerd holds in wharfd's namespace (nothing of what it could not list).
    pub(super) async fn holdings(&self) -> Holdings {
        let cd = &self.inner.cd;
        let tasks = cd.task_list().await.unwrap_or_else(|e| {
            tracing::warn!("listing containerd's tasks: {e}");
            Vec::new()
        });
        let containers = cd.container_list(Vec::new()).await.unwrap_or_else(|e| {
            tracing::warn!("listing containerd's containers: {e}");
            Vec::new()
        });
        let layers = match cd.snapshot_list(self.inner.snapshotter, Vec::new()).await {
            Ok(list) => Some(
                list.into_iter()
                    .filter(|s| s.kind == SNAPSHOT_ACTIVE && s.labels.contains_key(GC_ROOT))
                    .map(|s| s.name)
                    .collect(),
            ),
            Err(e) => {
                tracing::warn!("listing the writable layers: {e}");
                None
            }
        };
        Holdings {
            tasks: tasks
                .into_iter()
                .map(|t| (task_container(&t).to_owned(), t))
                .collect(),
            containers: containers.into_iter().map(|c| c.id).collect(),
            layers,
        }
    }

    /// Kills and deletes container `id`'s task if it has one (waiting for its end), then deletes its
    /// containerd container: what a run leaves whose end the daemon did not handle. An error when the
    /// task would not go.
    pub(super) async fn clear_run(&self, id: &str) -> Result<(), Error> {
        let cd = &self.inner.cd;
        match cd.task_state(id).await {
            Ok(process) => {
                if process.status != STATUS_STOPPED {
                    let kill = Signal::KILL.number();
                    if cd.task_kill(id, kill, true).await.is_err() {
                        // A task that was never started has no processes to list for `all`.
                        let _ = cd.task_kill(id, kill, false).await;
                    }
                    match tokio::time::timeout(KILL_WAIT, cd.task_wait(id)).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) if e.is_not_found() => {}
                        Ok(Err(e)) => return Err(e.into()),
                        Err(_) => {
                            return Err(Error::system(format!(
                                "the task of {id} did not die within {KILL_WAIT:?}"
                            )))
                        }
                    }
                }
                if let Err(e) = cd.task_delete(id).await {
                    if !e.is_not_found() {
                        return Err(e.into());
                    }
                }
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
        match cd.container_delete(id).await {
            Err(e) if !e.is_not_found() => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// A record that says its container is not running while containerd holds a container or a task
    /// for it: a start (or a restart by policy) cut short. A task that started is adopted as the run it
    /// is (recorded running, then re-attached or stopped as any other run); anything else is removed,
    /// and a start that was not a restart recorded as failed. True when adopted.
    pub(super) async fn restore_unrecorded(
        &self,
        record: &ContainerRecord,
        handle: &Arc<Handle>,
        task: Option<Process>,
    ) -> bool {
        let id = record.id.as_str();
        if let Some(pid) = task
            .filter(|t| t.status > STATUS_CREATED)
            .map(|t| i64::from(t.pid))
        {
            tracing::warn!(
                container = id,
                "a start cut short by the daemon's end had started the task: adopting it"
            );
            let recorded = self
                .update(id, move |r| {
                    r.state.set_running(pid, now_nanos());
                    Ok(())
                })
                .await;
            match recorded {
                Ok(((), record)) => {
                    self.restore_run(&record, handle).await;
                    return true;
                }
                Err(e) => tracing::warn!(container = id, "recording the adopted run: {e}"),
            }
        }
        tracing::warn!(
            container = id,
            "a start cut short by the daemon's end: removing its containerd container and task"
        );
        if let Err(e) = self.clear_run(id).await {
            tracing::warn!(container = id, "removing what the start left: {e}");
        }
        Fifos::in_dir(&self.fifo_dir(id), true, false).remove();
        if !record.state.restarting {
            let recorded = self
                .update(id, |r| {
                    r.state.set_start_error(
                        "the daemon stopped while the container was starting".to_owned(),
                        CUT_SHORT_EXIT,
                    );
                    Ok(())
                })
                .await;
            if let Err(e) = recorded {
                tracing::warn!(container = id, "recording the failed start: {e}");
            }
            handle.status.send_modify(|s| s.exit_code = CUT_SHORT_EXIT);
        }
        false
    }

    /// Whether `record` is a create cut short before its writable layer was made (its answer never
    /// reached the client): a record never started, of this snapshotter, without a layer in it.
    pub(super) fn create_cut_short(&self, record: &ContainerRecord, held: &Holdings) -> bool {
        let s = &record.state;
        !s.running
            && s.started_at.is_none()
            && record.driver == self.inner.snapshotter
            && held
                .layers
                .as_ref()
                .is_some_and(|layers| !layers.contains(&record.id))
    }

    /// Removes a record whose create was cut short.
    pub(super) async fn forget_cut_short_create(&self, id: &str) {
        tracing::warn!(
            container = id,
            "a create cut short by the daemon's end left no writable layer: removing its record"
        );
        let store = self.inner.store.clone();
        let owned = id.to_owned();
        match tokio::task::spawn_blocking(move || store.remove(&owned)).await {
            Ok(Ok(_)) => self.drop_handle(id),
            Ok(Err(e)) => tracing::warn!(container = id, "removing the record: {e}"),
            Err(e) => tracing::warn!(container = id, "removing the record: {e}"),
        }
    }

    /// Removes what no record owns: containerd containers and tasks (`unowned`, what the records left
    /// of `held`), writable layers, shims containerd does not list, runc state without a task, FIFO
    /// directories.
    pub(super) async fn remove_unowned(&self, held: Holdings) {
        let cd = &self.inner.cd;
        let owned: HashSet<String> = self.store().list().into_iter().map(|r| r.id).collect();
        let runs: BTreeSet<&String> = held.tasks.keys().chain(&held.containers).collect();
        for id in runs
            .into_iter()
            .filter(|id| !id.is_empty() && !owned.contains(*id))
        {
            tracing::warn!(
                container = %id,
                "removing a containerd container or task that no record owns"
            );
            if let Err(e) = self.clear_run(id).await {
                tracing::warn!(container = %id, "removing it: {e}");
            }
        }
        for id in held.layers.iter().flatten() {
            if owned.contains(id) {
                continue;
            }
            tracing::warn!(
                container = %id,
                "removing a writable layer that no record owns"
            );
            if let Err(e) = cd.snapshot_remove(self.inner.snapshotter, id).await {
                tracing::warn!(container = %id, "removing it: {e}");
            }
        }
        // What containerd lists now is what runs; a shim or runc state beyond it is lost to containerd.
        let live: HashSet<String> = match cd.task_list().await {
            Ok(tasks) => tasks.iter().map(|t| task_container(t).to_owned()).collect(),
            Err(e) => {
                tracing::warn!("listing containerd's tasks: {e}");
                return;
            }
        };
        for shim in shims::shims(cd.namespace(), cd.socket()) {
            if !live.contains(&shim.id) {
                tracing::warn!(
                    container = %shim.id,
                    pid = shim.pid,
                    "killing a shim whose task containerd lost, and its processes"
                );
                shims::kill_tree(shim.pid);
            }
        }
        // containerd's clean-up after a dead shim gives up on a bundle the shim had not finished, and the
        // next task of that container could not be created.
        let bundles = task_bundles(&self.inner.exec_root, cd.namespace());
        for id in dir_names(&bundles) {
            if !live.contains(&id) {
                tracing::warn!(container = %id, "removing a task bundle that no task owns");
                if let Err(e) = shims::remove_bundle(&bundles.join(&id)) {
                    if e.kind() != std::io::ErrorKind::NotFound {
                        tracing::warn!(container = %id, "removing the bundle: {e}");
                    }
                }
            }
        }
        let runc_root = std::path::Path::new(&self.inner.runc.root).join(cd.namespace());
        for id in dir_names(&runc_root) {
            if !live.contains(&id) {
                tracing::warn!(container = %id, "deleting runc state that no task owns");
                self.runc_delete(&runc_root, &id).await;
            }
        }
        for id in dir_names(&self.inner.exec_root.join("containers")) {
            if !owned.contains(&id) {
                Fifos::in_dir(&self.fifo_dir(&id), true, false).remove();
            }
        }
    }

    /// `runc delete --force`: kills what is left of container `id` and removes its cgroup and state.
    async fn runc_delete(&self, root: &std::path::Path, id: &str) {
        let binary = match self.inner.runc.binary_name.as_str() {
            "" => "runc",
            name => name,
        };
        let out = tokio::process::Command::new(binary)
            .arg("--root")
            .arg(root)
            .args(["delete", "--force", id])
            .output()
            .await;
        match out {
            Ok(out) if !out.status.success() => tracing::warn!(
                container = id,
                "runc delete: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => tracing::warn!(container = id, "running {binary}: {e}"),
            Ok(_) => {}
        }
    }
}

/// The container a listed task belongs to: containerd's task list names it as the task's `id` (the
/// task of a container has the container's ID) and leaves `container_id` empty.
fn task_container(task: &Process) -> &str {
    if task.container_id.is_empty() {
        &task.id
    } else {
        &task.container_id
    }
}

/// The names of the directories in `dir` (none when it cannot be read).
fn dir_names(dir: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_tasks_are_known_by_their_id() {
        let listed = Process {
            id: "abc".to_owned(),
            ..Process::default()
        };
        assert_eq!(task_container(&listed), "abc");
        let got = Process {
            container_id: "abc".to_owned(),
            ..Process::default()
        };
        assert_eq!(task_container(&got), "abc");
    }
}
