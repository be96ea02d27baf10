//! The keys dockerd always sends in a container's inspect JSON.
//!
//! Go marshals a nil slice or map as `null` and keeps the key; the API models skip a field that is
//! `None`. The docker CLI does not notice (it reads the JSON into its own types), but clients that hand
//! the raw JSON to their users do: docker-py's `container.attrs["HostConfig"]["Binds"]` or
//! `attrs["Config"]["Entrypoint"]` raise `KeyError` where dockerd's answer has `None`. So the inspect
//! answer gets, for each key dockerd always sends and wharfd left out, dockerd's empty value.

use serde_json::{Map, Value};

/// Top-level keys, and the value dockerd sends when there is nothing.
const TOP: &[(&str, Value)] = &[("ExecIDs", Value::Null)];

/// `Config` keys (the rest are always set by the image merge).
const CONFIG: &[(&str, Value)] = &[("Entrypoint", Value::Null), ("OnBuild", Value::Null)];

/// `HostConfig` keys of dockerd 20.10 that are nil or zero unless asked for.
const HOST_CONFIG: &[&str] = &[
    "Binds",
    "CapAdd",
    "CapDrop",
    "DeviceCgroupRules",
    "DeviceRequests",
    "ExtraHosts",
    "GroupAdd",
    "Links",
    "SecurityOpt",
    "VolumesFrom",
];

/// `HostConfig` numbers dockerd sends as 0 when unset.
const HOST_CONFIG_ZEROS: &[&str] = &["KernelMemory", "KernelMemoryTCP"];

/// Adds the keys dockerd always sends to `inspect` (a container's inspect JSON) where they are missing;
/// keys present are left alone.
pub(crate) fn add_dockerd_keys(inspect: &mut Value) {
    let Some(top) = inspect.as_object_mut() else {
        return;
    };
    fill(top, TOP.iter().map(|(k, v)| (*k, v.clone())));
    if let Some(config) = top.get_mut("Config").and_then(Value::as_object_mut) {
        fill(config, CONFIG.iter().map(|(k, v)| (*k, v.clone())));
    }
    if let Some(hc) = top.get_mut("HostConfig").and_then(Value::as_object_mut) {
        fill(hc, HOST_CONFIG.iter().map(|k| (*k, Value::Null)));
        fill(hc, HOST_CONFIG_ZEROS.iter().map(|k| (*k, Value::from(0))));
    }
}

fn fill<'a>(object: &mut Map<String, Value>, keys: impl Iterator<Item = (&'a str, Value)>) {
    for (key, empty) in keys {
        object.entry(key).or_insert(empty);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn missing_keys_get_dockerds_empty_values_and_present_ones_are_kept() {
        let mut inspect = json!({
            "Id": "x",
            "Config": {"Cmd": ["true"], "Entrypoint": ["/init"]},
            "HostConfig": {"Binds": ["/a:/b"], "ShmSize": 67108864},
        });
        add_dockerd_keys(&mut inspect);
        assert_eq!(inspect["ExecIDs"], Value::Null);
        assert!(inspect.as_object().unwrap().contains_key("ExecIDs"));
        assert_eq!(inspect["Config"]["Entrypoint"], json!(["/init"]));
        assert!(inspect["Config"]
            .as_object()
            .unwrap()
            .contains_key("OnBuild"));
        assert_eq!(inspect["HostConfig"]["Binds"], json!(["/a:/b"]));
        let hc = inspect["HostConfig"].as_object().unwrap();
        for key in HOST_CONFIG {
            assert!(hc.contains_key(*key), "{key}");
        }
        assert_eq!(hc["KernelMemory"], 0);
        assert_eq!(hc["ShmSize"], 67108864);
    }
}
