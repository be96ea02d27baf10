//! Extracting an uploaded tar into a directory of a container, as dockerd's `archive.Unpack` does,
//! entry by entry as the body arrives (a file's bytes are copied straight to its descriptor; nothing is
//! held whole). Each entry's parent is looked up from the container's root with `RESOLVE_IN_ROOT`
//! (a symlink among the parents resolves inside the container, as under dockerd's chroot), and the entry
//! itself is made relative to that parent's descriptor without following a final symlink: an existing
//! symlink at that name is replaced, never written through. Entries that climb out with `..` are refused.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use rustix::fs::{
    chownat, fchmod, fchown, futimens, mkdirat, mknodat, openat, symlinkat, unlinkat, utimensat,
    AtFlags, FileType, Gid, Mode, OFlags, Timestamps, Uid,
};
use rustix::io::Errno;
use tar::EntryType;

use super::path::{components, entry_path};
use super::resolve::{follow_in_scope, is_dir, is_symlink, lstat_at, open_dir};

/// How an upload is extracted.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ExtractOptions {
    /// Refuse to replace a directory by a non-directory or the reverse (`noOverwriteDirNonDir`).
    pub no_overwrite_dir_non_dir: bool,
    /// Own every file by this user and group (`copyUIDGID`), instead of the archive's IDs.
    pub chown: Option<(u32, u32)>,
}

/// Why an extraction stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExtractError {
    /// The archive asks for something refused (a breakout, a replacement refused by the options).
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl From<Errno> for ExtractError {
    fn from(e: Errno) -> Self {
        Self::Io(e.into())
    }
}

/// Extracts the tar `input` into `dest` (an absolute path in the container, already resolved) under
/// `root`.
pub(crate) fn extract(
    input: impl Read,
    root: BorrowedFd<'_>,
    dest: &str,
    opts: ExtractOptions,
) -> Result<(), ExtractError> {
    let mut archive = tar::Archive::new(input);
    let mut dirs: Vec<(String, i64)> = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(name) = entry_path(&raw).map_err(ExtractError::Refused)? else {
            continue; // the destination itself
        };
        let (parent, base) = name.rsplit_once('/').unwrap_or(("", name.as_str()));
        let parent_path = join(dest, parent);
        let parent_fd = match open_dir(root, &parent_path) {
            Err(e) if e.raw_os_error() == Some(Errno::NOENT.raw_os_error()) => {
                make_dirs(root, &parent_path)?;
                open_dir(root, &parent_path)?
            }
            other => other?,
        };
        let dir = parent_fd.as_fd();
        let header = entry.header().clone();
        let kind = header.entry_type();
        let mode = Mode::from_raw_mode(header.mode()? & 0o7777);
        let (uid, gid) = match opts.chown {
            Some(ids) => ids,
            None => (id(header.uid()?), id(header.gid()?)),
        };
        let mtime = i64::try_from(header.mtime()?).unwrap_or(0);
        let shown = join(dest, &name);
        if let Ok(existing) = lstat_at(dir, base) {
            let want_dir = kind == EntryType::Directory;
            let have_dir = is_dir(&existing);
            if have_dir && want_dir {
                set_meta(dir, base, mode, uid, gid)?;
                dirs.push((shown, mtime));
                continue;
            }
            if opts.no_overwrite_dir_non_dir && have_dir != want_dir {
                let what = if have_dir {
                    format!("cannot overwrite directory {shown:?} with non-directory {dest:?}")
                } else {
                    format!("cannot overwrite non-directory {shown:?} with directory {dest:?}")
                };
                return Err(ExtractError::Refused(what));
            }
            remove_all(dir, base)?;
        }
        match kind {
            EntryType::Directory => {
                mkdirat(dir, base, Mode::from_raw_mode(0o700))?;
                set_meta(dir, base, mode, uid, gid)?;
                dirs.push((shown, mtime));
            }
            EntryType::Regular | EntryType::Continuous => {
                let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW;
                let fd = openat(
                    dir,
                    base,
                    flags | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o600),
                )?;
                let mut file = File::from(fd);
                copy_large(&mut entry, &mut file)?;
                fchown(&file, Some(uid_of(uid)), Some(gid_of(gid)))?;
                fchmod(&file, mode)?;
                futimens(&file, &times(mtime))?;
            }
            EntryType::Symlink => {
                let target = entry.link_name_bytes().unwrap_or_default();
                symlinkat(target.as_ref(), dir, base)?;
                chownat(
                    dir,
                    base,
                    Some(uid_of(uid)),
                    Some(gid_of(gid)),
                    AtFlags::SYMLINK_NOFOLLOW,
                )?;
                utimensat(dir, base, &times(mtime), AtFlags::SYMLINK_NOFOLLOW)?;
            }
            EntryType::Link => {
                let raw = entry.link_name_bytes().unwrap_or_default();
                let target = entry_path(&String::from_utf8_lossy(&raw))
                    .map_err(ExtractError::Refused)?
                    .ok_or_else(|| ExtractError::Refused(format!("invalid hard link {raw:?}")))?;
                let (tparent, tbase) = target.rsplit_once('/').unwrap_or(("", target.as_str()));
                let tdir = open_dir(root, &join(dest, tparent))?;
                rustix::fs::linkat(&tdir, tbase, dir, base, AtFlags::empty())?;
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                let file_type = match kind {
                    EntryType::Char => FileType::CharacterDevice,
                    EntryType::Block => FileType::BlockDevice,
                    _ => FileType::Fifo,
                };
                let dev = rustix::fs::makedev(
                    header.device_major()?.unwrap_or(0),
                    header.device_minor()?.unwrap_or(0),
                );
                mknodat(dir, base, file_type, mode, dev)?;
                set_meta(dir, base, mode, uid, gid)?;
                utimensat(dir, base, &times(mtime), AtFlags::SYMLINK_NOFOLLOW)?;
            }
            // Global headers, sockets and the unknown are skipped, as dockerd skips them.
            _ => {}
        }
    }
    // Directories' times last: what was made inside them changed them.
    for (path, mtime) in dirs.into_iter().rev() {
        let (parent, base) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
        if let Ok(fd) = open_dir(root, if parent.is_empty() { "/" } else { parent }) {
            let _ = utimensat(&fd, base, &times(mtime), AtFlags::SYMLINK_NOFOLLOW);
        }
    }
    Ok(())
}

/// Copies `from` into `to` in large writes (io::copy's 8 KiB would be a write call per 8 KiB).
fn copy_large(from: &mut impl Read, to: &mut File) -> io::Result<()> {
    use std::io::Write as _;
    let mut buf = vec![0u8; COPY_BUFFER];
    loop {
        let mut filled = 0;
        while filled < buf.len() {
            match from.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if filled == 0 {
            return Ok(());
        }
        to.write_all(&buf[..filled])?;
    }
}

/// The buffer of one file's copy.
const COPY_BUFFER: usize = 1 << 20;

fn join(dest: &str, rel: &str) -> String {
    match (dest.trim_end_matches('/'), rel) {
        (d, "") => {
            if d.is_empty() {
                "/".to_owned()
            } else {
                d.to_owned()
            }
        }
        (d, r) => format!("{d}/{r}"),
    }
}

fn id(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

fn uid_of(v: u32) -> Uid {
    Uid::from_raw(v)
}

fn gid_of(v: u32) -> Gid {
    Gid::from_raw(v)
}

fn times(mtime: i64) -> Timestamps {
    let t = rustix::fs::Timespec {
        tv_sec: mtime,
        tv_nsec: 0,
    };
    Timestamps {
        last_access: t,
        last_modification: t,
    }
}

/// Owner and mode of the non-symlink `name` in `dir`, through a descriptor opened without following it.
fn set_meta(dir: BorrowedFd<'_>, name: &str, mode: Mode, uid: u32, gid: u32) -> io::Result<()> {
    chownat(
        dir,
        name,
        Some(uid_of(uid)),
        Some(gid_of(gid)),
        AtFlags::SYMLINK_NOFOLLOW,
    )?;
    // chmod has no "do not follow" of its own: an O_PATH descriptor of exactly this file (never a
    // device opened), changed through its /proc/self/fd link.
    let fd = openat(
        dir,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    if is_symlink(&rustix::fs::fstat(&fd)?) {
        return Ok(()); // swapped for a link meanwhile: nothing to change through it
    }
    rustix::fs::chmod(format!("/proc/self/fd/{}", fd.as_raw_fd()).as_str(), mode)?;
    Ok(())
}

/// Makes the directories of `path` (absolute in the container), symlinks among them followed inside the
/// root, as `MkdirAll` under dockerd's chroot (mode 0755).
fn make_dirs(root: BorrowedFd<'_>, path: &str) -> io::Result<()> {
    let resolved = follow_in_scope(root, path)?;
    let mut done = String::from("/");
    for part in components(&resolved) {
        let parent = open_dir(root, &done)?;
        match mkdirat(&parent, part, Mode::from_raw_mode(0o755)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(e.into()),
        }
        done = join(&done, part);
    }
    Ok(())
}

/// Removes `name` in `dir` and, for a directory, everything in it, on descriptors.
fn remove_all(dir: BorrowedFd<'_>, name: &str) -> io::Result<()> {
    let st = lstat_at(dir, name)?;
    if !is_dir(&st) {
        return Ok(unlinkat(dir, name, AtFlags::empty())?);
    }
    let child: OwnedFd = openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    for entry in rustix::fs::Dir::read_from(&child)? {
        let entry = entry?;
        let n = entry.file_name().to_string_lossy().into_owned();
        if n != "." && n != ".." {
            remove_all(child.as_fd(), &n)?;
        }
    }
    Ok(unlinkat(dir, name, AtFlags::REMOVEDIR)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(entries: &[(&str, EntryType, &str)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, kind, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_mode(0o644);
            h.set_uid(1000);
            h.set_gid(1000);
            // Names and targets written raw: the builder refuses `..`, which the tests need.
            let old = h.as_old_mut();
            old.name[..name.len()].copy_from_slice(name.as_bytes());
            if matches!(kind, EntryType::Symlink | EntryType::Link) {
                old.linkname[..data.len()].copy_from_slice(data.as_bytes());
                h.set_size(0);
                h.set_cksum();
                b.append(&h, std::io::empty()).unwrap();
            } else {
                h.set_size(data.len() as u64);
                h.set_cksum();
                b.append(&h, data.as_bytes()).unwrap();
            }
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn uploads_through_symlinks_stay_inside_and_replace_links() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let host = tmp.path().join("host");
        std::fs::create_dir_all(root.join("dest")).unwrap();
        std::fs::create_dir_all(&host).unwrap();
        std::os::unix::fs::symlink(&host, root.join("dest/esc")).unwrap();
        std::os::unix::fs::symlink("../../../..", root.join("dest/up")).unwrap();
        std::os::unix::fs::symlink(host.join("x"), root.join("dest/swap")).unwrap();
        let fd = File::open(&root).unwrap();
        let tar = tar_of(&[
            ("esc/a", EntryType::Regular, "1"),
            ("up/b", EntryType::Regular, "2"),
            ("swap", EntryType::Regular, "3"),
            ("new/deep/c", EntryType::Regular, "4"),
            ("l", EntryType::Symlink, "/etc"),
            ("h", EntryType::Link, "swap"),
        ]);
        extract(
            tar.as_slice(),
            fd.as_fd(),
            "/dest",
            ExtractOptions::default(),
        )
        .unwrap();
        assert_eq!(
            std::fs::read_dir(&host).unwrap().count(),
            0,
            "nothing on the host"
        );
        let esc = root.join(host.strip_prefix("/").unwrap()).join("a");
        assert_eq!(std::fs::read_to_string(esc).unwrap(), "1");
        assert_eq!(std::fs::read_to_string(root.join("b")).unwrap(), "2");
        let swap = root.join("dest/swap");
        assert!(std::fs::symlink_metadata(&swap).unwrap().is_file());
        assert_eq!(
            std::fs::read_to_string(root.join("dest/new/deep/c")).unwrap(),
            "4"
        );
        assert_eq!(
            std::fs::read_link(root.join("dest/l")).unwrap().to_str(),
            Some("/etc")
        );
        assert_eq!(std::fs::read_to_string(root.join("dest/h")).unwrap(), "3");

        let climb = tar_of(&[("../x", EntryType::Regular, "")]);
        let e = extract(
            climb.as_slice(),
            fd.as_fd(),
            "/dest",
            ExtractOptions::default(),
        );
        assert!(matches!(e, Err(ExtractError::Refused(_))));
    }

    #[test]
    fn no_overwrite_dir_non_dir_refuses_replacing_a_directory() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("dest/file")).unwrap();
        let fd = File::open(tmp.path()).unwrap();
        let tar = tar_of(&[("file", EntryType::Regular, "x")]);
        let opts = ExtractOptions {
            no_overwrite_dir_non_dir: true,
            chown: None,
        };
        let e = extract(tar.as_slice(), fd.as_fd(), "/dest", opts).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"cannot overwrite directory "/dest/file" with non-directory "/dest""#
        );
        extract(
            tar.as_slice(),
            fd.as_fd(),
            "/dest",
            ExtractOptions::default(),
        )
        .unwrap();
        assert!(tmp.path().join("dest/file").is_file());
    }
}
