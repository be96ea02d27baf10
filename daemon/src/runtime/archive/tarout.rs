//! A tar of a path in a container, written as it is read: the directory tree walked on descriptors
//! (each child opened relative to its parent's descriptor with `O_NOFOLLOW`, so a symlink swapped in
//! mid-walk is never followed), entries named as dockerd names them (the requested base name, then its
//! children below it), one regular file's bytes at a time through a bounded sink. A file that shrinks
//! while it is read is padded with zeros and one that grows is cut at the size in its header, so the
//! archive stays well-formed. Hard links within the tree become link entries; the contents of pseudo
//! file systems mounted inside (a running container's `/proc`, `/sys`) are left out, as dockerd's view
//! of a container has none.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{openat, AtFlags, Dir, FileType, Mode, OFlags, Stat, StatxFlags};
use tar::{EntryType, Header};

use super::resolve::{is_dir, lstat_at};

/// `f_type`s of the file systems whose contents are not archived.
const PSEUDO_FS: [i64; 10] = [
    0x9fa0,      // proc
    0x6265_6572, // sysfs
    0x1cd1,      // devpts
    0x6367_7270, // cgroup2
    0x0027_e0eb, // cgroup
    0x1980_0202, // mqueue
    0x7363_6673, // securityfs
    0x6462_6720, // debugfs
    0x7472_6163, // tracefs
    0xcafe_4a11, // bpf
];

/// Writes the tar of `base` in the directory `dir` (the directory itself when `base` is empty or `.`),
/// its entries named `name` and `name/...`, into `out`; returns `out`.
pub(crate) fn write_tar<W: Write>(
    out: W,
    dir: BorrowedFd<'_>,
    base: &str,
    name: &str,
) -> io::Result<W> {
    let mut t = TarWriter {
        b: tar::Builder::new(out),
        links: HashMap::new(),
        mount: None,
        layer: None,
    };
    let base = if base.is_empty() { "." } else { base };
    let st = lstat_at(dir, base)?;
    t.entry(dir, base, &st, name)?;
    if is_dir(&st) {
        let top = open_child_dir(dir, base)?;
        let prefix = name.trim_end_matches('/').to_owned();
        t.tree(top, prefix, st.st_dev)?;
    }
    t.b.into_inner()
}

/// A whole root file system as `docker export` writes it: entries relative (`bin/`, `bin/sh`), no entry
/// for the root itself, and only what is on the root's own mount (a running container's volumes,
/// binds, `/proc`... are left out; their mount points are kept, empty, as dockerd's init layer has them).
pub(crate) fn write_root_tar<W: Write>(out: W, root: BorrowedFd<'_>) -> io::Result<W> {
    let mount = mount_id(root, ".")?;
    let mut t = TarWriter {
        b: tar::Builder::new(out),
        links: HashMap::new(),
        mount: Some(mount),
        layer: None,
    };
    let st = lstat_at(root, ".")?;
    t.tree(open_child_dir(root, ".")?, String::new(), st.st_dev)?;
    t.b.into_inner()
}

/// A container's writable layer (an overlay upper directory) as an image layer: relative names, overlay
/// whiteouts (0:0 character devices) as `.wh.<name>` files, opaque directories marked with
/// `.wh..wh..opq`, and nothing `skip` refuses (the container path of each entry, e.g. `/proc`).
pub(crate) fn write_layer_tar<W: Write>(
    out: W,
    upper: BorrowedFd<'_>,
    skip: fn(&str) -> bool,
) -> io::Result<W> {
    let mut t = TarWriter {
        b: tar::Builder::new(out),
        links: HashMap::new(),
        mount: None,
        layer: Some(skip),
    };
    let st = lstat_at(upper, ".")?;
    t.tree(open_child_dir(upper, ".")?, String::new(), st.st_dev)?;
    t.b.into_inner()
}

/// Whether the directory `dir` is an opaque overlay directory (its lower layers' contents hidden).
fn is_opaque(dir: BorrowedFd<'_>) -> bool {
    let mut value = [0u8; 4];
    rustix::fs::fgetxattr(dir, "trusted.overlay.opaque", &mut value[..])
        .is_ok_and(|n| value.get(..n) == Some(b"y".as_slice()))
}

fn mount_id(dir: BorrowedFd<'_>, name: &str) -> io::Result<u64> {
    let flags = AtFlags::SYMLINK_NOFOLLOW;
    Ok(rustix::fs::statx(dir, name, flags, StatxFlags::MNT_ID)?.stx_mnt_id)
}

struct TarWriter<W: Write> {
    b: tar::Builder<W>,
    /// The first name of each multiply-linked file seen, by device and inode.
    links: HashMap<(u64, u64), String>,
    /// For an export: the root's mount, the only one whose contents are archived.
    mount: Option<u64>,
    /// For an image layer: what to leave out (whiteouts and opaque directories are translated).
    layer: Option<fn(&str) -> bool>,
}

/// One directory being walked: its descriptor, its entry name, its device, the names left.
struct Level {
    fd: OwnedFd,
    prefix: String,
    dev: u64,
    names: std::vec::IntoIter<String>,
}

fn open_child_dir(dir: BorrowedFd<'_>, name: &str) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    Ok(openat(dir, name, flags, Mode::empty())?)
}

/// The names in `dir`, sorted as Go's `filepath.Walk` visits them.
fn names_of(dir: BorrowedFd<'_>) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in Dir::read_from(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name != "." && name != ".." {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

fn is_pseudo(dir: BorrowedFd<'_>) -> bool {
    rustix::fs::fstatfs(dir).is_ok_and(|s| PSEUDO_FS.contains(&s.f_type))
}

impl<W: Write> TarWriter<W> {
    fn tree(&mut self, top: OwnedFd, prefix: String, dev: u64) -> io::Result<()> {
        let names = names_of(top.as_fd())?.into_iter();
        let mut stack = vec![Level {
            fd: top,
            prefix,
            dev,
            names,
        }];
        while let Some(level) = stack.last_mut() {
            let Some(name) = level.names.next() else {
                stack.pop();
                continue;
            };
            let fd = level.fd.as_fd();
            // A file removed since the listing is skipped, as dockerd's walk skips it.
            let Ok(st) = lstat_at(fd, &name) else {
                continue;
            };
            let relative = self.mount.is_some() || self.layer.is_some();
            let entry = match level.prefix.as_str() {
                "" if relative => name.clone(),
                prefix => format!("{prefix}/{name}"),
            };
            if let Some(skip) = self.layer {
                if skip(&format!("/{entry}")) {
                    continue;
                }
                if FileType::from_raw_mode(st.st_mode) == FileType::CharacterDevice
                    && st.st_rdev == 0
                {
                    let whiteout = match entry.rsplit_once('/') {
                        Some((dir, base)) => format!("{dir}/.wh.{base}"),
                        None => format!(".wh.{entry}"),
                    };
                    self.marker(&st, &whiteout)?;
                    continue;
                }
            }
            if let Some(root_mount) = self.mount {
                if mount_id(fd, &name).is_ok_and(|m| m != root_mount) {
                    self.mount_point(&st, &entry)?;
                    continue;
                }
            }
            self.entry(fd, &name, &st, &entry)?;
            if !is_dir(&st) {
                continue;
            }
            let Ok(child) = open_child_dir(fd, &name) else {
                continue;
            };
            if st.st_dev != level.dev && is_pseudo(child.as_fd()) {
                continue;
            }
            if self.layer.is_some() && is_opaque(child.as_fd()) {
                self.marker(&st, &format!("{entry}/.wh..wh..opq"))?;
            }
            let names = names_of(child.as_fd())?.into_iter();
            stack.push(Level {
                fd: child,
                prefix: entry,
                dev: st.st_dev,
                names,
            });
        }
        Ok(())
    }

    /// A whiteout or opaque marker: an empty file.
    fn marker(&mut self, st: &Stat, name: &str) -> io::Result<()> {
        let mut h = Header::new_gnu();
        h.set_mode(0o600);
        h.set_mtime(u64::try_from(st.st_mtime).unwrap_or(0));
        h.set_size(0);
        h.set_entry_type(EntryType::Regular);
        self.append(h, name, None, io::empty())
    }

    /// A mount point in an export: an empty directory or file with the mounted one's metadata.
    fn mount_point(&mut self, st: &Stat, entry: &str) -> io::Result<()> {
        let mut h = Header::new_gnu();
        h.set_mode(st.st_mode & 0o7777);
        h.set_uid(u64::from(st.st_uid));
        h.set_gid(u64::from(st.st_gid));
        h.set_mtime(u64::try_from(st.st_mtime).unwrap_or(0));
        h.set_size(0);
        if is_dir(st) {
            h.set_entry_type(EntryType::Directory);
            return self.append(h, &format!("{entry}/"), None, io::empty());
        }
        h.set_entry_type(EntryType::Regular);
        self.append(h, entry, None, io::empty())
    }

    /// Writes the entry for `name` in `dir`, whose `lstat` was `st`, as `entry`.
    fn entry(&mut self, dir: BorrowedFd<'_>, name: &str, st: &Stat, entry: &str) -> io::Result<()> {
        let mut h = Header::new_gnu();
        h.set_mode(st.st_mode & 0o7777);
        h.set_uid(u64::from(st.st_uid));
        h.set_gid(u64::from(st.st_gid));
        h.set_mtime(u64::try_from(st.st_mtime).unwrap_or(0));
        h.set_size(0);
        let kind = FileType::from_raw_mode(st.st_mode);
        if kind != FileType::Directory && st.st_nlink > 1 {
            if let Some(first) = self.links.get(&(st.st_dev, st.st_ino)) {
                let first = first.clone();
                h.set_entry_type(EntryType::Link);
                return self.append(h, entry, Some(&first), io::empty());
            }
            self.links.insert((st.st_dev, st.st_ino), entry.to_owned());
        }
        match kind {
            FileType::Directory => {
                h.set_entry_type(EntryType::Directory);
                let name = format!("{}/", entry.trim_end_matches('/'));
                self.append(h, &name, None, io::empty())
            }
            FileType::Symlink => {
                let target = rustix::fs::readlinkat(dir, name, Vec::new())?;
                h.set_entry_type(EntryType::Symlink);
                self.append(h, entry, Some(&target.to_string_lossy()), io::empty())
            }
            FileType::RegularFile => {
                let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY;
                let file = openat(dir, name, flags | OFlags::CLOEXEC, Mode::empty())?;
                let now = rustix::fs::fstat(&file)?;
                if FileType::from_raw_mode(now.st_mode) != FileType::RegularFile {
                    return Ok(()); // swapped for something else since the listing
                }
                let size = u64::try_from(now.st_size).unwrap_or(0);
                h.set_size(size);
                h.set_entry_type(EntryType::Regular);
                let data = File::from(file).take(size).chain(io::repeat(0)).take(size);
                self.append(h, entry, None, data)
            }
            FileType::CharacterDevice | FileType::BlockDevice | FileType::Fifo => {
                h.set_entry_type(match kind {
                    FileType::CharacterDevice => EntryType::Char,
                    FileType::BlockDevice => EntryType::Block,
                    _ => EntryType::Fifo,
                });
                h.set_device_major(rustix::fs::major(st.st_rdev))?;
                h.set_device_minor(rustix::fs::minor(st.st_rdev))?;
                self.append(h, entry, None, io::empty())
            }
            // Sockets and the unknown are not archived (Go's tar cannot either).
            _ => Ok(()),
        }
    }

    /// Appends `h` named `name` (and linking to `link`), with GNU long-name entries when a name does not
    /// fit: names are written as given, a leading `/` included (the root's entries are `/bin`...).
    fn append(
        &mut self,
        mut h: Header,
        name: &str,
        link: Option<&str>,
        data: impl Read,
    ) -> io::Result<()> {
        if let Some(link) = link {
            let field = &mut h.as_old_mut().linkname;
            if !fill(field, link.as_bytes()) {
                self.long(EntryType::GNULongLink, link)?;
            }
        }
        let field = &mut h.as_old_mut().name;
        if !fill(field, name.as_bytes()) {
            self.long(EntryType::GNULongName, name)?;
        }
        h.set_cksum();
        self.b.append(&h, data)
    }

    fn long(&mut self, kind: EntryType, value: &str) -> io::Result<()> {
        let mut h = Header::new_gnu();
        fill(&mut h.as_old_mut().name, b"././@LongLink");
        h.set_mode(0o644);
        h.set_entry_type(kind);
        let mut bytes = value.as_bytes().to_vec();
        bytes.push(0);
        h.set_size(bytes.len() as u64);
        h.set_cksum();
        self.b.append(&h, bytes.as_slice())
    }
}

/// Puts `value` into a header field, NUL-padded; false (and the field cut) when it does not fit.
fn fill(field: &mut [u8], value: &[u8]) -> bool {
    let n = value.len().min(field.len());
    field[..n].copy_from_slice(&value[..n]);
    field[n..].fill(0);
    value.len() <= field.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(tar: &[u8]) -> Vec<(String, EntryType, u64)> {
        let mut a = tar::Archive::new(tar);
        a.entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
                (name, e.header().entry_type(), e.size())
            })
            .collect()
    }

    #[test]
    fn entries_are_named_from_the_requested_name_and_links_are_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("d");
        std::fs::create_dir_all(d.join("sub")).unwrap();
        std::fs::write(d.join("sub/f"), "12345").unwrap();
        std::fs::hard_link(d.join("sub/f"), d.join("hard")).unwrap();
        std::os::unix::fs::symlink("/", d.join("esc")).unwrap();
        let long = "n".repeat(150);
        std::fs::write(d.join(&long), "").unwrap();
        let parent = File::open(tmp.path()).unwrap();

        let tar = write_tar(Vec::new(), parent.as_fd(), "d", "renamed").unwrap();
        let got = names(&tar);
        let expected = vec![
            ("renamed/".to_owned(), EntryType::Directory, 0),
            ("renamed/esc".to_owned(), EntryType::Symlink, 0),
            ("renamed/hard".to_owned(), EntryType::Regular, 5),
            (format!("renamed/{long}"), EntryType::Regular, 0),
            ("renamed/sub/".to_owned(), EntryType::Directory, 0),
            ("renamed/sub/f".to_owned(), EntryType::Link, 0),
        ];
        assert_eq!(got, expected);

        let file = write_tar(Vec::new(), parent.as_fd(), "d/sub/f", "f").unwrap();
        assert_eq!(names(&file), vec![("f".to_owned(), EntryType::Regular, 5)]);
        let link = write_tar(Vec::new(), parent.as_fd(), "d/esc", "esc").unwrap();
        assert_eq!(
            names(&link),
            vec![("esc".to_owned(), EntryType::Symlink, 0)]
        );
    }
}
