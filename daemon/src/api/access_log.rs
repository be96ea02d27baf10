//! One debug line per request (method, path, status, latency), as dockerd's `Calling GET /_ping`, plus the
//! request counters the state dump reports. Debug level keeps the default `info` hot path cheap.

use std::sync::atomic::Ordering;
use std::time::Instant;

use http::{Method, Request, StatusCode};

use crate::state::Counters;

/// A request on its way through: counted in flight from [`RequestLog::begin`] until it is dropped, so that
/// a request whose future is dropped before it is answered (the client went away) is not counted for ever.
#[derive(Debug)]
pub(crate) struct RequestLog<'a> {
    counters: &'a Counters,
    /// What the line needs (method, path, start), taken only when the line will be written.
    line: Option<(Method, String, Instant)>,
}

impl<'a> RequestLog<'a> {
    /// Counts the request in flight.
    pub(crate) fn begin<B>(counters: &'a Counters, request: &Request<B>) -> Self {
        counters.in_flight.fetch_add(1, Ordering::Relaxed);
        let line = tracing::enabled!(target: "wharf::api", tracing::Level::DEBUG).then(|| {
            (
                request.method().clone(),
                request.uri().path().to_owned(),
                Instant::now(),
            )
        });
        Self { counters, line }
    }

    /// Counts the answer and writes the line.
    pub(crate) fn end(mut self, status: StatusCode) {
        let counters = self.counters;
        counters.requests.fetch_add(1, Ordering::Relaxed);
        if status.is_client_error() {
            counters.client_errors.fetch_add(1, Ordering::Relaxed);
        } else if status.is_server_error() {
            counters.server_errors.fetch_add(1, Ordering::Relaxed);
        }
        if let Some((method, path, started)) = self.line.take() {
            tracing::debug!(
                target: "wharf::api",
                status = status.as_u16(),
                latency_us = started.elapsed().as_micros() as u64,
                "Calling {method} {path}"
            );
        }
    }
}

impl Drop for RequestLog<'_> {
    fn drop(&mut self) {
        self.counters.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}
