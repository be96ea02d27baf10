//! Containers without the runtime: IDs and names.

pub mod ids;
pub mod names;
