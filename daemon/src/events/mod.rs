//! The daemon's events: a bus every subsystem publishes to ([`EventBus`]), dockerd's filters
//! ([`EventFilter`]) and the `since`/`until` arguments of `GET /events` ([`parse_event_time`]).
//!
//! The container runtime publishes with [`EventBus::log`] (which stamps the time and fills the deprecated
//! fields as dockerd does) and builds container actors with [`container_actor`].

pub(crate) mod bus;
pub(crate) mod filter;
pub(crate) mod timearg;

use std::collections::BTreeMap;

pub(crate) use bus::{EventBus, Subscription};
pub(crate) use filter::EventFilter;
pub(crate) use timearg::parse_event_time;
pub(crate) use wharf_client_core::models::{EventActor, EventMessage};

/// Event types (`Type`), as dockerd names them.
pub(crate) mod kind {
    /// Containers.
    pub(crate) const CONTAINER: &str = "container";
    /// Images.
    pub(crate) const IMAGE: &str = "image";
    /// Networks.
    pub(crate) const NETWORK: &str = "network";
    /// Volumes.
    pub(crate) const VOLUME: &str = "volume";
}

/// The actor of a container event as dockerd builds it: the container's labels, then `image` and `name`
/// (without the leading `/`) over them. Add `exitCode` for `die`, `signal` for `kill` and so on.
pub(crate) fn container_actor(
    id: &str,
    name: &str,
    image: &str,
    labels: &BTreeMap<String, String>,
) -> EventActor {
    let mut attributes = labels.clone();
    attributes.insert("image".to_owned(), image.to_owned());
    attributes.insert("name".to_owned(), name.trim_start_matches('/').to_owned());
    EventActor {
        id: id.to_owned(),
        attributes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_actor_puts_image_and_name_over_labels() {
        let labels = BTreeMap::from([
            ("name".to_owned(), "label-wins-not".to_owned()),
            ("foo".to_owned(), "bar".to_owned()),
        ]);
        let actor = container_actor("abc", "/tt", "bb:1", &labels);
        assert_eq!(actor.attributes["name"], "tt");
        assert_eq!(actor.attributes["image"], "bb:1");
        assert_eq!(actor.attributes["foo"], "bar");
    }
}
