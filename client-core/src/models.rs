//! The Docker Engine API's models, generated from moby's swagger by the `bollard-stubs` crate (API 1.47),
//! and the few that generator gets wrong, defined here in their place.
//!
//! Re-exported rather than hand-typed: one maintained source for hundreds of structs, shared by the client
//! and the daemon. A definition below shadows the generated one of the same name.

use std::collections::BTreeMap;

pub use bollard_stubs::models::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The answer to `GET /version`.
///
/// Defined here because the generated `SystemVersionComponents::details` is `HashMap<(), ()>`, which
/// cannot hold the string map every dockerd sends. Fields this crate does not know are kept in `other`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SystemVersion {
    /// The platform's name, such as `Docker Engine - Community`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<SystemVersionPlatform>,
    /// Engine, containerd, runc... each with its details.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<ComponentVersion>,
    /// The engine's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The newest API version the daemon speaks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// The oldest API version the daemon accepts.
    #[serde(
        rename = "MinAPIVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub min_api_version: Option<String>,
    /// The engine's commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    /// The compiler the engine was built with (`GoVersion` for dockerd, rustc's version for wharfd).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_version: Option<String>,
    /// Operating system (`linux`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// Architecture in Go's names (`amd64`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// The kernel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_version: Option<String>,
    /// Whether experimental features are on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experimental: Option<bool>,
    /// When the engine was built (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_time: Option<String>,
    /// Fields not listed above, kept as they came.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// `SystemVersion.Platform`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemVersionPlatform {
    /// Its name, possibly empty.
    #[serde(rename = "Name", default)]
    pub name: String,
}

/// One of `SystemVersion.Components`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ComponentVersion {
    /// `Engine`, `containerd`...
    #[serde(rename = "Name", default)]
    pub name: String,
    /// Its version.
    #[serde(rename = "Version", default)]
    pub version: String,
    /// Free-form details (strings, in practice), sorted by key.
    #[serde(
        rename = "Details",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub details: BTreeMap<String, Value>,
}

impl ComponentVersion {
    /// A detail as text: strings as they are, other values as JSON, absent as `None`.
    pub fn detail(&self, key: &str) -> Option<String> {
        self.details.get(key).map(|v| match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        })
    }
}

/// The body of `POST /containers/create`: the container's config, with `HostConfig` and `NetworkingConfig`
/// beside its fields (moby's `configWrapper`).
///
/// Defined here because the generated models have no type for it: the swagger spells the body out as an
/// `allOf` of `ContainerConfig` and an object with the two others, which the generator leaves out.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerCreateBody {
    /// `Image`, `Cmd`, `Env`, `Labels`... at the top level of the body.
    #[serde(flatten)]
    pub config: ContainerConfig,
    /// Resources, mounts, restart policy, network mode...
    #[serde(
        rename = "HostConfig",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub host_config: Option<HostConfig>,
    /// Endpoint settings per network.
    #[serde(
        rename = "NetworkingConfig",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub networking_config: Option<NetworkingConfig>,
}

/// One event of `GET /events`, in the shape and field order dockerd sends it.
///
/// Defined here because the generated model lacks the deprecated `status`, `id` and `from` fields dockerd
/// still sends for container and image events, and keeps `Attributes` in a `HashMap` (unordered, where
/// dockerd sorts keys).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMessage {
    /// Deprecated: the action, for container and image events.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    /// Deprecated: the actor's ID, for container and image events.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Deprecated: the container's image, for container events.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from: String,
    /// The kind of object: `container`, `image`, `network`, `volume`, `daemon`...
    #[serde(rename = "Type", default)]
    pub typ: String,
    /// What happened: `create`, `start`, `die`...
    #[serde(rename = "Action", default)]
    pub action: String,
    /// The object it happened to.
    #[serde(rename = "Actor", default)]
    pub actor: EventActor,
    /// `local` for engine events, `swarm` for cluster events.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
    /// Seconds since the epoch.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub time: i64,
    /// Nanoseconds since the epoch.
    #[serde(rename = "timeNano", default, skip_serializing_if = "is_zero")]
    pub time_nano: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// `EventMessage.Actor`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventActor {
    /// The object's ID.
    #[serde(rename = "ID", default)]
    pub id: String,
    /// Attributes (names, labels, exit codes...), sorted by key as dockerd sends them. dockerd sends
    /// `null` for none, which decodes as empty.
    #[serde(rename = "Attributes", default, deserialize_with = "null_as_empty_map")]
    pub attributes: BTreeMap<String, String>,
}

fn null_as_empty_map<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    Ok(Option::<BTreeMap<String, String>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_dockerd_20_10_version_with_component_details() {
        let v: SystemVersion =
            serde_json::from_str(include_str!("../tests/dockerd-20.10-version.json")).unwrap();
        assert_eq!(v.api_version.as_deref(), Some("1.41"));
        assert_eq!(v.min_api_version.as_deref(), Some("1.12"));
        let engine = v.components.iter().find(|c| c.name == "Engine").unwrap();
        assert_eq!(engine.detail("ApiVersion").as_deref(), Some("1.41"));
        assert_eq!(engine.detail("Os").as_deref(), Some("linux"));
        assert!(v.components.iter().any(|c| c.name == "containerd"));
    }

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let json =
            r#"{"Version":"1","NewField":{"a":1},"Components":[{"Name":"Engine","Version":"1"}]}"#;
        let v: SystemVersion = serde_json::from_str(json).unwrap();
        assert_eq!(v.other["NewField"]["a"], 1);
        let back = serde_json::to_value(&v).unwrap();
        assert_eq!(back["NewField"]["a"], 1);
        assert!(back["Components"][0].get("Details").is_none());
    }

    #[test]
    fn a_create_body_puts_the_config_beside_host_and_networking_config() {
        let body = ContainerCreateBody {
            config: ContainerConfig {
                image: Some("busybox".into()),
                cmd: Some(vec!["true".into()]),
                ..Default::default()
            },
            host_config: Some(HostConfig {
                network_mode: Some("none".into()),
                ..Default::default()
            }),
            networking_config: None,
        };
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"Image": "busybox", "Cmd": ["true"], "HostConfig": {"NetworkMode": "none"}})
        );
        let back: ContainerCreateBody = serde_json::from_value(json).unwrap();
        assert_eq!(back, body);
    }

    #[test]
    fn event_messages_round_trip_dockerd_20_10_bytes() {
        let wire = r#"{"status":"die","id":"aece21","from":"bb:1","Type":"container","Action":"die","Actor":{"ID":"aece21","Attributes":{"exitCode":"0","foo":"bar","image":"bb:1","name":"tt"}},"scope":"local","time":1795843633,"timeNano":1795843633681578579}"#;
        let ev: EventMessage = serde_json::from_str(wire).unwrap();
        assert_eq!(ev.actor.attributes["exitCode"], "0");
        assert_eq!(ev.time_nano, 1_795_843_633_681_578_579);
        assert_eq!(serde_json::to_string(&ev).unwrap(), wire);
        let network = r#"{"Type":"network","Action":"connect","Actor":{"ID":"n","Attributes":null},"scope":"local","time":1,"timeNano":1000000000}"#;
        let ev: EventMessage = serde_json::from_str(network).unwrap();
        assert!(ev.actor.attributes.is_empty() && ev.status.is_empty());
    }
}
