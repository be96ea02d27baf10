//! Container networking on the CNI plugins Debian ships: the default `bridge` network (a Linux bridge,
//! addresses from host-local, masquerade out), published ports through portmap's kernel DNAT, and the
//! network namespace of each bridged container as a file wharfd owns.
//!
//! Why CNI: the plugins are a maintained, packaged data path (veths, bridge, IPAM, iptables) that other
//! runtimes use in production; wharfd only decides and records. Everything made on the host is either
//! named after the container (the namespace file `<exec-root>/netns/<id>`, the plugins' iptables chains
//! and host-local's leases carry its ID) or recorded with it (the chain's configuration and the ADD's
//! result), so that a wharfd restarted after a `kill -9` undoes what belonged to containers that no
//! longer run.

pub(crate) mod cidr;
pub(crate) mod cni;
pub(crate) mod defs;
pub(crate) mod isolation;
pub(crate) mod netns;
pub(crate) mod ports;

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::Error;
use cidr::{Cidr, Pool};
use defs::NetworkDef;
use ports::{PortMapping, Reservation, Wanted};
use wharf_client_core::ErrorKind;

/// The name of the default network, as dockerd's.
pub(crate) const DEFAULT_NETWORK: &str = "bridge";

/// The Linux bridge of the default network unless `--bridge` names another (dockerd's is `docker0`,
/// which a dockerd on the same host may own).
pub(crate) const DEFAULT_BRIDGE: &str = "wharf0";

/// The interface name inside the container.
const CONTAINER_IFNAME: &str = "eth0";

/// What the networks are built from.
#[derive(Clone, Debug)]
pub(crate) struct NetworkOptions {
    /// The default network's Linux bridge.
    pub bridge: String,
    /// Its subnet and gateway (`--bip`, or the first free subnet of the pools).
    pub subnet: Cidr,
    pub gateway: Ipv4Addr,
    /// Namespace files go in `<exec-root>/netns`.
    pub exec_root: PathBuf,
    /// host-local's leases go in `<data-root>/network/ipam`, user networks in
    /// `<data-root>/network/networks.json`.
    pub data_root: PathBuf,
    /// Where user networks' subnets come from (`default-address-pools`; dockerd's when empty).
    pub pools: Vec<Pool>,
}

/// A container's place on a network, kept in its record from before the CNI ADD until after the DEL.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct Attachment {
    /// The network's name (`bridge`).
    pub network: String,
    /// The network's ID.
    #[serde(rename = "NetworkID")]
    pub network_id: String,
    /// The namespace file.
    pub netns: String,
    /// The CNI chain's configuration, as the ADD ran it.
    pub config: Value,
    /// The ADD's result (`null` until it succeeded), handed to the DEL.
    pub result: Value,
    /// The published ports.
    pub ports: Vec<PortMapping>,
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    #[serde(rename = "IPPrefixLen")]
    pub ip_prefix_len: i64,
    pub gateway: String,
    pub mac_address: String,
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    /// The names it answers to on a user network besides its own (`--network-alias`, its short ID).
    pub aliases: Vec<String>,
    /// The interface in the container (empty: `eth0`; `eth1`... for networks connected later).
    pub ifname: String,
}

impl Attachment {
    fn ifname(&self) -> &str {
        if self.ifname.is_empty() {
            CONTAINER_IFNAME
        } else {
            &self.ifname
        }
    }
}

/// The networks, cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Networks {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    options: NetworkOptions,
    /// The sockets holding each running container's published ports.
    reservations: Mutex<HashMap<String, Vec<Reservation>>>,
    /// The user-defined networks.
    defs: Mutex<Vec<NetworkDef>>,
    /// When the daemon started (the predefined networks' `Created`).
    started: u64,
}

/// A network a container names: a predefined one or a user-defined one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Found {
    Predefined(&'static str),
    User(NetworkDef),
}

/// A stable 64-hex-digit ID made of `parts`.
pub(crate) fn hex_id(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl Networks {
    pub(crate) fn new(options: NetworkOptions) -> Self {
        let defs = defs::load(&options.data_root.join("network").join("networks.json"));
        Self {
            inner: Arc::new(Inner {
                options,
                reservations: Mutex::default(),
                defs: Mutex::new(defs),
                started: crate::containers::record::now_nanos(),
            }),
        }
    }

    fn defs(&self) -> std::sync::MutexGuard<'_, Vec<NetworkDef>> {
        self.inner
            .defs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn defs_path(&self) -> PathBuf {
        self.inner
            .options
            .data_root
            .join("network")
            .join("networks.json")
    }

    /// The user-defined networks.
    pub(crate) fn user_networks(&self) -> Vec<NetworkDef> {
        self.defs().clone()
    }

    /// The predefined networks' JSON.
    pub(crate) fn predefined(&self) -> Vec<Value> {
        let o = &self.inner.options;
        defs::predefined(
            &self.bridge_id(),
            &o.bridge,
            o.subnet,
            o.gateway,
            self.inner.started,
        )
    }

    /// A network by full ID, name, or ID prefix (dockerd's order); 404 in dockerd's words.
    pub(crate) fn find(&self, key: &str) -> Result<Found, Error> {
        let not_found = || Error::new(ErrorKind::NotFound, format!("network {key} not found"));
        if key.is_empty() {
            return Err(not_found());
        }
        for (i, p) in defs::PREDEFINED.iter().enumerate() {
            let id = self.predefined()[i]["Id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if key == *p || key == id || id.starts_with(key) {
                return Ok(Found::Predefined(p));
            }
        }
        let defs = self.defs();
        let by = |f: &dyn Fn(&NetworkDef) -> bool| {
            defs.iter().filter(|d| f(d)).cloned().collect::<Vec<_>>()
        };
        for hits in [
            by(&|d| d.id == key),
            by(&|d| d.name == key),
            by(&|d| d.id.starts_with(key)),
        ] {
            match hits.len() {
                0 => continue,
                1 => return Ok(Found::User(hits.into_iter().next().ok_or_else(not_found)?)),
                _ => {
                    return Err(Error::invalid(format!(
                        "network {key} is ambiguous ({} matches found based on ID prefix)",
                        hits.len()
                    )))
                }
            }
        }
        Err(not_found())
    }

    /// `docker network create`: checks, picks a subnet (not the default bridge's, no host route's),
    /// keeps the definition.
    pub(crate) fn create(&self, req: defs::CreateNetwork) -> Result<NetworkDef, Error> {
        let o = &self.inner.options;
        let routes = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
        let mut used = cidr::host_routes(&routes, &o.bridge);
        used.push(o.subnet);
        let pools = if o.pools.is_empty() {
            cidr::default_pools()
        } else {
            o.pools.clone()
        };
        let id = crate::containers::ids::new_id()?;
        let mut defs = self.defs();
        // Routes through our own user bridges are ours, not the host's.
        let mine: Vec<Cidr> = defs.iter().filter_map(NetworkDef::subnet).collect();
        used.retain(|u| !mine.contains(u));
        let def = defs::define(
            req,
            &defs,
            &pools,
            &used,
            id,
            crate::containers::record::now_nanos(),
        )?;
        defs.push(def.clone());
        defs::save(&self.defs_path(), &defs).map_err(Error::system)?;
        Ok(def)
    }

    /// Forgets a user network (the caller checked that no container uses it) and deletes its bridge.
    pub(crate) async fn remove_network(&self, id: &str) -> Result<(), Error> {
        let bridge = {
            let mut defs = self.defs();
            let bridge = defs.iter().find(|d| d.id == id).map(|d| d.bridge.clone());
            defs.retain(|d| d.id != id);
            defs::save(&self.defs_path(), &defs).map_err(Error::system)?;
            bridge
        };
        if let Some(bridge) = bridge {
            delete_bridge(&bridge).await;
        }
        Ok(())
    }

    fn netns_dir(&self) -> PathBuf {
        self.inner.options.exec_root.join("netns")
    }

    /// The default network's ID (stable for a bridge and subnet).
    pub(crate) fn bridge_id(&self) -> String {
        let o = &self.inner.options;
        hex_id(&[DEFAULT_NETWORK, &o.bridge, &o.subnet.to_string()])
    }

    fn reservations(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Reservation>>> {
        self.inner
            .reservations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the host ports of `wanted` and makes the container's namespace: the attachment to record
    /// before [`Networks::connect`] runs the plugins.
    pub(crate) async fn prepare(
        &self,
        id: &str,
        wanted: &[Wanted],
        network: Option<&NetworkDef>,
        static_ip: Option<Ipv4Addr>,
    ) -> Result<Attachment, Error> {
        let (ports, held) = ports::reserve(wanted)?;
        let o = &self.inner.options;
        let path = self.netns_dir().join(id);
        let made = path.clone();
        tokio::task::spawn_blocking(move || {
            let _ = netns::remove(&made);
            netns::create(&made)
        })
        .await
        .map_err(Error::system)?
        .map_err(|e| Error::system(format!("cannot create the network namespace: {e}")))?;
        self.reservations().insert(id.to_owned(), held);
        let ipam_dir = o.data_root.join("network").join("ipam");
        let default_id = self.bridge_id();
        let (name, net_id, conf) = match network {
            None => (
                DEFAULT_NETWORK,
                default_id.as_str(),
                cni::BridgeConf {
                    name: DEFAULT_NETWORK,
                    bridge: &o.bridge,
                    subnet: o.subnet,
                    gateway: o.gateway,
                    ip_range: None,
                    ipam_dir: &ipam_dir,
                    internal: false,
                },
            ),
            Some(d) => (
                d.name.as_str(),
                d.id.as_str(),
                cni::BridgeConf {
                    // host-local keeps a store per CNI network name: the ID, since a name can be
                    // reused by a later network.
                    name: &d.id,
                    bridge: &d.bridge,
                    subnet: d
                        .subnet()
                        .ok_or_else(|| Error::system("a network without subnet"))?,
                    gateway: d
                        .gateway()
                        .ok_or_else(|| Error::system("a network without gateway"))?,
                    ip_range: Cidr::parse(&d.ip_range),
                    ipam_dir: &ipam_dir,
                    internal: d.internal,
                },
            ),
        };
        isolation::add(conf.bridge).await;
        let mut config = cni::bridge_conflist(&conf);
        if let Some(ip) = static_ip {
            config["wharfStaticIP"] = Value::String(format!("{ip}/{}", conf.subnet.prefix));
        }
        Ok(Attachment {
            network: name.to_owned(),
            network_id: net_id.to_owned(),
            netns: path.display().to_string(),
            config,
            result: Value::Null,
            ports,
            endpoint_id: hex_id(&["endpoint", id, &path.display().to_string()]),
            ..Attachment::default()
        })
    }

    /// Runs the plugins' ADD (loopback, then the bridge chain) and fills in the addresses.
    pub(crate) async fn connect(&self, id: &str, att: &mut Attachment) -> Result<(), Error> {
        if att.ifname.is_empty() {
            let lo = cni::Target {
                container_id: id,
                netns: &att.netns,
                ifname: "lo",
            };
            cni::add(&cni::loopback_conflist(), lo, &[]).await?;
        }
        let target = cni::Target {
            container_id: id,
            netns: &att.netns,
            ifname: att.ifname(),
        };
        let result = cni::add(&att.config, target, &att.ports).await?;
        quiet_ipv6(&result).await;
        let a = cni::addressing(&result);
        att.result = result;
        att.ip_address = a.ip;
        att.ip_prefix_len = a.prefix_len;
        att.gateway = a.gateway;
        att.mac_address = a.mac;
        Ok(())
    }

    /// Undoes an attachment: the chain's DEL (while the namespace still exists, so the plugins find
    /// the veth and its addresses), the namespace file, the port reservations. Errors are logged: what
    /// can be released is.
    pub(crate) async fn release(&self, id: &str, att: &Attachment) {
        let path = PathBuf::from(&att.netns);
        let alive = netns::is_mounted(&path);
        self.release_interface(id, att, alive).await;
        let removed = tokio::task::spawn_blocking(move || netns::remove(&path)).await;
        if let Ok(Err(e)) = removed {
            tracing::warn!(container = id, "removing its network namespace: {e}");
        }
        self.reservations().remove(id);
    }

    /// The chain's DEL for one interface of the container (the namespace stays).
    pub(crate) async fn release_interface(&self, id: &str, att: &Attachment, alive: bool) {
        let target = cni::Target {
            container_id: id,
            netns: if alive { &att.netns } else { "" },
            ifname: att.ifname(),
        };
        let result = (!att.result.is_null()).then_some(&att.result);
        if !att.config.is_null() {
            if let Err(e) = cni::del(&att.config, target, &att.ports, result).await {
                tracing::warn!(container = id, "releasing its network: {e}");
            }
        }
    }

    /// An attachment to one more network in a namespace that exists (`docker network connect`).
    pub(crate) async fn prepare_extra(
        &self,
        id: &str,
        netns: &str,
        def: &NetworkDef,
        static_ip: Option<Ipv4Addr>,
        ifname: String,
    ) -> Result<Attachment, Error> {
        let o = &self.inner.options;
        let ipam_dir = o.data_root.join("network").join("ipam");
        let conf = cni::BridgeConf {
            name: &def.id,
            bridge: &def.bridge,
            subnet: def
                .subnet()
                .ok_or_else(|| Error::system("a network without subnet"))?,
            gateway: def
                .gateway()
                .ok_or_else(|| Error::system("a network without gateway"))?,
            ip_range: Cidr::parse(&def.ip_range),
            ipam_dir: &ipam_dir,
            internal: def.internal,
        };
        isolation::add(conf.bridge).await;
        let mut config = cni::bridge_conflist(&conf);
        // Its routes must not take the default route from the first network's interface.
        config["plugins"][0]["isDefaultGateway"] = Value::Bool(false);
        config["plugins"][0]["ipam"]["routes"] = Value::Array(Vec::new());
        if let Some(ip) = static_ip {
            config["wharfStaticIP"] = Value::String(format!("{ip}/{}", conf.subnet.prefix));
        }
        Ok(Attachment {
            network: def.name.clone(),
            network_id: def.id.clone(),
            netns: netns.to_owned(),
            config,
            result: Value::Null,
            endpoint_id: hex_id(&["endpoint", id, &def.id]),
            ifname,
            ..Attachment::default()
        })
    }

    /// Takes back the ports of a container still running after a restart (`--live-restore`).
    pub(crate) fn keep_ports(&self, id: &str, ports: &[PortMapping]) {
        let wanted: Vec<Wanted> = ports
            .iter()
            .map(|p| Wanted {
                container_port: p.container_port,
                protocol: p.protocol.clone(),
                host_ip: p.host_ip.clone(),
                host_ports: Some((p.host_port, p.host_port)),
            })
            .collect();
        match ports::reserve(&wanted) {
            Ok((_, held)) => {
                self.reservations().insert(id.to_owned(), held);
            }
            Err(e) => tracing::warn!(container = id, "holding its published ports again: {e}"),
        }
    }

    /// Removes namespace files no container in `keep` owns (left by a wharfd that died).
    pub(crate) async fn sweep(&self, keep: HashSet<String>) {
        let dir = self.netns_dir();
        let swept = tokio::task::spawn_blocking(move || {
            for (id, path) in netns::list(&dir) {
                if !keep.contains(&id) {
                    tracing::warn!(container = %id, "removing a network namespace no container owns");
                    if let Err(e) = netns::remove(&path) {
                        tracing::warn!(container = %id, "{e}");
                    }
                }
            }
        })
        .await;
        if let Err(e) = swept {
            tracing::warn!("sweeping network namespaces: {e}");
        }
    }

    /// At shutdown with no container left on it: the default bridge goes too (dockerd keeps docker0; a
    /// wharfd that stopped leaves nothing of its own on the host).
    pub(crate) async fn remove_bridge(&self) {
        delete_bridge(&self.inner.options.bridge).await;
        for d in self.user_networks() {
            delete_bridge(&d.bridge).await;
        }
    }
}

/// Deletes a Linux bridge (nothing when it is not there).
async fn delete_bridge(bridge: &str) {
    isolation::remove(bridge).await;
    let out = tokio::process::Command::new("ip")
        .args(["link", "delete", bridge, "type", "bridge"])
        .stderr(std::process::Stdio::null())
        .status();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), out).await;
}

/// The default network's subnet: `--bip`'s (the gateway is its address), else the first subnet of the
/// pools no host route overlaps (routes through our own bridge excepted).
pub(crate) fn default_subnet(
    bip: Option<Cidr>,
    pools: &[Pool],
    bridge: &str,
) -> Result<(Cidr, Ipv4Addr), String> {
    if let Some(bip) = bip {
        if bip.addr == bip.network().addr {
            return Err(format!(
                "--bip {bip}: give the gateway's address, not the subnet's"
            ));
        }
        return Ok((bip.network(), bip.addr));
    }
    let routes = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    let used = cidr::host_routes(&routes, bridge);
    let defaults;
    let pools = if pools.is_empty() {
        defaults = cidr::default_pools();
        &defaults
    } else {
        pools
    };
    let subnet = cidr::pick_subnet(pools, &used)
        .ok_or("no free subnet in the default address pools for the bridge network")?;
    Ok((subnet, subnet.nth(1)))
}

/// Turns IPv6 off on the host's side of an attachment (the bridge and the container's host veth, the
/// interfaces of a CNI result without a `sandbox`): the networks are IPv4 only, and an interface with
/// IPv6 on gets link-local addresses whose changes (tentative, then duplicate address detection, router
/// solicitations) go on for seconds after each start. A browser on the same host takes every address
/// change for a network change and drops its connections, loopback ones included (Chromium's
/// `ERR_NETWORK_CHANGED`, the same trouble dockerd's users meet): the console would lose its requests.
async fn quiet_ipv6(result: &serde_json::Value) {
    let interfaces = result["interfaces"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for iface in interfaces {
        if iface
            .get("sandbox")
            .is_some_and(|s| !s.as_str().unwrap_or_default().is_empty())
        {
            continue;
        }
        let Some(name) = iface["name"].as_str() else {
            continue;
        };
        if !valid_ifname(name) {
            continue;
        }
        let knob = format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6");
        // Missing when the host has no IPv6: nothing to quiet.
        if let Err(e) = tokio::fs::write(&knob, b"1").await {
            tracing::debug!("{knob}: {e}");
        }
    }
}

/// Whether `name` can be a Linux interface's name (as the kernel's `dev_valid_name` allows, less what a
/// path or a command line would read otherwise): the bridge a user names, and the interfaces whose
/// `/proc/sys` settings wharfd writes.
pub(crate) fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 16
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}
