//! `docker diff`: what a container changed, read from its writable layer (the overlay's upper
//! directory) as dockerd's overlay driver reads it — an entry there that a lower layer also has is
//! modified (kind 0), one no lower layer has is added (1), an overlay whiteout (a 0:0 character device)
//! is a deletion (2); a directory with an addition or deletion in it is modified too. The mount points
//! runc makes in the rootfs (`/proc`, `/etc/hosts`...) are no change: dockerd keeps them in an init
//! layer below the container's.
//!
//! The upper directory is the container's to change while this reads it, so it is walked on
//! descriptors (each child opened relative to its parent with `O_NOFOLLOW`), and lower layers are asked
//! with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`: nothing here follows a link the container made.

use std::collections::HashSet;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

use rustix::fs::{openat, openat2, statat, AtFlags, Dir, FileType, Mode, OFlags, ResolveFlags};
use serde::Serialize;
use wharf_client_core::ErrorKind;

use super::Runtime;
use crate::error::Error;

/// One change, as `GET /containers/{id}/changes` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Change {
    pub path: String,
    /// 0 modified, 1 added, 2 deleted.
    pub kind: u8,
}

const MODIFIED: u8 = 0;
const ADDED: u8 = 1;
const DELETED: u8 = 2;

/// What runc mounts over in every container, and dockerd's init layer holds: never a change.
const MOUNT_POINTS: [&str; 10] = [
    "/.dockerenv",
    "/dev",
    "/proc",
    "/sys",
    "/etc/hosts",
    "/etc/hostname",
    "/etc/resolv.conf",
    "/etc/mtab",
    "/dev/shm",
    "/dev/pts",
];

pub(crate) fn is_mount_point(path: &str) -> bool {
    MOUNT_POINTS.contains(&path)
        || ["/dev/", "/proc/", "/sys/"]
            .iter()
            .any(|p| path.starts_with(p))
}

/// Whether `rel` (relative, no leading `/`) exists in the layer directory `layer`, no symlink followed.
fn in_layer(layer: BorrowedFd<'_>, rel: &str) -> bool {
    let (parent, name) = rel.rsplit_once('/').unwrap_or((".", rel));
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS;
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    openat2(layer, parent, flags, Mode::empty(), resolve)
        .and_then(|dir| statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW))
        .is_ok()
}

fn open_dir(dir: BorrowedFd<'_>, name: &str) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    Ok(openat(dir, name, flags, Mode::empty())?)
}

fn sorted_names(dir: BorrowedFd<'_>) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in Dir::read_from(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name != "." && name != ".." {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// The changes the upper directory `upper` makes over `lowers` (top first).
pub(crate) fn layer_changes(
    upper: &std::path::Path,
    lowers: &[PathBuf],
) -> io::Result<Vec<Change>> {
    let lowers: Vec<OwnedFd> = lowers
        .iter()
        .filter_map(|l| {
            let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
            rustix::fs::open(l, flags, Mode::empty()).ok()
        })
        .collect();
    let in_lower = |rel: &str| lowers.iter().any(|l| in_layer(l.as_fd(), rel));
    let top = rustix::fs::open(upper, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty())?;
    let names = sorted_names(top.as_fd())?;
    let mut changes = Vec::new();
    // Directories listed as modified or added.
    let mut listed: HashSet<String> = HashSet::new();
    let mut stack = vec![(top, String::new(), names.into_iter())];
    while let Some((fd, prefix, names)) = stack.last_mut() {
        let Some(name) = names.next() else {
            stack.pop();
            continue;
        };
        let prefix = prefix.clone();
        let path = format!("{prefix}/{name}");
        let Ok(st) = statat(fd.as_fd(), name.as_str(), AtFlags::SYMLINK_NOFOLLOW) else {
            continue;
        };
        if is_mount_point(&path) {
            continue;
        }
        let kind = FileType::from_raw_mode(st.st_mode);
        let whiteout = kind == FileType::CharacterDevice && st.st_rdev == 0;
        let change = if whiteout {
            DELETED
        } else if in_lower(path.trim_start_matches('/')) {
            MODIFIED
        } else {
            ADDED
        };
        // An addition or deletion modifies the directory it is in.
        if change != MODIFIED && !prefix.is_empty() && listed.insert(prefix.clone()) {
            changes.push(Change {
                path: prefix,
                kind: MODIFIED,
            });
        }
        if kind != FileType::Directory || whiteout {
            changes.push(Change { path, kind: change });
            continue;
        }
        let child = open_dir(fd.as_fd(), &name)?;
        let names = sorted_names(child.as_fd())?;
        let only_mount_points =
            !names.is_empty() && names.iter().all(|n| is_mount_point(&format!("{path}/{n}")));
        if only_mount_points && change == MODIFIED {
            continue; // e.g. /etc, in the upper layer only because runc made /etc/hosts there
        }
        listed.insert(path.clone());
        changes.push(Change {
            path: path.clone(),
            kind: change,
        });
        stack.push((child, path, names.into_iter()));
    }
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    changes.dedup();
    Ok(changes)
}

impl Runtime {
    /// `GET /containers/{id}/changes`.
    pub(crate) async fn changes(&self, name: &str) -> Result<Vec<Change>, Error> {
        let record = self.store().get(name)?;
        let mounts = self
            .inner
            .cd
            .snapshot_mounts(self.inner.snapshotter, &record.id)
            .await?;
        let Some(upper) = super::rootfs::upper_dir(&mounts) else {
            return Err(Error::new(
                ErrorKind::NotImplemented,
                "docker diff needs the overlayfs snapshotter",
            ));
        };
        let lowers: Vec<PathBuf> = super::rootfs::layer_dirs(&mounts)
            .into_iter()
            .filter(|d| *d != upper)
            .collect();
        tokio::task::spawn_blocking(move || layer_changes(&upper, &lowers))
            .await
            .map_err(Error::system)?
            .map_err(Error::system)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn additions_modifications_whiteouts_and_runcs_mount_points() {
        let tmp = tempfile::tempdir().unwrap();
        let (upper, lower) = (tmp.path().join("upper"), tmp.path().join("lower"));
        for d in ["etc", "bin", "tmp"] {
            std::fs::create_dir_all(lower.join(d)).unwrap();
        }
        std::fs::write(lower.join("etc/hello"), "hi").unwrap();
        std::fs::write(lower.join("bin/cat"), "").unwrap();
        for d in ["etc", "bin", "tmp", "newdir/sub", "proc", "run"] {
            std::fs::create_dir_all(upper.join(d)).unwrap();
        }
        std::fs::write(upper.join("etc/hello"), "changed").unwrap();
        std::fs::write(upper.join("tmp/added"), "").unwrap();
        std::fs::write(upper.join("newdir/sub/f"), "").unwrap();
        // A whiteout for /bin/cat.
        rustix::fs::mknodat(
            rustix::fs::CWD,
            upper.join("bin/cat"),
            FileType::CharacterDevice,
            Mode::from_raw_mode(0),
            0,
        )
        .unwrap();
        // runc's mount point, alone in a directory of the image: no change at all.
        std::fs::create_dir_all(lower.join("etc2")).unwrap();
        std::fs::create_dir_all(upper.join("etc2")).unwrap();
        let got = layer_changes(&upper, &[lower]).unwrap();
        let got: Vec<(&str, u8)> = got.iter().map(|c| (c.path.as_str(), c.kind)).collect();
        assert_eq!(
            got,
            [
                ("/bin", 0),
                ("/bin/cat", 2),
                ("/etc", 0),
                ("/etc/hello", 0),
                ("/etc2", 0),
                ("/newdir", 1),
                ("/newdir/sub", 1),
                ("/newdir/sub/f", 1),
                ("/run", 1),
                ("/tmp", 0),
                ("/tmp/added", 1),
            ]
        );
        let tmp2 = tempfile::tempdir().unwrap();
        let hosts_only = tmp2.path().join("u");
        std::fs::create_dir_all(hosts_only.join("etc")).unwrap();
        std::fs::write(hosts_only.join("etc/hosts"), "").unwrap();
        std::fs::write(hosts_only.join(".dockerenv"), "").unwrap();
        let lower2 = tmp.path().join("lower");
        assert_eq!(layer_changes(&hosts_only, &[lower2]).unwrap(), []);
    }
}
