//! The Docker Engine API's models, generated from moby's swagger by the `bollard-stubs` crate (API 1.47).
//!
//! Re-exported rather than hand-typed: one maintained source for hundreds of structs, shared by the client
//! and the daemon.

pub use bollard_stubs::models::*;
