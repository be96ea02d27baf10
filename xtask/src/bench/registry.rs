//! The registry workloads: pull and push of an image of five layers, about 200 MB in all (each layer
//! half random bytes, half log-like text, so gzip shrinks it as it shrinks real images), against a local
//! `docker-registry` on 127.0.0.1 (plain HTTP, which both daemons allow on loopback), one fresh daemon
//! each, driven one after the other. Measured: the pull's time and the daemon's peak resident memory
//! growth during it (VmHWM after resetting it through `clear_refs`, its own process, not containerd),
//! pulls of the image now present (the median of several, each a request sent from this process so that
//! starting a client does not hide the daemon's own time), and a push of it into a fresh registry (so
//! that nothing is already there to skip).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use wharf_tests::oci::{self, Image};
use wharf_tests::registry::Registry;
use wharf_tests::{Binaries, DevCerts, RunCommand, TempDir};

use super::daemons::Kind;
use super::report::{fmt_ms, fmt_ratio, Target};

/// Layers in the image.
const LAYERS: usize = 5;
/// Bytes per layer (half random, half text): 5 x 40 MB = 200 MB.
const LAYER_BYTES: usize = 40_000_000;
/// wharfd's pull and push time against dockerd's.
const TIME_TARGET: Target = Target::AtMost(0.7);
/// A pull of an image already present, against dockerd's.
const PRESENT_TARGET: Target = Target::AtMost(0.3);
/// Peak resident memory growth during the pull, MiB (absolute).
const RSS_TARGET_MIB: f64 = 32.0;
/// Pulls of the present image timed; the median is reported.
const PRESENT_PULLS: usize = 9;

/// What one daemon did.
#[derive(Debug, Default)]
pub struct RegistryResults {
    pub pull: Option<Duration>,
    pub pull_rss_growth_kib: Option<u64>,
    pub pull_present: Option<Duration>,
    pub push: Option<Duration>,
    pub errors: Vec<String>,
}

/// Builds the image, puts it in a registry, and measures each daemon.
pub fn run(kinds: &[Kind], bins: &Binaries, certs: &DevCerts) -> Result<Vec<RegistryResults>> {
    println!(
        "xtask bench: building the registry image ({LAYERS} layers, {LAYER_BYTES} bytes each)"
    );
    let mut layers = Vec::new();
    for i in 0..LAYERS {
        let seed = i as u64 + 1;
        let random = oci::random_bytes(LAYER_BYTES / 2, seed);
        let text = oci::text_bytes(LAYER_BYTES / 2, seed);
        layers.push(oci::layer(&[
            (&format!("layer{i}/random.bin"), random),
            (&format!("layer{i}/notes.log"), text),
        ])?);
    }
    let image = Image::new("amd64", layers, &["sh"]);
    let source = Registry::builder().loopback().start()?;
    image.push(&source.url(), "bench/big", "1")?;
    let name = format!("{}/bench/big:1", source.host());
    let mut sides = Vec::new();
    for &kind in kinds {
        let mut results = RegistryResults::default();
        if let Err(e) = measure(kind, bins, certs, &name, &mut results) {
            results.errors.push(format!("{e:#}"));
        }
        sides.push(results);
    }
    Ok(sides)
}

fn measure(
    kind: Kind,
    bins: &Binaries,
    certs: &DevCerts,
    name: &str,
    out: &mut RegistryResults,
) -> Result<()> {
    println!("xtask bench: {} pulls and pushes {name}", kind.name());
    let mut daemon = kind.start(bins, certs)?;
    let socket = daemon.endpoints().socket().to_owned();
    let pid = daemon.pid();
    let reset = std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok();
    let before = status_kib(pid, "VmRSS")?;
    let started = Instant::now();
    pull(&socket, name)?;
    out.pull = Some(started.elapsed());
    if reset {
        let peak = status_kib(pid, "VmHWM")?;
        out.pull_rss_growth_kib = Some(peak.saturating_sub(before));
    }
    let mut present = Vec::with_capacity(PRESENT_PULLS);
    for _ in 0..PRESENT_PULLS {
        let started = Instant::now();
        pull_in_process(&socket, name)?;
        present.push(started.elapsed());
    }
    present.sort();
    out.pull_present = present.get(present.len() / 2).copied();

    let target = Registry::builder().loopback().start()?;
    let pushed = format!("{}/bench/pushed:1", target.host());
    api(&socket, "POST", &tag_path(name, &pushed), None)?;
    let started = Instant::now();
    api(
        &socket,
        "POST",
        &format!("/v1.41/images/{}/push?tag=1", pushed.trim_end_matches(":1")),
        Some("X-Registry-Auth: e30="),
    )?;
    out.push = Some(started.elapsed());
    daemon.stop()
}

/// `/v1.41/images/{name}/tag?repo=&tag=` for tagging `name` as `new` (`repo:tag`).
fn tag_path(name: &str, new: &str) -> String {
    let (repo, tag) = new.rsplit_once(':').unwrap_or((new, "latest"));
    format!(
        "/v1.41/images/{name}/tag?repo={}&tag={tag}",
        repo.replace(':', "%3A").replace('/', "%2F")
    )
}

/// A pull sent over the daemon's socket from this process, read to its end; an error status or an
/// error message in the stream fails it.
fn pull_in_process(socket: &Path, name: &str) -> Result<()> {
    let (repo, tag) = name.rsplit_once(':').context("the name has a tag")?;
    let path = format!(
        "/v1.41/images/create?fromImage={}&tag={tag}",
        repo.replace(':', "%3A").replace('/', "%2F")
    );
    let mut response =
        super::wire::send(socket, "POST", &path, None, false, Duration::from_secs(60))?;
    let status = response.status;
    let mut text = Vec::new();
    response.drain(|piece| {
        text.extend_from_slice(piece);
        Ok(())
    })?;
    let text = String::from_utf8_lossy(&text);
    if !(200..300).contains(&status) || text.contains("\"errorDetail\"") {
        bail!("POST {path}: {status} {text}");
    }
    Ok(())
}

fn pull(socket: &Path, name: &str) -> Result<()> {
    let (repo, tag) = name.rsplit_once(':').context("the name has a tag")?;
    let path = format!(
        "/v1.41/images/create?fromImage={}&tag={tag}",
        repo.replace(':', "%3A").replace('/', "%2F")
    );
    api(socket, "POST", &path, None)
}

/// One request over the daemon's socket, read to the end; an HTTP error or an error message in a
/// progress stream fails it.
fn api(socket: &Path, method: &str, path: &str, header: Option<&str>) -> Result<()> {
    let dir = TempDir::new("bq")?;
    let body = dir.path().join("body");
    let mut cmd = RunCommand::new("curl")
        .args(["-sS", "-X", method, "--unix-socket"])
        .arg(socket)
        .arg("-o")
        .arg(&body)
        .args(["-w", "%{http_code}"])
        .timeout(Duration::from_secs(900));
    if let Some(h) = header {
        cmd = cmd.args(["-H", h]);
    }
    let out = cmd.arg(format!("http://d{path}")).run()?.ok()?;
    let text = std::fs::read_to_string(&body).unwrap_or_default();
    let status = out.stdout.trim();
    if !status.starts_with('2') {
        bail!("{method} {path}: {status} {text}");
    }
    if let Some(line) = text.lines().find(|l| l.contains("\"errorDetail\"")) {
        bail!("{method} {path}: {line}");
    }
    Ok(())
}

/// A `/proc/<pid>/status` field in KiB.
fn status_kib(pid: u32, field: &str) -> Result<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no {field} for process {pid}"))
}

/// Prints the registry table.
pub fn print(sides: &[RegistryResults]) {
    let Some(wharfd) = sides.first() else {
        return;
    };
    let dockerd = sides.get(1);
    println!(
        "\nregistry: pull and push of {LAYERS} layers, {} MB in all (half random, half text), a local docker-registry on 127.0.0.1; one fresh daemon each, driven one after the other",
        LAYERS * LAYER_BYTES / 1_000_000
    );
    println!(
        "{:<44} {:>12} {:>12} {:>8} {:<14}",
        "workload", "wharfd", "dockerd", "ratio", "target"
    );
    let time_row = |label: &str, pick: fn(&RegistryResults) -> Option<Duration>, target: Target| {
        let w = pick(wharfd);
        let d = dockerd.and_then(pick);
        let ratio = match (w, d) {
            (Some(w), Some(d)) if !d.is_zero() => Some(w.as_secs_f64() / d.as_secs_f64()),
            _ => None,
        };
        println!(
            "{:<44} {:>12} {:>12} {:>8} {:<14}",
            label,
            w.map_or("n/a".into(), fmt_ms),
            d.map_or("n/a".into(), fmt_ms),
            fmt_ratio(ratio),
            target.verdict(ratio)
        );
    };
    time_row("pull (POST /images/create)", |r| r.pull, TIME_TARGET);
    time_row(
        "pull of the image present",
        |r| r.pull_present,
        PRESENT_TARGET,
    );
    time_row("push to a fresh registry", |r| r.push, TIME_TARGET);
    let mib = |r: &RegistryResults| r.pull_rss_growth_kib.map(|k| k as f64 / 1024.0);
    let (w, d) = (mib(wharfd), dockerd.and_then(mib));
    let verdict = match w {
        Some(w) if w <= RSS_TARGET_MIB => "PASS",
        Some(_) => "MISS",
        None => "n/a",
    };
    println!(
        "{:<44} {:>12} {:>12} {:>8} {:<14}",
        "peak RSS growth during the pull (own process)",
        w.map_or("n/a".into(), |m| format!("{m:.1} MiB")),
        d.map_or("n/a".into(), |m| format!("{m:.1} MiB")),
        "",
        format!("<={RSS_TARGET_MIB} MiB {verdict}")
    );
    for (name, side) in ["wharfd", "dockerd"].iter().zip(sides) {
        for e in &side.errors {
            println!("  {name}: {e}");
        }
    }
}
