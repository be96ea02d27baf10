//! Copy-up: a new, empty volume mounted where the image has content gets a copy of that content before
//! the container first sees it, as dockerd's `copyExistingContents` does — files, directories, symlinks,
//! hard links (kept linked), device nodes and FIFOs, with their owners, modes, extended attributes and
//! modification times, and the directory's own owner and mode on the volume's root.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use filetime::FileTime;
use nix::sys::stat::{mknod, Mode, SFlag};

/// Whether `dir` holds nothing (a missing directory counts as empty).
pub(crate) fn is_empty_dir(dir: &Path) -> bool {
    match fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(_) => true,
    }
}

/// Copies the tree under `src` into the empty directory `dst`, then gives `dst` the owner and mode of
/// `src`. Sockets are skipped, as tar skips them.
pub(crate) fn copy_tree(src: &Path, dst: &Path) -> io::Result<()> {
    let mut links = HashMap::new();
    copy_dir_contents(src, dst, &mut links)?;
    let meta = fs::symlink_metadata(src)?;
    copy_owner_and_mode(dst, &meta)?;
    copy_xattrs(src, dst);
    let mtime = FileTime::from_last_modification_time(&meta);
    filetime::set_file_times(dst, FileTime::from_last_access_time(&meta), mtime)?;
    Ok(())
}

fn copy_dir_contents(
    src: &Path,
    dst: &Path,
    links: &mut HashMap<(u64, u64), std::path::PathBuf>,
) -> io::Result<()> {
    let mut dirs = Vec::new();
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let from = entry.path();
        let to = dst.join(entry.file_name());
        let meta = fs::symlink_metadata(&from)?;
        let ft = meta.file_type();
        if !ft.is_dir() && meta.nlink() > 1 {
            let key = (meta.dev(), meta.ino());
            if let Some(first) = links.get(&key) {
                fs::hard_link(first, &to)?;
                continue;
            }
            links.insert(key, to.clone());
        }
        if ft.is_dir() {
            fs::create_dir(&to)?;
            copy_dir_contents(&from, &to, links)?;
            dirs.push((from, to, meta));
            continue;
        }
        if ft.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&from)?, &to)?;
        } else if ft.is_file() {
            fs::copy(&from, &to)?;
        } else if ft.is_block_device() || ft.is_char_device() || ft.is_fifo() {
            let kind = if ft.is_block_device() {
                SFlag::S_IFBLK
            } else if ft.is_char_device() {
                SFlag::S_IFCHR
            } else {
                SFlag::S_IFIFO
            };
            mknod(
                &to,
                kind,
                Mode::from_bits_truncate(meta.mode() & 0o7777),
                meta.rdev(),
            )
            .map_err(io::Error::from)?;
        } else {
            continue;
        }
        copy_owner_and_mode(&to, &meta)?;
        copy_xattrs(&from, &to);
        let mtime = FileTime::from_last_modification_time(&meta);
        let atime = FileTime::from_last_access_time(&meta);
        filetime::set_symlink_file_times(&to, atime, mtime)?;
    }
    // A directory's times last: filling it changed them.
    for (from, dir, meta) in dirs {
        copy_owner_and_mode(&dir, &meta)?;
        copy_xattrs(&from, &dir);
        let mtime = FileTime::from_last_modification_time(&meta);
        let atime = FileTime::from_last_access_time(&meta);
        filetime::set_file_times(&dir, atime, mtime)?;
    }
    Ok(())
}

/// Owner (not following symlinks), then the mode (symlinks have none of their own).
fn copy_owner_and_mode(path: &Path, meta: &fs::Metadata) -> io::Result<()> {
    std::os::unix::fs::lchown(path, Some(meta.uid()), Some(meta.gid()))?;
    if !meta.file_type().is_symlink() {
        fs::set_permissions(path, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    }
    Ok(())
}

/// The extended attributes (security capabilities, user attributes...) of `from` onto `to`; a file
/// system without them copies none, as tar does.
fn copy_xattrs(from: &Path, to: &Path) {
    let Ok(names) = xattr::list(from) else {
        return;
    };
    for name in names {
        if let Ok(Some(value)) = xattr::get(from, &name) {
            if let Err(e) = xattr::set(to, &name, &value) {
                tracing::debug!("copy-up: cannot set {name:?} on {}: {e}", to.display());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trees_are_copied_with_links_modes_and_times() {
        let tmp = std::env::temp_dir().join(format!("wharf-copyup-{}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        let (src, dst) = (tmp.join("src"), tmp.join("dst"));
        fs::create_dir_all(src.join("sub")).unwrap();
        fs::create_dir_all(&dst).unwrap();
        assert!(is_empty_dir(&dst));
        fs::write(src.join("file"), "hello").unwrap();
        fs::set_permissions(src.join("file"), fs::Permissions::from_mode(0o640)).unwrap();
        fs::hard_link(src.join("file"), src.join("hard")).unwrap();
        std::os::unix::fs::symlink("file", src.join("link")).unwrap();
        fs::write(src.join("sub/y"), "x").unwrap();
        fs::set_permissions(&src, fs::Permissions::from_mode(0o750)).unwrap();
        let old = FileTime::from_unix_time(1_000_000, 0);
        filetime::set_file_times(src.join("sub"), old, old).unwrap();
        copy_tree(&src, &dst).unwrap();
        assert_eq!(fs::read_to_string(dst.join("file")).unwrap(), "hello");
        let meta = fs::metadata(dst.join("file")).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o640);
        assert_eq!(meta.nlink(), 2);
        assert_eq!(
            meta.ino(),
            fs::metadata(dst.join("hard")).unwrap().ino(),
            "hard links stay linked"
        );
        assert_eq!(fs::read_link(dst.join("link")).unwrap(), Path::new("file"));
        assert_eq!(fs::read_to_string(dst.join("sub/y")).unwrap(), "x");
        let sub = fs::metadata(dst.join("sub")).unwrap();
        assert_eq!(FileTime::from_last_modification_time(&sub), old);
        assert_eq!(fs::metadata(&dst).unwrap().mode() & 0o7777, 0o750);
        assert!(!is_empty_dir(&dst));
        fs::remove_dir_all(&tmp).unwrap();
    }
}
