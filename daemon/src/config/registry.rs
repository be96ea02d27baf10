//! The registry settings (dockerd's `insecure-registries`, `registry-mirrors`,
//! `max-concurrent-downloads`, `max-concurrent-uploads`, and Wharf's `registry-certs-dir`), merged and
//! checked here with dockerd's rules and wording so that `--validate` and start-up refuse the same
//! values. The registry client reads the result (`crate::registry`).

use std::net::IpAddr;
use std::path::PathBuf;

use super::{both, show_list, FileConfig};
use crate::cli::DaemonFlags;

/// Where per-registry CAs and client certificates are read unless told otherwise, as dockerd.
pub const DEFAULT_CERTS_DIR: &str = "/etc/docker/certs.d";

/// The registry part of the daemon's configuration, checked and normalised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryConfig {
    /// `insecure-registries`: `host[:port]` names and CIDRs (CIDRs in their network form, a leading
    /// `http://` or `https://` dropped, as dockerd does); HTTPS without verification then plain HTTP are
    /// tried for these only. 127.0.0.0/8 and ::1/128 are always in (not listed here).
    pub insecure: Vec<String>,
    /// `registry-mirrors`: URLs (ending in `/`, as dockerd normalises them) tried before Docker Hub for
    /// its images.
    pub mirrors: Vec<String>,
    /// Where `<host:port>/*.crt`, `*.cert` and `*.key` are read (dockerd: `/etc/docker/certs.d`).
    pub certs_dir: PathBuf,
    /// `max-concurrent-downloads` (dockerd's default 3).
    pub max_concurrent_downloads: usize,
    /// `max-concurrent-uploads` (dockerd's default 5).
    pub max_concurrent_uploads: usize,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            insecure: Vec::new(),
            mirrors: Vec::new(),
            certs_dir: PathBuf::from(DEFAULT_CERTS_DIR),
            max_concurrent_downloads: 3,
            max_concurrent_uploads: 5,
        }
    }
}

/// A registry setting that is not valid, worded as dockerd words it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct RegistryConfigError(pub String);

/// The flags' and the file's registry settings, recording conflicts in `c` as the other settings do.
pub(super) fn merge(
    flags: &DaemonFlags,
    f: &FileConfig,
    c: &mut Vec<String>,
) -> Result<RegistryConfig, RegistryConfigError> {
    let list = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    let insecure = both(
        c,
        "insecure-registries",
        list(&flags.insecure_registries),
        f.insecure_registries.clone(),
        |v| show_list(v),
    )
    .unwrap_or_default();
    let mirrors = both(
        c,
        "registry-mirrors",
        list(&flags.registry_mirrors),
        f.registry_mirrors.clone(),
        |v| show_list(v),
    )
    .unwrap_or_default();
    let downloads = both(
        c,
        "max-concurrent-downloads",
        flags.max_concurrent_downloads,
        f.max_concurrent_downloads,
        |n| *n,
    );
    let uploads = both(
        c,
        "max-concurrent-uploads",
        flags.max_concurrent_uploads,
        f.max_concurrent_uploads,
        |n| *n,
    );
    let certs_dir = both(
        c,
        "registry-certs-dir",
        flags.registry_certs_dir.clone(),
        f.registry_certs_dir.clone(),
        |p| p.display().to_string(),
    );
    let defaults = RegistryConfig::default();
    let limit = |n: Option<i64>, what: &str, default: usize| match n {
        None => Ok(default),
        // dockerd refuses negative values; 0 would wait forever here, so it is refused too.
        Some(n) if n < 1 => Err(RegistryConfigError(format!(
            "invalid max concurrent {what}: {n}"
        ))),
        Some(n) => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
    };
    Ok(RegistryConfig {
        insecure: insecure
            .iter()
            .map(|r| validate_insecure(r))
            .collect::<Result<_, _>>()?,
        mirrors: mirrors
            .iter()
            .map(|m| validate_mirror(m))
            .collect::<Result<_, _>>()?,
        certs_dir: certs_dir.unwrap_or(defaults.certs_dir),
        max_concurrent_downloads: limit(downloads, "downloads", defaults.max_concurrent_downloads)?,
        max_concurrent_uploads: limit(uploads, "uploads", defaults.max_concurrent_uploads)?,
    })
}

/// A mirror as dockerd's `ValidateMirror`: an `http(s)` URL with nothing after the host, no user;
/// normalised to end in `/`.
pub fn validate_mirror(value: &str) -> Result<String, RegistryConfigError> {
    let bad = |text: String| Err(RegistryConfigError(text));
    let Ok(uri) = value.parse::<http::Uri>() else {
        return bad(format!("invalid mirror: {value:?} is not a valid URI"));
    };
    let scheme = uri.scheme_str().unwrap_or_default();
    if scheme != "http" && scheme != "https" {
        return bad(format!(
            "invalid mirror: unsupported scheme {scheme:?} in {value:?}"
        ));
    }
    if uri.path_and_query().is_some_and(|p| p.as_str() != "/") || value.contains('#') {
        return bad(format!(
            "invalid mirror: path, query, or fragment at end of the URI {value:?}"
        ));
    }
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return bad(format!(
            "invalid mirror: username/password not allowed in URI {value:?}"
        ));
    }
    Ok(format!("{}/", value.trim_end_matches('/')))
}

/// An insecure registry as dockerd's `loadInsecureRegistries` takes it: a scheme is dropped (dockerd
/// warns), any other `://` is refused; a CIDR (kept in its network form) or a `host[:port]`.
pub fn validate_insecure(value: &str) -> Result<String, RegistryConfigError> {
    let lower = value.to_ascii_lowercase();
    let bare = if lower.starts_with("http://") {
        &value[7..]
    } else if lower.starts_with("https://") {
        &value[8..]
    } else if value.contains("://") {
        return Err(RegistryConfigError(format!(
            "insecure registry {value} should not contain '://'"
        )));
    } else {
        value
    };
    if let Some(net) = Cidr::parse(bare) {
        return Ok(net.to_string());
    }
    if valid_host_port(bare) {
        Ok(bare.to_owned())
    } else {
        Err(RegistryConfigError(format!(
            "insecure registry {bare} is not valid: invalid host {bare:?}"
        )))
    }
}

/// `host[:port]` as dockerd's `validateHostPort`: a host without spaces or slashes, a numeric port.
fn valid_host_port(value: &str) -> bool {
    let (host, port) = match value.rsplit_once(':') {
        Some((h, _)) if !h.ends_with(']') && h.contains(':') => (value, None),
        Some((h, p)) => (h, Some(p)),
        None => (value, None),
    };
    let host_ok = !host.is_empty()
        && host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | '_' | ':'));
    host_ok && port.is_none_or(|p| p.parse::<u16>().is_ok())
}

/// An address block (`10.0.0.0/8`, `::1/128`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    /// The network address (host bits cleared).
    pub addr: IpAddr,
    /// The prefix length.
    pub bits: u8,
}

impl Cidr {
    /// Parses `addr/bits`, clearing host bits as Go's `net.ParseCIDR` does for the network.
    pub fn parse(text: &str) -> Option<Self> {
        let (addr, bits) = text.split_once('/')?;
        let addr: IpAddr = addr.parse().ok()?;
        let bits: u8 = bits.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if bits > max {
            return None;
        }
        Some(Self {
            addr: mask(addr, bits),
            bits,
        })
    }

    /// Whether `ip` is inside (an IPv4-mapped IPv6 address counts as its IPv4 one).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        ip.is_ipv4() == self.addr.is_ipv4() && mask(ip, self.bits) == self.addr
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.bits)
    }
}

fn mask(addr: IpAddr, bits: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            IpAddr::V4((u32::from(a) & m).into())
        }
        IpAddr::V6(a) => {
            let m = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            IpAddr::V6((u128::from(a) & m).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_are_checked_and_normalised_as_dockerd() {
        assert_eq!(
            validate_mirror("https://mirror.example:5000").unwrap(),
            "https://mirror.example:5000/"
        );
        assert_eq!(
            validate_mirror("http://m.example/").unwrap(),
            "http://m.example/"
        );
        assert_eq!(
            validate_mirror("ftp://m.example").unwrap_err().0,
            r#"invalid mirror: unsupported scheme "ftp" in "ftp://m.example""#
        );
        assert!(validate_mirror("https://m.example/v2")
            .unwrap_err()
            .0
            .contains("path, query, or fragment"));
        assert!(validate_mirror("https://u:p@m.example")
            .unwrap_err()
            .0
            .contains("username/password"));
    }

    #[test]
    fn insecure_registries_are_names_or_cidrs() {
        assert_eq!(validate_insecure("10.1.2.3/8").unwrap(), "10.0.0.0/8");
        assert_eq!(validate_insecure("http://reg:5000").unwrap(), "reg:5000");
        assert_eq!(validate_insecure("reg.example").unwrap(), "reg.example");
        assert_eq!(
            validate_insecure("ftp://reg").unwrap_err().0,
            "insecure registry ftp://reg should not contain '://'"
        );
        assert!(validate_insecure("reg:port").is_err());
        assert!(validate_insecure("a b").is_err());
        let net = Cidr::parse("192.168.0.0/16").unwrap();
        assert!(net.contains("192.168.4.5".parse().unwrap()));
        assert!(net.contains("::ffff:192.168.4.5".parse().unwrap()));
        assert!(!net.contains("192.169.0.1".parse().unwrap()));
        assert!(Cidr::parse("::1/128")
            .unwrap()
            .contains("::1".parse().unwrap()));
        assert!(Cidr::parse("1.2.3.4/33").is_none());
    }
}
