//! Containers without the runtime: the OCI spec Docker would build ([`spec`]), and the small rules around
//! it: IDs, names, users and the image-config merge.

pub mod config;
pub mod ids;
pub mod names;
pub mod restart;
pub mod spec;
pub mod users;
