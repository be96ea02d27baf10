//! `docker network ...`: the user-defined networks seen with the containers on them (inspect's
//! `Containers`, the "active endpoints" refusal of `rm`), and their events, as dockerd 20.10 answers.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use wharf_client_core::query::Filters;
use wharf_client_core::ErrorKind;

use wharf_client_core::models::EndpointSettings;

use super::Runtime;
use crate::containers::ids::short_id;
use crate::containers::record::ContainerRecord;
use crate::error::Error;
use crate::events::{self, EventActor};
use crate::network::defs::{CreateNetwork, NetworkDef};
use crate::network::{Found, DEFAULT_NETWORK};

/// The filters `GET /networks` and `POST /networks/prune` take.
pub(crate) const NETWORK_FILTERS: &[&str] = &["name", "id", "driver", "label", "type", "until"];

fn labels_match(labels: &Value, wanted: &[String]) -> bool {
    wanted.iter().all(|l| match l.split_once('=') {
        Some((k, v)) => labels[k].as_str() == Some(v),
        None => labels.get(l).is_some(),
    })
}

/// Whether a network's JSON passes `filters` (`name` and `id` match parts, as dockerd's).
fn passes(n: &Value, filters: &Filters) -> bool {
    let s = |k: &str| n[k].as_str().unwrap_or_default().to_owned();
    let builtin = ["bridge", "host", "none"].contains(&s("Name").as_str())
        && n["Labels"].as_object().is_some_and(|l| l.is_empty())
        && n["Options"]
            .get("com.docker.network.bridge.default_bridge")
            .is_some()
        || s("Driver") == "host"
        || s("Driver") == "null";
    let any = |key: &str, f: &dyn Fn(&str) -> bool| {
        let v = filters.get(key);
        v.is_empty() || v.iter().any(|x| f(x))
    };
    any("name", &|x| s("Name").contains(x))
        && any("id", &|x| s("Id").starts_with(x))
        && any("driver", &|x| s("Driver") == x)
        && any("type", &|x| match x {
            "custom" => !builtin,
            "builtin" => builtin,
            _ => false,
        })
        && labels_match(&n["Labels"], filters.get("label"))
}

impl Runtime {
    fn network_event(&self, action: &str, id: &str, name: &str, extra: &[(&str, &str)]) {
        let mut attributes = BTreeMap::from([
            ("name".to_owned(), name.to_owned()),
            ("type".to_owned(), "bridge".to_owned()),
        ]);
        for (k, v) in extra {
            attributes.insert((*k).to_owned(), (*v).to_owned());
        }
        let actor = EventActor {
            id: id.to_owned(),
            attributes,
        };
        self.inner.events.log(events::kind::NETWORK, action, actor);
    }

    /// A container joined (`connect`) or left (`disconnect`) a network.
    pub(super) fn emit_endpoint(
        &self,
        action: &str,
        network_id: &str,
        network: &str,
        container: &str,
    ) {
        self.network_event(action, network_id, network, &[("container", container)]);
    }

    /// `POST /networks/create`.
    pub(crate) fn network_create(&self, req: CreateNetwork) -> Result<String, Error> {
        let def = self.inner.networks.create(req)?;
        self.network_event("create", &def.id, &def.name, &[]);
        Ok(def.id)
    }

    /// The containers with an endpoint on network `id` (records attached to it).
    fn on_network(&self, id: &str) -> Vec<ContainerRecord> {
        self.store()
            .list()
            .into_iter()
            .filter(|r| r.attachments().any(|a| a.network_id == id))
            .collect()
    }

    fn network_json(&self, found: &Found) -> Value {
        match found {
            Found::User(d) => d.to_json(),
            Found::Predefined(name) => self
                .inner
                .networks
                .predefined()
                .into_iter()
                .find(|n| n["Name"] == *name)
                .unwrap_or(Value::Null),
        }
    }

    /// `GET /networks/{id}`, with the containers on it.
    pub(crate) fn network_inspect(&self, key: &str) -> Result<Value, Error> {
        let found = self.inner.networks.find(key)?;
        let mut json = self.network_json(&found);
        let id = json["Id"].as_str().unwrap_or_default().to_owned();
        let mut containers = serde_json::Map::new();
        for r in self.on_network(&id) {
            if let Some(a) = r.attachments().find(|a| a.network_id == id) {
                containers.insert(
                    r.id.clone(),
                    json!({
                        "Name": r.name.trim_start_matches('/'),
                        "EndpointID": a.endpoint_id,
                        "MacAddress": a.mac_address,
                        "IPv4Address": format!("{}/{}", a.ip_address, a.ip_prefix_len),
                        "IPv6Address": "",
                    }),
                );
            }
        }
        json["Containers"] = Value::Object(containers);
        Ok(json)
    }

    /// `GET /networks`: the predefined networks, then the user-defined ones.
    pub(crate) fn network_list(&self, filters: &Filters) -> Vec<Value> {
        let mut all = self.inner.networks.predefined();
        all.extend(
            self.inner
                .networks
                .user_networks()
                .iter()
                .map(NetworkDef::to_json),
        );
        all.into_iter().filter(|n| passes(n, filters)).collect()
    }

    /// `DELETE /networks/{id}`: 403 for a predefined network or one with containers on it.
    pub(crate) async fn network_remove(&self, key: &str) -> Result<(), Error> {
        let def = match self.inner.networks.find(key)? {
            Found::Predefined(name) => {
                return Err(Error::new(
                    ErrorKind::Forbidden,
                    format!("{name} is a pre-defined network and cannot be removed"),
                ))
            }
            Found::User(def) => def,
        };
        let users = self.store().list().into_iter().any(|r| {
            r.attachments().any(|a| a.network_id == def.id)
                || (r.state.running && self.uses_network(&r, &def))
        });
        if users {
            return Err(Error::new(
                ErrorKind::Forbidden,
                format!(
                    "error while removing network: network {} id {} has active endpoints",
                    def.name, def.id
                ),
            ));
        }
        self.inner.networks.remove_network(&def.id).await?;
        self.network_event("destroy", &def.id, &def.name, &[]);
        Ok(())
    }

    fn uses_network(&self, r: &ContainerRecord, def: &NetworkDef) -> bool {
        let mode = r.host_config.network_mode.as_deref().unwrap_or_default();
        mode == def.name || (!mode.is_empty() && def.id.starts_with(mode))
    }

    /// `POST /networks/prune`: the user networks no container is on; their names.
    pub(crate) async fn network_prune(&self, filters: &Filters) -> Result<Vec<String>, Error> {
        let mut deleted = Vec::new();
        for def in self.inner.networks.user_networks() {
            if !passes(&def.to_json(), filters) {
                continue;
            }
            let in_use = self.store().list().iter().any(|r| {
                r.attachments().any(|a| a.network_id == def.id)
                    || (r.state.running && self.uses_network(r, &def))
            });
            if !in_use && self.network_remove(&def.id).await.is_ok() {
                deleted.push(def.name);
            }
        }
        Ok(deleted)
    }
}

impl Runtime {
    /// `POST /networks/{id}/connect`: a running container joins one more user network (`eth1`...),
    /// with its aliases and address.
    pub(crate) async fn network_connect(
        &self,
        key: &str,
        container: &str,
        endpoint: Option<EndpointSettings>,
    ) -> Result<(), Error> {
        let def = match self.inner.networks.find(key)? {
            Found::User(def) => def,
            Found::Predefined(name) => {
                return Err(Error::new(
                    ErrorKind::Forbidden,
                    format!("connecting to the predefined network {name} is not supported yet"),
                ))
            }
        };
        let (record, handle) = self.lookup(container)?;
        let _op = handle.op.lock().await;
        let record = self.store().get(&record.id)?;
        let id = record.id.clone();
        if !record.state.running {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("Container {id} is not running: connecting a stopped container is not supported yet"),
            ));
        }
        if record.attachments().any(|a| a.network_id == def.id) {
            return Err(Error::new(
                ErrorKind::Forbidden,
                format!(
                    "endpoint with name {} already exists in network {}",
                    record.name.trim_start_matches('/'),
                    def.name
                ),
            ));
        }
        let Some(netns) = record.network.as_ref().map(|a| a.netns.clone()) else {
            return Err(Error::new(
                ErrorKind::Forbidden,
                "container sharing network namespace with another container or host cannot be connected to any other network",
            ));
        };
        let fixed = endpoint
            .as_ref()
            .and_then(|e| e.ipam_config.as_ref())
            .and_then(|i| i.ipv4_address.as_deref())
            .filter(|a| !a.is_empty())
            .map(|a| {
                a.parse()
                    .map_err(|_| Error::invalid(format!("invalid IPv4 address: {a}")))
            })
            .transpose()?;
        let ifname = format!("eth{}", 1 + record.extra_networks.len());
        let net = &self.inner.networks;
        let mut att = net.prepare_extra(&id, &netns, &def, fixed, ifname).await?;
        att.aliases = endpoint.and_then(|e| e.aliases).unwrap_or_default();
        att.aliases.push(short_id(&id).to_owned());
        let pending = att.clone();
        self.update(&id, move |r| {
            r.extra_networks.push(pending);
            Ok(())
        })
        .await?;
        if let Err(e) = net.connect(&id, &mut att).await {
            let endpoint_id = att.endpoint_id.clone();
            let _ = self
                .update(&id, move |r| {
                    r.extra_networks.retain(|a| a.endpoint_id != endpoint_id);
                    Ok(())
                })
                .await;
            return Err(e);
        }
        let done = att.clone();
        self.update(&id, move |r| {
            if let Some(a) = r
                .extra_networks
                .iter_mut()
                .find(|a| a.endpoint_id == done.endpoint_id)
            {
                *a = done;
            }
            Ok(())
        })
        .await?;
        self.refresh_hosts(&def.id, None);
        self.emit_endpoint("connect", &def.id, &def.name, &id);
        Ok(())
    }

    /// `POST /networks/{id}/disconnect`: a running container leaves a network it was connected to.
    pub(crate) async fn network_disconnect(&self, key: &str, container: &str) -> Result<(), Error> {
        let found = self.inner.networks.find(key)?;
        let json = self.network_json(&found);
        let (net_id, net_name) = (
            json["Id"].as_str().unwrap_or_default().to_owned(),
            json["Name"].as_str().unwrap_or_default().to_owned(),
        );
        let (record, handle) = self.lookup(container)?;
        let _op = handle.op.lock().await;
        let record = self.store().get(&record.id)?;
        let id = record.id.clone();
        let Some(att) = record
            .extra_networks
            .iter()
            .find(|a| a.network_id == net_id)
            .cloned()
        else {
            if record
                .network
                .as_ref()
                .is_some_and(|a| a.network_id == net_id)
            {
                return Err(Error::new(
                    ErrorKind::NotImplemented,
                    "disconnecting a container from the network it was created on is not supported yet",
                ));
            }
            return Err(Error::new(
                ErrorKind::Forbidden,
                format!("container {id} is not connected to network {net_name}"),
            ));
        };
        self.inner.networks.release_interface(&id, &att, true).await;
        let endpoint_id = att.endpoint_id.clone();
        self.update(&id, move |r| {
            r.extra_networks.retain(|a| a.endpoint_id != endpoint_id);
            Ok(())
        })
        .await?;
        self.refresh_hosts(&net_id, Some(&id));
        self.emit_endpoint("disconnect", &net_id, &net_name, &id);
        Ok(())
    }
}

/// The name the default network has in events.
pub(super) fn event_name(network: &str) -> &str {
    if network.is_empty() {
        DEFAULT_NETWORK
    } else {
        network
    }
}
