//! The runtime's side of networking: a run's network before its task starts (the bridge's namespace and
//! CNI ADD, or another container's namespace), its release when the run ends or the container goes, and
//! the clean-up after a restart of wharfd. The record holds the attachment from before the ADD until
//! after the DEL, so a `kill -9` at any point leaves something the next wharfd can undo.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use wharf_client_core::models::EndpointSettings;
use wharf_client_core::ErrorKind;

use super::Runtime;
use crate::containers::ids::short_id;
use crate::containers::record::ContainerRecord;
use crate::containers::spec::{network_mode, NetworkMode};
use crate::error::Error;
use crate::network::defs::NetworkDef;
use crate::network::{ports, Found, DEFAULT_NETWORK};

/// The endpoint settings a create gave for `def` (by the name or ID the client used).
fn endpoint_for<'a>(
    config: &'a HashMap<String, EndpointSettings>,
    def: &NetworkDef,
) -> Option<&'a EndpointSettings> {
    config
        .iter()
        .find(|(k, _)| {
            **k == def.name || **k == def.id || (!k.is_empty() && def.id.starts_with(k.as_str()))
        })
        .map(|(_, v)| v)
}

fn static_ip(ep: Option<&EndpointSettings>) -> Option<&str> {
    ep.and_then(|e| e.ipam_config.as_ref())
        .and_then(|i| i.ipv4_address.as_deref())
        .filter(|a| !a.is_empty())
}

impl Runtime {
    /// Sets up the network of a run about to start: the namespace its spec joins (`None`: a new one
    /// runc makes, or the host's).
    pub(super) async fn attach_network(
        &self,
        record: &ContainerRecord,
    ) -> Result<Option<PathBuf>, Error> {
        let id = record.id.as_str();
        match network_mode(&record.host_config)? {
            NetworkMode::None | NetworkMode::Host => Ok(None),
            NetworkMode::Container(other) => {
                let other = self.store().get(&other)?;
                if !other.state.running {
                    return Err(Error::new(
                        ErrorKind::Conflict,
                        format!(
                            "cannot join network of a non running container: {}",
                            other.id
                        ),
                    ));
                }
                Ok(Some(match &other.network {
                    Some(a) => PathBuf::from(&a.netns),
                    None => PathBuf::from(format!("/proc/{}/ns/net", other.state.pid)),
                }))
            }
            NetworkMode::Bridge | NetworkMode::User(_) => {
                let def = match network_mode(&record.host_config)? {
                    NetworkMode::User(name) => match self.inner.networks.find(&name)? {
                        Found::User(def) => Some(def),
                        Found::Predefined(_) => None,
                    },
                    _ => None,
                };
                // What a run that ended unseen left is released first.
                self.detach_network(id).await;
                let hc = &record.host_config;
                let wanted = ports::wanted(
                    hc.port_bindings.as_ref(),
                    record.config.exposed_ports.as_ref(),
                    hc.publish_all_ports.unwrap_or(false),
                )?;
                let net = &self.inner.networks;
                let ep = def
                    .as_ref()
                    .and_then(|d| endpoint_for(&record.endpoints_config, d));
                let fixed = match static_ip(ep) {
                    Some(a) => Some(
                        a.parse::<Ipv4Addr>()
                            .map_err(|_| Error::invalid(format!("invalid IPv4 address: {a}")))?,
                    ),
                    None => None,
                };
                let prepared = net.prepare(id, &wanted, def.as_ref(), fixed).await;
                let mut att = prepared.map_err(|e| {
                    Error::new(
                        e.kind,
                        format!(
                            "driver failed programming external connectivity on endpoint {} ({}): {}",
                            record.name.trim_start_matches('/'),
                            id,
                            e.message
                        ),
                    )
                })?;
                if def.is_some() {
                    att.aliases = ep.and_then(|e| e.aliases.clone()).unwrap_or_default();
                    att.aliases.push(short_id(id).to_owned());
                }
                let pending = att.clone();
                if let Err(e) = self
                    .update(id, move |r| {
                        r.network = Some(pending);
                        Ok(())
                    })
                    .await
                {
                    net.release(id, &att).await;
                    return Err(e);
                }
                if let Err(e) = net.connect(id, &mut att).await {
                    self.detach_network(id).await;
                    return Err(e);
                }
                let path = PathBuf::from(&att.netns);
                let (net_id, net_name) = (att.network_id.clone(), att.network.clone());
                self.update(id, move |r| {
                    r.network = Some(att);
                    Ok(())
                })
                .await?;
                self.emit_endpoint(
                    "connect",
                    &net_id,
                    super::networks::event_name(&net_name),
                    id,
                );
                Ok(Some(path))
            }
        }
    }

    /// Releases the container's attachments, if it has any, and forgets them; the others on their
    /// networks stop seeing its name.
    pub(super) async fn detach_network(&self, id: &str) {
        let Ok(record) = self.store().get(id) else {
            return;
        };
        // Networks connected later first: the namespace goes with the first one.
        for extra in &record.extra_networks {
            let alive = crate::network::netns::is_mounted(std::path::Path::new(&extra.netns));
            self.inner
                .networks
                .release_interface(id, extra, alive)
                .await;
        }
        if let Some(att) = &record.network {
            self.inner.networks.release(id, att).await;
        }
        let _ = self
            .update(id, |r| {
                r.network = None;
                r.extra_networks.clear();
                Ok(())
            })
            .await;
        for att in record.attachments() {
            self.refresh_hosts(&att.network_id, None);
            if !att.result.is_null() {
                let name = super::networks::event_name(&att.network);
                self.emit_endpoint("disconnect", &att.network_id, name, id);
            }
        }
    }

    /// Checks a create's network: aliases and fixed addresses need a user network (dockerd's 400s).
    pub(super) fn check_network(
        &self,
        mode: &NetworkMode,
        endpoints: &HashMap<String, EndpointSettings>,
    ) -> Result<(), Error> {
        // As dockerd, a network that does not exist is the start's 404, not the create's.
        let user = match mode {
            NetworkMode::User(name) => {
                !matches!(self.inner.networks.find(name), Ok(Found::Predefined(_)))
            }
            _ => false,
        };
        if !user {
            for ep in endpoints.values() {
                if ep.aliases.as_ref().is_some_and(|a| !a.is_empty()) {
                    return Err(Error::invalid(
                        "network-scoped alias is supported only for containers in user defined networks",
                    ));
                }
                if static_ip(Some(ep)).is_some() {
                    return Err(Error::invalid(
                        "user specified IP address is supported on user defined networks only",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The `/etc/hosts` lines of the other running containers on `record`'s user network: how
    /// containers find each other by name and alias (dockerd answers these from its embedded DNS).
    pub(super) fn peer_hosts(&self, record: &ContainerRecord) -> String {
        let mine: Vec<&str> = record
            .attachments()
            .filter(|a| a.network != DEFAULT_NETWORK)
            .map(|a| a.network_id.as_str())
            .collect();
        let mut out = String::new();
        if mine.is_empty() {
            return out;
        }
        for peer in self.store().list() {
            if peer.id == record.id {
                continue;
            }
            for p in peer.attachments() {
                if !mine.contains(&p.network_id.as_str()) || p.ip_address.is_empty() {
                    continue;
                }
                let mut names = vec![peer.name.trim_start_matches('/').to_owned()];
                names.extend(p.aliases.iter().cloned());
                out.push_str(&format!("{}\t{}\n", p.ip_address, names.join(" ")));
            }
        }
        out
    }

    /// Rewrites, in place (the file is bind-mounted into each container), the hosts files of the
    /// containers on network `network_id`.
    /// `also`: a container that just left the network, whose file loses its peers there.
    pub(super) fn refresh_hosts(&self, network_id: &str, also: Option<&str>) {
        for r in self.store().list() {
            let concerned =
                r.attachments().any(|a| a.network_id == network_id) || Some(r.id.as_str()) == also;
            // A container on no user network has no peers: its file stays as its start wrote it.
            let on_user = r.attachments().any(|a| a.network != DEFAULT_NETWORK);
            if !concerned || !r.state.running || (!on_user && Some(r.id.as_str()) != also) {
                continue;
            }
            let Some(att) = r.network.as_ref() else {
                continue;
            };
            let base = std::fs::read_to_string(&r.hosts_path).unwrap_or_default();
            // Our part starts after the container's own line; everything before it stays.
            let own = format!("{}\t", att.ip_address);
            let mut kept: Vec<&str> = Vec::new();
            for line in base.lines() {
                kept.push(line);
                if line.starts_with(&own) {
                    break;
                }
            }
            let peers = self.peer_hosts(&r);
            let mut text = kept.join("\n");
            text.push('\n');
            // The legacy links' lines stay after the container's own, as the start wrote them.
            if let Ok((links, _)) = self.links(&r) {
                text.push_str(&links);
            }
            text.push_str(&peers);
            // Over the old text, then cut to length: a reader never finds the file empty.
            let written = std::fs::OpenOptions::new()
                .write(true)
                .open(&r.hosts_path)
                .and_then(|mut f| {
                    f.write_all(text.as_bytes())?;
                    f.set_len(text.len() as u64)
                });
            if let Err(e) = written {
                tracing::warn!(container = %r.id, "updating /etc/hosts: {e}");
            }
        }
    }

    /// After the records are reconciled at start-up: stopped containers' attachments are released,
    /// running ones (`--live-restore`) get their published ports held again, and namespace files no
    /// running container owns are removed.
    pub(super) async fn restore_networks(&self) {
        let mut keep = HashSet::new();
        for record in self.store().list() {
            let Some(att) = record.attachments().next() else {
                continue;
            };
            if record.state.running {
                self.inner.networks.keep_ports(&record.id, &att.ports);
                keep.insert(record.id.clone());
            } else {
                tracing::info!(container = %record.id, "releasing the network of a container that no longer runs");
                self.detach_network(&record.id).await;
            }
        }
        self.inner.networks.sweep(keep).await;
    }

    /// At shutdown, once the containers stopped: the bridge goes when no container is left on it.
    pub(super) async fn shutdown_networks(&self) {
        if self
            .store()
            .list()
            .iter()
            .all(|r| r.attachments().next().is_none())
        {
            self.inner.networks.remove_bridge().await;
        }
    }
}

/// One legacy link as kept in `HostConfig.Links`: `/<target>:/<me>/<alias>`.
fn parse_link(link: &str) -> Option<(&str, &str)> {
    let (target, me_alias) = link.split_once(':')?;
    let alias = me_alias.rsplit('/').next()?;
    Some((target.trim_start_matches('/'), alias))
}

/// The environment a legacy link gives (moby's `links.go`): `ALIAS_PORT`, `ALIAS_PORT_<n>_<PROTO>` and
/// its `_ADDR`, `_PORT`, `_PROTO`, `ALIAS_NAME`, and the target's own environment as `ALIAS_ENV_<k>`.
pub(super) fn link_env(
    alias: &str,
    name: &str,
    ip: &str,
    exposed: &[(u16, String)],
    target_env: &[String],
) -> Vec<String> {
    let prefix = alias.to_uppercase().replace('-', "_");
    let mut env = Vec::new();
    let mut ports = exposed.to_vec();
    ports.sort();
    if let Some((port, proto)) = ports.first() {
        env.push(format!("{prefix}_PORT={proto}://{ip}:{port}"));
    }
    for (port, proto) in &ports {
        let key = format!("{prefix}_PORT_{port}_{}", proto.to_uppercase());
        env.push(format!("{key}={proto}://{ip}:{port}"));
        env.push(format!("{key}_ADDR={ip}"));
        env.push(format!("{key}_PORT={port}"));
        env.push(format!("{key}_PROTO={proto}"));
    }
    env.push(format!("{prefix}_NAME={name}"));
    for kv in target_env {
        if let Some((k, v)) = kv.split_once('=') {
            if k != "HOME" && k != "PATH" {
                env.push(format!("{prefix}_ENV_{k}={v}"));
            }
        }
    }
    env
}

impl Runtime {
    /// Checks `--link`s at create: the default bridge only (dockerd's words for host networking), and
    /// targets that exist.
    pub(super) fn check_links(&self, mode: &NetworkMode, links: &[String]) -> Result<(), Error> {
        if links.is_empty() {
            return Ok(());
        }
        match mode {
            NetworkMode::Bridge => {}
            NetworkMode::Host => {
                return Err(Error::invalid(
                    "conflicting options: host type networking can't be used with links. This would result in undefined behavior",
                ))
            }
            _ => {
                return Err(Error::invalid(
                    "links are supported on the default bridge network only (on a user network, use its names and --network-alias)",
                ))
            }
        }
        for link in links {
            let target = link
                .split(':')
                .next()
                .unwrap_or_default()
                .trim_start_matches('/');
            // 400, not 404, as dockerd (moby#39823): a 404 makes the client pull the image.
            self.store().get(target).map_err(|e| {
                Error::invalid(format!(
                    "could not get container for {target}: {}",
                    e.message
                ))
            })?;
        }
        Ok(())
    }

    /// The `/etc/hosts` lines and environment of `record`'s legacy links (`--link target:alias`): each
    /// target must run on the default bridge.
    pub(super) fn links(&self, record: &ContainerRecord) -> Result<(String, Vec<String>), Error> {
        let mut hosts = String::new();
        let mut env = Vec::new();
        let me = record.name.as_str();
        for link in record.host_config.links.iter().flatten() {
            let Some((target, alias)) = parse_link(link) else {
                continue;
            };
            let other = self.store().get(target)?;
            if !other.state.running {
                return Err(Error::invalid(format!(
                    "Cannot link to a non running container: {} AS {me}/{alias}",
                    other.name
                )));
            }
            let Some(ip) = other
                .network
                .as_ref()
                .filter(|a| a.network == DEFAULT_NETWORK)
                .map(|a| a.ip_address.clone())
            else {
                return Err(Error::invalid(format!(
                    "Cannot link to {}, as it does not belong to the default network",
                    other.name
                )));
            };
            let name = other.name.trim_start_matches('/');
            hosts.push_str(&format!("{ip}\t{alias} {} {name}\n", short_id(&other.id)));
            let exposed: Vec<(u16, String)> = other
                .config
                .exposed_ports
                .iter()
                .flatten()
                .filter_map(|(k, _)| ports::split_port(k))
                .collect();
            env.extend(link_env(
                alias,
                &format!("{me}/{alias}"),
                &ip,
                &exposed,
                other.config.env.as_deref().unwrap_or(&[]),
            ));
        }
        Ok((hosts, env))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_give_dockerds_environment() {
        assert_eq!(parse_link("/db:/web/my-db"), Some(("db", "my-db")));
        let env = link_env(
            "my-db",
            "/web/my-db",
            "172.17.0.2",
            &[(5432, "tcp".into()), (53, "udp".into())],
            &["PATH=/bin".into(), "PGDATA=/data".into()],
        );
        assert_eq!(
            env,
            [
                "MY_DB_PORT=udp://172.17.0.2:53",
                "MY_DB_PORT_53_UDP=udp://172.17.0.2:53",
                "MY_DB_PORT_53_UDP_ADDR=172.17.0.2",
                "MY_DB_PORT_53_UDP_PORT=53",
                "MY_DB_PORT_53_UDP_PROTO=udp",
                "MY_DB_PORT_5432_TCP=tcp://172.17.0.2:5432",
                "MY_DB_PORT_5432_TCP_ADDR=172.17.0.2",
                "MY_DB_PORT_5432_TCP_PORT=5432",
                "MY_DB_PORT_5432_TCP_PROTO=tcp",
                "MY_DB_NAME=/web/my-db",
                "MY_DB_ENV_PGDATA=/data",
            ]
        );
    }
}
