//! A directory's entries in a container, for the console's file browser (Wharf's
//! `GET /wharf/v1/containers/{id}/files`): Docker's API has no listing, and a `docker cp` of a directory is
//! its whole tree. Resolved as `docker cp` resolves a path (inside the container's root, never by a path
//! string on the host) and bounded: at most [`MAX_NAMES`] names are read, [`MAX_ENTRIES`] stated.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use rustix::fs::{Dir, OFlags};
use serde::Serialize;

use super::path::{container_path, PathStat};
use super::resolve::{follow_in_scope, is_symlink, lstat_at, open_in};

/// Names read from one directory at most (the rest is left out, `truncated`).
const MAX_NAMES: usize = 100_000;

/// Entries stated and answered at most, the first by name.
pub(crate) const MAX_ENTRIES: usize = 5_000;

/// A directory's entries, as client-core's `FileListing` reads them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Listing {
    /// The directory, every symlink on the way followed inside the container.
    pub path: String,
    /// By name; each as `HEAD /containers/{id}/archive` states a path.
    pub entries: Vec<PathStat>,
    pub truncated: bool,
}

/// Why a listing failed: the path is missing, is not a directory, or the system said no.
#[derive(Debug)]
pub(crate) enum ListError {
    NotFound,
    NotADirectory,
    Io(io::Error),
}

/// The entries of the directory `given` under `root`.
pub(crate) fn list(root: BorrowedFd<'_>, given: &str) -> Result<Listing, ListError> {
    let abs = container_path(given);
    let resolved = follow_in_scope(root, &abs).map_err(classify)?;
    let dir = match open_in(root, &resolved, OFlags::RDONLY | OFlags::DIRECTORY) {
        Ok(dir) => dir,
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::NOTDIR.raw_os_error()) => {
            // The path itself, or one of the directories on the way, is something else.
            return Err(match open_in(root, &resolved, OFlags::PATH) {
                Ok(_) => ListError::NotADirectory,
                Err(_) => ListError::NotFound,
            });
        }
        Err(e) => return Err(classify(e)),
    };
    let mut names = Vec::new();
    let mut truncated = false;
    let entries = Dir::read_from(dir.as_fd()).map_err(|e| ListError::Io(e.into()))?;
    for entry in entries {
        let entry = entry.map_err(|e| ListError::Io(e.into()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "." || name == ".." {
            continue;
        }
        if names.len() == MAX_NAMES {
            truncated = true;
            break;
        }
        names.push(name);
    }
    names.sort();
    if names.len() > MAX_ENTRIES {
        names.truncate(MAX_ENTRIES);
        truncated = true;
    }
    let mut stats = Vec::with_capacity(names.len());
    for name in names {
        // An entry removed since it was read is left out.
        let Ok(st) = lstat_at(dir.as_fd(), &name) else {
            continue;
        };
        let mut stat = PathStat::new(
            &name,
            st.st_mode,
            st.st_size,
            (st.st_mtime, i64::try_from(st.st_mtime_nsec).unwrap_or(0)),
        );
        if is_symlink(&st) {
            let full = format!("{}/{name}", resolved.trim_end_matches('/'));
            stat.link_target = follow_in_scope(root, &full).unwrap_or_default();
        }
        stats.push(stat);
    }
    Ok(Listing {
        path: resolved,
        entries: stats,
        truncated,
    })
}

fn classify(e: io::Error) -> ListError {
    let missing = [rustix::io::Errno::NOENT, rustix::io::Errno::NOTDIR]
        .iter()
        .any(|c| e.raw_os_error() == Some(c.raw_os_error()));
    if missing {
        ListError::NotFound
    } else {
        ListError::Io(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn root_of(dir: &std::path::Path) -> std::os::fd::OwnedFd {
        rustix::fs::open(
            dir,
            OFlags::PATH | OFlags::DIRECTORY,
            rustix::fs::Mode::empty(),
        )
        .unwrap()
    }

    #[test]
    fn entries_come_sorted_with_links_resolved_inside_the_root() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("etc/conf.d")).unwrap();
        std::fs::write(root.join("etc/hosts"), "127.0.0.1 localhost\n").unwrap();
        symlink("/", root.join("etc/escape")).unwrap();
        symlink("../../../../etc", root.join("etc/up")).unwrap();
        let fd = root_of(root);
        let listing = list(fd.as_fd(), "/etc").unwrap();
        let names: Vec<&str> = listing.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["conf.d", "escape", "hosts", "up"]);
        assert_eq!(listing.path, "/etc");
        assert!(!listing.truncated);
        let hosts = &listing.entries[2];
        assert_eq!(hosts.size, 20);
        assert_eq!(
            listing.entries[1].link_target, "/",
            "the container's root, not the host's"
        );
        assert_eq!(
            listing.entries[3].link_target, "/etc",
            "clamped at the root"
        );
    }

    #[test]
    fn a_symlinked_directory_is_listed_where_it_leads_inside_the_root() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("data")).unwrap();
        std::fs::write(root.join("data/x"), "").unwrap();
        // An absolute link: on the host it would be the host's /data.
        symlink("/data", root.join("link")).unwrap();
        let fd = root_of(root);
        let listing = list(fd.as_fd(), "/link").unwrap();
        assert_eq!(listing.path, "/data");
        assert_eq!(listing.entries.len(), 1);
        // The host's / is never what `/` lists.
        let top = list(fd.as_fd(), "/").unwrap();
        let names: Vec<&str> = top.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["data", "link"]);
    }

    #[test]
    fn a_file_is_not_a_directory_and_a_missing_path_is_not_found() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("file"), "x").unwrap();
        let fd = root_of(tmp.path());
        assert!(matches!(
            list(fd.as_fd(), "/file"),
            Err(ListError::NotADirectory)
        ));
        assert!(matches!(
            list(fd.as_fd(), "/nope"),
            Err(ListError::NotFound)
        ));
        assert!(matches!(
            list(fd.as_fd(), "/file/below"),
            Err(ListError::NotFound)
        ));
    }
}
