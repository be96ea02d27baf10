//! Reads a container's root file system from its snapshot's mounts without mounting them: the upper then
//! the lower directories of an overlay, or a bind mount's source. Used for `/etc/passwd` and `/etc/group`
//! when a container's `User` is a name, for the size of what a container changed (`SizeRw`), and for the
//! directories inspect reports (`GraphDriver.Data`).

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use containerd_client::types::Mount;

/// The largest file read this way.
const MAX_FILE: u64 = 4 * 1024 * 1024;

/// The layer directories of `mounts`, top first.
pub(super) fn layer_dirs(mounts: &[Mount]) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for m in mounts {
        match m.r#type.as_str() {
            "overlay" => {
                let option = |name: &str| {
                    m.options
                        .iter()
                        .find_map(|o| o.strip_prefix(name).map(str::to_owned))
                };
                if let Some(upper) = option("upperdir=") {
                    dirs.push(PathBuf::from(upper));
                }
                if let Some(lower) = option("lowerdir=") {
                    dirs.extend(lower.split(':').map(PathBuf::from));
                }
            }
            _ => dirs.push(PathBuf::from(&m.source)),
        }
    }
    dirs
}

/// The value of option `name` (e.g. `upperdir=`) of an overlay among `mounts`.
fn overlay_option<'a>(mounts: &'a [Mount], name: &str) -> Option<&'a str> {
    mounts
        .iter()
        .filter(|m| m.r#type == "overlay")
        .flat_map(|m| &m.options)
        .find_map(|o| o.strip_prefix(name))
}

/// The writable (upper) directory of an overlay among `mounts`.
pub(super) fn upper_dir(mounts: &[Mount]) -> Option<PathBuf> {
    overlay_option(mounts, "upperdir=").map(PathBuf::from)
}

/// `GraphDriver.Data` of an overlay among `mounts`, as dockerd's overlay2 names its directories:
/// `LowerDir` (colon-separated, top first), `UpperDir` and `WorkDir`; empty for other snapshotters.
pub(super) fn overlay_data(mounts: &[Mount]) -> HashMap<String, String> {
    [
        ("lowerdir=", "LowerDir"),
        ("upperdir=", "UpperDir"),
        ("workdir=", "WorkDir"),
    ]
    .into_iter()
    .filter_map(|(name, key)| Some((key.to_owned(), overlay_option(mounts, name)?.to_owned())))
    .collect()
}

/// The bytes of what `dir` (a writable layer) holds, as dockerd's `ChangesSize` counts them: the
/// apparent sizes of everything but directories, a file with several hard links once. Unreadable parts
/// count nothing.
pub(super) fn changes_size(dir: &Path) -> u64 {
    let mut total = 0;
    let mut linked = HashSet::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.is_dir() {
                pending.push(entry.path());
            } else if meta.nlink() < 2 || linked.insert((meta.dev(), meta.ino())) {
                total += meta.len();
            }
        }
    }
    total
}

/// The text of `relative` (e.g. `etc/passwd`) in the rootfs `mounts` make, or empty when it is missing,
/// deleted in an upper layer, not a regular file, or too large.
pub(super) fn read_text(mounts: &[Mount], relative: &str) -> String {
    for dir in layer_dirs(mounts) {
        let path = dir.join(relative);
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        // An overlay whiteout (a 0:0 character device) hides the lower layers' file.
        if meta.file_type().is_char_device() || !meta.is_file() || meta.len() > MAX_FILE {
            return String::new();
        }
        return std::fs::read_to_string(&path).unwrap_or_default();
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_count_files_and_links_once_but_not_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::create_dir_all(dir.join("a/b")).unwrap();
        assert_eq!(changes_size(dir), 0, "directories alone are no change");
        std::fs::write(dir.join("a/b/file"), [0u8; 1000]).unwrap();
        std::fs::write(dir.join("top"), b"xyz").unwrap();
        std::fs::hard_link(dir.join("top"), dir.join("a/link")).unwrap();
        std::os::unix::fs::symlink("a/b/file", dir.join("sym")).unwrap();
        assert_eq!(changes_size(dir), 1000 + 3 + "a/b/file".len() as u64);
    }

    #[test]
    fn the_upper_dir_of_an_overlay() {
        let overlay = mount("overlay", "overlay", &["upperdir=/u", "lowerdir=/l"]);
        assert_eq!(upper_dir(&[overlay]), Some(PathBuf::from("/u")));
        assert_eq!(upper_dir(&[mount("bind", "/x", &["rbind"])]), None);
    }

    #[test]
    fn graph_driver_data_names_the_overlay_dirs() {
        let overlay = mount(
            "overlay",
            "overlay",
            &["index=off", "workdir=/w", "upperdir=/u", "lowerdir=/l2:/l1"],
        );
        let data = overlay_data(&[overlay]);
        assert_eq!(data["LowerDir"], "/l2:/l1");
        assert_eq!(data["UpperDir"], "/u");
        assert_eq!(data["WorkDir"], "/w");
        assert_eq!(data.len(), 3);
        assert!(overlay_data(&[mount("bind", "/x", &["rbind"])]).is_empty());
    }

    fn mount(typ: &str, source: &str, options: &[&str]) -> Mount {
        Mount {
            r#type: typ.into(),
            source: source.into(),
            options: options.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn the_top_layer_that_has_the_file_wins() {
        let tmp = crate::logs::temp_dir("rootfs-read");
        let dir = tmp.path();
        for (layer, text) in [("upper", None), ("l1", Some("one")), ("l2", Some("two"))] {
            std::fs::create_dir_all(dir.join(layer).join("etc")).unwrap();
            if let Some(t) = text {
                std::fs::write(dir.join(layer).join("etc/passwd"), t).unwrap();
            }
        }
        let p = |s: &str| dir.join(s).display().to_string();
        let overlay = mount(
            "overlay",
            "overlay",
            &[
                &format!("upperdir={}", p("upper")),
                &format!("lowerdir={}:{}", p("l1"), p("l2")),
                "workdir=/w",
            ],
        );
        assert_eq!(read_text(&[overlay], "etc/passwd"), "one");
        assert_eq!(
            read_text(&[mount("bind", &p("l2"), &["rbind"])], "etc/passwd"),
            "two"
        );
        assert_eq!(
            read_text(&[mount("bind", &p("upper"), &[])], "etc/group"),
            ""
        );
    }
}
