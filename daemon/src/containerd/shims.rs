//! The runc shims of one containerd namespace, as `/proc` shows them, and the task bundles of the
//! containerd wharfd supervises. A task create cut short by the death of containerd leaves a shim (with its
//! `runc init`) that containerd no longer lists, and that nothing ends, or a bundle containerd's own
//! clean-up gives up on (the next create of that container's task then fails with `file exists`): the
//! daemon finds them here at start-up and removes them.

use std::path::Path;

use nix::mount::{umount2, MntFlags};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// A shim process and the container it serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Shim {
    /// The shim's pid.
    pub(crate) pid: i32,
    /// The container ID (`-id`).
    pub(crate) id: String,
}

/// The container a shim serves, from its NUL-separated command line, when it is a shim of `namespace`
/// for the containerd at `address`.
fn shim_id(cmdline: &[u8], namespace: &str, address: &str) -> Option<String> {
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let program = Path::new(std::str::from_utf8(args.first()?).ok()?);
    if !program
        .file_name()?
        .to_str()?
        .starts_with("containerd-shim")
    {
        return None;
    }
    let after = |flag: &str| {
        let at = args.iter().position(|a| *a == flag.as_bytes())?;
        std::str::from_utf8(args.get(at + 1)?).ok()
    };
    (after("-namespace")? == namespace && after("-address")? == address)
        .then(|| after("-id").map(str::to_owned))
        .flatten()
}

/// The parent pid in a `/proc/<pid>/stat` line (after the command, which may hold spaces and parentheses).
fn parent_of(stat: &str) -> Option<i32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Every process's pid with the contents `file` (`cmdline`, `stat`) of its `/proc` directory.
fn processes(file: &str) -> Vec<(i32, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse().ok()?;
            let contents = std::fs::read(entry.path().join(file)).ok()?;
            Some((pid, contents))
        })
        .collect()
}

/// The shims serving `namespace` for the containerd at `address`.
pub(crate) fn shims(namespace: &str, address: &Path) -> Vec<Shim> {
    let Some(address) = address.to_str() else {
        return Vec::new();
    };
    processes("cmdline")
        .into_iter()
        .filter_map(|(pid, cmdline)| {
            shim_id(&cmdline, namespace, address).map(|id| Shim { pid, id })
        })
        .collect()
}

/// Kills `pid` and every process below it with SIGKILL: a shim, its `runc init` and the container's
/// processes. The tree is read first, so that nothing escapes by being re-parented.
pub(crate) fn kill_tree(pid: i32) {
    let parents: Vec<(i32, i32)> = processes("stat")
        .into_iter()
        .filter_map(|(p, stat)| Some((p, parent_of(&String::from_utf8_lossy(&stat))?)))
        .collect();
    let mut tree = vec![pid];
    let mut at = 0;
    while let Some(&parent) = tree.get(at) {
        tree.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        at += 1;
    }
    for p in tree {
        let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
    }
}

/// Removes a task bundle: its files and `work` link, its `rootfs` mount point once unmounted, then the
/// directory. It never recurses, so a root file system that stays mounted is left alone (an error).
pub(crate) fn remove_bundle(bundle: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(bundle)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            let _ = umount2(&path, MntFlags::MNT_DETACH);
            std::fs::remove_dir(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    std::fs::remove_dir(bundle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shims_are_known_by_namespace_and_address() {
        let cmdline = b"/usr/bin/containerd-shim-runc-v2\0-namespace\0wharf\0-id\0abc\0-address\0/run/w/containerd.sock\0";
        assert_eq!(
            shim_id(cmdline, "wharf", "/run/w/containerd.sock").as_deref(),
            Some("abc")
        );
        assert_eq!(shim_id(cmdline, "moby", "/run/w/containerd.sock"), None);
        assert_eq!(shim_id(cmdline, "wharf", "/run/containerd.sock"), None);
        assert_eq!(
            shim_id(
                b"/bin/sleep\0-namespace\0wharf\0-id\0abc\0-address\0/s\0",
                "wharf",
                "/s"
            ),
            None
        );
        assert_eq!(shim_id(b"", "wharf", "/s"), None);
    }

    #[test]
    fn parents_are_read_past_the_command() {
        assert_eq!(parent_of("42 (runc init) S 7 42 1 0"), Some(7));
        assert_eq!(parent_of("42 (a) b)) R 9 1"), Some(9));
        assert_eq!(parent_of("garbage"), None);
    }

    #[test]
    fn bundles_go_without_recursing() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let bundle = dir.join("b");
        std::fs::create_dir_all(bundle.join("rootfs")).unwrap();
        std::fs::write(bundle.join("config.json"), "{}").unwrap();
        std::os::unix::fs::symlink(dir, bundle.join("work")).unwrap();
        remove_bundle(&bundle).unwrap();
        assert!(!bundle.exists());
        assert!(dir.exists(), "the link's target stays");
        // A root file system with something in it (as a mounted one has) is not deleted.
        std::fs::create_dir_all(bundle.join("rootfs")).unwrap();
        std::fs::write(bundle.join("rootfs/precious"), "x").unwrap();
        assert!(remove_bundle(&bundle).is_err());
        assert!(bundle.join("rootfs/precious").exists());
    }

    #[test]
    fn this_process_is_no_shim() {
        assert!(shims("wharf", Path::new("/nonexistent.sock")).is_empty());
    }
}
