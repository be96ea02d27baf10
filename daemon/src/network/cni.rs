//! The CNI plugins Debian ships (`/usr/lib/cni`), run as the CNI protocol says: one process per plugin
//! and command (`CNI_COMMAND`, `CNI_CONTAINERID`, `CNI_NETNS`, `CNI_IFNAME`, `CNI_PATH` in its
//! environment, its configuration on stdin, its result or error as JSON on stdout), each with a timeout.
//!
//! A bridge network is the chain `bridge` (veth, bridge, host-local addresses, masquerade), `portmap`
//! (kernel DNAT of the published ports, with SNAT so the host's loopback reaches them) and `firewall`
//! (the FORWARD rules that let the container's traffic through whatever the host's policy is). The chain's
//! configuration and the ADD's result are kept with the container, so the DEL undoes exactly what the ADD
//! did, also after a restart of wharfd.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use super::cidr::Cidr;
use super::ports::PortMapping;
use crate::error::Error;

/// Where Debian's `containernetworking-plugins` puts the plugins.
pub(crate) const CNI_PATH: &str = "/usr/lib/cni";

/// The CNI version of the configurations wharfd writes (the plugins of Debian 12 speak it).
const CNI_VERSION: &str = "1.0.0";

/// How long one plugin may take.
const PLUGIN_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest result a plugin may print.
const MAX_OUTPUT: usize = 1 << 20;

/// What a bridge network's chain is made of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BridgeConf<'a> {
    /// The CNI network name (names host-local's store and the plugins' iptables chains).
    pub name: &'a str,
    /// The Linux bridge.
    pub bridge: &'a str,
    pub subnet: Cidr,
    pub gateway: std::net::Ipv4Addr,
    /// The part of the subnet containers get addresses from (`--ip-range`), when narrower.
    pub ip_range: Option<Cidr>,
    /// host-local's `dataDir`.
    pub ipam_dir: &'a Path,
    /// No route out and no masquerade (`--internal`).
    pub internal: bool,
}

/// The chain's configuration (a CNI "conflist").
pub(crate) fn bridge_conflist(c: &BridgeConf<'_>) -> Value {
    let mut range = json!({
        "subnet": c.subnet.network().to_string(),
        "gateway": c.gateway.to_string(),
    });
    if let Some(r) = c.ip_range {
        range["rangeStart"] = json!(r.nth(1).to_string());
        let size = 1u32 << (32 - u32::from(r.prefix));
        range["rangeEnd"] = json!(r.nth(size.saturating_sub(2)).to_string());
    }
    let routes = if c.internal {
        json!([])
    } else {
        json!([{"dst": "0.0.0.0/0"}])
    };
    json!({
        "cniVersion": CNI_VERSION,
        "name": c.name,
        "plugins": [
            {
                "type": "bridge",
                "bridge": c.bridge,
                "isGateway": !c.internal,
                "ipMasq": !c.internal,
                "hairpinMode": true,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[range]],
                    "routes": routes,
                    "dataDir": c.ipam_dir.display().to_string(),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true},
            {"type": "firewall", "backend": "iptables"},
        ],
    })
}

/// The loopback plugin's configuration (brings `lo` up in a namespace wharfd made).
pub(crate) fn loopback_conflist() -> Value {
    json!({"cniVersion": CNI_VERSION, "name": "loopback", "plugins": [{"type": "loopback"}]})
}

/// portmap's `runtimeConfig`.
fn port_mappings(ports: &[PortMapping]) -> Value {
    Value::Array(
        ports
            .iter()
            .map(|p| {
                let mut m = json!({
                    "hostPort": p.host_port,
                    "containerPort": p.container_port,
                    "protocol": p.protocol,
                });
                if !p.host_ip.is_empty() && p.host_ip != "0.0.0.0" {
                    m["hostIP"] = json!(p.host_ip);
                }
                m
            })
            .collect(),
    )
}

/// One plugin's stdin: its entry of the chain with the chain's name and version, the runtime config of
/// the capabilities it declares, and the previous result.
pub(crate) fn plugin_conf(
    list: &Value,
    plugin: &Value,
    ports: &[PortMapping],
    prev: Option<&Value>,
) -> Value {
    let mut conf = plugin.clone();
    conf["name"] = list["name"].clone();
    conf["cniVersion"] = list["cniVersion"].clone();
    if plugin["capabilities"]["portMappings"] == json!(true) {
        conf["runtimeConfig"] = json!({"portMappings": port_mappings(ports)});
    }
    // A fixed address (`--ip`): host-local takes it from the runtime config's `ips`.
    if let (Some(ip), Some("bridge")) = (list["wharfStaticIP"].as_str(), plugin["type"].as_str()) {
        conf["runtimeConfig"] = json!({"ips": [ip]});
    }
    if let Some(prev) = prev {
        conf["prevResult"] = prev.clone();
    }
    conf
}

/// What a plugin is called for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Command {
    Add,
    Del,
}

/// The container a call is about.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Target<'a> {
    pub container_id: &'a str,
    /// The namespace file; empty on a DEL whose namespace is gone.
    pub netns: &'a str,
    pub ifname: &'a str,
}

async fn exec_plugin(command: Command, target: Target<'_>, conf: &Value) -> Result<Value, Error> {
    let typ = conf["type"].as_str().unwrap_or_default();
    if typ.is_empty() || typ.contains('/') {
        return Err(Error::system(format!("bad CNI plugin type {typ:?}")));
    }
    let cmd = match command {
        Command::Add => "ADD",
        Command::Del => "DEL",
    };
    let mut child = tokio::process::Command::new(Path::new(CNI_PATH).join(typ))
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("CNI_COMMAND", cmd)
        .env("CNI_CONTAINERID", target.container_id)
        .env("CNI_NETNS", target.netns)
        .env("CNI_IFNAME", target.ifname)
        .env("CNI_PATH", CNI_PATH)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Error::system(format!("cannot run the CNI plugin {typ}: {e}")))?;
    let input = serde_json::to_vec(conf).map_err(Error::system)?;
    let run = async {
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(&input).await?;
        }
        child.wait_with_output().await
    };
    let output = tokio::time::timeout(PLUGIN_TIMEOUT, run)
        .await
        .map_err(|_| {
            Error::system(format!(
                "the CNI plugin {typ} ({cmd}) did not finish within {PLUGIN_TIMEOUT:?}"
            ))
        })?
        .map_err(|e| Error::system(format!("the CNI plugin {typ}: {e}")))?;
    let stdout = &output.stdout[..output.stdout.len().min(MAX_OUTPUT)];
    if !output.status.success() {
        let parsed: Value = serde_json::from_slice(stdout).unwrap_or(Value::Null);
        let msg = parsed["msg"].as_str().map_or_else(
            || String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            |m| match parsed["details"].as_str() {
                Some(d) if !d.is_empty() => format!("{m}: {d}"),
                _ => m.to_owned(),
            },
        );
        return Err(Error::system(format!(
            "CNI plugin {typ} {cmd} failed: {msg}"
        )));
    }
    if stdout.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(stdout)
        .map_err(|e| Error::system(format!("the CNI plugin {typ} printed no result: {e}")))
}

/// Runs the chain's ADD, each plugin given the previous one's result; answers the last result. A
/// failure undoes what the chain did (its DEL) before answering the error.
pub(crate) async fn add(
    list: &Value,
    target: Target<'_>,
    ports: &[PortMapping],
) -> Result<Value, Error> {
    let mut prev: Option<Value> = None;
    for plugin in list["plugins"].as_array().into_iter().flatten() {
        let conf = plugin_conf(list, plugin, ports, prev.as_ref());
        match exec_plugin(Command::Add, target, &conf).await {
            Ok(result) => prev = Some(result),
            Err(e) => {
                let _ = del(list, target, ports, prev.as_ref()).await;
                return Err(e);
            }
        }
    }
    Ok(prev.unwrap_or(Value::Null))
}

/// Runs the chain's DEL in reverse order with the ADD's result; every plugin runs, the first error
/// is answered.
pub(crate) async fn del(
    list: &Value,
    target: Target<'_>,
    ports: &[PortMapping],
    result: Option<&Value>,
) -> Result<(), Error> {
    let mut first = None;
    let plugins: Vec<&Value> = list["plugins"].as_array().into_iter().flatten().collect();
    for plugin in plugins.into_iter().rev() {
        let conf = plugin_conf(list, plugin, ports, result.filter(|r| !r.is_null()));
        if let Err(e) = exec_plugin(Command::Del, target, &conf).await {
            first.get_or_insert(e);
        }
    }
    first.map_or(Ok(()), Err)
}

/// The container's address, prefix length, gateway and MAC in a bridge chain's result.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Addressing {
    pub ip: String,
    pub prefix_len: i64,
    pub gateway: String,
    pub mac: String,
}

/// Reads a CNI 1.0 result: the first IPv4 address and the interface it is on.
pub(crate) fn addressing(result: &Value) -> Addressing {
    let Some(ip) = result["ips"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|ip| ip["address"].as_str().is_some_and(|a| !a.contains(':')))
    else {
        return Addressing::default();
    };
    let cidr = ip["address"].as_str().and_then(Cidr::parse);
    let mac = ip["interface"]
        .as_u64()
        .and_then(|i| result["interfaces"].get(usize::try_from(i).ok()?))
        .and_then(|i| i["mac"].as_str())
        .unwrap_or_default();
    Addressing {
        ip: cidr.map(|c| c.addr.to_string()).unwrap_or_default(),
        prefix_len: cidr.map_or(0, |c| i64::from(c.prefix)),
        gateway: ip["gateway"].as_str().unwrap_or_default().to_owned(),
        mac: mac.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf() -> Value {
        bridge_conflist(&BridgeConf {
            name: "bridge",
            bridge: "wharf0",
            subnet: Cidr::parse("172.17.0.0/16").unwrap(),
            gateway: "172.17.0.1".parse().unwrap(),
            ip_range: None,
            ipam_dir: Path::new("/var/lib/wharf/network/ipam"),
            internal: false,
        })
    }

    #[test]
    fn the_bridge_chain_is_bridge_portmap_firewall() {
        let c = conf();
        let types: Vec<&str> = c["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["bridge", "portmap", "firewall"]);
        let bridge = &c["plugins"][0];
        assert_eq!(bridge["bridge"], "wharf0");
        assert_eq!(bridge["ipMasq"], true);
        assert_eq!(bridge["ipam"]["ranges"][0][0]["subnet"], "172.17.0.0/16");
        assert_eq!(bridge["ipam"]["ranges"][0][0]["gateway"], "172.17.0.1");
        assert_eq!(bridge["ipam"]["dataDir"], "/var/lib/wharf/network/ipam");
        assert_eq!(bridge["ipam"]["routes"][0]["dst"], "0.0.0.0/0");
    }

    #[test]
    fn internal_networks_have_no_route_out_and_ip_ranges_narrow_the_pool() {
        let c = bridge_conflist(&BridgeConf {
            name: "n",
            bridge: "br-1",
            subnet: Cidr::parse("10.5.0.0/16").unwrap(),
            gateway: "10.5.0.1".parse().unwrap(),
            ip_range: Cidr::parse("10.5.3.0/24"),
            ipam_dir: Path::new("/d"),
            internal: true,
        });
        let b = &c["plugins"][0];
        assert_eq!(b["ipMasq"], false);
        assert_eq!(b["isGateway"], false);
        assert_eq!(b["ipam"]["routes"], json!([]));
        assert_eq!(b["ipam"]["ranges"][0][0]["rangeStart"], "10.5.3.1");
        assert_eq!(b["ipam"]["ranges"][0][0]["rangeEnd"], "10.5.3.254");
    }

    #[test]
    fn plugins_get_the_chain_name_runtime_config_and_previous_result() {
        let c = conf();
        let ports = [PortMapping {
            host_ip: "0.0.0.0".into(),
            host_port: 8080,
            container_port: 80,
            protocol: "tcp".into(),
        }];
        let prev = json!({"cniVersion": "1.0.0", "ips": []});
        let pm = plugin_conf(&c, &c["plugins"][1], &ports, Some(&prev));
        assert_eq!(pm["name"], "bridge");
        assert_eq!(pm["cniVersion"], "1.0.0");
        assert_eq!(
            pm["runtimeConfig"]["portMappings"],
            json!([{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}])
        );
        assert_eq!(pm["prevResult"], prev);
        let br = plugin_conf(&c, &c["plugins"][0], &ports, None);
        assert!(br.get("runtimeConfig").is_none() && br.get("prevResult").is_none());
    }

    #[test]
    fn results_give_the_address_gateway_and_mac() {
        let result = json!({
            "cniVersion": "1.0.0",
            "interfaces": [
                {"name": "wharf0", "mac": "aa:aa:aa:aa:aa:aa"},
                {"name": "veth1", "mac": "bb:bb:bb:bb:bb:bb"},
                {"name": "eth0", "mac": "02:42:ac:11:00:02", "sandbox": "/run/wharf/netns/x"}
            ],
            "ips": [{"interface": 2, "address": "172.17.0.2/16", "gateway": "172.17.0.1"}]
        });
        assert_eq!(
            addressing(&result),
            Addressing {
                ip: "172.17.0.2".into(),
                prefix_len: 16,
                gateway: "172.17.0.1".into(),
                mac: "02:42:ac:11:00:02".into()
            }
        );
        assert_eq!(addressing(&Value::Null), Addressing::default());
    }
}
