//! Tests of several modules together against real programs (containerd), kept inside the crate so that
//! the modules they reach stay crate-private.

mod containerd;
mod pull;
mod registry;
mod registry_fixture;
mod registry_token;
