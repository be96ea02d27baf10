//! dockerd's event filters (`daemon/events/filter.go`): values of one filter are OR'ed, different filters
//! AND'ed — except `label`, where every value must match (moby's `MatchKVList`).
//!
//! | filter | matches |
//! | --- | --- |
//! | `type`, `scope` | exactly |
//! | `event` | the action exactly (by prefix when a value is `health_status`, `exec_create` or `exec_start`) |
//! | `container`, `daemon`, `network`, `volume`, `plugin`, `node`, `service`, `secret`, `config` | for events of that type, the actor's ID or `name` attribute, exactly or by prefix |
//! | `image` | the actor's ID or its `image` attribute (`name` for image events), with or without tag |
//! | `label` | `key` or `key=value` among the actor's attributes |
//!
//! As in dockerd, a name filter such as `container=x` also applies to events of other types — they match
//! only if their actor happens to match too.

use std::collections::{BTreeMap, BTreeSet};

use wharf_client_core::Filters;

use super::EventMessage;

/// The `filters` of `GET /events`, each name's values a set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct EventFilter {
    args: BTreeMap<String, BTreeSet<String>>,
}

impl From<&Filters> for EventFilter {
    fn from(filters: &Filters) -> Self {
        let args = filters
            .iter()
            .map(|(name, values)| (name.to_owned(), values.iter().cloned().collect()))
            .collect();
        Self { args }
    }
}

/// Filters matched against the actor's ID or name by prefix.
const NAME_FILTERS: &[&str] = &[
    "container",
    "daemon",
    "network",
    "volume",
    "plugin",
    "node",
    "service",
    "secret",
    "config",
];

impl EventFilter {
    fn values(&self, key: &str) -> Option<&BTreeSet<String>> {
        self.args.get(key).filter(|v| !v.is_empty())
    }

    fn exact(&self, key: &str, source: &str) -> bool {
        self.values(key).is_none_or(|v| v.contains(source))
    }

    fn fuzzy(&self, key: &str, source: &str) -> bool {
        self.values(key)
            .is_none_or(|v| v.contains(source) || v.iter().any(|p| source.starts_with(p.as_str())))
    }

    /// Whether `ev` passes every filter.
    pub(crate) fn matches(&self, ev: &EventMessage) -> bool {
        let attrs = &ev.actor.attributes;
        let name = attrs.get("name").map(String::as_str).unwrap_or_default();
        self.matches_action(&ev.action)
            && self.exact("type", &ev.typ)
            && self.exact("scope", &ev.scope)
            && NAME_FILTERS
                .iter()
                .all(|key| self.fuzzy(key, &ev.actor.id) || self.fuzzy(key, name))
            && self.matches_image(ev)
            && self.matches_labels(attrs)
    }

    fn matches_action(&self, action: &str) -> bool {
        let fuzzy = self.values("event").is_some_and(|v| {
            ["health_status", "exec_create", "exec_start"]
                .iter()
                .any(|a| v.contains(*a))
        });
        if fuzzy {
            self.fuzzy("event", action)
        } else {
            self.exact("event", action)
        }
    }

    fn matches_image(&self, ev: &EventMessage) -> bool {
        if self.values("image").is_none() {
            return true;
        }
        let attr = if ev.typ == super::kind::IMAGE {
            "name"
        } else {
            "image"
        };
        let name = ev
            .actor
            .attributes
            .get(attr)
            .map(String::as_str)
            .unwrap_or_default();
        let id = ev.actor.id.as_str();
        [id, name, &familiar_name(id), &familiar_name(name)]
            .iter()
            .any(|s| self.exact("image", s))
    }

    fn matches_labels(&self, attrs: &BTreeMap<String, String>) -> bool {
        let Some(wanted) = self.values("label") else {
            return true;
        };
        wanted.iter().all(|w| match w.split_once('=') {
            Some((k, v)) => attrs.get(k).is_some_and(|have| have == v),
            None => attrs.contains_key(w.as_str()),
        })
    }
}

/// An image reference without tag or digest and without the default registry and `library/`, as moby's
/// `reference.FamiliarName` gives it: `docker.io/library/busybox:1` → `busybox`.
fn familiar_name(image: &str) -> String {
    let no_digest = image.split_once('@').map_or(image, |(n, _)| n);
    let last_slash = no_digest.rfind('/').map_or(0, |i| i + 1);
    let no_tag = match no_digest[last_slash..].rfind(':') {
        Some(i) => &no_digest[..last_slash + i],
        None => no_digest,
    };
    let short = no_tag.strip_prefix("docker.io/").unwrap_or(no_tag);
    let short = short.strip_prefix("index.docker.io/").unwrap_or(short);
    match short.strip_prefix("library/") {
        Some(s) if !s.contains('/') => s.to_owned(),
        _ => short.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{container_actor, EventActor};

    fn container(action: &str, id: &str, name: &str, image: &str) -> EventMessage {
        let labels = BTreeMap::from([
            ("com.example.tier".to_owned(), "web".to_owned()),
            ("flag".to_owned(), String::new()),
        ]);
        EventMessage {
            typ: "container".into(),
            action: action.into(),
            scope: "local".into(),
            actor: container_actor(id, name, image, &labels),
            ..EventMessage::default()
        }
    }

    fn image(action: &str, id: &str, name: &str) -> EventMessage {
        EventMessage {
            typ: "image".into(),
            action: action.into(),
            scope: "local".into(),
            actor: EventActor {
                id: id.into(),
                attributes: BTreeMap::from([("name".to_owned(), name.to_owned())]),
            },
            ..EventMessage::default()
        }
    }

    fn f(json: &str) -> EventFilter {
        EventFilter::from(&Filters::from_json(json).unwrap())
    }

    #[test]
    fn both_wire_shapes_filter_alike_and_values_are_sets() {
        assert_eq!(
            f(r#"{"type":["container","container"]}"#),
            f(r#"{"type":{"container":true}}"#)
        );
        assert_eq!(f(""), EventFilter::default());
    }

    #[test]
    fn type_event_and_scope_are_exact_and_or_within_a_filter() {
        let ev = container("die", "abc123", "web", "bb:1");
        assert!(f(r#"{"type":["image","container"]}"#).matches(&ev));
        assert!(!f(r#"{"type":["image"]}"#).matches(&ev));
        assert!(f(r#"{"event":["start","die"]}"#).matches(&ev));
        assert!(!f(r#"{"event":["di"]}"#).matches(&ev));
        assert!(f(r#"{"scope":["local"]}"#).matches(&ev));
        assert!(!f(r#"{"scope":["swarm"]}"#).matches(&ev));
        // Different filters are AND'ed.
        assert!(!f(r#"{"type":["container"],"event":["start"]}"#).matches(&ev));
    }

    #[test]
    fn health_status_and_exec_events_match_by_prefix() {
        let ev = container("exec_start: sh -c true", "abc", "web", "bb:1");
        assert!(f(r#"{"event":["exec_start"]}"#).matches(&ev));
        assert!(!f(r#"{"event":["exec_create"]}"#).matches(&ev));
    }

    #[test]
    fn container_matches_id_prefix_or_name() {
        let ev = container("start", "abc123", "web", "bb:1");
        for yes in ["abc123", "abc", "web", "we"] {
            assert!(
                f(&format!(r#"{{"container":["{yes}"]}}"#)).matches(&ev),
                "{yes}"
            );
        }
        assert!(!f(r#"{"container":["other"]}"#).matches(&ev));
        assert!(f(r#"{"container":["other","web"]}"#).matches(&ev));
    }

    #[test]
    fn image_matches_with_and_without_tag_for_containers_and_images() {
        let ev = container("start", "abc", "web", "docker.io/library/busybox:1.36");
        assert!(f(r#"{"image":["busybox"]}"#).matches(&ev));
        assert!(f(r#"{"image":["docker.io/library/busybox:1.36"]}"#).matches(&ev));
        assert!(!f(r#"{"image":["alpine"]}"#).matches(&ev));
        let ev = image("tag", "sha256:360b", "bb:1");
        assert!(f(r#"{"image":["bb"]}"#).matches(&ev));
        assert!(f(r#"{"image":["sha256:360b"]}"#).matches(&ev));
        assert_eq!(familiar_name("localhost:5000/x/y:2"), "localhost:5000/x/y");
        assert_eq!(familiar_name("quay.io/a/b@sha256:00"), "quay.io/a/b");
    }

    #[test]
    fn labels_are_key_or_key_value_and_all_must_match() {
        let ev = container("start", "abc", "web", "bb:1");
        assert!(f(r#"{"label":["com.example.tier"]}"#).matches(&ev));
        assert!(f(r#"{"label":["com.example.tier=web"]}"#).matches(&ev));
        assert!(f(r#"{"label":["flag="]}"#).matches(&ev));
        assert!(!f(r#"{"label":["com.example.tier=db"]}"#).matches(&ev));
        assert!(!f(r#"{"label":["com.example.tier","missing"]}"#).matches(&ev));
    }

    #[test]
    fn daemon_filter_and_unknown_filters() {
        let ev = EventMessage {
            typ: "daemon".into(),
            action: "reload".into(),
            actor: EventActor {
                id: "ENGINE-ID".into(),
                attributes: BTreeMap::from([("name".to_owned(), "host1".to_owned())]),
            },
            ..EventMessage::default()
        };
        assert!(f(r#"{"daemon":["host1"]}"#).matches(&ev));
        assert!(f(r#"{"daemon":["ENGINE"]}"#).matches(&ev));
        assert!(!f(r#"{"daemon":["host2"]}"#).matches(&ev));
        assert!(f(r#"{"nonsense":["x"]}"#).matches(&ev));
    }
}
