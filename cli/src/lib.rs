//! `wharf`, the native command line of Wharf, and the native transport it talks to a daemon with.
//!
//! The protocol lives in `wharf_client_core`; this crate adds what only a native process has: sockets and
//! TLS ([`transport`]), flags and the environment ([`config`], [`args`]), terminal output ([`commands`],
//! [`format`](mod@format)) and the wording of failures ([`message`]).

pub mod app;
pub mod args;
pub mod commands;
pub mod config;
pub mod credentials;
pub mod format;
pub mod logging;
pub mod message;
pub mod transport;

pub use app::{run, AppError};
pub use transport::{NativeTransport, TransportOptions};
