//! A stopped container's snapshot mounted for one `docker cp`, in a private directory under the exec
//! root, with the container's binds over it, unmounted (lazily, so a descriptor still open cannot keep
//! it, and the binds with it) and removed on drop. Directories
//! left by a wharfd that died mid-copy are unmounted and removed at the next start ([`clean_stale`]).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use containerd_client::types::Mount;
use nix::mount::{umount2, MntFlags, MsFlags};
use rustix::fs::{Mode, OFlags};

/// A mounted snapshot, unmounted on drop.
#[derive(Debug)]
pub(super) struct TempMount {
    dir: PathBuf,
    mounted: usize,
}

/// The mount flags of a containerd mount's options, and the rest as the file system's data.
fn flags_and_data(options: &[String], read_only: bool) -> (MsFlags, String) {
    let mut flags = MsFlags::empty();
    let mut data = Vec::new();
    for o in options {
        match o.as_str() {
            "ro" => flags |= MsFlags::MS_RDONLY,
            "rw" => {}
            "bind" => flags |= MsFlags::MS_BIND,
            "rbind" => flags |= MsFlags::MS_BIND | MsFlags::MS_REC,
            "nosuid" => flags |= MsFlags::MS_NOSUID,
            "nodev" => flags |= MsFlags::MS_NODEV,
            "noexec" => flags |= MsFlags::MS_NOEXEC,
            other => data.push(other),
        }
    }
    if read_only {
        flags |= MsFlags::MS_RDONLY;
    }
    (flags, data.join(","))
}

impl TempMount {
    /// Mounts `mounts` (a snapshot's, in order) on a new directory under `base`.
    pub(super) fn new(base: &Path, mounts: &[Mount], read_only: bool) -> io::Result<Self> {
        std::fs::create_dir_all(base)?;
        let dir = base.join(crate::images::import::unique("cp"));
        std::fs::create_dir(&dir)?;
        let mut this = Self { dir, mounted: 0 };
        for m in mounts {
            let (flags, data) = flags_and_data(&m.options, read_only);
            let data = (!data.is_empty()).then_some(data.as_str());
            if flags.contains(MsFlags::MS_BIND) {
                nix::mount::mount(
                    Some(m.source.as_str()),
                    &this.dir,
                    None::<&str>,
                    flags,
                    data,
                )?;
                this.mounted += 1;
                if flags.contains(MsFlags::MS_RDONLY) {
                    let remount = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
                    nix::mount::mount(
                        None::<&str>,
                        &this.dir,
                        None::<&str>,
                        remount,
                        None::<&str>,
                    )?;
                }
            } else {
                let fstype = m.r#type.as_str();
                nix::mount::mount(
                    Some(m.source.as_str()),
                    &this.dir,
                    Some(fstype),
                    flags,
                    data,
                )?;
                this.mounted += 1;
            }
        }
        Ok(this)
    }

    /// Mounts each bind `(source, destination, read-only)` of the container over its destination in the
    /// mounted root (looked up inside it), as dockerd mounts a stopped container's volumes for `docker
    /// cp`; a destination the root does not have is skipped. They go with the root's lazy unmount.
    pub(super) fn bind(
        &self,
        binds: &[(PathBuf, String, bool)],
        read_only: bool,
    ) -> io::Result<()> {
        let root = self.open()?;
        let at = |dest: &str| -> Option<(OwnedFd, String)> {
            let fd = super::resolve::open_in(root.as_fd(), dest, OFlags::PATH).ok()?;
            let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
            Some((fd, path))
        };
        for (source, dest, ro) in binds {
            if at(dest).is_none() {
                make_mount_point(root.as_fd(), dest, source.is_dir())?;
            }
            let Some((_fd, target)) = at(dest) else {
                continue;
            };
            let flags = MsFlags::MS_BIND | MsFlags::MS_REC;
            nix::mount::mount(
                Some(source.as_path()),
                target.as_str(),
                None::<&str>,
                flags,
                None::<&str>,
            )?;
            if *ro || read_only {
                // The destination again: now the root of the new mount.
                let Some((_fd, target)) = at(dest) else {
                    continue;
                };
                let remount = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
                nix::mount::mount(
                    None::<&str>,
                    target.as_str(),
                    None::<&str>,
                    remount,
                    None::<&str>,
                )?;
            }
        }
        Ok(())
    }

    /// The mounted root, as a directory descriptor.
    pub(super) fn open(&self) -> io::Result<OwnedFd> {
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        Ok(rustix::fs::open(&self.dir, flags, Mode::empty())?)
    }
}

impl Drop for TempMount {
    fn drop(&mut self) {
        for _ in 0..self.mounted {
            if let Err(e) = umount2(&self.dir, MntFlags::MNT_DETACH) {
                tracing::warn!("cannot unmount {}: {e}", self.dir.display());
            }
        }
        if let Err(e) = std::fs::remove_dir(&self.dir) {
            tracing::warn!("cannot remove {}: {e}", self.dir.display());
        }
    }
}

/// Makes `dest` (a directory, or an empty file for a file's bind) and its missing parents inside `root`,
/// symlinks followed inside it, as dockerd's `CreateIfNotExists`.
fn make_mount_point(root: BorrowedFd<'_>, dest: &str, dir: bool) -> io::Result<()> {
    let resolved = super::resolve::follow_in_scope(root, dest)?;
    let parts: Vec<&str> = super::path::components(&resolved).collect();
    let mut done = String::from("/");
    for (i, part) in parts.iter().enumerate() {
        let parent = super::resolve::open_dir(root, &done)?;
        let last = i + 1 == parts.len();
        let made = if last && !dir {
            let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW;
            rustix::fs::openat(
                &parent,
                *part,
                flags | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o755),
            )
            .map(drop)
        } else {
            rustix::fs::mkdirat(&parent, *part, Mode::from_raw_mode(0o755))
        };
        match made {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(e.into()),
        }
        done = format!("{}/{part}", done.trim_end_matches('/'));
    }
    Ok(())
}

/// Unmounts and removes what a previous wharfd left under `base`.
pub(crate) fn clean_stale(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        while umount2(&dir, MntFlags::MNT_DETACH).is_ok() {}
        if let Err(e) = std::fs::remove_dir(&dir) {
            tracing::warn!("cannot remove {}: {e}", dir.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_split_into_flags_and_data() {
        let o = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (f, d) = flags_and_data(
            &o(&["index=off", "workdir=/w", "upperdir=/u", "lowerdir=/l"]),
            true,
        );
        assert_eq!(f, MsFlags::MS_RDONLY);
        assert_eq!(d, "index=off,workdir=/w,upperdir=/u,lowerdir=/l");
        let (f, d) = flags_and_data(&o(&["ro", "rbind"]), false);
        assert_eq!(f, MsFlags::MS_RDONLY | MsFlags::MS_BIND | MsFlags::MS_REC);
        assert_eq!(d, "");
    }
}
