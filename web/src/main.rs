//! Wharf's browser console: a single-page app on client-wasm, served by wharfd at `/`.
//!
//! - `app.rs`: login, the header, the router, messages.
//! - `api.rs`: the connection (client-core over the fetch transport) and the user's role.
//! - `dom.rs`: building elements without a framework.
//! - `views/`: one module per view; the pure parts (ANSI colours, windowing, the `docker run` line...)
//!   are plain Rust, tested natively.
//!
//! Built with trunk (`web/Trunk.toml`, `cargo xtask console`); natively this binary does nothing but
//! host those tests.

// Natively only the pure modules' tests use them.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

#[cfg(target_arch = "wasm32")]
mod api;
#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod dom;
mod views;

#[cfg(target_arch = "wasm32")]
fn main() {
    app::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("wharf-web is the browser console: build it with `cargo xtask console`");
}
