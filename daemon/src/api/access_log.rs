//! One debug line per request (method, path, status, latency), as dockerd's `Calling GET /_ping`, plus the
//! request counters the state dump reports. Debug level keeps the default `info` hot path cheap.

use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// The middleware.
pub async fn access_log(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let counters = state.counters();
    counters.in_flight.fetch_add(1, Ordering::Relaxed);
    let started = Instant::now();
    // Copy what the line needs only when the line will be written: this runs on every request.
    let line = tracing::enabled!(target: "wharf::api", tracing::Level::DEBUG)
        .then(|| (request.method().clone(), request.uri().path().to_owned()));
    let response = next.run(request).await;
    let status = response.status();
    counters.in_flight.fetch_sub(1, Ordering::Relaxed);
    counters.requests.fetch_add(1, Ordering::Relaxed);
    if status.is_client_error() {
        counters.client_errors.fetch_add(1, Ordering::Relaxed);
    } else if status.is_server_error() {
        counters.server_errors.fetch_add(1, Ordering::Relaxed);
    }
    if let Some((method, path)) = line {
        tracing::debug!(
            target: "wharf::api",
            status = status.as_u16(),
            latency_us = started.elapsed().as_micros() as u64,
            "Calling {method} {path}"
        );
    }
    response
}
