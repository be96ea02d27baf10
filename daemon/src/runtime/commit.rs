//! `docker commit`: a container's writable layer as a new image layer over its image's, with the
//! container's config changed by `--change` (dockerd's Dockerfile subset), the author and comment, and
//! a history entry after the image's own. A running container is frozen while its layer is read
//! (`pause`, dockerd's default), so the layer is one moment of it.

use std::os::fd::AsFd;

use rustix::fs::{Mode, OFlags};
use wharf_client_core::ErrorKind;

use super::archive::write_layer_tar;
use super::changes::is_mount_point;
use super::Runtime;
use crate::error::Error;
use crate::images::commit::LayerWriter;
use crate::images::oci::{History, RunConfig};
use crate::images::{changes, new_reference};

/// The parameters of `POST /commit`.
#[derive(Clone, Debug, Default)]
pub(crate) struct CommitOptions {
    pub repo: String,
    pub tag: String,
    pub comment: String,
    pub author: String,
    /// Freeze a running container while its layer is read.
    pub pause: bool,
    /// Dockerfile instructions (`CMD ["cat","/x"]`...) applied to the new image's config.
    pub changes: Vec<String>,
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

impl Runtime {
    /// `POST /commit?container=`: answers the new image's ID.
    pub(crate) async fn commit(&self, name: &str, opts: CommitOptions) -> Result<String, Error> {
        let reference = match (opts.repo.as_str(), opts.tag.as_str()) {
            ("", "") => None,
            ("", _) => return Err(Error::invalid("tag is invalid without a repository")),
            (repo, tag) => Some(new_reference(repo, tag)?.to_string()),
        };
        let record = self.store().get(name)?;
        let container_config: RunConfig = serde_json::to_value(&record.config)
            .and_then(serde_json::from_value)
            .map_err(Error::system)?;
        let mut run = container_config.clone();
        changes::apply(&mut run, &opts.changes).map_err(|e| Error::invalid(e.to_string()))?;
        let parent = self.inner.images.resolve(&record.image_id).await?;

        let created = crate::timefmt::now_rfc3339_nanos();
        let mut config = parent.meta.config.clone();
        config.history.push(History {
            created: Some(created.clone()),
            author: non_empty(&opts.author),
            created_by: Some(container_config.cmd.clone().unwrap_or_default().join(" ")),
            comment: non_empty(&opts.comment),
            empty_layer: None,
        });
        config.config = Some(run);
        config.container_config = Some(container_config);
        config.container = record.id.clone();
        config.created = Some(created);
        config.author = opts.author.clone();
        config.comment = opts.comment.clone();

        let cd = &self.inner.cd;
        let mounts = cd
            .snapshot_mounts(self.inner.snapshotter, &record.id)
            .await?;
        let Some(upper) = super::rootfs::upper_dir(&mounts) else {
            return Err(Error::new(
                ErrorKind::NotImplemented,
                "docker commit needs the overlayfs snapshotter",
            ));
        };
        let write: LayerWriter = Box::new(move |out| {
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
            let fd = rustix::fs::open(&upper, flags, Mode::empty())?;
            write_layer_tar(out, fd.as_fd(), is_mount_point).map(drop)
        });
        let freeze = opts.pause && record.state.running && !record.state.paused;
        if freeze {
            cd.task_pause(&record.id).await?;
        }
        let made = self
            .inner
            .images
            .commit_image(&parent.meta, write, config, reference.clone())
            .await;
        if freeze {
            if let Err(e) = cd.task_resume(&record.id).await {
                tracing::warn!("cannot resume {} after its commit: {e}", record.id);
            }
        }
        let id = made?;
        let mut attributes = vec![("comment", opts.comment), ("imageID", id.clone())];
        if let Some(r) = reference {
            attributes.push(("imageRef", r));
        }
        let attributes: Vec<(&str, String)> = attributes;
        self.emit(&record, "commit", &attributes);
        Ok(id)
    }
}
