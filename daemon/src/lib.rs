//! wharfd, the Wharf engine's daemon, as a library: configuration, listeners, the API server and the process
//! lifecycle. `main.rs` only parses the command line, sets up logging and maps errors to exit codes.

#![warn(unreachable_pub)]

pub(crate) mod api;
pub(crate) mod auth;
pub mod buildinfo;
pub mod certs;
pub mod cli;
pub mod config;
pub(crate) mod console;
pub(crate) mod containerd;
pub(crate) mod containers;
pub mod daemon;
pub(crate) mod dump;
pub(crate) mod engine_id;
pub(crate) mod error;
pub(crate) mod events;
pub mod fifo_keeper;
pub(crate) mod hostinfo;
pub(crate) mod images;
pub(crate) mod listeners;
pub mod logging;
pub(crate) mod logs;
pub(crate) mod network;
pub(crate) mod notify;
pub(crate) mod pidfile;
pub(crate) mod registry;
pub(crate) mod runtime;
pub(crate) mod serve;
pub(crate) mod signals;
pub(crate) mod state;
pub(crate) mod timefmt;
pub mod tls;
pub(crate) mod volumes;

#[cfg(test)]
mod tests;
