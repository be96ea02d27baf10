//! Paths looked up inside a container's root, never outside it. The root is a directory descriptor (the
//! running container's `/proc/<pid>/root`, or a stopped one's snapshot mounted in a private directory);
//! every lookup from it is `openat2` with `RESOLVE_IN_ROOT` (`..` and absolute symlinks stop at that root,
//! as if chrooted) and `RESOLVE_NO_MAGICLINKS` (no `/proc/<pid>/fd/*` jumps), and everything after the
//! lookup works on the descriptors it returned and on names relative to them with `O_NOFOLLOW`. A
//! symlink swapped in while a copy runs can therefore lead nowhere but into the same root (the
//! `docker cp` CVEs of 2018 and 2019 followed path strings on the host).
//!
//! [`follow_in_scope`] only *names* a path (moby's `FollowSymlinkInScope`, for a symlink's
//! `linkTarget` and for the destination of an upload): it reads links through the same confined
//! lookups.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{
    openat2, readlinkat, statat, AtFlags, FileType, Mode, OFlags, ResolveFlags, Stat,
};

use super::path::components;

/// Symlinks followed in one lookup before it fails, as the kernel's limit.
const MAX_LINKS: usize = 40;

/// Opens `path` (absolute in the container) under `root` with `flags`: `..` and symlinks never leave it.
pub(crate) fn open_in(root: BorrowedFd<'_>, path: &str, flags: OFlags) -> io::Result<OwnedFd> {
    let relative = path.trim_start_matches('/');
    let relative = if relative.is_empty() { "." } else { relative };
    let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
    // RESOLVE_IN_ROOT answers EAGAIN when a rename raced the lookup; try again a few times.
    let mut tries = 0;
    loop {
        match openat2(
            root,
            relative,
            flags | OFlags::CLOEXEC,
            Mode::empty(),
            resolve,
        ) {
            Err(rustix::io::Errno::AGAIN) if tries < 16 => tries += 1,
            other => return Ok(other?),
        }
    }
}

/// Opens the directory `path` names under `root` (following a final symlink) as an `O_PATH` descriptor.
pub(crate) fn open_dir(root: BorrowedFd<'_>, path: &str) -> io::Result<OwnedFd> {
    open_in(root, path, OFlags::PATH | OFlags::DIRECTORY)
}

/// `lstat` of `name` in the directory `dir`; an empty name or `.` is the directory itself.
pub(crate) fn lstat_at(dir: BorrowedFd<'_>, name: &str) -> io::Result<Stat> {
    let name = if name.is_empty() { "." } else { name };
    Ok(statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?)
}

pub(crate) fn is_symlink(st: &Stat) -> bool {
    FileType::from_raw_mode(st.st_mode) == FileType::Symlink
}

pub(crate) fn is_dir(st: &Stat) -> bool {
    FileType::from_raw_mode(st.st_mode) == FileType::Directory
}

/// The absolute path `path` leads to in the container, every symlink followed inside the root; parts
/// that do not exist are kept as written (moby's `FollowSymlinkInScope`).
pub(crate) fn follow_in_scope(root: BorrowedFd<'_>, path: &str) -> io::Result<String> {
    let mut resolved: Vec<String> = Vec::new();
    let mut pending: VecDeque<String> = components(path).map(str::to_owned).collect();
    let mut links = 0;
    while let Some(part) = pending.pop_front() {
        if part == ".." {
            resolved.pop();
            continue;
        }
        let parent = format!("/{}", resolved.join("/"));
        let link = open_dir(root, &parent).ok().and_then(|dir| {
            let st = lstat_at(dir.as_fd(), &part).ok()?;
            is_symlink(&st).then_some(dir)
        });
        let Some(dir) = link else {
            resolved.push(part);
            continue;
        };
        links += 1;
        if links > MAX_LINKS {
            return Err(io::Error::other(format!(
                "too many links in {path}: more than {MAX_LINKS} symlinks"
            )));
        }
        let target = readlinkat(dir.as_fd(), part.as_str(), Vec::new())?;
        let target = target.to_string_lossy().into_owned();
        if target.starts_with('/') {
            resolved.clear();
        }
        for t in components(&target).rev() {
            pending.push_front(t.to_owned());
        }
    }
    Ok(format!("/{}", resolved.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_and_names_stay_inside_the_root() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        let root = tmp.path().join("root");
        std::fs::create_dir_all(outside.join("secret")).unwrap();
        std::fs::create_dir_all(root.join("d/sub")).unwrap();
        std::fs::write(root.join("d/f"), "in").unwrap();
        std::os::unix::fs::symlink("/", root.join("rootlink")).unwrap();
        std::os::unix::fs::symlink("../../..", root.join("d/up")).unwrap();
        std::os::unix::fs::symlink("/d", root.join("dl")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("abs")).unwrap();
        std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
        let fd = std::fs::File::open(&root).unwrap();
        let r = fd.as_fd();

        assert_eq!(follow_in_scope(r, "/dl/f").unwrap(), "/d/f");
        assert_eq!(follow_in_scope(r, "/d/up/d/sub/..").unwrap(), "/d");
        assert_eq!(
            follow_in_scope(r, "/rootlink/missing/x").unwrap(),
            "/missing/x"
        );
        // An absolute link to a host path names that path inside the container.
        let abs = follow_in_scope(r, "/abs/secret").unwrap();
        assert_eq!(abs, format!("{}/secret", outside.display()));
        assert!(follow_in_scope(r, "/loop").is_err());

        // Opening through the escaping links lands inside the root.
        let d = open_dir(r, "/d/up/d").unwrap();
        assert!(lstat_at(d.as_fd(), "f").is_ok());
        let top = open_dir(r, "/rootlink/..").unwrap();
        assert!(lstat_at(top.as_fd(), "dl").is_ok());
        assert!(
            open_dir(r, "/abs/secret").is_err(),
            "the host's directory is not reachable"
        );
    }
}
