//! The pure rules of `docker cp`'s paths, as dockerd applies them: a path is absolute in the container
//! and cleaned, but a trailing `/` or `/.` is kept (it asks for a directory's contents, or to follow a
//! final symlink); the name an archive's entries start with is the base name of that path; and a file's
//! mode travels as Go's `os.FileMode` bits in the `X-Docker-Container-Path-Stat` header.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use serde::Serialize;

/// Go's `filepath.Clean` of an absolute path: no `.`, no `..` above the root, no double or trailing `/`.
pub(crate) fn clean_abs(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Go's `filepath.Base`: the last element, trailing slashes ignored; `/` for the root.
pub(crate) fn go_base(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return if path.is_empty() { "." } else { "/" };
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// The path the client gave as an absolute, cleaned path in the container, keeping a trailing `/` or
/// `/.` (moby's `PreserveTrailingDotOrSeparator`).
pub(crate) fn container_path(given: &str) -> String {
    let mut cleaned = clean_abs(given);
    if go_base(&cleaned) != "." && go_base(given) == "." {
        if !cleaned.ends_with('/') {
            cleaned.push('/');
        }
        cleaned.push('.');
    }
    if !cleaned.ends_with('/') && given.ends_with('/') {
        cleaned.push('/');
    }
    cleaned
}

/// Go's `filepath.Split`: everything up to and including the last `/`, and the rest (empty after a
/// trailing `/`).
pub(crate) fn split(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(i) => (&path[..=i], &path[i + 1..]),
        None => ("", path),
    }
}

/// The components of an absolute path, `.` and empty ones dropped (`..` kept for the resolver).
pub(crate) fn components(path: &str) -> impl DoubleEndedIterator<Item = &str> {
    path.split('/').filter(|c| !c.is_empty() && *c != ".")
}

/// The name of a tar entry cleaned and checked: relative, with no `..` that climbs out of where the
/// archive is extracted; `None` for the destination itself (`.`, `./`). dockerd refuses the others as a
/// breakout.
pub(crate) fn entry_path(name: &str) -> Result<Option<String>, String> {
    let mut parts: Vec<&str> = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!(
                        "invalid archive entry {name:?}: it climbs out of the destination"
                    ));
                }
            }
            c => parts.push(c),
        }
    }
    Ok((!parts.is_empty()).then(|| parts.join("/")))
}

// Go's os.FileMode type bits.
const GO_MODE_DIR: u32 = 1 << 31;
const GO_MODE_SYMLINK: u32 = 1 << 27;
const GO_MODE_DEVICE: u32 = 1 << 26;
const GO_MODE_NAMED_PIPE: u32 = 1 << 25;
const GO_MODE_SOCKET: u32 = 1 << 24;
const GO_MODE_SETUID: u32 = 1 << 23;
const GO_MODE_SETGID: u32 = 1 << 22;
const GO_MODE_CHAR_DEVICE: u32 = 1 << 21;
const GO_MODE_STICKY: u32 = 1 << 20;

/// Go's `os.FileMode` of a Unix `st_mode`, as `os.Lstat` makes it.
pub(crate) fn go_file_mode(st_mode: u32) -> u32 {
    let mut mode = st_mode & 0o777;
    mode |= match st_mode & libc_s::IFMT {
        libc_s::IFDIR => GO_MODE_DIR,
        libc_s::IFLNK => GO_MODE_SYMLINK,
        libc_s::IFBLK => GO_MODE_DEVICE,
        libc_s::IFCHR => GO_MODE_DEVICE | GO_MODE_CHAR_DEVICE,
        libc_s::IFIFO => GO_MODE_NAMED_PIPE,
        libc_s::IFSOCK => GO_MODE_SOCKET,
        _ => 0,
    };
    if st_mode & 0o4000 != 0 {
        mode |= GO_MODE_SETUID;
    }
    if st_mode & 0o2000 != 0 {
        mode |= GO_MODE_SETGID;
    }
    if st_mode & 0o1000 != 0 {
        mode |= GO_MODE_STICKY;
    }
    mode
}

/// The file type bits of `st_mode` (libc's names, without depending on its integer types).
mod libc_s {
    pub(super) const IFMT: u32 = 0o170_000;
    pub(super) const IFDIR: u32 = 0o040_000;
    pub(super) const IFLNK: u32 = 0o120_000;
    pub(super) const IFBLK: u32 = 0o060_000;
    pub(super) const IFCHR: u32 = 0o020_000;
    pub(super) const IFIFO: u32 = 0o010_000;
    pub(super) const IFSOCK: u32 = 0o140_000;
}

/// What `HEAD /containers/{id}/archive` tells of a path (moby's `types.ContainerPathStat`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct PathStat {
    pub name: String,
    pub size: i64,
    /// Go's `os.FileMode` bits.
    pub mode: u32,
    /// RFC 3339 with nanoseconds, as Go encodes a `time.Time`.
    pub mtime: String,
    /// For a symlink: the path it leads to in the container, every link followed.
    #[serde(rename = "linkTarget")]
    pub link_target: String,
}

impl PathStat {
    /// The stat of a file whose `lstat` gave `st_mode`, `size` and `mtime` (seconds, nanoseconds).
    pub(crate) fn new(name: &str, st_mode: u32, size: i64, mtime: (i64, i64)) -> Self {
        let secs = u64::try_from(mtime.0).unwrap_or(0);
        let nanos = u32::try_from(mtime.1).unwrap_or(0);
        let t = SystemTime::UNIX_EPOCH + Duration::new(secs, nanos);
        Self {
            name: name.to_owned(),
            size,
            mode: go_file_mode(st_mode),
            mtime: crate::timefmt::rfc3339_nano(t),
            link_target: String::new(),
        }
    }

    /// The value of the `X-Docker-Container-Path-Stat` header: the JSON in standard base64.
    pub(crate) fn header_value(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::STANDARD.encode(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_keep_a_trailing_slash_or_dot_as_dockerd_does() {
        assert_eq!(container_path("etc/hello"), "/etc/hello");
        assert_eq!(container_path("/etc//x/../hello"), "/etc/hello");
        assert_eq!(container_path("/dl/"), "/dl/");
        assert_eq!(container_path("/d/."), "/d/.");
        assert_eq!(container_path("/d/./"), "/d/./");
        assert_eq!(container_path("/"), "/");
        assert_eq!(container_path("."), "/.");
        assert_eq!(container_path("../../etc"), "/etc");
    }

    #[test]
    fn base_and_split_are_gos() {
        assert_eq!(go_base("/dl/"), "dl");
        assert_eq!(go_base("/d/."), ".");
        assert_eq!(go_base("/"), "/");
        assert_eq!(go_base(""), ".");
        assert_eq!(split("/a/b"), ("/a/", "b"));
        assert_eq!(split("/a/b/"), ("/a/b/", ""));
        assert_eq!(split("/"), ("/", ""));
    }

    #[test]
    fn entries_never_climb_out() {
        assert_eq!(entry_path("a/b/../c").unwrap().as_deref(), Some("a/c"));
        assert_eq!(entry_path("./").unwrap(), None);
        assert_eq!(entry_path("/abs/x").unwrap().as_deref(), Some("abs/x"));
        assert!(entry_path("../x").is_err());
        assert!(entry_path("a/../../x").is_err());
    }

    #[test]
    fn modes_are_gos_file_mode_bits() {
        // What dockerd answered for a 0644 file, a 0777 symlink and a 0755 directory.
        assert_eq!(go_file_mode(0o100_644), 420);
        assert_eq!(go_file_mode(0o120_777), 134_218_239);
        assert_eq!(go_file_mode(0o040_755), 2_147_484_141);
        assert_eq!(go_file_mode(0o020_666), (1 << 26) | (1 << 21) | 0o666);
        assert_eq!(go_file_mode(0o104_755), (1 << 23) | 0o755);
        assert_eq!(go_file_mode(0o041_777), (1 << 31) | (1 << 20) | 0o777);
    }

    #[test]
    fn the_stat_header_is_dockerds_json_in_base64() {
        let mut s = PathStat::new("hello", 0o100_644, 3, (1_796_575_342, 0));
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"name":"hello","size":3,"mode":420,"mtime":"2026-12-06T16:42:22Z","linkTarget":""}"#
        );
        assert_eq!(
            s.header_value(),
            "eyJuYW1lIjoiaGVsbG8iLCJzaXplIjozLCJtb2RlIjo0MjAsIm10aW1lIjoiMjAyNi0xMi0wNlQxNjo0MjoyMloiLCJsaW5rVGFyZ2V0IjoiIn0="
        );
        s.link_target = "/d".into();
        assert!(s.header_value().len() > 10);
    }
}
