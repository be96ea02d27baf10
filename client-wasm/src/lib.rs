//! Wharf in the browser: client-core over `fetch`, with a JavaScript API made by wasm-bindgen.
//!
//! - `fetch.rs`: the transport. Requests go out with the browser's `fetch`; answers come back through
//!   the body's `ReadableStream`, chunk by chunk, so streamed answers (followed logs, events, stats) reach
//!   client-core's incremental decoders as they arrive. web-sys rather than gloo-net: measured with
//!   the same transport written over gloo-net 0.6's `RequestBuilder`, the package is 0.4 KiB larger
//!   gzipped (the wasm after `wasm-opt -Oz`: 132.7 against 132.3 KiB), and gloo-net hands back the
//!   same raw `ReadableStream` for a streamed body, so it would be one more dependency for nothing.
//! - `api.rs`: `WharfClient`, a promise per request/response call and async iterators for streams;
//!   `streams.rs` holds the iterators, `exec.rs` the exec session over Wharf's WebSocket route (a
//!   web-sys `WebSocket`), `js.rs` the conversions (options in, the daemon's JSON out, errors as
//!   `Error` objects with the daemon's `status`).
//!
//! The JavaScript API (`WharfClient` and its stream iterators) is the default feature `js-api`; the
//! console, a Rust page, leaves it out and uses the transport, `ExecSession` and `session_url` directly.
//!
//! Everything is wasm32-only: natively this crate is empty (the CLI has its own transport).
//! `cargo xtask wasm` builds the package a page imports (`target/client-wasm/pkg`); see
//! `client-wasm/examples/index.html`.

#[cfg(all(target_arch = "wasm32", feature = "js-api"))]
mod api;
#[cfg(target_arch = "wasm32")]
mod exec;
#[cfg(target_arch = "wasm32")]
pub mod fetch;
#[cfg(target_arch = "wasm32")]
mod js;
#[cfg(all(target_arch = "wasm32", feature = "js-api"))]
mod streams;
#[cfg(target_arch = "wasm32")]
mod transfer;

#[cfg(all(target_arch = "wasm32", feature = "js-api"))]
pub use api::WharfClient;
#[cfg(target_arch = "wasm32")]
pub use exec::session_url;
#[cfg(target_arch = "wasm32")]
pub use exec::{ExecSession, Route};
#[cfg(all(target_arch = "wasm32", feature = "js-api"))]
pub use streams::{LogStream, MessageStream};
