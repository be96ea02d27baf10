//! `GET /containers/{id}/stats` — moby's `getContainersStats`: samples of a container's resource usage
//! (`runtime::stats`), chained so that each carries the previous one's CPU figures.
//!
//! As dockerd 20.10 answers it:
//! - `stream` (default true): a sample a second, each a JSON line, until the client goes away or the
//!   container is removed; no `Content-Type`. The first has zero `precpu_stats`.
//! - `stream=false`: one sample, `application/json`. dockerd skips its first sample and answers the
//!   second, a second later, so that `precpu_stats` is set and `docker stats --no-stream` can show CPU %;
//!   with `one-shot` (API 1.41 and later) it answers the first at once. A container that does not run
//!   answers zeros (its name and ID) at once.
//!
//! The stream is the response body itself, polled by hyper only as the client takes it: nothing is
//! spawned and nothing queued, and when the connection goes the body is dropped with its timer.

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use tokio::time::{interval, MissedTickBehavior};
use wharf_client_core::stats::ContainerStatsResponse;
use wharf_client_core::{ApiVersion, ErrorKind};

use super::params::Params;
use super::version::RequestedVersion;
use crate::error::Error;
use crate::runtime::stats::StatsChain;
use crate::runtime::Runtime;
use crate::state::AppState;

/// dockerd's collector's cadence.
const INTERVAL: Duration = Duration::from_secs(1);

/// The first API version that reads `one-shot`.
const ONE_SHOT_SINCE: ApiVersion = ApiVersion::new(1, 41);

/// The stats route.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/containers/{id}/stats", get(stats))
}

/// Counts a streamed answer in the state dump's `open_streams` from its start until its body is dropped.
#[derive(Debug)]
struct OpenStream(AppState);

impl OpenStream {
    fn new(state: AppState) -> Self {
        state
            .counters()
            .open_streams
            .fetch_add(1, Ordering::Relaxed);
        Self(state)
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0
            .counters()
            .open_streams
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// A sample as the wire carries it: JSON and a newline, as Go's `json.Encoder` writes it.
fn line(sample: &ContainerStatsResponse) -> Result<Bytes, Error> {
    let mut text = serde_json::to_vec(sample).map_err(Error::system)?;
    text.push(b'\n');
    Ok(Bytes::from(text))
}

async fn stats(
    State(state): State<AppState>,
    rt: Runtime,
    Extension(RequestedVersion(version)): Extension<RequestedVersion>,
    Path(id): Path<String>,
    p: Params,
) -> Result<Response, Error> {
    let stream = p.bool_or("stream", true);
    let one_shot = version >= ONE_SHOT_SINCE && p.bool_or("one-shot", false);
    let running = rt.stats_running(&id)?;
    if !stream {
        let mut chain = StatsChain::default();
        let mut sample = chain.link(rt.stats_sample(&id).await?);
        if running && !one_shot {
            tokio::time::sleep(INTERVAL).await;
            sample = chain.link(rt.stats_sample(&sample.id).await?);
        }
        return Ok(([(CONTENT_TYPE, "application/json")], line(&sample)?).into_response());
    }
    // Later samples go by the full ID: a rename does not end the stream, a removal does.
    let full_id = rt.store().get(&id)?.id;
    let mut ticks = interval(INTERVAL);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let open = OpenStream::new(state);
    let samples = futures_util::stream::unfold(
        (rt, full_id, StatsChain::default(), ticks, open),
        |(rt, id, mut chain, mut ticks, open)| async move {
            ticks.tick().await;
            let sample = match rt.stats_sample(&id).await {
                Ok(sample) => chain.link(sample),
                Err(e) if e.kind == ErrorKind::NotFound => return None,
                Err(e) => {
                    tracing::warn!(container = %id, "stats: {e}");
                    return None;
                }
            };
            let bytes = match line(&sample) {
                Ok(bytes) => bytes,
                Err(e) => {
                    tracing::warn!(container = %id, "stats: {e}");
                    return None;
                }
            };
            Some((Ok::<_, Infallible>(bytes), (rt, id, chain, ticks, open)))
        },
    );
    Ok(Body::from_stream(samples).into_response())
}
