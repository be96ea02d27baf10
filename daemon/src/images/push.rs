//! `docker push`: an image's manifest, config and layer blobs from containerd's content store to a
//! registry, reported as dockerd 20.10 reports it ("Preparing", "Waiting", "Pushing", "Pushed", "Layer
//! already exists", "Mounted from `<repo>`", then `<tag>: digest: ... size: ...` and the aux message).
//!
//! Blobs go as they are stored, manifest included, so the digest the registry gives is the local
//! manifest's and a second push finds every layer there. Pulled images keep the registry's compressed
//! blobs; images made by `docker import` or `docker load` keep uncompressed layers, and those are pushed
//! uncompressed (dockerd gzips them on every push). Compressing would need the compressed blob and a
//! second manifest kept beside the image, and the image would get a new digest on its first push; an
//! uncompressed layer costs bandwidth instead, and any registry and client since Docker 1.10 accepts
//! it. Layers upload in parallel in the daemon's `max-concurrent-uploads` slots; the config follows, the
//! manifest goes last so the tag never names missing blobs.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, watch};
use wharf_client_core::reference::Reference;
use wharf_client_core::registry_auth::RegistryAuth;
use wharf_client_core::ErrorKind;

use super::oci::Descriptor;
use super::progress::{short_id, Progress, PushAux, Throttle};
use super::pull::SOURCE_LABEL;
use super::{ImageEntry, ImageStore};
use crate::containerd::Containerd;
use crate::error::Error;
use crate::registry::{Access, BlobStream, OpenBlob, Repository};

/// The largest manifest read back for pushing.
const MAX_MANIFEST: u64 = 4 * 1024 * 1024;

/// Sends a message; a client that went away does not stop the push.
async fn send(out: &mpsc::Sender<Progress>, p: Progress) {
    let _ = out.send(p).await;
}

/// The repository a push names (`name`, maybe with a tag) and the tag asked for.
pub(crate) fn push_reference(name: &str, tag: &str) -> Result<Reference, Error> {
    let r = Reference::parse(name).map_err(|e| Error::invalid(e.to_string()))?;
    if r.digest().is_some() {
        return Err(Error::invalid("cannot push a digest reference"));
    }
    match (r.tag(), tag) {
        (_, "") => Ok(r),
        (None, t) => r.with_tag(t).map_err(|e| Error::invalid(e.to_string())),
        (Some(_), _) => Err(Error::invalid("invalid reference format")),
    }
}

impl ImageStore {
    /// Pushes `reference` (every local tag of its repository when it has none), reporting on `out`.
    pub(crate) async fn push(
        &self,
        reference: Reference,
        auth: RegistryAuth,
        out: mpsc::Sender<Progress>,
    ) -> Result<(), Error> {
        send(
            &out,
            Progress::status(
                None,
                format!("The push refers to repository [{}]", reference.name()),
            ),
        )
        .await;
        let tagged: Vec<(Reference, ImageEntry)> = {
            let all = self.list().await?;
            let mut found = Vec::new();
            for e in &all {
                for n in &e.names {
                    let Ok(r) = Reference::parse(n) else { continue };
                    let same_repo = r.name() == reference.name() && r.digest().is_none();
                    let wanted = reference.tag().is_none_or(|t| r.tag() == Some(t));
                    if same_repo && wanted && r.tag().is_some() {
                        found.push((r, e.clone()));
                    }
                }
            }
            found.sort_by_key(|a| a.0.to_string());
            found
        };
        if tagged.is_empty() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "An image does not exist locally with the tag: {}",
                    reference.familiar_name()
                ),
            ));
        }
        let repo = self
            .registries
            .repository(&reference, &auth, Access::Push)?;
        for (r, entry) in tagged {
            self.push_one(&repo, &r, &entry, &out).await?;
        }
        Ok(())
    }

    async fn push_one(
        &self,
        repo: &Repository,
        r: &Reference,
        entry: &ImageEntry,
        out: &mpsc::Sender<Progress>,
    ) -> Result<(), Error> {
        let meta = &entry.meta;
        let layers = &meta.manifest.layers;
        let diff_ids = &meta.config.rootfs.diff_ids;
        let ids: Vec<String> = layers
            .iter()
            .enumerate()
            .map(|(i, l)| short_id(diff_ids.get(i).unwrap_or(&l.digest)))
            .collect();
        // As dockerd: the top layer first.
        for id in ids.iter().rev() {
            send(out, Progress::step(id, "Preparing")).await;
        }
        let mut running = FuturesUnordered::new();
        let mut said_waiting = false;
        let order: Vec<usize> = (0..layers.len()).rev().collect();
        for (k, &i) in order.iter().enumerate() {
            let permit = match self.transfers.uploads.clone().try_acquire_owned() {
                Ok(p) => p,
                Err(_) => {
                    if !said_waiting {
                        for &j in &order[k..] {
                            send(out, Progress::step(&ids[j], "Waiting")).await;
                        }
                        said_waiting = true;
                    }
                    loop {
                        tokio::select! {
                            p = self.transfers.uploads.clone().acquire_owned() => break p.map_err(Error::system)?,
                            Some(done) = running.next() => done?,
                        }
                    }
                }
            };
            let layer = layers[i].clone();
            let id = ids[i].clone();
            let (cd, repo, out) = (self.cd.clone(), repo.clone(), out.clone());
            running.push(async move {
                let done = push_layer(&cd, &repo, &layer, &id, &out).await;
                drop(permit);
                done
            });
        }
        while let Some(done) = running.next().await {
            done?;
        }

        // The config, then the manifest as stored.
        let config = &meta.manifest.config;
        if !repo.blob_exists(&config.digest).await? {
            upload(&self.cd, repo, config, &|_| {}).await?;
        }
        let bytes = self
            .cd
            .read_blob(&meta.manifest_digest, MAX_MANIFEST)
            .await?;
        let size = bytes.len() as i64;
        let media_type = meta
            .manifest
            .media_type
            .clone()
            .unwrap_or_else(|| super::oci::MEDIA_MANIFEST.to_owned());
        let tag = r.tag().unwrap_or("latest").to_owned();
        let digest = repo
            .put_manifest(&tag, &media_type, Bytes::from(bytes))
            .await?;
        self.set_name(&format!("{}@{digest}", r.name()), meta, entry.size)
            .await?;
        send(
            out,
            Progress::status(None, format!("{tag}: digest: {digest} size: {size}")),
        )
        .await;
        send(out, Progress::aux(PushAux { tag, digest, size })).await;
        self.emit("push", &r.familiar(), Some(&r.familiar_name()));
        Ok(())
    }
}

/// One layer: already there, mounted from the repository it was pulled from, or uploaded.
async fn push_layer(
    cd: &Containerd,
    repo: &Repository,
    layer: &Descriptor,
    id: &str,
    out: &mpsc::Sender<Progress>,
) -> Result<(), Error> {
    if repo.blob_exists(&layer.digest).await? {
        send(out, Progress::step(id, "Layer already exists")).await;
        return Ok(());
    }
    let info = cd.content_info(&layer.digest).await.map_err(|e| {
        if e.is_not_found() {
            Error::new(
                ErrorKind::NotFound,
                format!(
                    "blob {} is not stored locally (the layer came from another image) and the registry does not have it",
                    layer.digest
                ),
            )
        } else {
            e.into()
        }
    })?;
    let source = info
        .labels
        .get(&format!("{SOURCE_LABEL}{}", repo.domain))
        .filter(|from| **from != repo.path);
    if let Some(from) = source {
        if repo.mount_blob(&layer.digest, from).await? {
            send(out, Progress::step(id, &format!("Mounted from {from}"))).await;
            return Ok(());
        }
    }
    let total = u64::try_from(layer.size).unwrap_or(0);
    let (tx, rx) = watch::channel(0u64);
    let report = report(rx, id, total, out);
    // The sender goes with the closure when the upload ends, which ends the report.
    let sent = async move {
        let progress = move |n: u64| {
            tx.send_replace(n);
        };
        upload(cd, repo, layer, &progress).await
    };
    let (sent, ()) = tokio::join!(sent, report);
    sent?;
    send(out, Progress::step(id, "Pushed")).await;
    Ok(())
}

/// Reports an upload's progress ("Pushing", throttled) until its sender goes.
async fn report(mut rx: watch::Receiver<u64>, id: &str, total: u64, out: &mpsc::Sender<Progress>) {
    let mut throttle = Throttle::new(total);
    let mut reported = 0;
    while rx.changed().await.is_ok() {
        let current = *rx.borrow_and_update();
        if current > reported && throttle.should_send(current, Instant::now()) {
            send(out, Progress::bytes(id, "Pushing", current, total)).await;
            reported = current;
        }
    }
}

/// Uploads blob `desc` from the content store, read again for each attempt.
async fn upload(
    cd: &Containerd,
    repo: &Repository,
    desc: &Descriptor,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<(), Error> {
    let cd = cd.clone();
    let digest = desc.digest.clone();
    let open: OpenBlob = Arc::new(move || {
        let (cd, digest) = (cd.clone(), digest.clone());
        Box::pin(async move {
            let stream = cd.read_blob_stream(&digest).await?;
            let stream: BlobStream = Box::pin(stream.map(|r| r.map_err(Error::from)));
            Ok(stream)
        })
    });
    repo.upload_blob(&desc.digest, desc.size, open, progress)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_references_take_the_tag_from_either_place() {
        assert_eq!(
            push_reference("h:5000/a", "1").unwrap().to_string(),
            "h:5000/a:1"
        );
        assert_eq!(
            push_reference("h:5000/a:2", "").unwrap().to_string(),
            "h:5000/a:2"
        );
        assert_eq!(
            push_reference("a", "").unwrap().to_string(),
            "docker.io/library/a"
        );
        assert!(push_reference("a:1", "2").is_err());
        assert!(push_reference("A", "").is_err());
    }
}
