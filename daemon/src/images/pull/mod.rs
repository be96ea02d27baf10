//! `docker pull`: an image from a registry into containerd, as dockerd 20.10 pulls it and reports it.
//!
//! The request is answered in two phases, as dockerd's: [`ImageStore::pull_prepare`] resolves the
//! reference and fetches what the tag names (an unknown tag or bad credentials are the request's HTTP
//! error), then [`ImageStore::pull_run`] streams progress messages and ends with the image stored or an
//! error message in the stream. Layers download in parallel (the daemon's `max-concurrent-downloads`
//! slots), straight into the content store (`fetch.rs`), and each is unpacked into the snapshotter as
//! soon as its parent is, while later ones still download. The registry's compressed blobs, the
//! manifest and the index stay in the content store with their GC labels and a
//! `containerd.io/distribution.source.<host>` label, so `RepoDigests` are the registry's and a push can
//! reuse (or mount) them. Everything is written under one lease: a failed pull deletes it with a
//! synchronous garbage collection, leaving nothing behind.

pub(crate) mod fetch;
pub(crate) mod manifest;
pub(crate) mod platform;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, oneshot, watch, OwnedSemaphorePermit};
use tokio::task::JoinHandle;
use wharf_client_core::reference::Reference;
use wharf_client_core::registry_auth::RegistryAuth;
use wharf_client_core::ErrorKind;

use super::import::unique;
use super::oci::{chain_ids, ImageConfig};
use super::progress::{short_id, Progress, Throttle};
use super::{ImageMeta, ImageStore};
use crate::containerd::Containerd;
use crate::error::Error;
use crate::registry::{Access, FetchedManifest, Repository};
use fetch::{BlobJob, Joined, Transfer};
use manifest::{Parsed, RemoteDescriptor};
use platform::Platform;

/// How long a pull's lease lives if wharfd dies before dropping it.
const LEASE_EXPIRY: Duration = Duration::from_secs(3600);

/// The largest manifest read back from the content store (as the registry client's limit).
const MAX_MANIFEST: u64 = 4 * 1024 * 1024;

/// The label naming the repository a blob came from (containerd's, used for cross-repository mounts).
pub(crate) const SOURCE_LABEL: &str = "containerd.io/distribution.source.";

/// `POST /images/create?fromImage=&tag=&platform=`.
#[derive(Clone, Debug, Default)]
pub(crate) struct PullOptions {
    pub image: String,
    pub tag: String,
    pub platform: Option<Platform>,
    pub auth: RegistryAuth,
}

/// A pull whose manifest (or index) has been fetched.
#[derive(Debug)]
pub(crate) struct PullJob {
    /// With a tag or a digest.
    reference: Reference,
    repo: Repository,
    top: FetchedManifest,
    platform: Option<Platform>,
    /// The tag's records here already point at what the registry has (`top.bytes` is then not read):
    /// nothing to pull or to name.
    current: bool,
}

/// The reference a pull names, as dockerd reads `fromImage` and `tag` (the tag may be a digest); `latest`
/// when neither gives one.
pub(crate) fn pull_reference(image: &str, tag: &str) -> Result<Reference, Error> {
    let r = Reference::parse(image).map_err(|e| Error::invalid(e.to_string()))?;
    let r = if tag.is_empty() {
        r
    } else if tag.starts_with("sha256:") {
        Reference::parse(&format!("{}@{tag}", r.name()))
            .map_err(|e| Error::invalid(e.to_string()))?
    } else {
        r.with_tag(tag).map_err(|e| Error::invalid(e.to_string()))?
    };
    Ok(r.with_default_tag())
}

/// Sends a message; a client that went away does not stop the pull.
async fn send(out: &mpsc::Sender<Progress>, p: Progress) {
    let _ = out.send(p).await;
}

/// Aborts the downloads still running when a pull ends early.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts the layers' downloads in order as the daemon's download slots free up (the first layers
/// first, so that unpacking can begin early); those that find no free slot are "Waiting".
async fn dispatch(
    cd: Containerd,
    repo: Repository,
    jobs: Vec<(BlobJob, oneshot::Sender<Result<(), Error>>)>,
    transfers: Arc<fetch::Transfers>,
    out: mpsc::Sender<Progress>,
) {
    let mut running = FuturesUnordered::new();
    let mut said_waiting = false;
    let digests: Vec<String> = jobs.iter().map(|(b, _)| b.digest.clone()).collect();
    for (k, (blob, done)) in jobs.into_iter().enumerate() {
        let permit = match transfers.downloads.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if !said_waiting {
                    for d in &digests[k..] {
                        send(&out, Progress::step(&short_id(d), "Waiting")).await;
                    }
                    said_waiting = true;
                }
                loop {
                    tokio::select! {
                        p = transfers.downloads.clone().acquire_owned() => match p {
                            Ok(p) => break p,
                            Err(_) => return,
                        },
                        Some(()) = running.next() => {}
                    }
                }
            }
        };
        let fetch = fetch_layer(
            cd.clone(),
            repo.clone(),
            blob,
            transfers.clone(),
            out.clone(),
            permit,
        );
        running.push(async move {
            let _ = done.send(fetch.await);
        });
    }
    while running.next().await.is_some() {}
}

impl ImageStore {
    /// Resolves the reference and fetches what it names.
    pub(crate) async fn pull_prepare(&self, opts: &PullOptions) -> Result<PullJob, Error> {
        let reference = pull_reference(&opts.image, &opts.tag)?;
        let repo = self
            .registries
            .repository(&reference, &opts.auth, Access::Pull)?;
        let mut current = false;
        let top = match reference.digest() {
            Some(digest) => repo.manifest(digest).await?,
            None => {
                // As dockerd: a tag is resolved with a HEAD; a manifest already here is not fetched.
                let tag = reference.tag().unwrap_or("latest");
                match repo.manifest_descriptor(tag).await {
                    Ok(desc) if self.names_point_at(&reference, &desc.digest).await => {
                        current = true;
                        FetchedManifest {
                            media_type: desc.media_type,
                            digest: desc.digest,
                            bytes: bytes::Bytes::new(),
                        }
                    }
                    Ok(desc) => match self.cd.read_blob(&desc.digest, MAX_MANIFEST).await {
                        Ok(bytes) => FetchedManifest {
                            media_type: desc.media_type,
                            digest: desc.digest,
                            bytes: bytes.into(),
                        },
                        Err(_) => repo.manifest(&desc.digest).await?,
                    },
                    // The registry's "manifest for x:t not found: manifest unknown: ..." is dockerd's
                    // whole answer; the GET words it.
                    Err(e) if e.kind == ErrorKind::NotFound => repo.manifest(tag).await?,
                    Err(e) => return Err(e),
                }
            }
        };
        Ok(PullJob {
            reference,
            repo,
            top,
            platform: opts.platform.clone(),
            current,
        })
    }

    /// Whether the record of `r` and its `repo@digest` record both name manifest `digest` already
    /// (two lookups: the up-to-date pull reads nothing else from containerd).
    async fn names_point_at(&self, r: &Reference, digest: &str) -> bool {
        let points = |name: String| async move {
            self.cd
                .image_get(&name)
                .await
                .ok()
                .and_then(|record| record.target)
                .is_some_and(|t| t.digest == digest)
        };
        points(r.to_string()).await && points(format!("{}@{digest}", r.name())).await
    }

    /// Pulls what `job` names, reporting on `out`.
    pub(crate) async fn pull_run(
        &self,
        job: PullJob,
        out: mpsc::Sender<Progress>,
    ) -> Result<(), Error> {
        let r = &job.reference;
        let wanted = r.digest().or(r.tag()).unwrap_or("latest");
        send(
            &out,
            Progress::status(Some(wanted), format!("Pulling from {}", r.path())),
        )
        .await;
        if job.current {
            return self.pulled(r, &job.top.digest, false, &out).await;
        }
        let (index, manifest) = match manifest::parse(&job.top)? {
            Parsed::Index(entries) => {
                let i = platform::choose(&manifest::platforms(&entries), job.platform.as_ref())?;
                let m = job.repo.manifest(&entries[i].digest).await?;
                if m.digest != entries[i].digest {
                    return Err(Error::invalid(format!(
                        "manifest {} does not match its digest in the index",
                        entries[i].digest
                    )));
                }
                (Some(entries), m)
            }
            Parsed::Image { .. } => (None, job.top.clone()),
        };
        let Parsed::Image { config, layers } = manifest::parse(&manifest)? else {
            return Err(Error::invalid(format!(
                "{} is an index inside an index, which is not an image",
                manifest.digest
            )));
        };
        let shown_digest = job.top.digest.clone();

        let present = self
            .list()
            .await?
            .into_iter()
            .find(|e| e.id == config.digest);
        let fresh = match present {
            Some(entry) => {
                let fresh = !entry.names.contains(&r.to_string());
                // Still records the registry's digest for an image already here.
                self.name_pulled(r, &shown_digest, &entry.meta, entry.size)
                    .await?;
                fresh
            }
            None => {
                let lease = self
                    .cd
                    .lease_create(&unique("wharf-pull"), LEASE_EXPIRY)
                    .await?;
                let leased = self.cd.with_lease(&lease)?;
                let stored = self
                    .store_pulled(
                        &leased,
                        &job,
                        index.as_deref(),
                        &manifest,
                        &config,
                        &layers,
                        &out,
                    )
                    .await;
                let named = match stored {
                    Ok((meta, size)) => self
                        .name_pulled(r, &shown_digest, &meta, size)
                        .await
                        .map(|()| (meta, size)),
                    Err(e) => Err(e),
                };
                if let Err(e) = self.cd.lease_delete(&lease, named.is_err()).await {
                    tracing::warn!("cannot delete lease {lease}: {e}");
                }
                // The records now hold what the lease held.
                named?;
                true
            }
        };
        self.pulled(r, &shown_digest, fresh, &out).await
    }

    /// The end of a pull: its event, the digest and the status lines.
    async fn pulled(
        &self,
        r: &Reference,
        digest: &str,
        fresh: bool,
        out: &mpsc::Sender<Progress>,
    ) -> Result<(), Error> {
        self.emit("pull", &r.familiar(), Some(&r.familiar_name()));
        send(out, Progress::status(None, format!("Digest: {digest}"))).await;
        let status = if fresh {
            "Downloaded newer image for"
        } else {
            "Image is up to date for"
        };
        send(
            out,
            Progress::status(None, format!("Status: {status} {}", r.familiar())),
        )
        .await;
        Ok(())
    }

    /// Points the pulled name (and `repo@<registry digest>`) at `meta`.
    async fn name_pulled(
        &self,
        r: &Reference,
        digest: &str,
        meta: &ImageMeta,
        size: i64,
    ) -> Result<(), Error> {
        self.set_name(&r.to_string(), meta, size).await?;
        let by_digest = format!("{}@{digest}", r.name());
        if by_digest != r.to_string() {
            self.set_name(&by_digest, meta, size).await?;
        }
        self.drop_dangling(&meta.manifest_digest).await
    }

    /// Downloads and unpacks the layers, then writes config, manifest and index, all under `cd`'s lease.
    #[allow(clippy::too_many_arguments)]
    async fn store_pulled(
        &self,
        cd: &Containerd,
        job: &PullJob,
        index: Option<&[RemoteDescriptor]>,
        manifest: &FetchedManifest,
        config_desc: &RemoteDescriptor,
        layers: &[RemoteDescriptor],
        out: &mpsc::Sender<Progress>,
    ) -> Result<(Arc<ImageMeta>, i64), Error> {
        let config_bytes =
            fetch::small_blob(&job.repo, &config_desc.digest, config_desc.size).await?;
        let config: ImageConfig = serde_json::from_slice(&config_bytes).map_err(|e| {
            Error::invalid(format!("invalid image config {}: {e}", config_desc.digest))
        })?;
        let diff_ids = &config.rootfs.diff_ids;
        if diff_ids.len() != layers.len() {
            return Err(Error::invalid(format!(
                "the image has {} layers but its config lists {} diff IDs",
                layers.len(),
                diff_ids.len()
            )));
        }
        let chains = chain_ids(diff_ids);
        let source = (
            format!("{SOURCE_LABEL}{}", job.reference.domain()),
            job.reference.path().to_owned(),
        );
        let snap = self.snapshotter;

        // Layers already unpacked are a prefix of the stack (a chain ID names its parents too).
        let mut have = 0;
        for chain in &chains {
            match cd.snapshot_stat(snap, chain).await {
                Ok(_) => have += 1,
                Err(e) if e.is_not_found() => break,
                Err(e) => return Err(e.into()),
            }
        }
        for (layer, chain) in layers.iter().zip(&chains).take(have) {
            cd.lease_add_resource(chain, &format!("snapshots/{snap}"))
                .await?;
            send(
                out,
                Progress::step(&short_id(&layer.digest), "Already exists"),
            )
            .await;
        }
        for layer in &layers[have..] {
            send(
                out,
                Progress::step(&short_id(&layer.digest), "Pulling fs layer"),
            )
            .await;
        }
        let mut done_rx = Vec::new();
        let mut jobs = Vec::new();
        for layer in &layers[have..] {
            let (tx, rx) = oneshot::channel();
            done_rx.push(rx);
            let blob = BlobJob {
                digest: layer.digest.clone(),
                size: u64::try_from(layer.size).unwrap_or(0),
                labels: HashMap::from([source.clone()]),
            };
            jobs.push((blob, tx));
        }
        let _downloads = AbortOnDrop(tokio::spawn(dispatch(
            cd.clone(),
            job.repo.clone(),
            jobs,
            self.transfers.clone(),
            out.clone(),
        )));
        // Unpack in order, each as soon as it and its parent are there.
        let mut parent = chains
            .get(have.wrapping_sub(1))
            .cloned()
            .unwrap_or_default();
        for (k, rx) in done_rx.into_iter().enumerate() {
            let i = have + k;
            let layer = &layers[i];
            let id = short_id(&layer.digest);
            match rx.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    return Err(Error::system(format!(
                        "the download of {} stopped",
                        layer.digest
                    )))
                }
            }
            let total = u64::try_from(layer.size).unwrap_or(0);
            send(out, Progress::bytes(&id, "Extracting", 0, total)).await;
            let desc =
                crate::containerd::client::descriptor(&layer.media_type, &layer.digest, layer.size);
            self.unpack_layer(cd, &parent, &chains[i], desc, &diff_ids[i])
                .await?;
            send(out, Progress::bytes(&id, "Extracting", total, total)).await;
            send(out, Progress::step(&id, "Pull complete")).await;
            parent = chains[i].clone();
        }

        // The config holds the top snapshot, the manifest its config and layers, the index its manifests.
        let mut config_labels = HashMap::from([source.clone()]);
        if let Some(top) = chains.last() {
            config_labels.insert(format!("containerd.io/gc.ref.snapshot.{snap}"), top.clone());
        }
        cd.write_bytes(&config_desc.digest, config_bytes, config_labels)
            .await?;
        let mut labels = HashMap::from([
            (
                "containerd.io/gc.ref.content.config".to_owned(),
                config_desc.digest.clone(),
            ),
            source.clone(),
        ]);
        for (i, l) in layers.iter().enumerate() {
            labels.insert(
                format!("containerd.io/gc.ref.content.l.{i}"),
                l.digest.clone(),
            );
        }
        if let Some(entries) = index {
            // The index is held by the manifest it was pulled for, so it lives as long as the image.
            labels.insert(
                "containerd.io/gc.ref.content.index".to_owned(),
                job.top.digest.clone(),
            );
            let mut index_labels = HashMap::from([source.clone()]);
            for (i, e) in entries.iter().enumerate() {
                index_labels.insert(
                    format!("containerd.io/gc.ref.content.m.{i}"),
                    e.digest.clone(),
                );
            }
            cd.write_bytes(&job.top.digest, job.top.bytes.to_vec(), index_labels)
                .await?;
        }
        cd.write_bytes(&manifest.digest, manifest.bytes.to_vec(), labels)
            .await?;
        let meta = self.meta(&manifest.digest).await?;
        let size = self.unpacked_size(cd, &chains).await;
        Ok((meta, size))
    }
}

/// Gets one layer's blob into the content store under `cd`'s lease: already there, joined from another
/// pull's download, or downloaded here in one of the daemon's download slots.
async fn fetch_layer(
    cd: Containerd,
    repo: Repository,
    blob: BlobJob,
    transfers: Arc<fetch::Transfers>,
    out: mpsc::Sender<Progress>,
    permit: OwnedSemaphorePermit,
) -> Result<(), Error> {
    let id = short_id(&blob.digest);
    let mut permit = Some(permit);
    // One more try when the download watched belonged to a pull that gave up.
    for _ in 0..2 {
        if have_blob(&cd, &blob.digest).await? {
            send(&out, Progress::step(&id, "Download complete")).await;
            return Ok(());
        }
        let (joined, rx) = fetch::join(&transfers, &blob.digest);
        let outcome = match joined {
            Joined::Started(tx, ticket) => {
                let permit = match permit.take() {
                    Some(p) => p,
                    None => transfers
                        .downloads
                        .clone()
                        .acquire_owned()
                        .await
                        .map_err(Error::system)?,
                };
                let run = fetch::run_download(cd.clone(), repo.clone(), blob.clone(), tx, ticket);
                let (result, _) = tokio::join!(run, forward(rx, &id, blob.size, &out));
                drop(permit);
                Some(result)
            }
            Joined::Watching(rx) => {
                // Another pull downloads it in its own slot.
                permit = None;
                forward(rx, &id, blob.size, &out).await
            }
        };
        match outcome {
            Some(Ok(())) if have_blob(&cd, &blob.digest).await? => {
                send(&out, Progress::step(&id, "Verifying Checksum")).await;
                send(&out, Progress::step(&id, "Download complete")).await;
                return Ok(());
            }
            Some(Ok(())) => {}
            Some(Err(e)) => return Err(e),
            None => {}
        }
    }
    Err(Error::new(
        ErrorKind::Unavailable,
        format!("the download of {} was abandoned twice", blob.digest),
    ))
}

/// Whether the content store has `digest`, taking it into `cd`'s lease first (so that it stays).
async fn have_blob(cd: &Containerd, digest: &str) -> Result<bool, Error> {
    cd.lease_add_resource(digest, "content").await?;
    match cd.content_info(digest).await {
        Ok(_) => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Reports a download's progress (throttled) until it ends; `None` when its runner went away.
async fn forward(
    mut rx: watch::Receiver<Transfer>,
    id: &str,
    total: u64,
    out: &mpsc::Sender<Progress>,
) -> Option<Result<(), Error>> {
    let mut throttle = Throttle::new(total);
    let mut reported = 0;
    loop {
        let (current, done) = {
            let t = rx.borrow_and_update();
            (t.current, t.done.clone())
        };
        if current > reported && throttle.should_send(current, Instant::now()) {
            send(out, Progress::bytes(id, "Downloading", current, total)).await;
            reported = current;
        }
        if done.is_some() {
            return done;
        }
        if rx.changed().await.is_err() {
            return rx.borrow().done.clone();
        }
    }
}
