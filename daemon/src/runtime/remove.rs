//! `DELETE /containers/{id}` and `POST /containers/prune`: the writable layer, the container's directory
//! (record, log, `/etc` files) and its record go; waiters on `removed` are told.

use std::collections::HashMap;
use std::time::Duration;

use wharf_client_core::ErrorKind;

use super::io::Fifos;
use super::signal::Signal;
use super::Runtime;
use crate::containers::record::ContainerRecord;
use crate::error::Error;

/// How long a force-removed container may take to die.
const KILL_WAIT: Duration = Duration::from_secs(30);

/// dockerd's answer when a container it removes would not die.
fn cannot_kill(id: &str) -> Error {
    Error::new(
        ErrorKind::System,
        format!("Could not kill running container {id}, cannot remove"),
    )
}

/// What a prune removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PruneReport {
    /// The IDs of the removed containers.
    pub deleted: Vec<String>,
    /// The bytes their writable layers held.
    pub reclaimed: i64,
}

impl Runtime {
    /// Removes a container; a running one only with `force` (it is killed first).
    pub(crate) async fn remove(&self, id_or_name: &str, force: bool) -> Result<(), Error> {
        self.remove_with(id_or_name, force, false).await
    }

    /// [`Runtime::remove`], and with `volumes` (`rm -v`, `AutoRemove`) the container's anonymous volumes
    /// that no other container uses; named volumes always stay, as with dockerd.
    pub(crate) async fn remove_with(
        &self,
        id_or_name: &str,
        force: bool,
        volumes: bool,
    ) -> Result<(), Error> {
        let (record, handle) = self.lookup(id_or_name)?;
        let _op = handle.op.lock().await;
        let record = self.store().get(&record.id)?;
        let id = record.id.clone();
        if record.state.running {
            if !force {
                let message = if record.state.paused {
                    format!("You cannot remove a paused container {id}. Unpause and then stop the container before attempting removal or force remove")
                } else {
                    format!("You cannot remove a running container {id}. Stop the container before attempting removal or force remove")
                };
                return Err(Error::new(ErrorKind::Conflict, message));
            }
            let exits = handle.status.borrow().exits;
            let record = self.mark_manual_stop(&id, &handle).await?;
            if record.state.running {
                self.signal(&record, Signal::KILL).await?;
                let mut rx = handle.status.subscribe();
                let died =
                    tokio::time::timeout(KILL_WAIT, rx.wait_for(|s| s.exits > exits || !s.running))
                        .await;
                if !matches!(died, Ok(Ok(_))) {
                    return Err(cannot_kill(&id));
                }
            }
        } else {
            // A run whose end the daemon did not handle (a start cut short) may have left a task: it
            // dies before the record goes, so that nothing runs that no record owns.
            if let Err(e) = self.clear_run(&id).await {
                tracing::warn!(container = %id, "removing what a run left: {e}");
                return Err(cannot_kill(&id));
            }
        }
        self.update(&id, move |r| {
            r.state.removal_in_progress = true;
            Ok(())
        })
        .await?;
        self.destroy(&record).await?;
        if volumes {
            self.remove_anonymous_volumes(&record).await;
        }
        handle.status.send_modify(|s| s.removed = true);
        self.drop_handle(&id);
        self.inner.execs.forget_container(&id);
        Ok(())
    }

    /// Removes what a stopped container has: its writable layer, FIFOs, directory and record.
    async fn destroy(&self, record: &ContainerRecord) -> Result<(), Error> {
        let id = &record.id;
        let cd = &self.inner.cd;
        if let Err(e) = cd.snapshot_remove(self.inner.snapshotter, id).await {
            if !e.is_not_found() {
                let _ = self
                    .update(id, move |r| {
                        r.state.removal_in_progress = false;
                        r.state.dead = true;
                        Ok(())
                    })
                    .await;
                return Err(Error::new(
                    e.kind(),
                    format!("unable to remove filesystem for {id}: {}", e.message()),
                ));
            }
        }
        Fifos::in_dir(&self.fifo_dir(id), true, false).remove();
        self.detach_network(id).await;
        let store = self.inner.store.clone();
        let owned = id.clone();
        tokio::task::spawn_blocking(move || store.remove(&owned))
            .await
            .map_err(Error::system)??;
        self.emit(record, "destroy", &[]);
        Ok(())
    }

    /// The bytes a container changed (`SizeRw`): for an overlay, the files of its writable layer as
    /// dockerd counts them (so the mount points runc makes there are not a change); otherwise what the
    /// snapshotter reports.
    pub(crate) async fn size_rw(&self, id: &str) -> i64 {
        let cd = &self.inner.cd;
        let upper = cd
            .snapshot_mounts(self.inner.snapshotter, id)
            .await
            .ok()
            .and_then(|mounts| super::rootfs::upper_dir(&mounts));
        if let Some(upper) = upper {
            let size = tokio::task::spawn_blocking(move || super::rootfs::changes_size(&upper));
            return size
                .await
                .map_or(0, |s| i64::try_from(s).unwrap_or(i64::MAX));
        }
        cd.snapshot_usage(self.inner.snapshotter, id)
            .await
            .unwrap_or(0)
    }

    /// `SizeRw` and `SizeRootFs` (the image's size plus `SizeRw`) of `record`; `images` keeps the image
    /// sizes already looked up, so that a listing of many containers of one image resolves it once.
    pub(crate) async fn sizes(
        &self,
        record: &ContainerRecord,
        images: &mut ImageSizes,
    ) -> (i64, i64) {
        let rw = self.size_rw(&record.id).await;
        let image = match images.0.get(&record.image_id) {
            Some(&size) => size,
            None => {
                let size = match self.inner.images.resolve(&record.image_id).await {
                    Ok(image) => image.size,
                    Err(_) => 0,
                };
                images.0.insert(record.image_id.clone(), size);
                size
            }
        };
        (rw, image.saturating_add(rw))
    }

    /// `POST /containers/prune`: every stopped container that `keep` does not keep.
    pub(crate) async fn prune(
        &self,
        keep: impl Fn(&ContainerRecord) -> bool,
    ) -> Result<PruneReport, Error> {
        let mut report = PruneReport::default();
        for record in self.store().list() {
            if record.state.running || keep(&record) {
                continue;
            }
            let size = self.size_rw(&record.id).await;
            match self.remove(&record.id, false).await {
                Ok(()) => {
                    report.deleted.push(record.id.clone());
                    report.reclaimed += size;
                }
                Err(e) if e.kind == ErrorKind::NotFound || e.kind == ErrorKind::Conflict => {}
                Err(e) => return Err(e),
            }
        }
        let mut actor = crate::events::EventActor::default();
        actor
            .attributes
            .insert("reclaimed".to_owned(), report.reclaimed.to_string());
        self.inner
            .events
            .log(crate::events::kind::CONTAINER, "prune", actor);
        Ok(report)
    }
}

/// Image sizes by image ID, looked up once per request that reports container sizes.
#[derive(Debug, Default)]
pub(crate) struct ImageSizes(HashMap<String, i64>);
