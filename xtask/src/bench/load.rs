//! The load generator: N keep-alive connections, each looping request → full response for a warm-up
//! and then a measured window; every loop ends at its deadline, every request has a timeout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;

use super::connect::{Sender, Transport};
use super::stats::Latencies;

/// How hard and how long to drive a daemon.
#[derive(Debug, Clone, Copy)]
pub struct LoadConfig {
    /// Concurrent connections.
    pub connections: usize,
    /// Unmeasured time first.
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
}

/// What one workload achieved in the measured window.
#[derive(Debug, Clone)]
pub struct LoadResult {
    /// Completed 200 responses.
    pub ok: u64,
    /// Failed connects, non-200 answers and timeouts.
    pub errors: u64,
    /// The measured window.
    pub window: Duration,
    /// Latencies of the successful requests.
    pub latencies: Latencies,
}

impl LoadResult {
    /// Successful requests per second.
    pub fn rps(&self) -> f64 {
        self.ok as f64 / self.window.as_secs_f64()
    }
}

const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Drives `GET path` over `transport` with `config`.
pub async fn drive(transport: &Transport, path: &str, config: LoadConfig) -> Result<LoadResult> {
    let measure_from = Instant::now() + config.warmup;
    let end = measure_from + config.duration;
    let transport = Arc::new(transport.clone());
    let path: Arc<str> = path.into();
    let workers: Vec<_> = (0..config.connections)
        .map(|_| {
            let transport = Arc::clone(&transport);
            let path = Arc::clone(&path);
            tokio::spawn(async move { worker(&transport, &path, measure_from, end).await })
        })
        .collect();
    let mut samples = Vec::new();
    let mut errors = 0;
    for handle in workers {
        let (mut worker_samples, worker_errors) = handle.await?;
        samples.append(&mut worker_samples);
        errors += worker_errors;
    }
    Ok(LoadResult {
        ok: samples.len() as u64,
        errors,
        window: config.duration,
        latencies: Latencies::new(samples),
    })
}

async fn worker(
    transport: &Transport,
    path: &str,
    measure_from: Instant,
    end: Instant,
) -> (Vec<Duration>, u64) {
    let mut samples = Vec::new();
    let mut errors = 0;
    let mut sender: Option<Sender> = None;
    while Instant::now() < end {
        let started = Instant::now();
        let measured = started >= measure_from;
        let current = match sender.as_mut() {
            Some(current) => current,
            None => match tokio::time::timeout(REQUEST_TIMEOUT, transport.connect()).await {
                Ok(Ok(fresh)) => sender.insert(fresh),
                _ => {
                    errors += u64::from(measured);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, get(current, path)).await {
            Ok(Ok(true)) => {
                if measured {
                    samples.push(started.elapsed());
                }
            }
            Ok(Ok(false)) => errors += u64::from(measured),
            _ => {
                errors += u64::from(measured);
                sender = None;
            }
        }
    }
    (samples, errors)
}

/// One request, body read to the end; whether it answered 200.
async fn get(sender: &mut Sender, path: &str) -> Result<bool> {
    sender.ready().await?;
    let request = Request::get(path)
        .header(hyper::header::HOST, "docker")
        .body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await?;
    let ok = response.status() == hyper::StatusCode::OK;
    response.into_body().collect().await?;
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_tests::RefDockerd;

    #[test]
    fn drives_the_reference_dockerd_over_its_unix_socket() {
        let Some(dockerd) = RefDockerd::builder().start_if_available().unwrap() else {
            return;
        };
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let config = LoadConfig {
            connections: 4,
            warmup: Duration::from_millis(100),
            duration: Duration::from_millis(500),
        };
        let transport = Transport::Unix(dockerd.socket().to_owned());
        let result = runtime
            .block_on(drive(&transport, "/_ping", config))
            .unwrap();
        assert_eq!(result.errors, 0);
        assert!(result.ok > 10, "{result:?}");
        let missing = runtime
            .block_on(drive(&transport, "/v1.41/nonexistent", config))
            .unwrap();
        assert_eq!(missing.ok, 0);
        assert!(missing.errors > 10, "{missing:?}");
    }
}
