//! The container records on disk, one `<data-root>/containers/<id>/config.v2.json` per container written
//! atomically, and their in-memory index (ID, name, ID prefix) behind a lock.
//!
//! Writes happen under the index's lock so that the file and the index never disagree; they are small,
//! but callers on an async runtime should call the store from `spawn_blocking`.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use wharf_client_core::ErrorKind;

use super::ids::{is_full_id, new_id};
use super::names::{generate_name, name_conflict, validate_name};
use super::record::ContainerRecord;
use crate::error::Error;

/// The record's file name in the container's directory.
pub(crate) const RECORD_FILE: &str = "config.v2.json";

/// Writes `data` to `path` so that readers see the old or the new content, never a mix: a temporary file
/// beside it, fsync, rename (as moby's `AtomicWriteFile`). The directory is not synced on every write: a
/// `kill -9` of the daemon loses nothing either way, and this runs several times per container lifecycle.
pub(crate) fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(data)?;
        file.sync_all()?;
    }
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}

/// dockerd's 404 for an unknown container.
pub(crate) fn no_such_container(s: &str) -> Error {
    Error::new(ErrorKind::NotFound, format!("No such container: {s}"))
}

#[derive(Debug, Default)]
struct Index {
    records: HashMap<String, ContainerRecord>,
    names: HashMap<String, String>,
}

impl Index {
    fn resolve(&self, s: &str) -> Result<String, Error> {
        if s.is_empty() {
            return Err(no_such_container(s));
        }
        if self.records.contains_key(s) {
            return Ok(s.to_string());
        }
        let name = if s.starts_with('/') {
            s.to_string()
        } else {
            format!("/{s}")
        };
        if let Some(id) = self.names.get(&name) {
            return Ok(id.clone());
        }
        let mut found = self.records.keys().filter(|id| id.starts_with(s));
        match (found.next(), found.next()) {
            (Some(id), None) => Ok(id.clone()),
            (Some(_), Some(_)) => Err(Error::new(
                ErrorKind::System,
                format!("multiple IDs found with provided prefix: {s}"),
            )),
            _ => Err(no_such_container(s)),
        }
    }

    fn free_name(&self, requested: Option<&str>) -> Result<String, Error> {
        match requested.filter(|n| !n.is_empty()) {
            Some(n) => {
                let name = validate_name(n)?;
                match self.names.get(&name) {
                    Some(id) => Err(name_conflict(&name, id)),
                    None => Ok(name),
                }
            }
            None => {
                for retry in 0..10 {
                    let name = generate_name(retry);
                    if !self.names.contains_key(&name) {
                        return Ok(name);
                    }
                }
                Err(Error::system("could not generate a free container name"))
            }
        }
    }
}

/// The records and their index.
#[derive(Debug)]
pub(crate) struct ContainerStore {
    dir: PathBuf,
    index: RwLock<Index>,
}

impl ContainerStore {
    /// Opens `<data_root>/containers`, creating it (0700), and loads every record; a record that cannot be
    /// read or parsed, or whose name is taken, is logged and skipped.
    pub(crate) fn open(data_root: &Path) -> std::io::Result<Self> {
        let dir = data_root.join("containers");
        fs::create_dir_all(&dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
        }
        let mut index = Index::default();
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let id = entry.file_name().to_string_lossy().to_string();
            if !is_full_id(&id) {
                continue;
            }
            let path = entry.path().join(RECORD_FILE);
            if fs::symlink_metadata(&path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
            {
                // A create cut short before its record was written (records are written whole).
                tracing::warn!(path = %entry.path().display(), "removing a container directory without a record");
                if let Err(e) = fs::remove_dir_all(entry.path()) {
                    tracing::warn!(path = %entry.path().display(), error = %e, "cannot remove it");
                }
                continue;
            }
            let record: ContainerRecord = match fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "skipping unreadable container record");
                    continue;
                }
            };
            if record.id != id {
                tracing::warn!(path = %path.display(), "skipping container record whose ID does not match its directory");
                continue;
            }
            if let Some(other) = index.names.get(&record.name) {
                tracing::warn!(name = %record.name, id = %id, other = %other, "skipping container record with a duplicate name");
                continue;
            }
            index.names.insert(record.name.clone(), id.clone());
            index.records.insert(id, record);
        }
        Ok(Self {
            dir,
            index: RwLock::new(index),
        })
    }

    fn read(&self) -> RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The container's directory (for its log, generated `/etc` files...).
    pub(crate) fn container_dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    fn persist(&self, record: &ContainerRecord) -> Result<(), Error> {
        let dir = self.container_dir(&record.id);
        fs::create_dir_all(&dir).map_err(Error::system)?;
        let data = serde_json::to_vec(record).map_err(Error::system)?;
        write_atomically(&dir.join(RECORD_FILE), &data).map_err(Error::system)
    }

    /// Creates a container: a new ID, the requested name (validated, 409 when taken) or a generated one,
    /// then `make(id, name, dir)` builds the record, which is persisted and indexed. `make` runs under the
    /// store's lock: keep it to preparing files in the container's directory.
    pub(crate) fn create(
        &self,
        requested_name: Option<&str>,
        make: impl FnOnce(&str, &str, &Path) -> Result<ContainerRecord, Error>,
    ) -> Result<ContainerRecord, Error> {
        let mut index = self.write();
        let name = index.free_name(requested_name)?;
        let id = loop {
            let id = new_id()?;
            if !index.records.contains_key(&id) {
                break id;
            }
        };
        let dir = self.container_dir(&id);
        fs::create_dir_all(&dir).map_err(Error::system)?;
        let result = make(&id, &name, &dir).and_then(|mut record| {
            record.id = id.clone();
            record.name = name.clone();
            self.persist(&record)?;
            Ok(record)
        });
        match result {
            Ok(record) => {
                index.names.insert(name, id.clone());
                index.records.insert(id, record.clone());
                Ok(record)
            }
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    }

    /// The full ID for a full ID, a name (with or without `/`) or a unique ID prefix.
    #[cfg(test)]
    pub(crate) fn resolve(&self, id_or_name: &str) -> Result<String, Error> {
        self.read().resolve(id_or_name)
    }

    /// A copy of the record.
    pub(crate) fn get(&self, id_or_name: &str) -> Result<ContainerRecord, Error> {
        let index = self.read();
        let id = index.resolve(id_or_name)?;
        index
            .records
            .get(&id)
            .cloned()
            .ok_or_else(|| no_such_container(id_or_name))
    }

    /// Every record, newest first (as `docker ps` lists).
    pub(crate) fn list(&self) -> Vec<ContainerRecord> {
        let mut all: Vec<ContainerRecord> = self.read().records.values().cloned().collect();
        all.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
        all
    }

    /// Changes a record and persists it; the index keeps the old record when writing fails.
    pub(crate) fn update<T>(
        &self,
        id_or_name: &str,
        change: impl FnOnce(&mut ContainerRecord) -> Result<T, Error>,
    ) -> Result<(T, ContainerRecord), Error> {
        let mut index = self.write();
        let id = index.resolve(id_or_name)?;
        let mut record = index
            .records
            .get(&id)
            .cloned()
            .ok_or_else(|| no_such_container(id_or_name))?;
        let out = change(&mut record)?;
        record.id = id.clone();
        if let Some(old) = index.records.get(&id) {
            record.name = old.name.clone();
        }
        self.persist(&record)?;
        index.records.insert(id, record.clone());
        Ok((out, record))
    }

    /// Renames a container (400 for an invalid name, 409 when taken).
    pub(crate) fn rename(
        &self,
        id_or_name: &str,
        new_name: &str,
    ) -> Result<ContainerRecord, Error> {
        let mut index = self.write();
        let id = index.resolve(id_or_name)?;
        // dockerd words a name it cannot reserve this way on rename (not on create).
        let allocating = |mut e: Error| {
            e.message = format!("Error when allocating new name: {}", e.message);
            e
        };
        let name = validate_name(new_name).map_err(allocating)?;
        if let Some(other) = index.names.get(&name) {
            if *other == id {
                return Err(Error::invalid(
                    "Renaming a container with the same name as its current name",
                ));
            }
            return Err(allocating(name_conflict(&name, other)));
        }
        let mut record = index
            .records
            .get(&id)
            .cloned()
            .ok_or_else(|| no_such_container(id_or_name))?;
        let old = std::mem::replace(&mut record.name, name.clone());
        self.persist(&record)?;
        index.names.remove(&old);
        index.names.insert(name, id.clone());
        index.records.insert(id, record.clone());
        Ok(record)
    }

    /// Removes a record and the container's directory.
    pub(crate) fn remove(&self, id_or_name: &str) -> Result<ContainerRecord, Error> {
        let mut index = self.write();
        let id = index.resolve(id_or_name)?;
        let record = index
            .records
            .remove(&id)
            .ok_or_else(|| no_such_container(id_or_name))?;
        index.names.remove(&record.name);
        match fs::remove_dir_all(self.container_dir(&id)) {
            Ok(()) => Ok(record),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(record),
            Err(e) => {
                index.names.insert(record.name.clone(), id.clone());
                index.records.insert(id, record);
                Err(Error::system(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make(_: &str, _: &str, _: &Path) -> Result<ContainerRecord, Error> {
        Ok(ContainerRecord {
            created: super::super::record::now_nanos(),
            ..Default::default()
        })
    }

    #[test]
    fn create_persists_and_reloads() {
        let tmp = tempfile::tempdir().unwrap();
        let store = ContainerStore::open(tmp.path()).unwrap();
        let r = store.create(Some("web"), make).unwrap();
        assert_eq!(r.name, "/web");
        assert!(is_full_id(&r.id));
        let file = tmp.path().join("containers").join(&r.id).join(RECORD_FILE);
        assert!(file.is_file());
        let reopened = ContainerStore::open(tmp.path()).unwrap();
        assert_eq!(reopened.get("web").unwrap(), r);
    }

    #[test]
    fn names_conflict_and_generate() {
        let tmp = tempfile::tempdir().unwrap();
        let store = ContainerStore::open(tmp.path()).unwrap();
        let r = store.create(Some("/web"), make).unwrap();
        let e = store.create(Some("web"), make).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict);
        assert!(e.message.contains(&r.id));
        let e = store.create(Some("a"), make).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidParameter);
        let g = store.create(None, make).unwrap();
        assert!(g.name.contains('_'), "{}", g.name);
        assert_eq!(store.list().len(), 2);
    }

    #[test]
    fn lookup_by_id_prefix_and_name() {
        let tmp = tempfile::tempdir().unwrap();
        let store = ContainerStore::open(tmp.path()).unwrap();
        let a = store.create(Some("a1"), make).unwrap();
        assert_eq!(store.resolve(&a.id).unwrap(), a.id);
        assert_eq!(store.resolve(&a.id[..5]).unwrap(), a.id);
        assert_eq!(store.resolve("/a1").unwrap(), a.id);
        let e = store.resolve("nope").unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound);
        assert_eq!(e.message, "No such container: nope");
        // Enough containers that some single hex digit prefixes two of them.
        for _ in 0..40 {
            store.create(None, make).unwrap();
        }
        let ambiguous = (0..16)
            .map(|d| format!("{d:x}"))
            .find(|p| {
                store
                    .list()
                    .iter()
                    .filter(|r| r.id.starts_with(p.as_str()))
                    .count()
                    > 1
            })
            .unwrap();
        assert_eq!(
            store.resolve(&ambiguous).unwrap_err().message,
            format!("multiple IDs found with provided prefix: {ambiguous}")
        );
    }

    #[test]
    fn update_rename_remove() {
        let tmp = tempfile::tempdir().unwrap();
        let store = ContainerStore::open(tmp.path()).unwrap();
        // Names that cannot be ID prefixes: after the rename "one" must resolve to nothing, and a name
        // like "a1" resolves to a container whose random ID happens to start with a1 (1 run in 128).
        let a = store.create(Some("one"), make).unwrap();
        store
            .update("one", |r| {
                r.state.set_running(5, 1);
                Ok(())
            })
            .unwrap();
        let reopened = ContainerStore::open(tmp.path()).unwrap();
        assert_eq!(reopened.get(&a.id).unwrap().state.pid, 5);
        store.create(Some("two"), make).unwrap();
        assert_eq!(
            store.rename("one", "two").unwrap_err().kind,
            ErrorKind::Conflict
        );
        store.rename("one", "three").unwrap();
        assert_eq!(store.resolve("one").unwrap_err().kind, ErrorKind::NotFound);
        assert_eq!(store.resolve("three").unwrap(), a.id);
        store.remove("three").unwrap();
        assert!(!store.container_dir(&a.id).exists());
        assert_eq!(store.get(&a.id).unwrap_err().kind, ErrorKind::NotFound);
    }

    #[test]
    fn corrupt_records_are_skipped_and_directories_without_one_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let store = ContainerStore::open(tmp.path()).unwrap();
        let a = store.create(Some("good"), make).unwrap();
        let bad = tmp.path().join("containers").join("b".repeat(64));
        fs::create_dir_all(&bad).unwrap();
        fs::write(bad.join(RECORD_FILE), b"{not json").unwrap();
        // A create cut short before its record was written.
        let cut = tmp.path().join("containers").join("c".repeat(64));
        fs::create_dir_all(&cut).unwrap();
        fs::write(cut.join("hosts"), b"127.0.0.1 localhost").unwrap();
        let reopened = ContainerStore::open(tmp.path()).unwrap();
        assert_eq!(reopened.list().len(), 1);
        assert_eq!(reopened.resolve("good").unwrap(), a.id);
        assert!(
            bad.exists(),
            "an unreadable record is kept for a post-mortem"
        );
        assert!(!cut.exists());
        assert!(store.container_dir(&a.id).exists());
    }

    #[test]
    fn failed_make_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let store = ContainerStore::open(tmp.path()).unwrap();
        let e = store
            .create(Some("x1"), |_, _, _| Err(Error::invalid("bad")))
            .unwrap_err();
        assert_eq!(e.message, "bad");
        assert!(store.resolve("x1").is_err());
        assert_eq!(
            fs::read_dir(tmp.path().join("containers")).unwrap().count(),
            0
        );
    }
}
