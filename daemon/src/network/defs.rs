//! User-defined bridge networks: their definitions (kept in `<data-root>/network/networks.json`), the
//! checks of `docker network create` with dockerd's wording, and their JSON as dockerd 20.10 shows it,
//! next to the predefined `bridge`, `host` and `none`.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use wharf_client_core::ErrorKind;

use super::cidr::{self, Cidr, Pool};
use crate::error::Error;

/// A user-defined network as kept.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct NetworkDef {
    pub id: String,
    pub name: String,
    /// When it was made (Unix nanoseconds).
    pub created: u64,
    /// Its Linux bridge (`br-<first 12 of the ID>`, as dockerd names them).
    pub bridge: String,
    pub subnet: String,
    pub gateway: String,
    /// `--ip-range`, when given.
    pub ip_range: String,
    pub internal: bool,
    pub attachable: bool,
    /// Whether inspect shows the gateway: dockerd leaves it out when a subnet was given without one.
    pub show_gateway: bool,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
}

impl NetworkDef {
    pub(crate) fn subnet(&self) -> Option<Cidr> {
        Cidr::parse(&self.subnet)
    }

    pub(crate) fn gateway(&self) -> Option<Ipv4Addr> {
        self.gateway.parse().ok()
    }

    /// The JSON of `GET /networks/{id}` (without `Containers`, which the caller fills).
    pub(crate) fn to_json(&self) -> Value {
        let mut config = json!({"Subnet": self.subnet});
        if self.show_gateway {
            config["Gateway"] = json!(self.gateway);
        }
        if !self.ip_range.is_empty() {
            config["IPRange"] = json!(self.ip_range);
        }
        json!({
            "Name": self.name,
            "Id": self.id,
            "Created": crate::timefmt::rfc3339_unix_nanos(self.created),
            "Scope": "local",
            "Driver": "bridge",
            "EnableIPv6": false,
            "IPAM": {"Driver": "default", "Options": {}, "Config": [config]},
            "Internal": self.internal,
            "Attachable": self.attachable,
            "Ingress": false,
            "ConfigFrom": {"Network": ""},
            "ConfigOnly": false,
            "Containers": {},
            "Options": self.options,
            "Labels": self.labels,
        })
    }
}

/// The predefined networks as dockerd lists them: `bridge` (its Linux bridge and subnet given), `host`,
/// `none`. `created` is the daemon's start.
pub(crate) fn predefined(
    id: &str,
    bridge: &str,
    subnet: Cidr,
    gateway: Ipv4Addr,
    created: u64,
) -> Vec<Value> {
    let common = |name: &str, id: String, driver: &str, config: Value, options: Value| {
        json!({
            "Name": name,
            "Id": id,
            "Created": crate::timefmt::rfc3339_unix_nanos(created),
            "Scope": "local",
            "Driver": driver,
            "EnableIPv6": false,
            "IPAM": {"Driver": "default", "Options": null, "Config": config},
            "Internal": false,
            "Attachable": false,
            "Ingress": false,
            "ConfigFrom": {"Network": ""},
            "ConfigOnly": false,
            "Containers": {},
            "Options": options,
            "Labels": {},
        })
    };
    vec![
        common(
            "bridge",
            id.to_owned(),
            "bridge",
            json!([{"Subnet": subnet.network().to_string(), "Gateway": gateway.to_string()}]),
            json!({
                "com.docker.network.bridge.default_bridge": "true",
                "com.docker.network.bridge.enable_icc": "true",
                "com.docker.network.bridge.enable_ip_masquerade": "true",
                "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
                "com.docker.network.bridge.name": bridge,
                "com.docker.network.driver.mtu": "1500",
            }),
        ),
        common(
            "host",
            super::hex_id(&["host", id]),
            "host",
            json!([]),
            json!({}),
        ),
        common(
            "none",
            super::hex_id(&["none", id]),
            "null",
            json!([]),
            json!({}),
        ),
    ]
}

/// The names a user network may not take.
pub(crate) const PREDEFINED: [&str; 3] = ["bridge", "host", "none"];

/// The body of `POST /networks/create`, as far as wharfd uses it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct CreateNetwork {
    pub name: String,
    pub driver: String,
    pub internal: bool,
    pub attachable: bool,
    #[serde(rename = "EnableIPv6")]
    pub enable_ipv6: bool,
    #[serde(rename = "IPAM")]
    pub ipam: Option<CreateIpam>,
    pub options: Option<BTreeMap<String, String>>,
    pub labels: Option<BTreeMap<String, String>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct CreateIpam {
    pub driver: String,
    pub config: Option<Vec<BTreeMap<String, String>>>,
}

/// Checks a create request against the networks there are and picks its subnet: the one given, else the
/// first of `pools` that overlaps none of `used`. Answers the definition to keep.
pub(crate) fn define(
    req: CreateNetwork,
    existing: &[NetworkDef],
    pools: &[Pool],
    used: &[Cidr],
    id: String,
    now: u64,
) -> Result<NetworkDef, Error> {
    let name = req.name.trim().to_owned();
    if name.is_empty() {
        return Err(Error::invalid("network name is required"));
    }
    if PREDEFINED.contains(&name.as_str()) {
        return Err(Error::new(
            ErrorKind::Forbidden,
            format!("{name} is a pre-defined network and cannot be created"),
        ));
    }
    if existing.iter().any(|n| n.name == name) {
        return Err(Error::new(
            ErrorKind::Conflict,
            format!("network with name {name} already exists"),
        ));
    }
    match req.driver.as_str() {
        "" | "bridge" => {}
        d => {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("plugin \"{d}\" not found"),
            ))
        }
    }
    if req.enable_ipv6 {
        return Err(Error::invalid("IPv6 networks are not supported yet"));
    }
    let configs = req.ipam.and_then(|i| i.config).unwrap_or_default();
    if configs.len() > 1 {
        return Err(Error::invalid(
            "only one IPv4 subnet per network is supported yet",
        ));
    }
    let config = configs.into_iter().next().unwrap_or_default();
    let given = |key: &str| config.get(key).filter(|v| !v.is_empty());
    let subnet = match given("Subnet") {
        Some(s) => {
            let c = Cidr::parse(s)
                .ok_or_else(|| Error::invalid(format!("invalid CIDR address: {s}")))?;
            if c.network() != c {
                return Err(Error::invalid(format!(
                    "invalid subnet {s} : it must be a network address"
                )));
            }
            let taken = existing
                .iter()
                .filter_map(NetworkDef::subnet)
                .chain(used.iter().copied());
            for other in taken {
                if other.overlaps(c) {
                    return Err(Error::new(
                        ErrorKind::Forbidden,
                        "Pool overlaps with other one on this address space",
                    ));
                }
            }
            c
        }
        None => {
            let mut taken: Vec<Cidr> = existing.iter().filter_map(NetworkDef::subnet).collect();
            taken.extend_from_slice(used);
            cidr::pick_subnet(pools, &taken).ok_or_else(|| {
                Error::system("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network")
            })?
        }
    };
    let gateway = match given("Gateway") {
        Some(g) => {
            let ip: Ipv4Addr = g
                .parse()
                .map_err(|_| Error::invalid(format!("invalid gateway address {g}")))?;
            if !subnet.contains(ip) {
                return Err(Error::invalid(format!(
                    "gateway {g} is not in subnet {subnet}"
                )));
            }
            ip
        }
        None => subnet.nth(1),
    };
    let ip_range = match given("IPRange") {
        Some(r) => {
            let c = Cidr::parse(r)
                .ok_or_else(|| Error::invalid(format!("invalid CIDR address: {r}")))?;
            if !subnet.contains(c.addr) || c.prefix < subnet.prefix {
                return Err(Error::invalid(format!(
                    "ip range {r} is not in subnet {subnet}"
                )));
            }
            c.network().to_string()
        }
        None => String::new(),
    };
    Ok(NetworkDef {
        bridge: format!("br-{}", &id[..12.min(id.len())]),
        id,
        name,
        created: now,
        subnet: subnet.to_string(),
        gateway: gateway.to_string(),
        ip_range,
        internal: req.internal,
        attachable: req.attachable,
        show_gateway: given("Gateway").is_some() || given("Subnet").is_none(),
        labels: req.labels.unwrap_or_default(),
        options: req.options.unwrap_or_default(),
    })
}

/// Reads the kept definitions (none when the file is missing or unreadable: logged).
pub(crate) fn load(path: &Path) -> Vec<NetworkDef> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!("cannot read {}: {e}", path.display());
            Vec::new()
        }),
        Err(_) => Vec::new(),
    }
}

/// Writes the definitions whole (a temporary file renamed over the old one).
pub(crate) fn save(path: &Path, defs: &[NetworkDef]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(defs)?)?;
    std::fs::rename(tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(name: &str, subnet: &str) -> CreateNetwork {
        let mut config = BTreeMap::new();
        if !subnet.is_empty() {
            config.insert("Subnet".to_owned(), subnet.to_owned());
        }
        CreateNetwork {
            name: name.into(),
            ipam: Some(CreateIpam {
                driver: String::new(),
                config: Some(vec![config]),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn networks_get_a_free_subnet_and_dockerds_refusals() {
        let pools = [cidr::pool("10.9.0.0/16", 24).unwrap()];
        let used = [Cidr::parse("10.9.0.0/24").unwrap()];
        let a = define(req("a", ""), &[], &pools, &used, "ab".repeat(32), 1).unwrap();
        assert_eq!(
            (a.subnet.as_str(), a.gateway.as_str()),
            ("10.9.1.0/24", "10.9.1.1")
        );
        assert_eq!(a.bridge, "br-abababababab");
        let b = define(
            req("b", ""),
            std::slice::from_ref(&a),
            &pools,
            &used,
            "cd".repeat(32),
            1,
        )
        .unwrap();
        assert_eq!(b.subnet, "10.9.2.0/24");
        let dup = define(
            req("a", ""),
            std::slice::from_ref(&a),
            &pools,
            &used,
            "ef".repeat(32),
            1,
        )
        .unwrap_err();
        assert_eq!(
            (dup.kind, dup.message.as_str()),
            (ErrorKind::Conflict, "network with name a already exists")
        );
        let pre = define(req("host", ""), &[], &pools, &used, "ef".repeat(32), 1).unwrap_err();
        assert_eq!(
            pre.message,
            "host is a pre-defined network and cannot be created"
        );
        let overlap = define(
            req("c", "10.9.1.0/25"),
            &[a],
            &pools,
            &used,
            "ef".repeat(32),
            1,
        )
        .unwrap_err();
        assert_eq!(
            overlap.message,
            "Pool overlaps with other one on this address space"
        );
        // As dockerd: a given subnet without a gateway shows no gateway (one is still used).
        let given = define(
            req("g", "10.8.0.0/24"),
            &[],
            &pools,
            &used,
            "12".repeat(32),
            1,
        )
        .unwrap();
        assert_eq!(given.gateway, "10.8.0.1");
        assert!(given.to_json()["IPAM"]["Config"][0]
            .get("Gateway")
            .is_none());
        let json = b.to_json();
        assert_eq!(json["IPAM"]["Config"][0]["Subnet"], "10.9.2.0/24");
        assert_eq!(json["IPAM"]["Config"][0]["Gateway"], "10.9.2.1");
        assert_eq!(json["Driver"], "bridge");
        assert_eq!(json["Scope"], "local");
    }
}
