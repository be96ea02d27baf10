//! The configuration file wharfd writes for the containerd it supervises: its own root, state and sockets
//! under wharfd's data and exec roots, the CRI plugin off and no debug or metrics listener, so that it never
//! collides with a system containerd.

use std::path::{Path, PathBuf};

/// Where a supervised containerd keeps everything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ContainerdPaths {
    /// Persistent state: `<data-root>/containerd`.
    pub root: PathBuf,
    /// Run-time state: `<exec-root>/containerd`.
    pub state: PathBuf,
    /// The gRPC socket wharfd talks to.
    pub grpc: PathBuf,
    /// The ttrpc socket the shims talk to.
    pub ttrpc: PathBuf,
    /// The configuration file.
    pub config: PathBuf,
}

/// Unix socket paths must fit `sun_path` (108 bytes with its NUL).
pub(crate) const MAX_SOCKET_PATH: usize = 107;

impl ContainerdPaths {
    /// The layout for a daemon with these roots.
    pub(crate) fn new(data_root: &Path, exec_root: &Path) -> Self {
        let state = state_dir(exec_root);
        Self {
            root: data_root.join("containerd"),
            grpc: state.join("containerd.sock"),
            ttrpc: state.join("containerd.sock.ttrpc"),
            config: state.join("containerd.toml"),
            state,
        }
    }

    /// The first socket path too long for a unix socket, if any.
    pub(crate) fn too_long_socket(&self) -> Option<&Path> {
        [&self.grpc, &self.ttrpc]
            .into_iter()
            .find(|p| p.as_os_str().len() > MAX_SOCKET_PATH)
            .map(PathBuf::as_path)
    }
}

/// The run-time state directory of the containerd a daemon with this exec root supervises.
fn state_dir(exec_root: &Path) -> PathBuf {
    exec_root.join("containerd")
}

/// Where the v2 runtime of the containerd a daemon with this exec root supervises keeps the task bundles
/// of `namespace` (a directory per task).
pub(crate) fn task_bundles(exec_root: &Path, namespace: &str) -> PathBuf {
    state_dir(exec_root)
        .join("io.containerd.runtime.v2.task")
        .join(namespace)
}

/// A TOML basic string: quoted, with backslashes, quotes and control characters escaped.
fn toml_string(p: &Path) -> String {
    let mut out = String::from("\"");
    for c in p.to_string_lossy().chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The containerd 1.6 (config version 2) file for `paths`.
pub(crate) fn render(paths: &ContainerdPaths) -> String {
    format!(
        r#"# Written by wharfd at every start; edits are overwritten.
version = 2
root = {root}
state = {state}
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = {grpc}

[ttrpc]
  address = {ttrpc}

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = {opt}
"#,
        root = toml_string(&paths.root),
        state = toml_string(&paths.state),
        grpc = toml_string(&paths.grpc),
        ttrpc = toml_string(&paths.ttrpc),
        opt = toml_string(&paths.root.join("opt")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_live_under_the_daemon_roots() {
        let p = ContainerdPaths::new(Path::new("/var/lib/wharf"), Path::new("/run/wharf"));
        assert_eq!(p.root, PathBuf::from("/var/lib/wharf/containerd"));
        assert_eq!(p.state, PathBuf::from("/run/wharf/containerd"));
        assert_eq!(
            p.grpc,
            PathBuf::from("/run/wharf/containerd/containerd.sock")
        );
        assert_eq!(
            p.ttrpc,
            PathBuf::from("/run/wharf/containerd/containerd.sock.ttrpc")
        );
        assert!(p.too_long_socket().is_none());
        let deep = ContainerdPaths::new(Path::new("/d"), &PathBuf::from("/x".repeat(60)));
        assert_eq!(deep.too_long_socket(), Some(deep.grpc.as_path()));
    }

    #[test]
    fn config_disables_cri_and_quotes_paths() {
        let p = ContainerdPaths::new(Path::new("/data \"q\""), Path::new("/exec"));
        let text = render(&p);
        assert!(
            text.contains(r#"root = "/data \"q\"/containerd""#),
            "{text}"
        );
        assert!(text.contains(r#"state = "/exec/containerd""#));
        assert!(text.contains(r#"disabled_plugins = ["io.containerd.grpc.v1.cri"]"#));
        assert!(text.contains("[grpc]\n  address = \"/exec/containerd/containerd.sock\""));
        assert!(text.contains("[debug]\n  address = \"\""));
        assert!(text.contains(r#"path = "/data \"q\"/containerd/opt""#));
    }
}
