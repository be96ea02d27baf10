//! How wharfd reaches registries, from daemon.json and flags as dockerd's: the settings themselves are
//! read and checked in `crate::config::registry` (so `--validate` refuses what start-up would); this
//! module holds the rules drawn from them: which registries are insecure.

use std::net::IpAddr;

pub(crate) use crate::config::registry::Cidr;
pub(crate) use crate::config::RegistryConfig;
use std::time::Duration;

/// The blocks that are always insecure, whatever the configuration (as dockerd's 127.0.0.0/8; ::1/128
/// as later dockerds add).
pub(crate) const ALWAYS_INSECURE: &[&str] = &["127.0.0.0/8", "::1/128"];

/// Docker Hub's index name (`docker.io`), always secure.
pub(crate) const INDEX_NAME: &str = "docker.io";

/// How long a registry's name may take to resolve when deciding whether it is insecure.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Which registries are reached without verified TLS: listed `host[:port]` names, and hosts any of
/// whose addresses is inside a listed block, as dockerd's `isSecureIndex`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct InsecureRules {
    names: Vec<String>,
    cidrs: Vec<Cidr>,
}

impl InsecureRules {
    /// The rules of `config` (its CIDRs after the ones always in).
    pub(crate) fn new(config: &RegistryConfig) -> Self {
        let mut cidrs: Vec<Cidr> = ALWAYS_INSECURE
            .iter()
            .filter_map(|c| Cidr::parse(c))
            .collect();
        let mut names = Vec::new();
        for entry in &config.insecure {
            match Cidr::parse(entry) {
                Some(c) if !cidrs.contains(&c) => cidrs.push(c),
                Some(_) => {}
                None => names.push(entry.clone()),
            }
        }
        Self { names, cidrs }
    }

    /// The insecure blocks, as `/info` lists them.
    pub(crate) fn cidrs(&self) -> &[Cidr] {
        &self.cidrs
    }

    /// The insecure names, as `/info`'s `IndexConfigs` lists them.
    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    /// The decision once the host's addresses are known: Docker Hub is secure, a listed name is
    /// insecure, else insecure when any address is inside an insecure block.
    pub(crate) fn decide(&self, index: &str, addrs: &[IpAddr]) -> bool {
        if index == INDEX_NAME {
            return false;
        }
        if self.names.iter().any(|n| n == index) {
            return true;
        }
        addrs
            .iter()
            .any(|a| self.cidrs.iter().any(|c| c.contains(*a)))
    }

    /// Whether `index` (`host[:port]`) is insecure, resolving its host when it is a name (a name that
    /// does not resolve is secure, as with dockerd).
    pub(crate) async fn is_insecure(&self, index: &str) -> bool {
        if index == INDEX_NAME || self.names.iter().any(|n| n == index) {
            return index != INDEX_NAME;
        }
        let host = host_of(index);
        let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => {
                match tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((host, 0))).await
                {
                    Ok(Ok(found)) => found.map(|s| s.ip()).collect(),
                    _ => Vec::new(),
                }
            }
        };
        self.decide(index, &addrs)
    }
}

/// The host of `host[:port]` (brackets of an IPv6 literal removed).
pub(crate) fn host_of(index: &str) -> &str {
    let host = match index.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') && (!h.contains(':') || h.ends_with(']')) => h,
        _ => index,
    };
    host.trim_start_matches('[').trim_end_matches(']')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_listed_registries_are_insecure_others_not() {
        let rules = InsecureRules::new(&RegistryConfig {
            insecure: vec!["reg.example:5000".into(), "10.0.0.0/8".into()],
            ..RegistryConfig::default()
        });
        let ip = |s: &str| vec![s.parse::<IpAddr>().unwrap()];
        assert!(rules.decide("127.0.0.1:5000", &ip("127.0.0.1")));
        assert!(rules.decide("localhost:5000", &ip("::1")));
        assert!(rules.decide("reg.example:5000", &[]));
        assert!(!rules.decide("reg.example:5001", &ip("192.0.2.2")));
        assert!(rules.decide("10.2.3.4:443", &ip("10.2.3.4")));
        assert!(!rules.decide("192.0.2.2:5080", &ip("192.0.2.2")));
        assert!(!rules.decide("docker.io", &ip("127.0.0.1")));
        let listed: Vec<String> = rules.cidrs().iter().map(|c| c.to_string()).collect();
        assert_eq!(listed, ["127.0.0.0/8", "::1/128", "10.0.0.0/8"]);
        assert_eq!(rules.names(), ["reg.example:5000"]);
        assert_eq!(host_of("[::1]:5000"), "::1");
        assert_eq!(host_of("::1"), "::1");
        assert_eq!(host_of("reg:5000"), "reg");
        assert_eq!(host_of("reg"), "reg");
    }

    #[tokio::test]
    async fn addresses_are_checked_and_names_resolved() {
        let rules = InsecureRules::new(&RegistryConfig::default());
        assert!(rules.is_insecure("127.0.0.1:5000").await);
        assert!(rules.is_insecure("[::1]:5000").await);
        assert!(!rules.is_insecure("192.0.2.2:5000").await);
        assert!(!rules.is_insecure("docker.io").await);
        // A name is insecure when an address it resolves to is.
        assert!(rules.is_insecure("localhost:5000").await);
        assert!(!rules.is_insecure("no-such-host.invalid:5000").await);
    }
}
