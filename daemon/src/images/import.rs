//! `docker import`: a rootfs tar (maybe gzip-compressed) streamed from the request body becomes a
//! one-layer image. The body is checked and spooled to disk as it arrives (never held in memory), then
//! the layer, config and manifest are written to containerd's content store with their GC labels, the
//! layer is unpacked into the snapshotter, and the image record is created — all under one lease, which is
//! dropped (with a synchronous garbage collection) when anything fails, so nothing half-made is kept.

use std::collections::HashMap;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes};
use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;
use wharf_client_core::ErrorKind;

use super::layer::{read_layer, Layer, LayerError};
use super::oci::{
    self, chain_ids, sha256_digest, Descriptor, History, ImageConfig, Manifest, RootFs, RunConfig,
};
use super::{changes, new_reference, ImageMeta, ImageStore, DANGLING_PREFIX};
use crate::containerd::client::descriptor;
use crate::containerd::Containerd;
use crate::error::Error;

/// How long a lease lives if wharfd dies before dropping it.
pub(crate) const LEASE_EXPIRY: Duration = Duration::from_secs(3600);

static SPOOL_COUNTER: AtomicU64 = AtomicU64::new(0);

/// `POST /images/create?fromSrc=-` parameters.
#[derive(Clone, Debug, Default)]
pub(crate) struct ImportOptions {
    /// `repo` (may carry the tag).
    pub repo: String,
    /// `tag`.
    pub tag: String,
    /// `message`: the history comment.
    pub message: String,
    /// `changes`: Dockerfile instructions.
    pub changes: Vec<String>,
}

/// Removes the spool file however the import ends.
pub(crate) struct Spool(pub(crate) PathBuf);

impl Drop for Spool {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.0) {
            if e.kind() != io::ErrorKind::NotFound {
                tracing::warn!("cannot remove {}: {e}", self.0.display());
            }
        }
    }
}

/// A blocking reader over chunks sent from the async side.
pub(crate) struct ChannelReader {
    pub(crate) rx: mpsc::Receiver<io::Result<Bytes>>,
    pub(crate) current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

fn layer_error(e: LayerError) -> Error {
    match e {
        LayerError::Io(e) => Error::new(ErrorKind::System, format!("import failed: {e}")),
        other => Error::invalid(other.to_string()),
    }
}

/// Why feeding the body stopped early.
pub(crate) enum FeedError {
    /// Over the cap.
    TooLarge(u64),
    /// The client's fault.
    Client(String),
}

pub(crate) async fn feed<S, E>(
    mut body: S,
    tx: mpsc::Sender<io::Result<Bytes>>,
    max: u64,
) -> Result<(), FeedError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut total = 0u64;
    loop {
        // A body that stops arriving ends in an error: the API bounds its idle time (`IdleBody`).
        match body.next().await {
            None => return Ok(()),
            Some(Ok(chunk)) => {
                total += chunk.len() as u64;
                if total > max {
                    let _ = tx.send(Err(io::Error::other("too large"))).await;
                    return Err(FeedError::TooLarge(max));
                }
                if tx.send(Ok(chunk)).await.is_err() {
                    // The reader stopped (a bad tar); its error is the answer.
                    return Ok(());
                }
            }
            Some(Err(e)) => {
                let _ = tx.send(Err(io::Error::other(e.to_string()))).await;
                return Err(FeedError::Client(format!(
                    "error reading the request body: {e}"
                )));
            }
        }
    }
}

pub(crate) fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        SPOOL_COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl ImageStore {
    /// Imports a rootfs tar from `body`; answers the new image's ID.
    pub(crate) async fn import<S, E>(&self, body: S, opts: ImportOptions) -> Result<String, Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let name = if opts.repo.is_empty() {
            if !opts.tag.is_empty() {
                return Err(Error::invalid("tag is invalid without a repository"));
            }
            None
        } else {
            Some(new_reference(&opts.repo, &opts.tag)?)
        };
        let mut run = RunConfig::default();
        changes::apply(&mut run, &opts.changes).map_err(|e| Error::invalid(e.to_string()))?;

        std::fs::create_dir_all(&self.spool).map_err(|e| {
            Error::new(
                ErrorKind::System,
                format!("cannot create {}: {e}", self.spool.display()),
            )
        })?;
        let spool = Spool(self.spool.join(format!("{}.tar", unique("import"))));
        let file = std::fs::File::create(&spool.0).map_err(|e| {
            Error::new(
                ErrorKind::System,
                format!("cannot create {}: {e}", spool.0.display()),
            )
        })?;
        let (tx, rx) = mpsc::channel(16);
        let worker = tokio::task::spawn_blocking(move || {
            let reader = ChannelReader {
                rx,
                current: Bytes::new(),
            };
            read_layer(reader, io::BufWriter::with_capacity(1 << 20, file))
        });
        let fed = feed(body, tx, self.max_import).await;
        let layer = worker
            .await
            .map_err(|e| Error::new(ErrorKind::System, format!("import failed: {e}")));
        match fed {
            Err(FeedError::TooLarge(max)) => {
                return Err(Error::new(
                    ErrorKind::PayloadTooLarge,
                    format!(
                        "the archive is larger than the limit of {max} bytes (--max-import-size)"
                    ),
                ))
            }
            Err(FeedError::Client(m)) => return Err(Error::invalid(m)),
            Ok(()) => {}
        }
        let layer = layer?.map_err(layer_error)?;

        let lease = self
            .cd
            .lease_create(&unique("wharf-import"), LEASE_EXPIRY)
            .await?;
        let leased = self.cd.with_lease(&lease)?;
        let result = self
            .commit_import(&leased, &spool, &layer, run, &opts.message)
            .await;
        let named = match result {
            Ok(meta) => {
                let record = match &name {
                    Some(r) => r.to_string(),
                    None => format!("{DANGLING_PREFIX}{}", meta.manifest_digest),
                };
                let size = i64::try_from(layer.content_size).unwrap_or(i64::MAX);
                let named = self.set_name(&record, &meta, size).await;
                if named.is_ok() && name.is_some() {
                    let _ = self.drop_dangling(&meta.manifest_digest).await;
                }
                named.map(|()| meta.id.clone())
            }
            Err(e) => Err(e),
        };
        let failed = named.is_err();
        if let Err(e) = self.cd.lease_delete(&lease, failed).await {
            tracing::warn!("cannot delete lease {lease}: {e}");
        }
        if let Ok(id) = &named {
            let familiar = name.as_ref().map(|r| r.familiar());
            self.emit("import", id, familiar.as_deref());
        }
        named
    }

    /// Writes layer, config and manifest under `cd`'s lease and unpacks the layer.
    async fn commit_import(
        &self,
        cd: &Containerd,
        spool: &Spool,
        layer: &Layer,
        run: RunConfig,
        message: &str,
    ) -> Result<Arc<ImageMeta>, Error> {
        let file = tokio::fs::File::open(&spool.0).await.map_err(|e| {
            Error::new(
                ErrorKind::System,
                format!("cannot open {}: {e}", spool.0.display()),
            )
        })?;
        cd.write_blob(&layer.digest, layer.tar_size, file, HashMap::new())
            .await?;

        let created = crate::timefmt::now_rfc3339_nanos();
        let comment = if message.is_empty() {
            "Imported from -".to_owned()
        } else {
            message.to_owned()
        };
        let config = ImageConfig {
            architecture: crate::buildinfo::go_arch().to_owned(),
            comment: comment.clone(),
            config: Some(run),
            container_config: Some(RunConfig::default()),
            created: Some(created.clone()),
            history: vec![History {
                created: Some(created),
                comment: Some(comment),
                ..History::default()
            }],
            os: "linux".to_owned(),
            rootfs: RootFs {
                kind: "layers".to_owned(),
                diff_ids: vec![layer.digest.clone()],
            },
            ..ImageConfig::default()
        };
        let layers = vec![Descriptor {
            media_type: oci::MEDIA_LAYER_TAR.to_owned(),
            digest: layer.digest.clone(),
            size: i64::try_from(layer.tar_size).unwrap_or(i64::MAX),
            annotations: None,
        }];
        let bytes = serde_json::to_vec(&config)
            .map_err(|e| Error::new(ErrorKind::System, format!("cannot encode the config: {e}")))?;
        self.write_image(cd, config, bytes, layers).await
    }

    /// Writes `config` and a manifest over `layers` (whose blobs exist), with GC labels, and unpacks the
    /// layers. Answers the new metadata.
    pub(crate) async fn write_image(
        &self,
        cd: &Containerd,
        config: ImageConfig,
        config_bytes: Vec<u8>,
        layers: Vec<Descriptor>,
    ) -> Result<Arc<ImageMeta>, Error> {
        let encode =
            |e: serde_json::Error| Error::new(ErrorKind::System, format!("cannot encode: {e}"));
        let chains = chain_ids(&config.rootfs.diff_ids);
        let config_digest = sha256_digest(&config_bytes);
        let mut config_labels = HashMap::new();
        if let Some(top) = chains.last() {
            config_labels.insert(
                format!("containerd.io/gc.ref.snapshot.{}", self.snapshotter),
                top.clone(),
            );
        }
        let config_size = config_bytes.len() as i64;
        cd.write_bytes(&config_digest, config_bytes, config_labels)
            .await?;

        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(oci::MEDIA_MANIFEST.to_owned()),
            config: Descriptor {
                media_type: oci::MEDIA_CONFIG.to_owned(),
                digest: config_digest.clone(),
                size: config_size,
                annotations: None,
            },
            layers,
        };
        let manifest_bytes = serde_json::to_vec(&manifest).map_err(encode)?;
        let manifest_digest = sha256_digest(&manifest_bytes);
        let mut labels = HashMap::from([(
            "containerd.io/gc.ref.content.config".to_owned(),
            config_digest.clone(),
        )]);
        for (i, l) in manifest.layers.iter().enumerate() {
            labels.insert(
                format!("containerd.io/gc.ref.content.l.{i}"),
                l.digest.clone(),
            );
        }
        cd.write_bytes(&manifest_digest, manifest_bytes, labels)
            .await?;
        self.unpack(cd, &manifest, &config).await?;
        let meta = Arc::new(ImageMeta {
            manifest_digest: manifest_digest.clone(),
            manifest,
            id: config_digest,
            config,
        });
        if let Ok(mut c) = self.cache.lock() {
            c.insert(manifest_digest, meta.clone());
        }
        Ok(meta)
    }

    /// Unpacks every layer not yet in the snapshotter, committing each under its chain ID.
    async fn unpack(
        &self,
        cd: &Containerd,
        manifest: &Manifest,
        config: &ImageConfig,
    ) -> Result<(), Error> {
        let diff_ids = &config.rootfs.diff_ids;
        if diff_ids.len() != manifest.layers.len() {
            return Err(Error::invalid(format!(
                "the image has {} layers but its config lists {} diff IDs",
                manifest.layers.len(),
                diff_ids.len()
            )));
        }
        let mut parent = String::new();
        for ((chain, layer), diff_id) in chain_ids(diff_ids)
            .iter()
            .zip(&manifest.layers)
            .zip(diff_ids)
        {
            let desc = descriptor(&layer.media_type, &layer.digest, layer.size);
            self.unpack_layer(cd, &parent, chain, desc, diff_id).await?;
            parent = chain.clone();
        }
        Ok(())
    }

    /// Unpacks layer blob `desc` onto snapshot `parent` and commits it as `chain`, unless `chain` exists;
    /// checks the unpacked digest is `diff_id`.
    pub(crate) async fn unpack_layer(
        &self,
        cd: &Containerd,
        parent: &str,
        chain: &str,
        desc: containerd_client::types::Descriptor,
        diff_id: &str,
    ) -> Result<(), Error> {
        let snap = self.snapshotter;
        match cd.snapshot_stat(snap, chain).await {
            Ok(_) => {
                return cd
                    .lease_add_resource(chain, &format!("snapshots/{snap}"))
                    .await
                    .map_err(Error::from)
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
        let key = format!("{} {chain}", unique("extract"));
        let mounts = cd
            .snapshot_prepare(snap, &key, parent, HashMap::new())
            .await?;
        let digest = desc.digest.clone();
        let outcome = match cd.diff_apply(desc, mounts).await {
            Ok(d) if d.digest != diff_id => Err(Error::invalid(format!(
                "layer {digest} unpacked to {} but the config says {diff_id}",
                d.digest
            ))),
            Ok(_) => cd
                .snapshot_commit(snap, chain, &key, HashMap::new())
                .await
                .map_err(Error::from),
            Err(e) => Err(e.into()),
        };
        if let Err(e) = outcome {
            let _ = cd.snapshot_remove(snap, &key).await;
            // Another unpack of the same layer may have committed it meanwhile.
            if cd.snapshot_stat(snap, chain).await.is_err() {
                return Err(e);
            }
        }
        Ok(())
    }

    /// The unpacked size of an image of `chains` as dockerd counts it: each layer's regular files and
    /// symlinks (whiteouts and directories count nothing), read from the layer's own directory of an
    /// overlayfs view; the snapshotter's disk usage where layers have no directory of their own.
    pub(crate) async fn unpacked_size(&self, cd: &Containerd, chains: &[String]) -> i64 {
        let mut total = 0;
        for chain in chains {
            let key = unique("size");
            let own = match cd.snapshot_view(self.snapshotter, &key, chain).await {
                Ok(mounts) => {
                    let dir = layer_dir(&mounts);
                    let size = match dir {
                        Some(d) => tokio::task::spawn_blocking(move || content_size(&d))
                            .await
                            .ok(),
                        None => None,
                    };
                    let _ = cd.snapshot_remove(self.snapshotter, &key).await;
                    size
                }
                Err(_) => None,
            };
            total += match own {
                Some(n) => n,
                None => cd
                    .snapshot_usage(self.snapshotter, chain)
                    .await
                    .unwrap_or(0),
            };
        }
        total
    }
}

/// The directory holding only the top layer of a view's mounts (overlayfs: a bind of a single layer, or
/// the first `lowerdir`).
fn layer_dir(mounts: &[containerd_client::types::Mount]) -> Option<PathBuf> {
    let m = mounts.first()?;
    match m.r#type.as_str() {
        "overlay" => m
            .options
            .iter()
            .find_map(|o| o.strip_prefix("lowerdir="))
            .and_then(|l| l.split(':').next())
            .map(PathBuf::from),
        "bind" if m.source.contains("overlayfs") => Some(PathBuf::from(&m.source)),
        _ => None,
    }
}

/// The sum of the regular files' sizes and symlinks' target lengths under `dir`.
fn content_size(dir: &std::path::Path) -> i64 {
    let mut total = 0i64;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(meta) = e.path().symlink_metadata() else {
                continue;
            };
            if meta.is_dir() {
                stack.push(e.path());
            } else if meta.is_file() {
                total += i64::try_from(meta.len()).unwrap_or(0);
            } else if meta.file_type().is_symlink() {
                total += std::fs::read_link(e.path()).map_or(0, |t| t.as_os_str().len() as i64);
            }
        }
    }
    total
}
