//! Containers without the runtime: IDs, names, users and the image-config merge.

pub mod config;
pub mod ids;
pub mod names;
pub mod users;
