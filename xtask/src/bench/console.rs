//! The console's workloads, in headless Chromium against a fresh release wharfd serving the console it
//! embeds, over its TLS listener: what the console weighs (wasm, JS and CSS gzipped, as `cargo xtask
//! console` measured them), the time from navigation to the first rendered containers table with 100
//! and with 1000 containers, the time from a container's `create` event (the daemon's clock) to its row
//! in an open table, and a 100 000-line log: loaded, then searched, with the longest frame of each.
//! dockerd has no console: these are absolute figures, judged against the issue's targets. The page
//! part is `tests/browser/console_bench.cjs`.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::Value;
use wharf_tests::{Binaries, DevCerts, RunCommand, Wharfd};

use super::api::Api;
use super::rootfs;
use crate::console::Sizes;
use crate::{setup, workspace};

/// Options.
#[derive(Debug, Clone, Copy)]
pub struct ConsoleConfig {
    /// Containers in the larger table.
    pub containers: usize,
    /// Lines of the big log.
    pub log_lines: usize,
}

/// What was measured; `None` where a step failed (its error is in `errors`).
#[derive(Debug, Default)]
pub struct ConsoleResults {
    pub sizes: Option<Sizes>,
    pub table_100_ms: Option<f64>,
    pub table_100_warm_ms: Option<f64>,
    pub table_many_ms: Option<f64>,
    pub table_many_warm_ms: Option<f64>,
    pub appear_ms: Option<f64>,
    pub log_load_ms: Option<f64>,
    pub log_load_max_frame_ms: Option<f64>,
    pub search_ms: Option<f64>,
    pub search_max_frame_ms: Option<f64>,
    pub errors: Vec<String>,
}

/// Runs the workloads; `sizes` are the console's as built before any daemon ran.
pub fn run(
    bins: &Binaries,
    certs: &DevCerts,
    sizes: Result<Sizes>,
    config: ConsoleConfig,
) -> ConsoleResults {
    let mut results = ConsoleResults::default();
    match sizes {
        Ok(s) => results.sizes = Some(s),
        Err(e) => results.errors.push(format!("build: {e:#}")),
    }
    if let Err(e) = measure(bins, certs, config, &mut results) {
        results.errors.push(format!("{e:#}"));
    }
    results
}

fn measure(
    bins: &Binaries,
    certs: &DevCerts,
    config: ConsoleConfig,
    out: &mut ConsoleResults,
) -> Result<()> {
    let dist = crate::console::dist_dir()?;
    let wharfd = Wharfd::builder()
        .binaries(bins.clone())
        .tcp(true)
        .certs(certs.clone())
        .arg("--console-dir")
        .arg(&dist)
        .start()?;
    let api = Api::new(wharfd.socket());
    api.import(&rootfs::busybox_tar(wharfd.dir())?, "bench", "busybox")?;
    const IMAGE: &str = "bench:busybox";
    let token = wharf_tests::browser::create_token(bins, &wharfd, "bench", "admin")?;
    let base = wharfd
        .tcp_host()
        .context("no TLS listener")?
        .replacen("tcp://", "https://", 1);

    let config_json = |cmd: &str| format!(r#"{{"Image":"{IMAGE}","Cmd":{cmd}}}"#);
    for i in 0..100 {
        api.create_named(&config_json(r#"["true"]"#), &format!("c{i:04}"))?;
    }
    let seen = page(&base, &token, "table", &[])?;
    out.table_100_ms = seen["ms"].as_f64();
    out.table_100_warm_ms = seen["warmMs"].as_f64();
    for i in 100..config.containers {
        api.create_named(&config_json(r#"["true"]"#), &format!("c{i:04}"))?;
    }
    let seen = page(
        &base,
        &token,
        "table-and-appear",
        &[("WHARF_SOCKET", wharfd.socket())],
    )?;
    out.table_many_ms = seen["ms"].as_f64();
    out.table_many_warm_ms = seen["warmMs"].as_f64();
    out.appear_ms = seen["appearMs"].as_f64();

    let big = api.create_named(
        &config_json(&format!(
            r#"["sh","-c","i=0; while [ $i -lt {} ]; do i=$((i+1)); echo line $i; done"]"#,
            config.log_lines
        )),
        "big",
    )?;
    api.start(&big)?;
    api.wait(&big)?;
    let seen = page(&base, &token, "log", &[])?;
    out.log_load_ms = seen["loadMs"].as_f64();
    out.log_load_max_frame_ms = seen["loadMaxFrameMs"].as_f64();
    out.search_ms = seen["searchMs"].as_f64();
    out.search_max_frame_ms = seen["searchMaxFrameMs"].as_f64();
    if let Some(lines) = seen["lines"].as_u64() {
        if lines as usize != config.log_lines {
            bail!("the log view holds {lines} lines, not {}", config.log_lines);
        }
    }
    Ok(())
}

/// Runs one step of the page script; its JSON answer.
fn page(base: &str, token: &str, step: &str, extra: &[(&str, &Path)]) -> Result<Value> {
    let script = workspace::root().join("tests/browser/console_bench.cjs");
    let mut cmd = RunCommand::new("node")
        .arg(&script)
        .env("WHARF_PLAYWRIGHT_CORE", setup::playwright_core()?)
        .env("WHARF_BASE", base)
        .env("WHARF_TOKEN", token)
        .env("WHARF_STEP", step)
        .timeout(Duration::from_secs(300));
    for (name, value) in extra {
        cmd = cmd.env(name, value);
    }
    let out = cmd.run()?;
    if !out.success() {
        bail!(
            "console bench step {step} failed: {}\n{}",
            out.stdout,
            out.stderr
        );
    }
    let line = out.stdout.lines().last().unwrap_or_default();
    let value: Value = serde_json::from_str(line)
        .with_context(|| format!("step {step} printed {:?}", out.stdout))?;
    if let Some(error) = value["error"].as_str() {
        bail!("console bench step {step}: {error}");
    }
    Ok(value)
}

/// The report.
pub fn print(results: &ConsoleResults, config: ConsoleConfig) {
    println!("\nThe console (headless Chromium, wharfd's TLS listener; absolute figures: dockerd has none)");
    let ms = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.0} ms"));
    let judge = |v: Option<f64>, limit: f64| match v {
        Some(v) if v <= limit => "PASS",
        Some(_) => "MISS",
        None => "n/a",
    };
    if let Some(s) = results.sizes {
        let kib = s.total() as f64 / 1024.0;
        println!(
            "  size, gzipped: {kib:.1} KiB in all (wasm {:.1}, JS {:.1}, CSS {:.1}); target <= 300 KB: {}",
            s.wasm as f64 / 1024.0,
            s.js as f64 / 1024.0,
            s.css as f64 / 1024.0,
            if s.total() <= 300_000 { "met" } else { "MISSED" }
        );
    }
    println!(
        "  navigation to the first containers table, 100 containers: {} in a fresh browser (target <= 500 ms) {}; {} warm {}",
        ms(results.table_100_ms),
        judge(results.table_100_ms, 500.0),
        ms(results.table_100_warm_ms),
        judge(results.table_100_warm_ms, 500.0)
    );
    println!(
        "  navigation to the first containers table, {} containers: {} in a fresh browser (target <= 1 s) {}; {} warm {}",
        config.containers,
        ms(results.table_many_ms),
        judge(results.table_many_ms, 1000.0),
        ms(results.table_many_warm_ms),
        judge(results.table_many_warm_ms, 1000.0)
    );
    println!(
        "  a created container's row in the open table, after its event: {} median (target <= 200 ms) {}",
        ms(results.appear_ms),
        judge(results.appear_ms, 200.0)
    );
    println!(
        "  {}-line log: loaded in {}, longest frame {} (target <= 200 ms) {}; searched in {}, longest frame {} {}",
        config.log_lines,
        ms(results.log_load_ms),
        ms(results.log_load_max_frame_ms),
        judge(results.log_load_max_frame_ms, 200.0),
        ms(results.search_ms),
        ms(results.search_max_frame_ms),
        judge(results.search_max_frame_ms, 200.0)
    );
    for e in &results.errors {
        println!("  error: {e}");
    }
}
