//! A container's network namespace as a file: wharfd makes the namespace on a thread of its own
//! (`unshare(CLONE_NEWNET)`) and bind-mounts that thread's `/proc/thread-self/ns/net` onto a file under
//! the exec root, so the namespace lives (and the CNI plugins can enter it) before the container's
//! process exists, and after it, until wharfd lets it go. The files are named by container ID, so a
//! restarted wharfd finds those whose container is gone.

use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};

/// Makes a network namespace bound at `path` (its directory created when missing).
pub(crate) fn create(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::File::create(path)?;
    let target = path.to_path_buf();
    // The thread ends right after: the namespace it entered is then held only by the bind mount.
    let made = std::thread::Builder::new()
        .name("netns".into())
        .spawn(move || -> std::io::Result<()> {
            unshare(CloneFlags::CLONE_NEWNET)?;
            mount(
                Some("/proc/thread-self/ns/net"),
                &target,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )?;
            Ok(())
        })?
        .join()
        .map_err(|_| std::io::Error::other("the netns thread panicked"))?;
    if made.is_err() {
        let _ = std::fs::remove_file(path);
    }
    made
}

/// Whether `path` is a bound namespace (nsfs), not just the file under it.
pub(crate) fn is_mounted(path: &Path) -> bool {
    const NSFS_MAGIC: i64 = 0x6e73_6673;
    nix::sys::statfs::statfs(path).is_ok_and(|s| s.filesystem_type().0 == NSFS_MAGIC)
}

/// Unbinds and removes `path`; a missing file is no error.
pub(crate) fn remove(path: &Path) -> std::io::Result<()> {
    if is_mounted(path) {
        umount2(path, MntFlags::MNT_DETACH)?;
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The namespace files in `dir` (container IDs and paths).
pub(crate) fn list(dir: &Path) -> Vec<(String, PathBuf)> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect()
}
