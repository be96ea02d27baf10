//! A daemon's resident memory from `/proc`: its own process's `VmRSS`, and the sum over it and every
//! process descended from it — the containerd each daemon starts as its child. (Container shims leave
//! that tree: containerd starts them detached, so they re-parent to init.) Summing RSS counts pages
//! shared between the processes more than once; the sum is an upper bound, the own figure is exact.

use std::collections::HashMap;

use anyhow::{Context, Result};
use wharf_tests::process::rss_kib;

/// Resident memory of a process and of its tree.
#[derive(Debug, Clone)]
pub struct TreeRss {
    /// The process's own `VmRSS` in KiB.
    pub own_kib: u64,
    /// Its own plus every descendant's, in KiB.
    pub tree_kib: u64,
    /// The descendants' names (`comm`), in the order found.
    pub descendants: Vec<String>,
}

/// Samples `pid` and its descendants now.
pub fn tree_rss(pid: u32) -> Result<TreeRss> {
    let own_kib = rss_kib(pid)?;
    let children = children_by_parent()?;
    let mut sample = TreeRss {
        own_kib,
        tree_kib: own_kib,
        descendants: Vec::new(),
    };
    let mut parents = vec![pid];
    while let Some(parent) = parents.pop() {
        for (child, name) in children.get(&parent).into_iter().flatten() {
            parents.push(*child);
            // A process that exited since the scan (or a kernel thread) has no VmRSS to add.
            if let Ok(kib) = rss_kib(*child) {
                sample.tree_kib += kib;
                sample.descendants.push(name.clone());
            }
        }
    }
    Ok(sample)
}

/// Every process's children (pid and name), by parent pid.
fn children_by_parent() -> Result<HashMap<u32, Vec<(u32, String)>>> {
    let mut children: HashMap<u32, Vec<(u32, String)>> = HashMap::new();
    for entry in std::fs::read_dir("/proc").context("listing /proc")? {
        let Some(pid) = entry?
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        // Processes come and go while we read: one that is gone is not in the tree.
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        if let Some((name, parent)) = parse_stat(&stat) {
            children.entry(parent).or_default().push((pid, name));
        }
    }
    Ok(children)
}

/// `comm` and the parent pid from `/proc/<pid>/stat`: `pid (comm) state ppid ...`, where `comm` may
/// itself hold spaces and parentheses (so it ends at the last `)`).
fn parse_stat(stat: &str) -> Option<(String, u32)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_owned();
    let parent = stat
        .get(close + 1..)?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((comm, parent))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn parses_names_with_spaces_and_parentheses() {
        assert_eq!(
            parse_stat("123 (containerd) S 45 123 123 0 -1"),
            Some(("containerd".into(), 45))
        );
        assert_eq!(
            parse_stat("7 (a (b) c) R 1 7 7"),
            Some(("a (b) c".into(), 1))
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn a_child_counts_in_the_tree() {
        let mut child = Command::new("sleep").arg("10").spawn().unwrap();
        let sample = tree_rss(std::process::id()).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(
            sample.descendants.iter().any(|name| name == "sleep"),
            "{sample:?}"
        );
        assert!(sample.tree_kib > sample.own_kib, "{sample:?}");
    }
}
