//! `docker save` and `docker load`: image archives in both layouts docker uses — the legacy one
//! (`manifest.json` naming a config and layer tars by path) and the OCI image layout (`oci-layout`,
//! `index.json`, `blobs/sha256/...`). Saving writes both at once (as docker 25 does), streamed; loading
//! spools the archive to disk (its `manifest.json` may come last), checks every layer as an import does,
//! and writes the images under one lease.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::mpsc;
use wharf_client_core::reference::Reference;
use wharf_client_core::ErrorKind;

use super::import::{feed, unique, ChannelReader, FeedError, Spool};
use super::layer::{read_layer, Layer};
use super::oci::{self, Descriptor, ImageConfig, Manifest};
use super::{new_reference, ImageMeta, ImageStore, DANGLING_PREFIX};
use crate::error::Error;

/// The largest JSON document read from an archive.
const MAX_JSON: u64 = 16 * 1024 * 1024;

/// One entry of a legacy `manifest.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct LegacyManifest {
    /// The config's path in the archive.
    pub config: String,
    /// `repo:tag` names.
    #[serde(default)]
    pub repo_tags: Option<Vec<String>>,
    /// The layer tars' paths, bottom first.
    pub layers: Vec<String>,
}

/// Where each regular file of a spooled archive is.
type Index = HashMap<String, (u64, u64)>;

fn clean(name: &str) -> String {
    name.trim_start_matches("./")
        .trim_start_matches('/')
        .to_owned()
}

fn system(e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::System, format!("load failed: {e}"))
}

fn invalid(e: impl std::fmt::Display) -> Error {
    Error::invalid(format!("invalid image archive: {e}"))
}

/// [`invalid`] for an error that may quote the upload (the tar crate's): a short, escaped excerpt.
fn invalid_upload(e: impl std::fmt::Display) -> Error {
    invalid(super::layer::excerpt(&e.to_string()))
}

/// Indexes the regular files of the tar at `path`.
fn index_archive(path: &Path) -> Result<Index, Error> {
    let file = std::fs::File::open(path).map_err(system)?;
    let mut archive = tar::Archive::new(io::BufReader::new(file));
    let mut index = Index::new();
    for entry in archive.entries().map_err(invalid_upload)? {
        let entry = entry.map_err(invalid_upload)?;
        if entry.header().entry_type().is_file() {
            let name = clean(&String::from_utf8_lossy(&entry.path_bytes()));
            index.insert(name, (entry.raw_file_position(), entry.size()));
        }
    }
    Ok(index)
}

/// The bytes of archive member `name`, at most `max`.
fn read_member(path: &Path, index: &Index, name: &str, max: u64) -> Result<Vec<u8>, Error> {
    let (offset, size) = *index
        .get(&clean(name))
        .ok_or_else(|| invalid(format!("{name} is missing from the archive")))?;
    if size > max {
        return Err(invalid(format!("{name} is larger than {max} bytes")));
    }
    let mut f = std::fs::File::open(path).map_err(system)?;
    f.seek(SeekFrom::Start(offset)).map_err(system)?;
    let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    f.take(size).read_to_end(&mut out).map_err(system)?;
    Ok(out)
}

/// What to load: config path, layer paths, names.
#[derive(Debug)]
struct Plan {
    config: String,
    layers: Vec<String>,
    tags: Vec<String>,
}

fn blob_path(digest: &str) -> String {
    format!("blobs/{}", digest.replacen(':', "/", 1))
}

/// Reads `manifest.json`, or else the OCI `index.json`, into plans.
fn plan(path: &Path, index: &Index) -> Result<Vec<Plan>, Error> {
    if index.contains_key("manifest.json") {
        let raw = read_member(path, index, "manifest.json", MAX_JSON)?;
        let list: Vec<LegacyManifest> = serde_json::from_slice(&raw).map_err(invalid)?;
        return Ok(list
            .into_iter()
            .map(|m| Plan {
                config: m.config,
                layers: m.layers,
                tags: m.repo_tags.unwrap_or_default(),
            })
            .collect());
    }
    if !index.contains_key("index.json") {
        return Err(invalid("neither manifest.json nor index.json found"));
    }
    let raw = read_member(path, index, "index.json", MAX_JSON)?;
    let idx: serde_json::Value = serde_json::from_slice(&raw).map_err(invalid)?;
    let mut plans = Vec::new();
    for d in idx["manifests"].as_array().cloned().unwrap_or_default() {
        let digest = d["digest"].as_str().unwrap_or_default();
        let media = d["mediaType"].as_str().unwrap_or_default();
        if media.contains("index") || media.contains("manifest.list") {
            return Err(Error::new(
                ErrorKind::NotImplemented,
                "multi-platform image indexes are not supported yet",
            ));
        }
        let raw = read_member(path, index, &blob_path(digest), MAX_JSON)?;
        let m: Manifest = serde_json::from_slice(&raw).map_err(invalid)?;
        let annotations = &d["annotations"];
        let tag = annotations["io.containerd.image.name"]
            .as_str()
            .or_else(|| annotations["org.opencontainers.image.ref.name"].as_str())
            .filter(|n| Reference::parse(n).is_ok_and(|r| r.tag().is_some()));
        plans.push(Plan {
            config: blob_path(&m.config.digest),
            layers: m.layers.iter().map(|l| blob_path(&l.digest)).collect(),
            tags: tag.map(str::to_owned).into_iter().collect(),
        });
    }
    Ok(plans)
}

/// Checks one layer member and writes it, uncompressed, to `out`.
fn extract_layer(archive: &Path, index: &Index, name: &str, out: &Path) -> Result<Layer, Error> {
    let (offset, size) = *index
        .get(&clean(name))
        .ok_or_else(|| invalid(format!("layer {name} is missing from the archive")))?;
    let mut f = std::fs::File::open(archive).map_err(system)?;
    f.seek(SeekFrom::Start(offset)).map_err(system)?;
    let file = std::fs::File::create(out).map_err(system)?;
    read_layer(f.take(size), io::BufWriter::new(file))
        .map_err(|e| invalid(format!("layer {name}: {e}")))
}

impl ImageStore {
    /// `POST /images/load`: answers the lines dockerd prints (`Loaded image: x:1`, `Loaded image ID: ...`).
    pub(crate) async fn load<S, E>(&self, body: S) -> Result<Vec<String>, Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        std::fs::create_dir_all(&self.spool).map_err(system)?;
        let archive = Spool(self.spool.join(format!("{}.tar", unique("load"))));
        let file = std::fs::File::create(&archive.0).map_err(system)?;
        let (tx, rx) = mpsc::channel(16);
        let worker = tokio::task::spawn_blocking(move || -> io::Result<u64> {
            let mut reader = io::BufReader::new(ChannelReader {
                rx,
                current: Bytes::new(),
            });
            let gzip = io::BufRead::fill_buf(&mut reader)?.starts_with(&[0x1f, 0x8b]);
            let mut out = io::BufWriter::new(file);
            if gzip {
                io::copy(&mut flate2::read::MultiGzDecoder::new(reader), &mut out)
            } else {
                io::copy(&mut reader, &mut out)
            }
        });
        let fed = feed(body, tx, self.max_import).await;
        let copied = worker.await.map_err(system)?;
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
        copied.map_err(|e| invalid_upload(format!("cannot decompress: {e}")))?;

        let path = archive.0.clone();
        let (index, plans) = tokio::task::spawn_blocking(move || {
            let index = index_archive(&path)?;
            let plans = plan(&path, &index)?;
            Ok::<_, Error>((index, plans))
        })
        .await
        .map_err(system)??;
        let index = Arc::new(index);

        let lease = self
            .cd
            .lease_create(&unique("wharf-load"), std::time::Duration::from_secs(3600))
            .await?;
        let leased = self.cd.with_lease(&lease)?;
        let result = self.load_plans(&leased, &archive.0, index, plans).await;
        if let Err(e) = self.cd.lease_delete(&lease, result.is_err()).await {
            tracing::warn!("cannot delete lease {lease}: {e}");
        }
        result
    }

    async fn load_plans(
        &self,
        cd: &crate::containerd::Containerd,
        archive: &Path,
        index: Arc<Index>,
        plans: Vec<Plan>,
    ) -> Result<Vec<String>, Error> {
        let mut lines = Vec::new();
        for p in plans {
            // Names are checked before anything is written.
            let tags = p
                .tags
                .iter()
                .map(|t| new_reference(t, ""))
                .collect::<Result<Vec<_>, _>>()?;
            let (a, i, c) = (archive.to_owned(), index.clone(), p.config.clone());
            let config_bytes =
                tokio::task::spawn_blocking(move || read_member(&a, &i, &c, MAX_JSON))
                    .await
                    .map_err(system)??;
            let config: ImageConfig = serde_json::from_slice(&config_bytes).map_err(invalid)?;
            if config.rootfs.diff_ids.len() != p.layers.len() {
                return Err(invalid(format!(
                    "{} lists {} diff IDs for {} layers",
                    p.config,
                    config.rootfs.diff_ids.len(),
                    p.layers.len()
                )));
            }
            let mut layers = Vec::new();
            let mut size = 0i64;
            for (name, diff_id) in p.layers.iter().zip(&config.rootfs.diff_ids) {
                let out = Spool(self.spool.join(format!("{}.layer", unique("load"))));
                let (a, i, n, o) = (
                    archive.to_owned(),
                    index.clone(),
                    name.clone(),
                    out.0.clone(),
                );
                let layer = tokio::task::spawn_blocking(move || extract_layer(&a, &i, &n, &o))
                    .await
                    .map_err(system)??;
                if &layer.digest != diff_id {
                    return Err(invalid(format!(
                        "layer {name} has diff ID {} but the config says {diff_id}",
                        layer.digest
                    )));
                }
                let file = tokio::fs::File::open(&out.0).await.map_err(system)?;
                cd.write_blob(&layer.digest, layer.tar_size, file, HashMap::new())
                    .await?;
                size += i64::try_from(layer.content_size).unwrap_or(0);
                layers.push(Descriptor {
                    media_type: oci::MEDIA_LAYER_TAR.to_owned(),
                    digest: layer.digest.clone(),
                    size: i64::try_from(layer.tar_size).unwrap_or(i64::MAX),
                    annotations: None,
                });
            }
            let meta = self.write_image(cd, config, config_bytes, layers).await?;
            if tags.is_empty() {
                if !self.is_named(&meta).await? {
                    self.set_name(
                        &format!("{DANGLING_PREFIX}{}", meta.manifest_digest),
                        &meta,
                        size,
                    )
                    .await?;
                }
                lines.push(format!("Loaded image ID: {}", meta.id));
            }
            if tags.is_empty() {
                self.emit("load", &meta.id, None);
            }
            for t in tags {
                self.set_name(&t.to_string(), &meta, size).await?;
                self.drop_dangling(&meta.manifest_digest).await?;
                lines.push(format!("Loaded image: {}", t.familiar()));
                self.emit("load", &meta.id, Some(&t.familiar()));
            }
        }
        Ok(lines)
    }

    async fn is_named(&self, meta: &ImageMeta) -> Result<bool, Error> {
        Ok(self
            .list()
            .await?
            .iter()
            .any(|e| e.id == meta.id && !e.dangling()))
    }

    /// `GET /images/{name}/get`, `GET /images/get?names=`: a tar in both layouts, streamed.
    pub(crate) async fn save(
        &self,
        names: &[String],
    ) -> Result<impl Stream<Item = Result<Bytes, io::Error>>, Error> {
        let mut images = Vec::new();
        for n in names {
            let e = self.resolve(n).await?;
            let tag = Reference::parse_tagged(n)
                .ok()
                .filter(|r| e.names.contains(&r.to_string()))
                .map(|r| r.familiar());
            images.push((e, tag));
        }
        let mut legacy = Vec::new();
        let mut index = Vec::new();
        let mut blobs: BTreeMap<String, i64> = BTreeMap::new();
        for (e, tag) in &images {
            let m = &e.meta.manifest;
            let msize = self.cd.content_info(&e.meta.manifest_digest).await?.size;
            blobs.insert(e.meta.manifest_digest.clone(), msize);
            blobs.insert(m.config.digest.clone(), m.config.size);
            for l in &m.layers {
                blobs.insert(l.digest.clone(), l.size);
            }
            legacy.push(LegacyManifest {
                config: blob_path(&m.config.digest),
                repo_tags: tag.clone().map(|t| vec![t]),
                layers: m.layers.iter().map(|l| blob_path(&l.digest)).collect(),
            });
            let mut d = json!({
                "mediaType": m.media_type.clone().unwrap_or_else(|| oci::MEDIA_MANIFEST.to_owned()),
                "digest": e.meta.manifest_digest,
                "size": msize,
            });
            if let Some(t) = tag {
                let full = Reference::parse(t)
                    .map(|r| r.to_string())
                    .unwrap_or_default();
                let short = t.rsplit_once(':').map_or("latest", |(_, t)| t);
                d["annotations"] = json!({
                    "io.containerd.image.name": full,
                    "org.opencontainers.image.ref.name": short,
                });
            }
            index.push(d);
        }
        let small = vec![
            (
                "oci-layout".to_owned(),
                br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
            ),
            (
                "index.json".to_owned(),
                serde_json::to_vec(&json!({
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": index,
                }))
                .map_err(system)?,
            ),
            (
                "manifest.json".to_owned(),
                serde_json::to_vec(&legacy).map_err(system)?,
            ),
        ];
        let (tx, rx) = mpsc::channel::<Result<Bytes, io::Error>>(8);
        let cd = self.cd.clone();
        tokio::spawn(async move {
            if let Err(e) = write_archive(&cd, blobs, small, &tx).await {
                tracing::warn!("docker save stopped: {e}");
                let _ = tx.send(Err(e)).await;
            }
        });
        Ok(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        }))
    }
}

fn header(name: &str, size: u64) -> io::Result<Bytes> {
    let mut h = tar::Header::new_ustar();
    h.set_path(name)?;
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    Ok(Bytes::copy_from_slice(h.as_bytes()))
}

fn padding(size: u64) -> Bytes {
    let rem = (size % 512) as usize;
    Bytes::from(vec![0u8; if rem == 0 { 0 } else { 512 - rem }])
}

async fn write_archive(
    cd: &crate::containerd::Containerd,
    blobs: BTreeMap<String, i64>,
    small: Vec<(String, Vec<u8>)>,
    tx: &mpsc::Sender<Result<Bytes, io::Error>>,
) -> io::Result<()> {
    let send = |b: Bytes| async move {
        tx.send(Ok(b))
            .await
            .map_err(|_| io::Error::other("the client went away"))
    };
    for (digest, size) in blobs {
        let size = u64::try_from(size).unwrap_or(0);
        send(header(&blob_path(&digest), size)?).await?;
        let mut stream = cd
            .read_blob_stream(&digest)
            .await
            .map_err(io::Error::other)?;
        let mut sent = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(io::Error::other)?;
            sent += chunk.len() as u64;
            send(chunk).await?;
        }
        if sent != size {
            return Err(io::Error::other(format!(
                "blob {digest}: read {sent} of {size} bytes"
            )));
        }
        send(padding(size)).await?;
    }
    for (name, bytes) in small {
        let size = bytes.len() as u64;
        send(header(&name, size)?).await?;
        send(Bytes::from(bytes)).await?;
        send(padding(size)).await?;
    }
    send(Bytes::from(vec![0u8; 1024])).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_paths_and_headers() {
        assert_eq!(blob_path("sha256:abc"), "blobs/sha256/abc");
        let h = header("blobs/sha256/abc", 5).unwrap();
        assert_eq!(h.len(), 512);
        assert_eq!(padding(5).len(), 507);
        assert_eq!(padding(1024).len(), 0);
    }

    #[test]
    fn legacy_manifests_read_as_dockerd_writes_them() {
        let raw = r#"[{"Config":"1ce3.json","RepoTags":["refimg:2"],"Layers":["03c3/layer.tar"]}]"#;
        let m: Vec<LegacyManifest> = serde_json::from_str(raw).unwrap();
        assert_eq!(
            m[0].repo_tags.as_deref(),
            Some(&["refimg:2".to_owned()][..])
        );
        let untagged: Vec<LegacyManifest> =
            serde_json::from_str(r#"[{"Config":"c","RepoTags":null,"Layers":[]}]"#).unwrap();
        assert!(untagged[0].repo_tags.is_none());
    }
}
