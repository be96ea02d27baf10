//! What the networks and volumes pages show of the daemon's JSON, and what their create forms send: plain
//! Rust, tested natively. The pages read answers as JSON values (the typed models' decoders would weigh
//! more in the download than these few fields).

use std::collections::HashMap;

use serde_json::Value;

/// A network as its list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkRow {
    pub id: String,
    pub name: String,
    pub driver: String,
    /// Subnets, comma-separated (IPv4 and IPv6 pools of its IPAM config).
    pub subnet: String,
    pub gateway: String,
    pub internal: bool,
    /// The networks a daemon makes itself (`bridge`, `host`, `none`): they cannot be removed.
    pub predefined: bool,
    pub created: String,
}

/// The networks dockerd makes and will not remove.
const PREDEFINED: [&str; 3] = ["bridge", "host", "none"];

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

impl NetworkRow {
    pub fn of(v: &Value) -> NetworkRow {
        let configs = v["IPAM"]["Config"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let joined = |key: &str| {
            configs
                .iter()
                .filter_map(|c| c[key].as_str())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let name = text(&v["Name"]);
        NetworkRow {
            id: text(&v["Id"]),
            predefined: PREDEFINED.contains(&name.as_str()),
            name,
            driver: text(&v["Driver"]),
            subnet: joined("Subnet"),
            gateway: joined("Gateway"),
            internal: v["Internal"].as_bool().unwrap_or(false),
            created: text(&v["Created"]),
        }
    }

    /// Whether `needle` (lower case) is in its name, ID, driver or subnet.
    pub fn matches(&self, needle: &str) -> bool {
        needle.is_empty()
            || [&self.name, &self.id, &self.driver, &self.subnet]
                .iter()
                .any(|f| f.to_lowercase().contains(needle))
    }
}

/// A container attached to a network, from the network's inspect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attached {
    pub id: String,
    pub name: String,
    pub ipv4: String,
    pub mac: String,
}

/// The containers of a network's inspect answer, by name.
pub fn attached(network: &Value) -> Vec<Attached> {
    let mut list: Vec<Attached> = network["Containers"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(id, c)| Attached {
                    id: id.clone(),
                    name: text(&c["Name"]),
                    ipv4: text(&c["IPv4Address"]),
                    mac: text(&c["MacAddress"]),
                })
                .collect()
        })
        .unwrap_or_default();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    list
}

/// A volume as its list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeRow {
    pub name: String,
    pub driver: String,
    pub mountpoint: String,
    pub created: String,
    /// `key=value` pairs, sorted.
    pub labels: Vec<String>,
    /// The driver's options (`type=tmpfs`...), sorted.
    pub options: Vec<String>,
}

fn pairs(v: &Value) -> Vec<String> {
    let mut list: Vec<String> = v
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    list.sort();
    list
}

impl VolumeRow {
    pub fn of(v: &Value) -> VolumeRow {
        VolumeRow {
            name: text(&v["Name"]),
            driver: text(&v["Driver"]),
            mountpoint: text(&v["Mountpoint"]),
            created: text(&v["CreatedAt"]),
            labels: pairs(&v["Labels"]),
            options: pairs(&v["Options"]),
        }
    }

    /// Whether `needle` (lower case) is in its name, driver or a label.
    pub fn matches(&self, needle: &str) -> bool {
        needle.is_empty()
            || self.name.to_lowercase().contains(needle)
            || self.driver.to_lowercase().contains(needle)
            || self
                .labels
                .iter()
                .any(|l| l.to_lowercase().contains(needle))
    }
}

/// The volumes of `GET /volumes`'s answer, by name.
pub fn volumes(list: &Value) -> Vec<VolumeRow> {
    let mut rows: Vec<VolumeRow> = list["Volumes"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(VolumeRow::of)
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    rows
}

/// `key=value` pairs typed one per line or separated by commas (labels, driver options), as the docker
/// CLI's `--label`/`--opt` take them: a key without `=` has an empty value; blank entries are skipped.
/// An entry starting with `=` is an error, as the CLI's.
pub fn parse_pairs(text: &str) -> Result<HashMap<String, String>, String> {
    let mut map = HashMap::new();
    for entry in text
        .split(['\n', ','])
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        let (key, value) = entry.split_once('=').unwrap_or((entry, ""));
        let key = key.trim();
        if key.is_empty() {
            return Err(format!(
                "invalid key=value pair {entry:?}: the key is empty"
            ));
        }
        map.insert(key.to_owned(), value.trim().to_owned());
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_network_row_reads_ipam_and_knows_the_predefined_ones() {
        let v = json!({
            "Name": "backend", "Id": "abc123", "Driver": "bridge", "Internal": true,
            "Created": "2026-12-06T17:00:00Z",
            "IPAM": {"Config": [{"Subnet": "10.9.0.0/24", "Gateway": "10.9.0.1"},
                                {"Subnet": "fd00::/64"}]}
        });
        let row = NetworkRow::of(&v);
        assert_eq!(row.subnet, "10.9.0.0/24, fd00::/64");
        assert_eq!(row.gateway, "10.9.0.1");
        assert!(row.internal && !row.predefined);
        assert!(row.matches("10.9.") && row.matches("back") && !row.matches("front"));
        let bridge = NetworkRow::of(&json!({"Name": "bridge", "IPAM": {"Config": null}}));
        assert!(bridge.predefined);
        assert_eq!(bridge.subnet, "");
    }

    #[test]
    fn attached_containers_come_sorted_by_name() {
        let v = json!({"Containers": {
            "b1": {"Name": "web", "IPv4Address": "10.9.0.3/24", "MacAddress": "02:42:0a:09:00:03"},
            "a2": {"Name": "db", "IPv4Address": "10.9.0.2/24", "MacAddress": ""}
        }});
        let list = attached(&v);
        assert_eq!(
            list.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
            ["db", "web"]
        );
        assert_eq!(list[1].ipv4, "10.9.0.3/24");
        assert!(attached(&json!({"Containers": null})).is_empty());
    }

    #[test]
    fn volumes_read_labels_and_options_sorted_and_null_maps_as_empty() {
        let v = json!({"Volumes": [
            {"Name": "zeta", "Driver": "local", "Labels": null, "Options": null},
            {"Name": "alpha", "Driver": "local", "Mountpoint": "/var/lib/wharf/volumes/alpha/_data",
             "Labels": {"tier": "db", "app": "shop"}, "Options": {"type": "tmpfs"}}
        ], "Warnings": null});
        let rows = volumes(&v);
        assert_eq!(rows[0].name, "alpha");
        assert_eq!(rows[0].labels, ["app=shop", "tier=db"]);
        assert_eq!(rows[0].options, ["type=tmpfs"]);
        assert!(rows[1].labels.is_empty());
        assert!(rows[0].matches("tier=db") && !rows[1].matches("tier"));
    }

    #[test]
    fn pairs_split_on_lines_and_commas_and_refuse_an_empty_key() {
        let map = parse_pairs("app=shop\n tier = db , flag\n\n").unwrap();
        assert_eq!(map.len(), 3);
        assert_eq!(map["tier"], "db");
        assert_eq!(map["flag"], "");
        assert!(parse_pairs("=x").unwrap_err().contains("key is empty"));
        assert!(parse_pairs("  ").unwrap().is_empty());
    }
}
