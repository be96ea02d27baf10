//! The network settings: dockerd's `bridge` (`-b`), `bip` and `default-address-pools`, merged and
//! checked here so that `--validate` and start-up refuse the same values. Several wharfd on one host
//! (the tests start many) each need their own bridge and subnet: these are how they get them.

use serde::Deserialize;

use super::{both, show_list, FileConfig};
use crate::cli::DaemonFlags;
use crate::network::cidr::{self, Cidr};
use crate::network::valid_ifname;

/// One of daemon.json's `default-address-pools`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct AddressPool {
    /// The base subnet.
    pub base: String,
    /// The prefix length of each subnet cut from it.
    pub size: i64,
}

/// The network part of the daemon's configuration, checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkConfig {
    /// The default network's Linux bridge (`None`: wharfd's `wharf0`).
    pub bridge: Option<String>,
    /// The bridge's address and subnet (`172.17.0.1/16`).
    pub bip: Option<String>,
    /// The pools subnets come from, as `(base, size)`.
    pub pools: Vec<(String, u8)>,
}

/// A network setting that is not valid.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct NetworkConfigError(pub String);

/// The flags' and the file's network settings, conflicts recorded in `c`.
pub(super) fn merge(
    flags: &DaemonFlags,
    f: &FileConfig,
    c: &mut Vec<String>,
) -> Result<NetworkConfig, NetworkConfigError> {
    let bridge = both(c, "bridge", flags.bridge.clone(), f.bridge.clone(), |s| {
        s.clone()
    });
    let bip = both(c, "bip", flags.bip.clone(), f.bip.clone(), |s| s.clone());
    let flag_pools = flags
        .default_address_pools
        .iter()
        .map(|p| cidr::parse_pool_flag(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(NetworkConfigError)?;
    let file_pools = f
        .default_address_pools
        .iter()
        .flatten()
        .map(|p| cidr::pool(&p.base, p.size))
        .collect::<Result<Vec<_>, _>>()
        .map_err(NetworkConfigError)?;
    let pools = both(
        c,
        "default-address-pools",
        (!flag_pools.is_empty()).then_some(flag_pools),
        (!file_pools.is_empty()).then_some(file_pools),
        |v| show_list(&v.iter().map(|p| p.base.to_string()).collect::<Vec<_>>()),
    )
    .unwrap_or_default();
    if let Some(b) = bridge.as_deref() {
        if b == "none" {
            // dockerd's "no default bridge network": refused rather than a Linux bridge named `none`.
            return Err(NetworkConfigError(
                "bridge \"none\" (no default bridge network, as dockerd's --bridge=none) is not supported yet: leave it out for wharfd's own bridge, or name one".to_owned(),
            ));
        }
        if !valid_ifname(b) {
            return Err(NetworkConfigError(format!(
                "invalid bridge name {b:?}: at most 15 letters, digits, '-', '_' or '.'"
            )));
        }
    }
    if let Some(bip) = bip.as_deref() {
        let parsed = Cidr::parse(bip)
            .ok_or_else(|| NetworkConfigError(format!("invalid bip address: {bip}")))?;
        if parsed.addr == parsed.network().addr || parsed.prefix > 30 {
            return Err(NetworkConfigError(format!(
                "invalid bip address {bip}: give the bridge's own address with the subnet's prefix, such as 172.17.0.1/16"
            )));
        }
    }
    Ok(NetworkConfig {
        bridge,
        bip,
        pools: pools
            .into_iter()
            .map(|p| (p.base.to_string(), p.size))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merged(flags: &DaemonFlags, json: &str) -> Result<NetworkConfig, NetworkConfigError> {
        let file: FileConfig = serde_json::from_str(json).unwrap();
        merge(flags, &file, &mut Vec::new())
    }

    #[test]
    fn a_bridge_named_none_is_refused_not_made() {
        let none = DaemonFlags {
            bridge: Some("none".into()),
            ..DaemonFlags::default()
        };
        for (flags, json) in [
            (&none, "{}"),
            (&DaemonFlags::default(), r#"{"bridge":"none"}"#),
        ] {
            let e = merged(flags, json).unwrap_err().to_string();
            assert!(e.contains("is not supported yet"), "{e}");
        }
        let named = DaemonFlags {
            bridge: Some("br-test".into()),
            ..DaemonFlags::default()
        };
        assert_eq!(
            merged(&named, "{}").unwrap().bridge.as_deref(),
            Some("br-test")
        );
    }
}
