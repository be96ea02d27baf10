//! Containers without the runtime: the OCI spec Docker would build ([`spec`]), the records of the
//! Docker-level config and state containerd does not hold ([`record`], [`store`]), and the small rules
//! around them: IDs, names, users, the image-config merge, restart policies, the generated `/etc` files
//! and the inspect JSON's always-present keys.

pub mod config;
pub mod etcfiles;
pub mod ids;
pub mod inspect_json;
pub mod names;
pub mod record;
pub mod restart;
pub mod spec;
pub mod store;
pub mod users;
