//! Facts about the host that `/info` and `/version` report, read once at start-up and cached, so that
//! answering those routes spawns nothing and reads almost nothing.

use std::path::Path;

/// Host facts that do not change while the daemon runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HostFacts {
    /// `uname -r`.
    pub kernel_version: String,
    /// `uname -m` (`x86_64`), as `/info`'s `Architecture`.
    pub architecture: String,
    /// The host name.
    pub hostname: String,
    /// `PRETTY_NAME` from os-release.
    pub operating_system: String,
    /// `VERSION_ID` from os-release.
    pub os_version: String,
    /// CPUs this process may use.
    pub ncpu: i64,
    /// Total memory in bytes, from `/proc/meminfo`.
    pub mem_total: i64,
    /// `"1"` or `"2"`.
    pub cgroup_version: CgroupVersion,
    /// The cgroup controllers available (`cpu`, `memory`, `pids`, ...).
    pub cgroup_controllers: Vec<String>,
    /// Whether the kernel forwards IPv4 packets.
    pub ipv4_forwarding: bool,
    /// Whether bridged IPv4 traffic passes through iptables (`bridge-nf-call-iptables`).
    pub bridge_nf_iptables: bool,
    /// Whether bridged IPv6 traffic passes through ip6tables (`bridge-nf-call-ip6tables`).
    pub bridge_nf_ip6tables: bool,
    /// `HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY` as the daemon was started with.
    pub http_proxy: String,
    /// See `http_proxy`.
    pub https_proxy: String,
    /// See `http_proxy`.
    pub no_proxy: String,
}

/// Which cgroup hierarchy the host mounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CgroupVersion {
    /// Legacy or hybrid hierarchy.
    V1,
    /// Unified hierarchy.
    V2,
}

impl HostFacts {
    /// Reads the facts from the running system; anything unreadable becomes empty or zero.
    pub(crate) fn detect() -> Self {
        let (kernel_version, architecture) = match nix::sys::utsname::uname() {
            Ok(u) => (
                u.release().to_string_lossy().into_owned(),
                u.machine().to_string_lossy().into_owned(),
            ),
            Err(_) => (String::new(), std::env::consts::ARCH.to_owned()),
        };
        let hostname = nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default();
        let os_release = std::fs::read_to_string("/etc/os-release")
            .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
            .unwrap_or_default();
        let (operating_system, os_version) = parse_os_release(&os_release);
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let cgroup_version = if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
            CgroupVersion::V2
        } else {
            CgroupVersion::V1
        };
        let cgroup_controllers = match cgroup_version {
            CgroupVersion::V2 => std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers")
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            CgroupVersion::V1 => ["cpu", "cpuset", "memory", "pids"]
                .into_iter()
                .filter(|c| Path::new("/sys/fs/cgroup").join(c).exists())
                .map(str::to_owned)
                .collect(),
        };
        let ipv4_forwarding =
            std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").is_ok_and(|v| v.trim() == "1");
        let sysctl_on = |path: &str| std::fs::read_to_string(path).is_ok_and(|v| v.trim() == "1");
        let bridge_nf_iptables = sysctl_on("/proc/sys/net/bridge/bridge-nf-call-iptables");
        let bridge_nf_ip6tables = sysctl_on("/proc/sys/net/bridge/bridge-nf-call-ip6tables");
        let env = |upper: &str| {
            std::env::var(upper)
                .or_else(|_| std::env::var(upper.to_ascii_lowercase()))
                .unwrap_or_default()
        };
        Self {
            kernel_version,
            architecture,
            hostname,
            operating_system,
            os_version,
            ncpu: std::thread::available_parallelism()
                .map(|n| n.get() as i64)
                .unwrap_or(1),
            mem_total: parse_mem_total(&meminfo),
            cgroup_version,
            cgroup_controllers,
            ipv4_forwarding,
            bridge_nf_iptables,
            bridge_nf_ip6tables,
            http_proxy: env("HTTP_PROXY"),
            https_proxy: env("HTTPS_PROXY"),
            no_proxy: env("NO_PROXY"),
        }
    }
}

/// `PRETTY_NAME` and `VERSION_ID` from os-release text (values may be quoted).
pub(crate) fn parse_os_release(text: &str) -> (String, String) {
    let mut pretty = String::new();
    let mut version = String::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"').trim_matches('\'').to_owned();
        match key.trim() {
            "PRETTY_NAME" => pretty = value,
            "VERSION_ID" => version = value,
            _ => {}
        }
    }
    if pretty.is_empty() {
        pretty = "Linux".to_owned();
    }
    (pretty, version)
}

/// `MemTotal` from `/proc/meminfo` text, in bytes; 0 when absent.
pub(crate) fn parse_mem_total(text: &str) -> i64 {
    text.lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse::<i64>().ok())
        .map_or(0, |kib| kib.saturating_mul(1024))
}

/// Open file descriptors of this process, as `/info`'s `NFd`.
pub(crate) fn open_fds() -> i64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_values_are_unquoted() {
        let text = "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";
        assert_eq!(
            parse_os_release(text),
            ("Debian GNU/Linux 12 (bookworm)".into(), "12".into())
        );
        assert_eq!(parse_os_release(""), ("Linux".into(), String::new()));
    }

    #[test]
    fn mem_total_is_in_bytes() {
        assert_eq!(
            parse_mem_total("MemFree: 5 kB\nMemTotal:       24684096 kB\n"),
            24_684_096 * 1024
        );
        assert_eq!(parse_mem_total("garbage"), 0);
    }

    #[test]
    fn detect_finds_this_machine() {
        let facts = HostFacts::detect();
        assert!(facts.ncpu >= 1);
        assert!(!facts.architecture.is_empty());
        assert!(open_fds() > 0);
    }
}
