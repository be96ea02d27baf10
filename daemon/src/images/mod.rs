//! The image store over containerd: image records live in containerd's image service under their
//! normalised names, manifests, configs and layers in its content store (held by `containerd.io/gc.ref.*`
//! labels), and layers unpacked in its snapshotter under their chain IDs. An image's ID is its config
//! digest. Multi-step writes run under a lease so that nothing half-made is kept and nothing is collected
//! mid-way.

pub(crate) mod archive;
pub(crate) mod changes;
pub(crate) mod commit;
pub(crate) mod delete;
pub(crate) mod healthcheck;
pub(crate) mod import;
pub(crate) mod layer;
pub(crate) mod oci;
pub(crate) mod progress;
pub(crate) mod pull;
pub(crate) mod push;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use wharf_client_core::reference::{is_full_hex_id, Reference};
use wharf_client_core::ErrorKind;

use crate::containerd::Containerd;
use crate::error::Error;
use crate::events::{self, EventBus};
use crate::registry::{Registries, RegistryConfig};
use oci::{ImageConfig, Manifest};
use wharf_client_core::models::EventActor;

/// The record name of an image that has lost its last tag (as moby's `moby-dangling@`).
pub(crate) const DANGLING_PREFIX: &str = "wharf-dangling@";

/// The image-record label holding the unpacked size (sum of regular files) of all its layers.
pub(crate) const LABEL_SIZE: &str = "io.wharf.image.size";

/// The largest manifest or config blob read.
const MAX_METADATA_BLOB: u64 = 16 * 1024 * 1024;

/// `No such image: <name>` (404).
pub(crate) fn no_such_image(name: &str) -> Error {
    Error::new(ErrorKind::NotFound, format!("No such image: {name}"))
}

/// Who uses an image; containers are the users (the container runtime implements this next).
pub(crate) trait ImageUsers: Send + Sync + std::fmt::Debug {
    /// The IDs of containers created from image `id`.
    fn containers_using(&self, id: &str) -> Vec<String>;
}

/// No containers yet.
#[derive(Debug, Default)]
pub(crate) struct NoContainers;

impl ImageUsers for NoContainers {
    fn containers_using(&self, _id: &str) -> Vec<String> {
        Vec::new()
    }
}

/// A manifest and the config it names, read once (content is immutable).
#[derive(Clone, Debug)]
pub(crate) struct ImageMeta {
    /// The manifest's digest.
    pub manifest_digest: String,
    pub manifest: Manifest,
    /// The config's digest: the image ID.
    pub id: String,
    pub config: ImageConfig,
}

/// One image: its ID, every record name pointing at it, its metadata.
#[derive(Clone, Debug)]
pub(crate) struct ImageEntry {
    /// `sha256:` config digest.
    pub id: String,
    /// containerd record names (normalised references and dangling names).
    pub names: Vec<String>,
    /// Manifest and config.
    pub meta: Arc<ImageMeta>,
    /// The unpacked size.
    pub size: i64,
}

impl ImageEntry {
    /// The tags as the docker CLI shows them (`busybox:latest`), sorted.
    pub(crate) fn repo_tags(&self) -> Vec<String> {
        let mut tags: Vec<String> = self
            .names
            .iter()
            .filter_map(|n| Reference::parse(n).ok())
            .filter(|r| r.tag().is_some() && r.digest().is_none())
            .map(|r| r.familiar())
            .collect();
        tags.sort();
        tags
    }

    /// The registry digests (`busybox@sha256:...`) as the docker CLI shows them, sorted.
    pub(crate) fn repo_digests(&self) -> Vec<String> {
        let mut digests: Vec<String> = self
            .names
            .iter()
            .filter(|n| !n.starts_with(DANGLING_PREFIX))
            .filter_map(|n| Reference::parse(n).ok())
            .filter(|r| r.digest().is_some())
            .map(|r| r.familiar())
            .collect();
        digests.sort();
        digests
    }

    /// Whether neither a tag nor a registry digest names it.
    pub(crate) fn dangling(&self) -> bool {
        self.repo_tags().is_empty() && self.repo_digests().is_empty()
    }

    /// Seconds since the epoch of the config's `created`.
    pub(crate) fn created_unix(&self) -> i64 {
        self.meta
            .config
            .created
            .as_deref()
            .and_then(crate::timefmt::parse_rfc3339_seconds)
            .unwrap_or(0)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct ImageStore {
    cd: Containerd,
    snapshotter: &'static str,
    spool: PathBuf,
    max_import: u64,
    users: Arc<dyn ImageUsers>,
    cache: Arc<Mutex<HashMap<String, Arc<ImageMeta>>>>,
    events: EventBus,
    registries: Registries,
    transfers: Arc<pull::fetch::Transfers>,
}

impl ImageStore {
    /// A store over `cd`, unpacking with `snapshotter`, spooling uploads under `spool`.
    pub(crate) fn new(
        cd: Containerd,
        snapshotter: &'static str,
        spool: PathBuf,
        max_import: u64,
    ) -> Self {
        Self {
            cd,
            snapshotter,
            spool,
            max_import,
            users: Arc::new(NoContainers),
            cache: Arc::default(),
            events: EventBus::default(),
            registries: Registries::new(RegistryConfig::default()),
            transfers: Arc::new(pull::fetch::Transfers::new(3, 5)),
        }
    }

    /// The same store pulling from and pushing to registries through `registries`.
    pub(crate) fn with_registries(mut self, registries: Registries) -> Self {
        let c = registries.config();
        self.transfers = Arc::new(pull::fetch::Transfers::new(
            c.max_concurrent_downloads,
            c.max_concurrent_uploads,
        ));
        self.registries = registries;
        self
    }

    /// The same store publishing its image events (import, load, tag, untag, delete) on `events`.
    pub(crate) fn with_events(mut self, events: EventBus) -> Self {
        self.events = events;
        self
    }

    /// Publishes an image event as dockerd does: the image's id as the actor, its name as an attribute.
    fn emit(&self, action: &str, id: &str, name: Option<&str>) {
        let mut actor = EventActor {
            id: id.to_owned(),
            ..EventActor::default()
        };
        if let Some(name) = name {
            actor.attributes.insert("name".to_owned(), name.to_owned());
        }
        self.events.log(events::kind::IMAGE, action, actor);
    }

    /// The same store asking `users` which containers use an image (the container runtime's hook: `docker
    /// rmi` of an image a container uses is a 409).
    pub(crate) fn with_users(mut self, users: Arc<dyn ImageUsers>) -> Self {
        self.users = users;
        self
    }

    /// The snapshotter's name (`/info`'s `Driver`).
    pub(crate) fn snapshotter(&self) -> &'static str {
        self.snapshotter
    }

    /// The manifest and config behind manifest `digest`.
    pub(crate) async fn meta(&self, digest: &str) -> Result<Arc<ImageMeta>, Error> {
        if let Some(m) = self.cache.lock().ok().and_then(|c| c.get(digest).cloned()) {
            return Ok(m);
        }
        let bad = |what: &str, e: serde_json::Error| {
            Error::new(ErrorKind::System, format!("corrupt {what} {digest}: {e}"))
        };
        let raw = self.cd.read_blob(digest, MAX_METADATA_BLOB).await?;
        let manifest: Manifest = serde_json::from_slice(&raw).map_err(|e| bad("manifest", e))?;
        let raw = self
            .cd
            .read_blob(&manifest.config.digest, MAX_METADATA_BLOB)
            .await?;
        let config: ImageConfig = serde_json::from_slice(&raw).map_err(|e| bad("config", e))?;
        let meta = Arc::new(ImageMeta {
            manifest_digest: digest.to_owned(),
            id: manifest.config.digest.clone(),
            manifest,
            config,
        });
        if let Ok(mut c) = self.cache.lock() {
            c.insert(digest.to_owned(), meta.clone());
        }
        Ok(meta)
    }

    /// Every image, grouped by ID, newest first.
    pub(crate) async fn list(&self) -> Result<Vec<ImageEntry>, Error> {
        let records = self.cd.image_list(Vec::new()).await?;
        let mut by_id: BTreeMap<String, ImageEntry> = BTreeMap::new();
        for record in records {
            let Some(target) = record.target else {
                continue;
            };
            let meta = match self.meta(&target.digest).await {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!("skipping image {}: {e}", record.name);
                    continue;
                }
            };
            let size = record
                .labels
                .get(LABEL_SIZE)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            by_id
                .entry(meta.id.clone())
                .or_insert_with(|| ImageEntry {
                    id: meta.id.clone(),
                    names: Vec::new(),
                    meta: meta.clone(),
                    size,
                })
                .names
                .push(record.name);
        }
        let mut out: Vec<ImageEntry> = by_id.into_values().collect();
        out.sort_by_key(|e| std::cmp::Reverse(e.created_unix()));
        Ok(out)
    }

    /// The image `name` stands for: a full ID, a reference, or a unique ID prefix.
    pub(crate) async fn resolve(&self, name: &str) -> Result<ImageEntry, Error> {
        let all = self.list().await?;
        let hex = name.strip_prefix("sha256:").unwrap_or(name);
        if is_full_hex_id(hex) {
            let id = format!("sha256:{hex}");
            return all
                .into_iter()
                .find(|e| e.id == id)
                .ok_or_else(|| no_such_image(name));
        }
        if let Ok(r) = Reference::parse_tagged(name) {
            let full = r.to_string();
            if let Some(e) = all.iter().find(|e| e.names.contains(&full)) {
                return Ok(e.clone());
            }
        }
        let prefix_ok =
            !hex.is_empty() && hex.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
        if prefix_ok {
            let mut hits = all
                .iter()
                .filter(|e| e.id.trim_start_matches("sha256:").starts_with(hex));
            if let Some(first) = hits.next() {
                if hits.next().is_some() {
                    return Err(Error::invalid(format!(
                        "ambiguous image ID prefix {name}: more than one image matches"
                    )));
                }
                return Ok(first.clone());
            }
        }
        Err(no_such_image(&display_name(name)))
    }

    /// Points record `name` at `meta`'s manifest; the image it named before dangles if nothing else names
    /// it. The dangling record is made before `name` moves, so the old image is referenced throughout and
    /// containerd's garbage collector cannot take it in between.
    pub(crate) async fn set_name(
        &self,
        name: &str,
        meta: &ImageMeta,
        image_size: i64,
    ) -> Result<(), Error> {
        let media_type = meta
            .manifest
            .media_type
            .clone()
            .unwrap_or_else(|| oci::MEDIA_MANIFEST.to_owned());
        let size = self.cd.content_info(&meta.manifest_digest).await?.size;
        let target =
            crate::containerd::client::descriptor(&media_type, &meta.manifest_digest, size);
        let record = containerd_client::services::v1::Image {
            name: name.to_owned(),
            labels: HashMap::from([(LABEL_SIZE.to_owned(), image_size.to_string())]),
            target: Some(target),
            ..Default::default()
        };
        match self.cd.image_get(name).await {
            Ok(old) => {
                let old_digest = old.target.as_ref().map(|t| t.digest.as_str());
                if old_digest == Some(meta.manifest_digest.as_str()) {
                    return Ok(());
                }
                self.keep_dangling(old).await?;
                self.cd.image_update(record).await?;
            }
            Err(e) if e.is_not_found() => {
                self.cd.image_create(record).await?;
            }
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    /// Before record `old` is pointed elsewhere: keeps its image as a dangling record when no other record
    /// names it.
    async fn keep_dangling(
        &self,
        old: containerd_client::services::v1::Image,
    ) -> Result<(), Error> {
        let Some(target) = old.target else {
            return Ok(());
        };
        let records = self.cd.image_list(Vec::new()).await?;
        let named_elsewhere = records.iter().any(|r| {
            r.name != old.name && r.target.as_ref().is_some_and(|t| t.digest == target.digest)
        });
        if named_elsewhere {
            return Ok(());
        }
        let dangling = containerd_client::services::v1::Image {
            name: format!("{DANGLING_PREFIX}{}", target.digest),
            labels: old
                .labels
                .get(LABEL_SIZE)
                .map(|s| HashMap::from([(LABEL_SIZE.to_owned(), s.clone())]))
                .unwrap_or_default(),
            target: Some(target),
            ..Default::default()
        };
        self.cd.image_create(dangling).await?;
        Ok(())
    }

    /// Removes the dangling record of manifest `digest`, if there is one, when a tag names it again.
    pub(crate) async fn drop_dangling(&self, digest: &str) -> Result<(), Error> {
        match self
            .cd
            .image_delete(&format!("{DANGLING_PREFIX}{digest}"), false)
            .await
        {
            Err(e) if !e.is_not_found() => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// `POST /images/{name}/tag`.
    pub(crate) async fn tag(&self, source: &str, repo: &str, tag: &str) -> Result<String, Error> {
        let entry = self.resolve(source).await?;
        let target = new_reference(repo, tag)?;
        self.set_name(&target.to_string(), &entry.meta, entry.size)
            .await?;
        self.drop_dangling(&entry.meta.manifest_digest).await?;
        self.emit("tag", &entry.id, Some(&target.familiar()));
        Ok(target.familiar())
    }

    pub(crate) fn users(&self) -> &dyn ImageUsers {
        self.users.as_ref()
    }
}

/// The reference `repo` and `tag` make (tag `latest` when neither gives one), refusing digests.
pub(crate) fn new_reference(repo: &str, tag: &str) -> Result<Reference, Error> {
    let r = Reference::parse(repo).map_err(|e| Error::invalid(e.to_string()))?;
    if r.digest().is_some() {
        return Err(Error::invalid(
            "refusing to create a tag with a digest reference",
        ));
    }
    let r = if tag.is_empty() {
        r.with_default_tag()
    } else {
        if r.tag().is_some() {
            return Err(Error::invalid("invalid reference format"));
        }
        r.with_tag(tag).map_err(|e| Error::invalid(e.to_string()))?
    };
    Ok(r)
}

/// How dockerd names an image it cannot find: references in their tagged familiar form.
pub(crate) fn display_name(name: &str) -> String {
    match Reference::parse_tagged(name) {
        Ok(r) => r.familiar(),
        Err(_) => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_images_are_named_as_dockerd_names_them() {
        assert_eq!(display_name("nope"), "nope:latest");
        assert_eq!(display_name("docker.io/library/busybox:1"), "busybox:1");
        assert_eq!(display_name("abc!"), "abc!");
        assert_eq!(
            no_such_image("nope:latest").to_string(),
            "No such image: nope:latest"
        );
    }

    #[test]
    fn new_references_take_the_tag_from_either_place() {
        assert_eq!(new_reference("img", "").unwrap().familiar(), "img:latest");
        assert_eq!(new_reference("img:1", "").unwrap().familiar(), "img:1");
        assert_eq!(new_reference("img", "2").unwrap().familiar(), "img:2");
        assert!(new_reference("img:1", "2").is_err());
        assert_eq!(
            new_reference("Img", "").unwrap_err().to_string(),
            "invalid reference format: repository name must be lowercase"
        );
    }
}
