//! Reads a file of a container's root file system from its snapshot's mounts without mounting them: the
//! upper then the lower directories of an overlay, or a bind mount's source. Used for `/etc/passwd` and
//! `/etc/group` when a container's `User` is a name.

use std::os::unix::fs::FileTypeExt;
use std::path::PathBuf;

use containerd_client::types::Mount;

/// The largest file read this way.
const MAX_FILE: u64 = 4 * 1024 * 1024;

/// The layer directories of `mounts`, top first.
fn layer_dirs(mounts: &[Mount]) -> Vec<PathBuf> {
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

/// The text of `relative` (e.g. `etc/passwd`) in the rootfs `mounts` make, or empty when it is missing,
/// deleted in an upper layer, not a regular file, or too large.
pub fn read_text(mounts: &[Mount], relative: &str) -> String {
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
        let dir = crate::logs::temp_dir("rootfs-read");
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
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
