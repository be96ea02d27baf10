//! Default locations, as dockerd chooses them: system paths for root, XDG paths for a rootless daemon.

use std::path::PathBuf;

use wharf_client_core::host::DEFAULT_ROOT_SOCKET;

/// The defaults for whoever runs the daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Defaults {
    /// Persistent state.
    pub data_root: PathBuf,
    /// Run-time state (sockets, dumps).
    pub exec_root: PathBuf,
    /// The PID file.
    pub pidfile: PathBuf,
    /// The configuration file read when it exists.
    pub config_file: PathBuf,
    /// The listener when no `-H` and no `hosts` are given.
    pub host: String,
    /// Where `ca.pem`, `cert.pem` and `key.pem` are looked for: `$DOCKER_CERT_PATH` or `~/.docker`.
    pub cert_dir: PathBuf,
}

impl Defaults {
    /// The defaults for this process.
    pub fn detect() -> Self {
        let uid = nix::unistd::geteuid();
        Self::compute(uid.is_root(), uid.as_raw(), |k| std::env::var(k).ok())
    }

    /// The defaults for a root or rootless daemon with this environment.
    pub fn compute(root: bool, uid: u32, env: impl Fn(&str) -> Option<String>) -> Self {
        let env = |k: &str| env(k).filter(|v| !v.is_empty());
        let home = PathBuf::from(env("HOME").unwrap_or_else(|| "/".to_owned()));
        let cert_dir = env("DOCKER_CERT_PATH").map_or_else(|| home.join(".docker"), PathBuf::from);
        if root {
            return Self {
                data_root: "/var/lib/wharf".into(),
                exec_root: "/run/wharf".into(),
                pidfile: "/run/wharfd.pid".into(),
                config_file: "/etc/wharf/daemon.json".into(),
                host: format!("unix://{DEFAULT_ROOT_SOCKET}"),
                cert_dir,
            };
        }
        let runtime = env("XDG_RUNTIME_DIR")
            .map_or_else(|| PathBuf::from(format!("/run/user/{uid}")), PathBuf::from);
        let data = env("XDG_DATA_HOME").map_or_else(|| home.join(".local/share"), PathBuf::from);
        let config = env("XDG_CONFIG_HOME").map_or_else(|| home.join(".config"), PathBuf::from);
        let exec_root = runtime.join("wharf");
        Self {
            data_root: data.join("wharf"),
            pidfile: exec_root.join("wharfd.pid"),
            config_file: config.join("wharf/daemon.json"),
            host: format!("unix://{}", exec_root.join("wharf.sock").display()),
            exec_root,
            cert_dir,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_uses_system_paths() {
        let d = Defaults::compute(true, 0, |k| (k == "HOME").then(|| "/root".to_owned()));
        assert_eq!(d.data_root, PathBuf::from("/var/lib/wharf"));
        assert_eq!(d.exec_root, PathBuf::from("/run/wharf"));
        assert_eq!(d.pidfile, PathBuf::from("/run/wharfd.pid"));
        assert_eq!(d.host, "unix:///run/wharf/wharf.sock");
        assert_eq!(d.cert_dir, PathBuf::from("/root/.docker"));
    }

    #[test]
    fn rootless_uses_xdg_paths() {
        let env = |k: &str| match k {
            "HOME" => Some("/home/u".to_owned()),
            "XDG_RUNTIME_DIR" => Some("/run/user/1000".to_owned()),
            "DOCKER_CERT_PATH" => Some("/certs".to_owned()),
            _ => None,
        };
        let d = Defaults::compute(false, 1000, env);
        assert_eq!(d.data_root, PathBuf::from("/home/u/.local/share/wharf"));
        assert_eq!(d.exec_root, PathBuf::from("/run/user/1000/wharf"));
        assert_eq!(d.host, "unix:///run/user/1000/wharf/wharf.sock");
        assert_eq!(
            d.config_file,
            PathBuf::from("/home/u/.config/wharf/daemon.json")
        );
        assert_eq!(d.cert_dir, PathBuf::from("/certs"));
        let bare = Defaults::compute(false, 7, |k| (k == "HOME").then(|| "/h".to_owned()));
        assert_eq!(bare.exec_root, PathBuf::from("/run/user/7/wharf"));
    }
}
