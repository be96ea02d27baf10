//! Containers without the runtime: the OCI spec Docker would build ([`spec`]), the records of the
//! Docker-level config and state containerd does not hold ([`record`], [`store`]), and the small rules
//! around them: IDs, names, users, the image-config merge, restart policies, health checks' states and
//! transitions, the generated `/etc` files and the inspect JSON's always-present keys.

pub(crate) mod config;
pub(crate) mod enum_values;
pub(crate) mod etcfiles;
pub(crate) mod health;
pub(crate) mod ids;
pub(crate) mod inspect_json;
pub(crate) mod names;
pub(crate) mod record;
pub(crate) mod restart;
pub(crate) mod spec;
pub(crate) mod store;
pub(crate) mod users;
