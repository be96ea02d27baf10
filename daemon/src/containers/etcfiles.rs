//! The container's generated `/etc/hosts`, `/etc/resolv.conf` and `/etc/hostname`, as libnetwork writes
//! them, and the default hostname.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use wharf_client_core::models::{ContainerConfig, HostConfig};

use crate::containers::spec::NetworkMode;
use crate::error::Error;

/// Docker's fallback nameservers when the host has only local ones.
pub(crate) const DEFAULT_NAMESERVERS: [&str; 2] = ["8.8.8.8", "8.8.4.4"];

/// The hostname a container gets: its `Hostname`, else the host's with host networking, else the short
/// ID (as dockerd sets `Config.Hostname` at create time).
pub(crate) fn default_hostname(
    config: &ContainerConfig,
    id: &str,
    network: &NetworkMode,
    host_hostname: &str,
) -> String {
    match config.hostname.as_deref().filter(|h| !h.is_empty()) {
        Some(h) => h.to_string(),
        None if *network == NetworkMode::Host => host_hostname.to_string(),
        None => super::ids::short_id(id).to_string(),
    }
}

/// Parses `ExtraHosts` (`name:ip`); `host-gateway` is 400 until Wharf has a bridge gateway.
pub(crate) fn parse_extra_hosts(extra: &[String]) -> Result<Vec<(String, IpAddr)>, Error> {
    extra
        .iter()
        .map(|entry| {
            let (name, ip) = entry
                .split_once(':')
                .ok_or_else(|| Error::invalid(format!("bad format for add-host: \"{entry}\"")))?;
            if ip == "host-gateway" {
                return Err(Error::invalid(
                    "host-gateway is not supported yet: Wharf has no bridge network gateway",
                ));
            }
            let bare = ip.trim_start_matches('[').trim_end_matches(']');
            let addr: IpAddr = bare
                .parse()
                .map_err(|_| Error::invalid(format!("invalid IP address in add-host: \"{ip}\"")))?;
            if name.is_empty() {
                return Err(Error::invalid(format!(
                    "bad format for add-host: \"{entry}\""
                )));
            }
            Ok((name.to_string(), addr))
        })
        .collect()
}

const DEFAULT_HOSTS: &str = "127.0.0.1\tlocalhost\n\
::1\tlocalhost ip6-localhost ip6-loopback\n\
fe00::0\tip6-localnet\n\
ff00::0\tip6-mcastprefix\n\
ff02::1\tip6-allnodes\n\
ff02::2\tip6-allrouters\n";

/// `/etc/hosts`: libnetwork's default lines, the extra hosts, then the container's address and name when
/// it has one. With host networking, the host's file followed by the extra hosts.
pub(crate) fn hosts_file(
    hostname: &str,
    domainname: &str,
    address: Option<IpAddr>,
    extra: &[(String, IpAddr)],
    host_network_hosts: Option<&str>,
) -> String {
    let mut out = match host_network_hosts {
        Some(host) => {
            let mut s = host.to_string();
            if !s.is_empty() && !s.ends_with('\n') {
                s.push('\n');
            }
            s
        }
        None => DEFAULT_HOSTS.to_string(),
    };
    for (name, ip) in extra {
        out.push_str(&format!("{ip}\t{name}\n"));
    }
    if let (Some(ip), None) = (address, host_network_hosts) {
        if domainname.is_empty() {
            out.push_str(&format!("{ip}\t{hostname}\n"));
        } else {
            out.push_str(&format!("{ip}\t{hostname}.{domainname} {hostname}\n"));
        }
    }
    out
}

fn words<'a>(text: &'a str, key: &str) -> Vec<&'a str> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            (it.next() == Some(key)).then(|| it.collect::<Vec<_>>())
        })
        .flatten()
        .collect()
}

fn is_local_or_v6(ns: &str) -> bool {
    match ns.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(IpAddr::V6(_)) => true,
        Err(_) => false,
    }
}

/// `/etc/resolv.conf`.
///
/// With `Dns`, `DnsSearch` or `DnsOptions`, a new file from those, each unset part taken from the host's
/// (libnetwork's `resolvconf.Build`). Otherwise the host's file, copied as is with host networking, or
/// without its localhost and IPv6 nameservers (the container has neither) and with Docker's 8.8.8.8 and
/// 8.8.4.4 if none is left.
pub(crate) fn resolv_conf(host_resolv: &str, hc: &HostConfig, network: &NetworkMode) -> String {
    let dns = hc.dns.clone().unwrap_or_default();
    let search = hc.dns_search.clone().unwrap_or_default();
    let options = hc.dns_options.clone().unwrap_or_default();
    if !dns.is_empty() || !search.is_empty() || !options.is_empty() {
        let owned = |v: Vec<&str>| v.into_iter().map(str::to_string).collect::<Vec<_>>();
        let dns = if dns.is_empty() {
            owned(words(host_resolv, "nameserver"))
        } else {
            dns
        };
        let search = if search.is_empty() {
            owned(words(host_resolv, "search"))
        } else {
            search
        };
        let options = if options.is_empty() {
            owned(words(host_resolv, "options"))
        } else {
            options
        };
        let mut out = String::new();
        let joined = search.join(" ");
        if !search.is_empty() && joined.trim() != "." {
            out.push_str(&format!("search {joined}\n"));
        }
        for ns in dns {
            out.push_str(&format!("nameserver {ns}\n"));
        }
        let joined = options.join(" ");
        if !joined.trim().is_empty() {
            out.push_str(&format!("options {joined}\n"));
        }
        return out;
    }
    if *network == NetworkMode::Host {
        return host_resolv.to_string();
    }
    let mut out: String = host_resolv
        .lines()
        .filter(|l| {
            let mut it = l.split_whitespace();
            !(it.next() == Some("nameserver") && it.next().is_some_and(is_local_or_v6))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    if words(&out, "nameserver").is_empty() {
        for ns in DEFAULT_NAMESERVERS {
            out.push_str(&format!("nameserver {ns}\n"));
        }
    }
    out
}

/// `/etc/hostname`.
pub(crate) fn hostname_file(hostname: &str) -> String {
    format!("{hostname}\n")
}

/// Where the generated files live in a container's directory (dockerd's names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EtcPaths {
    /// `<dir>/hosts`.
    pub hosts: PathBuf,
    /// `<dir>/resolv.conf`.
    pub resolv_conf: PathBuf,
    /// `<dir>/hostname`.
    pub hostname: PathBuf,
}

impl EtcPaths {
    /// The paths in a container directory.
    pub(crate) fn in_dir(dir: &Path) -> Self {
        Self {
            hosts: dir.join("hosts"),
            resolv_conf: dir.join("resolv.conf"),
            hostname: dir.join("hostname"),
        }
    }

    /// Writes the three files (mode 0644), each replaced whole by a rename. Not synced to disk: they are
    /// written again at every start, so a crash can only lose what the next start rewrites.
    pub(crate) fn write(
        &self,
        hosts: &str,
        resolv_conf: &str,
        hostname: &str,
    ) -> std::io::Result<()> {
        for (path, text) in [
            (&self.hosts, hosts),
            (&self.resolv_conf, resolv_conf),
            (&self.hostname, hostname),
        ] {
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, text)?;
            std::fs::rename(&tmp, path)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_client_core::ErrorKind;

    #[test]
    fn hostname_defaults() {
        let id = "0123456789abcdef";
        let cfg = ContainerConfig::default();
        assert_eq!(
            default_hostname(&cfg, id, &NetworkMode::Bridge, "box"),
            "0123456789ab"
        );
        assert_eq!(default_hostname(&cfg, id, &NetworkMode::Host, "box"), "box");
        let cfg = ContainerConfig {
            hostname: Some("web".into()),
            ..Default::default()
        };
        assert_eq!(default_hostname(&cfg, id, &NetworkMode::Host, "box"), "web");
        assert_eq!(hostname_file("web"), "web\n");
    }

    #[test]
    fn hosts_has_defaults_extra_hosts_and_the_container() {
        let extra = parse_extra_hosts(&["db:10.0.0.5".into(), "v6:::1".into()]).unwrap();
        let text = hosts_file("web", "", Some("172.17.0.2".parse().unwrap()), &extra, None);
        assert!(
            text.starts_with("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
        );
        assert!(text.contains("ff02::2\tip6-allrouters\n"));
        assert!(text.contains("10.0.0.5\tdb\n"));
        assert!(text.contains("::1\tv6\n"));
        assert!(text.ends_with("172.17.0.2\tweb\n"));
        let text = hosts_file(
            "web",
            "example.com",
            Some("10.1.1.1".parse().unwrap()),
            &[],
            None,
        );
        assert!(text.ends_with("10.1.1.1\tweb.example.com web\n"));
        let text = hosts_file("web", "", None, &extra, Some("127.0.0.1 localhost host1"));
        assert_eq!(text, "127.0.0.1 localhost host1\n10.0.0.5\tdb\n::1\tv6\n");
    }

    #[test]
    fn extra_host_errors() {
        let e = parse_extra_hosts(&["gw:host-gateway".into()]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidParameter);
        assert!(e.message.contains("host-gateway is not supported yet"));
        assert_eq!(
            parse_extra_hosts(&["db:nope".into()]).unwrap_err().message,
            "invalid IP address in add-host: \"nope\""
        );
    }

    #[test]
    fn resolv_conf_drops_local_nameservers_and_falls_back() {
        let host = "# generated\nnameserver 127.0.0.53\nsearch lan\noptions edns0\n";
        let hc = HostConfig::default();
        assert_eq!(
            resolv_conf(host, &hc, &NetworkMode::Bridge),
            "# generated\nsearch lan\noptions edns0\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"
        );
        let host = "nameserver 10.0.0.1\nnameserver ::1\nnameserver 127.0.0.1\n";
        assert_eq!(
            resolv_conf(host, &hc, &NetworkMode::Bridge),
            "nameserver 10.0.0.1\n"
        );
        assert_eq!(resolv_conf(host, &hc, &NetworkMode::Host), host);
    }

    #[test]
    fn resolv_conf_from_dns_options_keeps_the_hosts_other_parts() {
        let host = "nameserver 10.0.0.1\nsearch lan\n";
        let hc = HostConfig {
            dns: Some(vec!["1.1.1.1".into()]),
            dns_options: Some(vec!["ndots:2".into()]),
            ..Default::default()
        };
        assert_eq!(
            resolv_conf(host, &hc, &NetworkMode::Bridge),
            "search lan\nnameserver 1.1.1.1\noptions ndots:2\n"
        );
    }
}
