//! The flood workload: a client with the development certificate pings over mutual TLS, on a fresh
//! connection each time (as each docker CLI command does), while the daemon's TLS port holds idle sockets
//! that reconnect as soon as they are dropped and threads connect and hang up in a loop (`wharf_tests::Flood`).
//! Its figure is that client's p50/p99, the daemon and the flood sharing every CPU.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use wharf_tests::{Binaries, DevCerts, Flood};

use super::connect::Transport;
use super::daemons::Kind;
use super::report::fmt_ms as ms;
use super::stats::Latencies;

/// The goal for the authenticated client's p99 under the flood.
const P99_TARGET: Duration = Duration::from_millis(50);

/// How long one ping may take before it counts as failed.
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// Threads that keep the idle sockets connected, and threads that connect and hang up.
const IDLE_THREADS: usize = 4;
const CHURN_THREADS: usize = 2;

/// How the flood is made.
#[derive(Debug, Clone, Copy)]
pub struct FloodConfig {
    /// Idle sockets held open.
    pub sockets: usize,
    /// Authenticated pings measured.
    pub pings: usize,
}

/// One daemon's pings under the flood.
#[derive(Debug)]
pub struct FloodResult {
    latencies: Latencies,
    /// Pings that failed or took longer than [`PING_TIMEOUT`].
    failed: usize,
    /// Connections the flood opened beyond its first round.
    reconnects: u64,
}

/// Starts `kind`, floods its TLS port and times `config.pings` authenticated pings, then stops both.
pub fn measure(
    runtime: &tokio::runtime::Runtime,
    kind: Kind,
    bins: &Binaries,
    certs: &DevCerts,
    config: FloodConfig,
) -> Result<FloodResult> {
    println!(
        "xtask bench: {} GET /_ping over mTLS under a flood of {} sockets",
        kind.name(),
        config.sockets
    );
    let mut daemon = kind.start(bins, certs)?;
    let addr = daemon
        .endpoints()
        .tcp
        .context("the daemon has no TCP listener")?;
    let transport = Transport::tls(addr, certs)?;
    let flood = Flood::start(addr, config.sockets, IDLE_THREADS, CHURN_THREADS)?;
    // Let the idle sockets take whatever they can take.
    std::thread::sleep(Duration::from_secs(1));
    let mut samples = Vec::new();
    let mut failed = 0;
    for _ in 0..config.pings {
        let started = Instant::now();
        match runtime.block_on(async { tokio::time::timeout(PING_TIMEOUT, ping(&transport)).await })
        {
            Ok(Ok(())) => samples.push(started.elapsed()),
            _ => failed += 1,
        }
    }
    let reconnects = flood.reconnects();
    drop(flood);
    daemon.stop()?;
    Ok(FloodResult {
        latencies: Latencies::new(samples),
        failed,
        reconnects,
    })
}

/// One `GET /_ping` on a new connection, answered 200.
async fn ping(transport: &Transport) -> std::io::Result<()> {
    let mut conn = transport.connect().await?;
    conn.send(b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n")
        .await?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = conn.recv(&mut buf).await?;
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    if answer.starts_with(b"HTTP/1.1 200") {
        Ok(())
    } else {
        Err(std::io::Error::other("not a 200 answer"))
    }
}

/// Prints the flood table: each daemon's p50/p99, failures, and wharfd's p99 against the goal.
pub fn print(wharfd: &FloodResult, dockerd: Option<&FloodResult>, config: FloodConfig) {
    println!(
        "\nGET /_ping over mTLS, a new connection each, under a flood of {} idle reconnecting sockets and {CHURN_THREADS} connect-and-hang-up threads (no certificate): {} pings, daemon and flood sharing all CPUs",
        config.sockets, config.pings
    );
    println!(
        "{:>8} {:>17} {:>8} {:>12} {:<14}",
        "daemon", "p50/p99", "failed", "reconnects", "target"
    );
    for (name, result) in [("wharfd", Some(wharfd)), ("dockerd", dockerd)] {
        let Some(r) = result else {
            println!("{name:>8} {:>17}", "n/a");
            continue;
        };
        let p99 = r.latencies.percentile(99.0);
        let figures = match (r.latencies.percentile(50.0), p99) {
            (Some(p50), Some(p99)) => format!("{}/{}", ms(p50), ms(p99)),
            _ => "no samples".into(),
        };
        let target = if name == "wharfd" {
            let pass = r.failed == 0 && p99.is_some_and(|p| p < P99_TARGET);
            format!(
                "p99<{} {}",
                ms(P99_TARGET),
                if pass { "PASS" } else { "MISS" }
            )
        } else {
            String::new()
        };
        println!(
            "{name:>8} {figures:>17} {:>8} {:>12} {target:<14}",
            r.failed, r.reconnects
        );
    }
}
