//! A stopped container's snapshot mounted for one `docker cp`, in a private directory under the exec
//! root, unmounted (lazily, so a descriptor still open cannot keep it) and removed on drop. Directories
//! left by a wharfd that died mid-copy are unmounted and removed at the next start ([`clean_stale`]).

use std::io;
use std::os::fd::OwnedFd;
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
