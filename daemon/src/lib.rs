//! wharfd, the Wharf engine's daemon, as a library: configuration, listeners, the API server and the process
//! lifecycle. `main.rs` only parses the command line, sets up logging and maps errors to exit codes.

pub mod api;
pub mod buildinfo;
pub mod certs;
pub mod cli;
pub mod config;
pub mod containerd;
pub mod containers;
pub mod daemon;
pub mod dump;
pub mod engine_id;
pub mod error;
pub mod events;
pub mod hostinfo;
pub mod images;
pub mod listeners;
pub mod logging;
pub mod logs;
pub mod notify;
pub mod pidfile;
pub mod runtime;
pub mod serve;
pub mod signals;
pub mod state;
pub mod timefmt;
pub mod tls;
