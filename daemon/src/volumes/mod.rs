//! Volumes, as dockerd's `local` driver keeps them: `<data-root>/volumes/<name>/_data` is the volume,
//! `<data-root>/volumes/<name>/volume.json` beside it what it was made with (driver, labels, options, when,
//! whether it was anonymous), read back at start-up. A volume with driver options (`type`, `device`,
//! `o`: a tmpfs, a bind, NFS...) is mounted on `_data` when its first container starts and unmounted when
//! the last one using it stops; the others are plain directories.
//!
//! Who uses a volume is read from the container records ([`VolumeUsers`]), so that it survives restarts
//! and a volume named by a stopped container is in use as with dockerd. The container runtime creates,
//! mounts and releases volumes; `api/volumes.rs` answers the `/volumes` routes from here.

pub(crate) mod copyup;
pub(crate) mod filters;
pub(crate) mod local;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use wharf_client_core::ErrorKind;

use crate::error::Error;
use crate::events::{self, EventActor, EventBus};
use filters::{Candidate, ListFilter, PruneFilter};
use local::LOCAL;

/// The file beside `_data` that describes a volume.
const META_FILE: &str = "volume.json";

/// The directory inside a volume's own that holds its data.
const DATA_DIR: &str = "_data";

/// Which containers refer to a volume (any state), from the container records.
pub(crate) trait VolumeUsers: Send + Sync + Debug {
    /// The IDs of the containers whose mounts name volume `name`.
    fn containers_using(&self, name: &str) -> Vec<String>;

    /// Every volume named by a container, with the containers naming it: one pass over the records for
    /// a listing.
    fn all_users(&self) -> HashMap<String, Vec<String>>;
}

/// What is kept of a volume in `volume.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct Meta {
    pub driver: String,
    /// `None` when the request had none (dockerd answers `null`, and `{}` for an empty map).
    pub labels: Option<BTreeMap<String, String>>,
    pub options: Option<BTreeMap<String, String>>,
    /// Seconds since the Unix epoch.
    pub created: u64,
    /// Made for a container without a name (`VOLUME`, `-v /path`): `rm -v` and API 1.42's prune take it.
    pub anonymous: bool,
}

/// A volume: its name, what it was made with, and its mount point on the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Volume {
    pub name: String,
    pub meta: Meta,
    pub mountpoint: PathBuf,
}

/// No labels or options.
static EMPTY: BTreeMap<String, String> = BTreeMap::new();

impl Meta {
    /// The labels, empty when none were given.
    pub(crate) fn labels(&self) -> &BTreeMap<String, String> {
        self.labels.as_ref().unwrap_or(&EMPTY)
    }

    /// The driver options, empty when none were given.
    pub(crate) fn options(&self) -> &BTreeMap<String, String> {
        self.options.as_ref().unwrap_or(&EMPTY)
    }
}

impl Volume {
    /// The volume as `GET /volumes/{name}` answers it: labels and options not given are `null`, as with
    /// dockerd 20.10.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "CreatedAt": crate::timefmt::rfc3339_seconds(self.meta.created),
            "Driver": self.meta.driver,
            "Labels": self.meta.labels,
            "Mountpoint": self.mountpoint.display().to_string(),
            "Name": self.name,
            "Options": self.meta.options,
            "Scope": "local",
        })
    }
}

/// What a volume is created with.
#[derive(Clone, Debug, Default)]
pub(crate) struct CreateOptions {
    /// `None`: an anonymous volume with a random name.
    pub name: Option<String>,
    pub driver: Option<String>,
    pub labels: Option<BTreeMap<String, String>>,
    pub options: Option<BTreeMap<String, String>>,
}

/// What a prune removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PruneReport {
    pub deleted: Vec<String>,
    pub reclaimed: u64,
}

/// The volumes, cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct VolumeStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    root: PathBuf,
    volumes: Mutex<BTreeMap<String, Meta>>,
    /// The containers whose runs have each mounted volume, by volume name.
    active: Mutex<HashMap<String, HashSet<String>>>,
    events: EventBus,
    users: Arc<dyn VolumeUsers>,
}

fn not_found(name: &str) -> Error {
    Error::new(ErrorKind::NotFound, format!("get {name}: no such volume"))
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Whether `path` is a mount point, from `/proc/self/mountinfo` (field 5).
fn is_mount_point(path: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let wanted = path.to_string_lossy();
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|p| p.replace("\\040", " ") == wanted)
}

fn unmount(path: &Path) -> Result<(), Error> {
    match nix::mount::umount2(path, nix::mount::MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL | nix::errno::Errno::ENOENT) => Ok(()),
        Err(e) => Err(Error::system(format!(
            "error while unmounting volume path '{}': {e}",
            path.display()
        ))),
    }
}

/// The apparent size of everything under `dir` (dockerd's `directory.Size`).
pub(crate) fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                pending.push(entry.path());
            } else {
                total += meta.len();
            }
        }
    }
    total
}

impl VolumeStore {
    /// Opens the volumes under `<data_root>/volumes`; a volume whose description cannot be read is a
    /// plain local one (a directory with `_data` is a volume, as for dockerd).
    pub(crate) fn open(
        data_root: &Path,
        events: EventBus,
        users: Arc<dyn VolumeUsers>,
    ) -> std::io::Result<Self> {
        let root = data_root.join("volumes");
        std::fs::create_dir_all(&root)?;
        let mut volumes = BTreeMap::new();
        for entry in std::fs::read_dir(&root)?.flatten() {
            let dir = entry.path();
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if !dir.join(DATA_DIR).is_dir() || local::validate_name(&name).is_err() {
                continue;
            }
            let meta = std::fs::read(dir.join(META_FILE))
                .ok()
                .and_then(|b| serde_json::from_slice::<Meta>(&b).ok())
                .unwrap_or_else(|| Meta {
                    driver: LOCAL.into(),
                    created: std::fs::metadata(&dir)
                        .ok()
                        .and_then(|m| m.modified().ok())
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_secs()),
                    ..Meta::default()
                });
            volumes.insert(name, meta);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                root,
                volumes: Mutex::new(volumes),
                active: Mutex::default(),
                events,
                users,
            }),
        })
    }

    fn volumes(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Meta>> {
        self.inner
            .volumes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn active(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashSet<String>>> {
        self.inner
            .active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn data_path(&self, name: &str) -> PathBuf {
        self.inner.root.join(name).join(DATA_DIR)
    }

    fn volume(&self, name: &str, meta: Meta) -> Volume {
        Volume {
            name: name.to_owned(),
            mountpoint: self.data_path(name),
            meta,
        }
    }

    fn emit(&self, action: &str, name: &str, extra: &[(&str, String)]) {
        let mut attributes = BTreeMap::from([("driver".to_owned(), LOCAL.to_owned())]);
        for (k, v) in extra {
            attributes.insert((*k).to_owned(), v.clone());
        }
        let actor = EventActor {
            id: name.to_owned(),
            attributes,
        };
        self.inner.events.log(events::kind::VOLUME, action, actor);
    }

    /// Creates a volume, or answers the existing one of that name (as dockerd does, whatever labels and
    /// options the request has); either way publishes `create`. Errors are worded `create NAME: ...` as
    /// dockerd's.
    pub(crate) fn create(&self, options: CreateOptions) -> Result<Volume, Error> {
        let anonymous = options.name.is_none();
        let name = match options.name.filter(|n| !n.is_empty()) {
            Some(n) => n,
            None => local::random_name()?,
        };
        let fail = |kind: ErrorKind, why: String| Error::new(kind, format!("create {name}: {why}"));
        let driver = options.driver.filter(|d| !d.is_empty());
        if let Some(d) = driver.as_deref().filter(|d| *d != LOCAL) {
            return Err(fail(
                ErrorKind::NotFound,
                format!("error looking up volume plugin {d}: plugin {d:?} not found"),
            ));
        }
        local::validate_name(&name).map_err(|why| fail(ErrorKind::InvalidParameter, why))?;
        let mut volumes = self.volumes();
        if let Some(meta) = volumes.get(&name) {
            let meta = meta.clone();
            drop(volumes);
            // dockerd publishes `create` for an existing volume too (a container naming it, a second
            // `docker volume create`).
            self.emit("create", &name, &[]);
            return Ok(self.volume(&name, meta));
        }
        local::validate_options(options.options.as_ref().unwrap_or(&EMPTY))
            .map_err(|why| fail(ErrorKind::InvalidParameter, why))?;
        let meta = Meta {
            driver: LOCAL.into(),
            labels: options.labels,
            options: options.options,
            created: now_secs(),
            anonymous,
        };
        let dir = self.inner.root.join(&name);
        let written = (|| {
            std::fs::create_dir_all(dir.join(DATA_DIR))?;
            let tmp = dir.join(format!("{META_FILE}.tmp"));
            std::fs::write(&tmp, serde_json::to_vec(&meta)?)?;
            std::fs::rename(&tmp, dir.join(META_FILE))
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(fail(ErrorKind::System, e.to_string()));
        }
        volumes.insert(name.clone(), meta.clone());
        drop(volumes);
        self.emit("create", &name, &[]);
        Ok(self.volume(&name, meta))
    }

    /// The volume `name`; 404 `get NAME: no such volume`.
    pub(crate) fn get(&self, name: &str) -> Result<Volume, Error> {
        let meta = self.volumes().get(name).cloned();
        meta.map(|m| self.volume(name, m))
            .ok_or_else(|| not_found(name))
    }

    /// The containers that refer to `name`.
    pub(crate) fn users(&self, name: &str) -> Vec<String> {
        self.inner.users.containers_using(name)
    }

    /// The volumes `filter` lets through, by name.
    pub(crate) fn list(&self, filter: &ListFilter) -> Vec<Volume> {
        let all: Vec<(String, Meta)> = self
            .volumes()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let users = self.inner.users.all_users();
        all.into_iter()
            .filter(|(name, meta)| {
                filter.matches(&Candidate {
                    name,
                    driver: &meta.driver,
                    labels: meta.labels(),
                    dangling: !users.contains_key(name),
                })
            })
            .map(|(name, meta)| self.volume(&name, meta))
            .collect()
    }

    /// Removes volume `name`: 409 `remove NAME: volume is in use - [IDs]` while a container refers to it;
    /// with `force`, a missing volume is no error.
    pub(crate) fn remove(&self, name: &str, force: bool) -> Result<(), Error> {
        if !self.volumes().contains_key(name) {
            return if force { Ok(()) } else { Err(not_found(name)) };
        }
        let mut users = self.users(name);
        if let Some(active) = self.active().get(name) {
            for id in active {
                if !users.contains(id) {
                    users.push(id.clone());
                }
            }
        }
        if !users.is_empty() {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("remove {name}: volume is in use - [{}]", users.join(" ")),
            ));
        }
        self.destroy(name, true)
    }

    /// Removes the volume's directory and record; `event`: publish `destroy` (a prune does not, as
    /// with dockerd, whose prune publishes one `prune` event).
    fn destroy(&self, name: &str, event: bool) -> Result<(), Error> {
        let data = self.data_path(name);
        if is_mount_point(&data) {
            unmount(&data)?;
        }
        let dir = self.inner.root.join(name);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::system(format!("remove {name}: {e}")));
            }
        }
        self.volumes().remove(name);
        if event {
            self.emit("destroy", name, &[]);
        }
        Ok(())
    }

    /// Removes the unused local volumes without driver options that `filter` lets through (dockerd
    /// keeps those with options: their data may live elsewhere), then publishes a `prune` event.
    pub(crate) fn prune(&self, filter: &PruneFilter) -> PruneReport {
        let candidates: Vec<(String, Meta)> = self
            .volumes()
            .iter()
            .filter(|(_, m)| m.driver == LOCAL && m.options().is_empty())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut report = PruneReport::default();
        let users = self.inner.users.all_users();
        for (name, meta) in candidates {
            if !filter.matches(meta.labels(), meta.anonymous) || users.contains_key(&name) {
                continue;
            }
            let size = dir_size(&self.data_path(&name));
            match self.destroy(&name, false) {
                Ok(()) => {
                    report.deleted.push(name);
                    report.reclaimed += size;
                }
                Err(e) => tracing::warn!(volume = %name, "prune: {e}"),
            }
        }
        let mut actor = EventActor::default();
        actor
            .attributes
            .insert("reclaimed".to_owned(), report.reclaimed.to_string());
        self.inner.events.log(events::kind::VOLUME, "prune", actor);
        report
    }

    /// Makes volume `name` ready for a run of `container`: mounts it when it has driver options and no
    /// other run has, and publishes dockerd's `mount` event. Answers the mount point.
    pub(crate) fn mount(
        &self,
        name: &str,
        container: &str,
        destination: &str,
        rw: bool,
    ) -> Result<PathBuf, Error> {
        let path = self.attach(name, container)?;
        self.emit(
            "mount",
            name,
            &[
                ("container", container.to_owned()),
                ("destination", destination.to_owned()),
                ("propagation", String::new()),
                ("read/write", rw.to_string()),
            ],
        );
        Ok(path)
    }

    /// Volume `name` mounted for `user` without an event (a create's copy-up, as dockerd's
    /// `CopyImagePathContent`); give it back with [`VolumeStore::detach`].
    pub(crate) fn attach(&self, name: &str, user: &str) -> Result<PathBuf, Error> {
        let volume = self.get(name)?;
        let path = volume.mountpoint.clone();
        {
            let mut active = self.active();
            let users = active.entry(name.to_owned()).or_default();
            if users.is_empty() {
                if let Some(args) = local::mount_args(volume.meta.options()) {
                    if !is_mount_point(&path) {
                        std::fs::create_dir_all(&path).map_err(Error::system)?;
                        let data = (!args.data.is_empty()).then_some(args.data.as_str());
                        nix::mount::mount(
                            Some(args.device.as_str()),
                            &path,
                            Some(args.fstype.as_str()),
                            args.flags,
                            data,
                        )
                        .map_err(|e| {
                            let data = if args.data.is_empty() {
                                String::new()
                            } else {
                                format!(", data: {}", args.data)
                            };
                            Error::system(format!(
                                "error while mounting volume '{}': failed to mount local volume: \
                                 mount {}:{}, flags: {:#x}{data}: {}",
                                path.display(),
                                args.device,
                                path.display(),
                                args.flags.bits(),
                                e.desc().to_lowercase()
                            ))
                        })?;
                    }
                }
            }
            users.insert(user.to_owned());
        }
        Ok(path)
    }

    /// The run of `container` no longer uses volume `name`: the last user's release unmounts it, and
    /// dockerd's `unmount` event is published.
    pub(crate) fn release(&self, name: &str, container: &str) {
        if self.detach(name, container) {
            self.emit("unmount", name, &[("container", container.to_owned())]);
        }
    }

    /// `user` gives volume `name` back (see [`VolumeStore::attach`]); the last unmounts it. False when
    /// `user` did not hold it.
    pub(crate) fn detach(&self, name: &str, container: &str) -> bool {
        let last = {
            let mut active = self.active();
            let Some(users) = active.get_mut(name) else {
                return false;
            };
            if !users.remove(container) {
                return false;
            }
            let last = users.is_empty();
            if last {
                active.remove(name);
            }
            last
        };
        if last {
            let path = self.data_path(name);
            let mounted = self
                .volumes()
                .get(name)
                .is_some_and(|m| local::needs_mount(m.options()));
            if mounted && is_mount_point(&path) {
                if let Err(e) = unmount(&path) {
                    tracing::warn!(volume = %name, "{e}");
                }
            }
        }
        true
    }

    /// After a restart: `running` lists the volumes the runs still going use, by container; those are
    /// counted again, and a volume mounted by a run that is gone is unmounted.
    pub(crate) fn settle(&self, running: &[(String, Vec<String>)]) {
        {
            let mut active = self.active();
            for (container, names) in running {
                for name in names {
                    active
                        .entry(name.clone())
                        .or_default()
                        .insert(container.clone());
                }
            }
        }
        let mounted: Vec<String> = self
            .volumes()
            .iter()
            .filter(|(_, m)| local::needs_mount(m.options()))
            .map(|(k, _)| k.clone())
            .collect();
        for name in mounted {
            let used = self.active().get(&name).is_some_and(|u| !u.is_empty());
            let path = self.data_path(&name);
            if !used && is_mount_point(&path) {
                if let Err(e) = unmount(&path) {
                    tracing::warn!(volume = %name, "{e}");
                }
            }
        }
    }

    /// Each volume of `system df` with its `UsageData`: the containers referring to it and its size;
    /// volumes with driver options are left out, as dockerd leaves them (their data may live elsewhere).
    pub(crate) fn usage(&self) -> Vec<(Volume, i64, i64)> {
        let users = self.inner.users.all_users();
        self.list(&ListFilter::default())
            .into_iter()
            .filter(|v| v.meta.options().is_empty())
            .map(|v| {
                let refs = users.get(&v.name).map_or(0, Vec::len);
                let size = i64::try_from(dir_size(&v.mountpoint)).unwrap_or(i64::MAX);
                (v, i64::try_from(refs).unwrap_or(i64::MAX), size)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default)]
    struct Users(Mutex<HashMap<String, Vec<String>>>);

    impl VolumeUsers for Users {
        fn containers_using(&self, name: &str) -> Vec<String> {
            self.0
                .lock()
                .unwrap()
                .get(name)
                .cloned()
                .unwrap_or_default()
        }

        fn all_users(&self) -> HashMap<String, Vec<String>> {
            self.0.lock().unwrap().clone()
        }
    }

    fn store(dir: &Path, users: Arc<Users>) -> VolumeStore {
        VolumeStore::open(dir, EventBus::default(), users).unwrap()
    }

    #[test]
    fn volumes_persist_and_removal_respects_users() {
        let tmp = std::env::temp_dir().join(format!("wharf-volumes-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let users = Arc::new(Users::default());
        let s = store(&tmp, users.clone());
        let v = s
            .create(CreateOptions {
                name: Some("data".into()),
                labels: Some(BTreeMap::from([("a".into(), "b".into())])),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(v.mountpoint, tmp.join("volumes/data/_data"));
        assert!(v.mountpoint.is_dir());
        let anon = s.create(CreateOptions::default()).unwrap();
        assert!(anon.meta.anonymous);
        let json = v.to_json();
        assert_eq!(json["Labels"]["a"], "b");
        assert_eq!(json["Options"], Value::Null);
        assert_eq!(json["Scope"], "local");
        assert_eq!(
            s.create(CreateOptions {
                name: Some("b@d".into()),
                ..Default::default()
            })
            .unwrap_err()
            .kind,
            ErrorKind::InvalidParameter
        );
        let e = s
            .create(CreateOptions {
                name: Some("x1".into()),
                driver: Some("other".into()),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(
            e.message,
            "create x1: error looking up volume plugin other: plugin \"other\" not found"
        );

        let reopened = store(&tmp, users.clone());
        assert_eq!(reopened.get("data").unwrap(), v);
        assert_eq!(reopened.list(&ListFilter::default()).len(), 2);

        users
            .0
            .lock()
            .unwrap()
            .insert("data".into(), vec!["c1".into(), "c2".into()]);
        let e = reopened.remove("data", true).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict);
        assert_eq!(e.message, "remove data: volume is in use - [c1 c2]");
        assert_eq!(
            reopened.remove("nope", false).unwrap_err().message,
            "get nope: no such volume"
        );
        reopened.remove("nope", true).unwrap();
        let report = reopened.prune(&PruneFilter::new(&Default::default(), false).unwrap());
        assert_eq!(report.deleted, vec![anon.name.clone()]);
        users.0.lock().unwrap().clear();
        reopened.remove("data", false).unwrap();
        assert!(!tmp.join("volumes/data").exists());
        assert!(reopened.get("data").is_err());
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
