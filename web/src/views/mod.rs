//! The console's views, one module each. A view's `mount` builds it into `<main>` and returns the guard
//! that keeps it alive (see `app.rs`). Modules without `wasm32` in their `cfg` are plain Rust (parsing,
//! windowing, formatting) and are tested natively with `cargo test -p wharf-web`.

pub mod ansi;
pub mod cancel;
pub mod chart;
pub mod files_model;
pub mod format;
pub mod inspect;
pub mod logins;
pub mod logmodel;
pub mod resources;
pub mod runline;
pub mod table_model;
pub mod window;

#[cfg(target_arch = "wasm32")]
mod audit;
#[cfg(target_arch = "wasm32")]
mod container;
#[cfg(target_arch = "wasm32")]
mod containers;
#[cfg(target_arch = "wasm32")]
mod events;
#[cfg(target_arch = "wasm32")]
mod files;
#[cfg(target_arch = "wasm32")]
mod images;
#[cfg(target_arch = "wasm32")]
mod listing;
#[cfg(target_arch = "wasm32")]
mod logs;
#[cfg(target_arch = "wasm32")]
mod networks;
#[cfg(target_arch = "wasm32")]
mod overview;
#[cfg(target_arch = "wasm32")]
mod pull;
#[cfg(target_arch = "wasm32")]
mod run;
#[cfg(target_arch = "wasm32")]
mod stats;
#[cfg(target_arch = "wasm32")]
mod terminal;
#[cfg(target_arch = "wasm32")]
mod volumes;

#[cfg(target_arch = "wasm32")]
use crate::api::Api;
#[cfg(target_arch = "wasm32")]
use crate::app::{Mounted, Route};

/// Mounts the view of `route` into `main`.
#[cfg(target_arch = "wasm32")]
pub fn mount(api: &Api, main: &web_sys::Element, route: Route) -> Mounted {
    match route {
        Route::Overview => overview::mount(api, main),
        Route::Containers => containers::mount(api, main),
        Route::Run => run::mount(api, main),
        Route::Images => images::mount(api, main),
        Route::Image { id } => images::mount_one(api, main, &id),
        Route::Networks => networks::mount(api, main),
        Route::Network { id } => networks::mount_one(api, main, &id),
        Route::Volumes => volumes::mount(api, main),
        Route::Volume { name } => volumes::mount_one(api, main, &name),
        Route::Events => events::mount(api, main),
        Route::Audit => audit::mount(api, main),
        Route::Container { id, tab } => container::mount(api, main, id, tab),
    }
}
