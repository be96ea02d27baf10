//! A container's volumes, as dockerd's `registerMountPoints` and `setupMounts`: at create, the volumes
//! its mounts name are found or made, `--volumes-from` takes over another container's mounts and every
//! image `VOLUME` (and `-v /path`) not covered gets a new anonymous volume, and a new empty one is
//! filled from the image's content at its path (dockerd's `populateVolumes`, also at create); at start
//! they are mounted (the store mounts those with driver options); at the end of a run they are
//! released; `rm -v` removes the anonymous ones.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use containerd_client::types::Mount as RootfsMount;
use nix::mount::{MntFlags, MsFlags};
use oci_spec::runtime::Mount;
use wharf_client_core::models::{ContainerConfig, HostConfig, MountPoint, MountPointTypeEnum};
use wharf_client_core::ErrorKind;

use super::Runtime;
use crate::containers::record::ContainerRecord;
use crate::containers::spec::{self, mounts::oci_mount};
use crate::error::Error;
use crate::volumes::local::LOCAL;
use crate::volumes::{copyup, CreateOptions, VolumeStore};

/// What create decided about a container's volumes.
#[derive(Debug, Default)]
pub(super) struct ContainerVolumes {
    /// Every mount of the container, for inspect and for the spec.
    pub points: Vec<MountPoint>,
    /// The volumes `rm -v` removes.
    pub anonymous: Vec<String>,
    /// The destinations of volumes to fill from the image when they are empty.
    pub copy_up: Vec<String>,
}

fn dest_key(dest: &str) -> String {
    let trimmed = dest.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".into()
    } else {
        trimmed.into()
    }
}

/// `container[:ro|:rw]` of `VolumesFrom`.
fn parse_volumes_from(spec: &str) -> Result<(&str, bool), Error> {
    match spec.rsplit_once(':') {
        None => Ok((spec, false)),
        Some((name, mode)) => {
            let mut readonly = false;
            for m in mode.split(',') {
                match m {
                    "ro" => readonly = true,
                    "rw" | "z" | "Z" | "nocopy" => {}
                    _ => return Err(Error::invalid(format!("invalid mode: {mode}"))),
                }
            }
            Ok((name, readonly))
        }
    }
}

fn volume_point(name: &str, source: &Path, dest: &str) -> MountPoint {
    MountPoint {
        typ: Some(MountPointTypeEnum::VOLUME),
        name: Some(name.to_owned()),
        source: Some(source.display().to_string()),
        destination: Some(dest.to_owned()),
        driver: Some(LOCAL.to_owned()),
        mode: Some(String::new()),
        rw: Some(true),
        propagation: Some(String::new()),
    }
}

/// Removes the anonymous volumes a failed create made.
fn undo(volumes: &VolumeStore, made: &[String]) {
    for name in made {
        let _ = volumes.remove(name, true);
    }
}

/// Works out the container's mounts (see the module's docs); blocking: it makes directories.
fn resolve(
    volumes: &VolumeStore,
    store: &crate::containers::store::ContainerStore,
    config: &ContainerConfig,
    hc: &HostConfig,
) -> Result<ContainerVolumes, Error> {
    let mut out = ContainerVolumes::default();
    let mut taken = HashSet::new();
    for um in spec::user_mounts(hc)? {
        let mut point = um.point;
        let dest = point.destination.clone().unwrap_or_default();
        taken.insert(dest_key(&dest));
        if let Some(v) = um.volume {
            let anonymous = v.name.is_none();
            let volume = volumes
                .create(CreateOptions {
                    name: v.name,
                    driver: v.driver,
                    labels: v.labels,
                    options: v.options,
                })
                .inspect_err(|_| undo(volumes, &out.anonymous))?;
            if anonymous {
                out.anonymous.push(volume.name.clone());
            }
            if !v.nocopy {
                out.copy_up.push(dest);
            }
            point.name = Some(volume.name);
            point.source = Some(volume.mountpoint.display().to_string());
        }
        out.points.push(point);
    }
    for from in hc.volumes_from.iter().flatten() {
        let (name, readonly) = parse_volumes_from(from)?;
        // A missing container here is the request's fault: dockerd answers 400, and a 404 would make
        // the docker CLI try to pull the image.
        let source = store
            .get(name)
            .map_err(|e| Error::invalid(e.message))
            .inspect_err(|_| undo(volumes, &out.anonymous))?;
        for p in &source.mount_points {
            let dest = p.destination.clone().unwrap_or_default();
            let shareable = matches!(
                p.typ,
                Some(MountPointTypeEnum::VOLUME | MountPointTypeEnum::BIND)
            );
            if !shareable || !taken.insert(dest_key(&dest)) {
                continue;
            }
            let mut point = p.clone();
            point.rw = Some(p.rw.unwrap_or(true) && !readonly);
            point.mode = Some(String::new());
            if let Some(n) = &p.name {
                if source.anonymous_volumes.contains(n) {
                    out.anonymous.push(n.clone());
                }
            }
            out.points.push(point);
        }
    }
    let mut image_volumes: Vec<&String> = config.volumes.iter().flat_map(|v| v.keys()).collect();
    image_volumes.sort();
    for dest in image_volumes {
        if !dest.starts_with('/') {
            undo(volumes, &out.anonymous);
            return Err(Error::invalid(format!(
                "invalid mount config for type \"volume\": invalid mount path: '{dest}' mount path must be absolute"
            )));
        }
        if !taken.insert(dest_key(dest)) {
            continue;
        }
        let volume = volumes
            .create(CreateOptions::default())
            .inspect_err(|_| undo(volumes, &out.anonymous))?;
        out.anonymous.push(volume.name.clone());
        out.copy_up.push(dest.clone());
        out.points
            .push(volume_point(&volume.name, &volume.mountpoint, dest));
    }
    Ok(out)
}

/// Whether `relative` can be followed inside `root` without meeting a symlink (which could lead out
/// of the container's root): copy-up only reads real directories.
fn plain_dir_in(root: &Path, relative: &str) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    for c in Path::new(relative).components() {
        match c {
            Component::Normal(part) => path.push(part),
            Component::RootDir | Component::CurDir => {}
            _ => return None,
        }
        let meta = std::fs::symlink_metadata(&path).ok()?;
        if meta.file_type().is_symlink() {
            return None;
        }
    }
    std::fs::symlink_metadata(&path)
        .ok()
        .filter(|m| m.is_dir())
        .map(|_| path)
}

/// Mounts a read-only view of the container's root file system on `target`: the overlay's layers, its
/// writable one on top, as lower directories only (nothing is written and the run's own overlay is
/// left alone), or the bind of another snapshotter.
fn mount_rootfs_view(rootfs: &[RootfsMount], target: &Path) -> Result<(), Error> {
    let [m] = rootfs else {
        return Err(Error::system("unexpected root file system mounts"));
    };
    let result = if m.r#type == "overlay" {
        let option = |name: &str| m.options.iter().find_map(|o| o.strip_prefix(name));
        let layers: Vec<&str> = [option("upperdir="), option("lowerdir=")]
            .into_iter()
            .flatten()
            .collect();
        let mut data = format!("lowerdir={}", layers.join(":"));
        if m.options.iter().any(|o| o == "userxattr") {
            data.push_str(",userxattr");
        }
        nix::mount::mount(
            Some("overlay"),
            target,
            Some("overlay"),
            MsFlags::MS_RDONLY,
            Some(data.as_str()),
        )
    } else {
        nix::mount::mount(
            Some(m.source.as_str()),
            target,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
    };
    result.map_err(|e| Error::system(format!("cannot mount the image's content for copy-up: {e}")))
}

/// Fills the empty volumes of `wanted` (destination, volume directory) from the image's content.
fn fill_from_image(
    rootfs: &[RootfsMount],
    view: &Path,
    wanted: &[(String, PathBuf)],
) -> Result<(), Error> {
    std::fs::create_dir_all(view).map_err(Error::system)?;
    mount_rootfs_view(rootfs, view)?;
    let mut result = Ok(());
    for (dest, volume) in wanted {
        if let Some(src) = plain_dir_in(view, dest) {
            if let Err(e) = copyup::copy_tree(&src, volume) {
                result = Err(Error::system(format!(
                    "cannot copy the image's content at {dest} into its volume: {e}"
                )));
                break;
            }
        }
    }
    if let Err(e) = nix::mount::umount2(view, MntFlags::MNT_DETACH) {
        tracing::warn!("unmounting {}: {e}", view.display());
    }
    let _ = std::fs::remove_dir(view);
    result
}

impl Runtime {
    /// The container's mounts, made at create (see the module's docs).
    pub(super) async fn create_volumes(
        &self,
        config: &ContainerConfig,
        hc: &HostConfig,
    ) -> Result<ContainerVolumes, Error> {
        let volumes = self.inner.volumes.clone();
        let store = self.inner.store.clone();
        let (config, hc) = (config.clone(), hc.clone());
        tokio::task::spawn_blocking(move || resolve(&volumes, &store, &config, &hc))
            .await
            .map_err(Error::system)?
    }

    /// At create, as dockerd's `populateVolumes`: the volumes at `copy_up` that are empty get the
    /// image's content there (`rootfs`: the new container's snapshot mounts). A volume with driver
    /// options is mounted for the copy and unmounted after, so a tmpfs keeps nothing of it, as with
    /// dockerd.
    pub(super) async fn populate_volumes(
        &self,
        record: &ContainerRecord,
        copy_up: Vec<String>,
        rootfs: Vec<RootfsMount>,
    ) -> Result<(), Error> {
        if copy_up.is_empty() {
            return Ok(());
        }
        let volumes = self.inner.volumes.clone();
        let view = self.inner.exec_root.join("copyup").join(&record.id);
        let user = format!("copy-up {}", record.id);
        let points: Vec<(String, String)> = record
            .mount_points
            .iter()
            .filter(|p| p.typ == Some(MountPointTypeEnum::VOLUME))
            .filter_map(|p| Some((p.name.clone()?, p.destination.clone()?)))
            .filter(|(_, dest)| copy_up.contains(dest))
            .collect();
        tokio::task::spawn_blocking(move || {
            let mut held = Vec::new();
            let mut fill = Vec::new();
            let result = (|| {
                for (name, dest) in &points {
                    let path = volumes.attach(name, &user)?;
                    held.push(name.clone());
                    if copyup::is_empty_dir(&path) {
                        fill.push((dest.clone(), path));
                    }
                }
                if fill.is_empty() {
                    return Ok(());
                }
                fill_from_image(&rootfs, &view, &fill)
            })();
            for name in &held {
                volumes.detach(name, &user);
            }
            result
        })
        .await
        .map_err(Error::system)?
    }

    /// Mounts the volumes of a run of `record` and answers the binds the spec adds for them and for the
    /// mounts `--volumes-from` took over. On failure nothing stays mounted for this run.
    pub(super) async fn mount_volumes(
        &self,
        record: &ContainerRecord,
    ) -> Result<Vec<Mount>, Error> {
        let rt = self.clone();
        let record = record.clone();
        tokio::task::spawn_blocking(move || rt.mount_volumes_blocking(&record))
            .await
            .map_err(Error::system)?
    }

    fn mount_volumes_blocking(&self, record: &ContainerRecord) -> Result<Vec<Mount>, Error> {
        let volumes = &self.inner.volumes;
        let own: HashSet<String> = spec::user_mounts(&record.host_config)?
            .into_iter()
            .filter(|m| m.volume.is_none())
            .map(|m| dest_key(&m.mount.destination().to_string_lossy()))
            .collect();
        let mut binds = Vec::new();
        let mut mounted = Vec::new();
        let result = (|| {
            for p in &record.mount_points {
                let dest = p.destination.clone().unwrap_or_default();
                let rw = p.rw.unwrap_or(true);
                let source = match (p.typ, p.name.as_deref()) {
                    (Some(MountPointTypeEnum::VOLUME), Some(name)) => {
                        let path = volumes.mount(name, &record.id, &dest, rw)?;
                        mounted.push(name.to_owned());
                        path
                    }
                    (Some(MountPointTypeEnum::BIND), _) if !own.contains(&dest_key(&dest)) => {
                        PathBuf::from(p.source.clone().unwrap_or_default())
                    }
                    _ => continue,
                };
                let mut opts = vec!["rbind"];
                if !rw {
                    opts.push("ro");
                }
                opts.push("rprivate");
                binds.push(oci_mount(&dest, "bind", &source.to_string_lossy(), &opts));
            }
            Ok(binds)
        })();
        if result.is_err() {
            for name in &mounted {
                volumes.release(name, &record.id);
            }
        }
        result
    }

    /// After a restart: the runs still going keep their volumes; a volume mounted for a run that is
    /// gone is unmounted.
    pub(super) fn settle_volumes(&self) {
        let running: Vec<(String, Vec<String>)> = self
            .store()
            .list()
            .into_iter()
            .filter(|r| r.state.running)
            .map(|r| {
                let names = r.volume_names().map(str::to_owned).collect();
                (r.id, names)
            })
            .collect();
        self.inner.volumes.settle(&running);
    }

    /// The run of `record` ended: its volumes are released (and unmounted when it was the last user).
    pub(super) fn release_volumes(&self, record: &ContainerRecord) {
        for name in record.volume_names() {
            self.inner.volumes.release(name, &record.id);
        }
    }

    /// `rm -v`: removes the container's anonymous volumes that no other container uses.
    pub(super) async fn remove_anonymous_volumes(&self, record: &ContainerRecord) {
        self.remove_volumes_named(record.anonymous_volumes.clone())
            .await;
    }

    /// Removes the volumes `names` that no container uses.
    pub(super) async fn remove_volumes_named(&self, names: Vec<String>) {
        let volumes = self.inner.volumes.clone();
        let removed = tokio::task::spawn_blocking(move || {
            for name in names {
                match volumes.remove(&name, true) {
                    Ok(()) => {}
                    Err(e) if matches!(e.kind, ErrorKind::Conflict | ErrorKind::NotFound) => {}
                    Err(e) => tracing::warn!(volume = %name, "removing a container's volume: {e}"),
                }
            }
        });
        let _ = removed.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes_from_takes_a_mode() {
        assert_eq!(parse_volumes_from("c1").unwrap(), ("c1", false));
        assert_eq!(parse_volumes_from("c1:ro").unwrap(), ("c1", true));
        assert_eq!(parse_volumes_from("c1:rw").unwrap(), ("c1", false));
        assert_eq!(
            parse_volumes_from("c1:xx").unwrap_err().message,
            "invalid mode: xx"
        );
    }

    #[test]
    fn copy_up_never_follows_a_symlink() {
        let tmp = std::env::temp_dir().join(format!("wharf-plain-dir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(tmp.join("a/b")).unwrap();
        std::os::unix::fs::symlink("/etc", tmp.join("a/esc")).unwrap();
        assert_eq!(plain_dir_in(&tmp, "/a/b"), Some(tmp.join("a/b")));
        assert_eq!(plain_dir_in(&tmp, "/a/esc"), None);
        assert_eq!(plain_dir_in(&tmp, "/a/../a/b"), None);
        assert_eq!(plain_dir_in(&tmp, "/missing"), None);
        assert_eq!(dest_key("/data/"), "/data");
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
