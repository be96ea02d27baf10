//! The `docker cp` workload: a 100 MB file (random bytes) copied into a running busybox container and
//! back out with the docker CLI, one fresh daemon each, driven one after the other; the median of a
//! few rounds of each direction, in MB/s. The CLI's own tar work is the same on both sides; what
//! differs is the daemon's: dockerd re-executes itself into a chroot (`docker-untar`, `docker-tar`)
//! for every copy, wharfd streams on descriptors resolved inside the container's root.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use wharf_tests::{docker, rootfs, Binaries, DevCerts, TempDir};

use super::daemons::Kind;
use super::report::{fmt_ratio, Target};

/// The file copied.
const BYTES: usize = 100_000_000;
/// Rounds of each direction; the median is reported.
const ROUNDS: usize = 5;
/// wharfd's MB/s against dockerd's.
const TARGET: Target = Target::AtLeast(1.5);

/// What one daemon did: MB/s into and out of the container.
#[derive(Debug, Default)]
pub struct CpResults {
    pub into: Option<f64>,
    pub out_of: Option<f64>,
    pub errors: Vec<String>,
}

/// Measures each daemon.
pub fn run(kinds: &[Kind], bins: &Binaries, certs: &DevCerts) -> Result<Vec<CpResults>> {
    let dir = TempDir::new("bcp")?;
    let file = dir.path().join("big.bin");
    std::fs::write(&file, wharf_tests::oci::random_bytes(BYTES, 7))?;
    let mut sides = Vec::new();
    for &kind in kinds {
        let mut results = CpResults::default();
        if let Err(e) = measure(kind, bins, certs, dir.path(), &file, &mut results) {
            results.errors.push(format!("{e:#}"));
        }
        sides.push(results);
    }
    Ok(sides)
}

fn ok(env: &[(String, String)], args: &[&str]) -> Result<()> {
    let out = docker(env, args)?;
    if !out.success() {
        bail!("docker {args:?}: {}", out.stderr.trim());
    }
    Ok(())
}

fn median_mb_s(mut times: Vec<Duration>) -> Option<f64> {
    times.sort();
    let t = times.get(times.len() / 2)?;
    Some(BYTES as f64 / 1e6 / t.as_secs_f64())
}

fn measure(
    kind: Kind,
    bins: &Binaries,
    certs: &DevCerts,
    dir: &Path,
    file: &Path,
    out: &mut CpResults,
) -> Result<()> {
    println!(
        "xtask bench: {} copies {BYTES} bytes in and out",
        kind.name()
    );
    let mut daemon = kind.start(bins, certs)?;
    let env = daemon.endpoints().docker_env_unix();
    let image_dir = TempDir::new("bcpi")?;
    let tar = rootfs::busybox_tar(image_dir.path())?;
    ok(
        &env,
        &["import", tar.to_str().context("path")?, "bench-cp:1"],
    )?;
    ok(
        &env,
        &["run", "-d", "--name", "cp", "bench-cp:1", "sleep", "10000"],
    )?;
    let source = file.to_str().context("path")?;
    let back = dir.join(format!("back-{}", kind.name()));
    let back_str = back.to_str().context("path")?;
    let (mut into, mut out_of) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let started = Instant::now();
        ok(&env, &["cp", source, "cp:/tmp/big.bin"])?;
        into.push(started.elapsed());
        let _ = std::fs::remove_file(&back);
        let started = Instant::now();
        ok(&env, &["cp", "cp:/tmp/big.bin", back_str])?;
        out_of.push(started.elapsed());
        if std::fs::metadata(&back)?.len() != BYTES as u64 {
            bail!("the copy out has the wrong size");
        }
    }
    let _ = std::fs::remove_file(&back);
    out.into = median_mb_s(into);
    out.out_of = median_mb_s(out_of);
    ok(&env, &["rm", "-f", "cp"])?;
    daemon.stop()
}

/// Prints the table.
pub fn print(sides: &[CpResults]) {
    let Some(wharfd) = sides.first() else {
        return;
    };
    let dockerd = sides.get(1);
    println!(
        "\ndocker cp: {} MB of random bytes into and out of a running container with the docker CLI, median of {ROUNDS}; one fresh daemon each",
        BYTES / 1_000_000
    );
    println!(
        "{:<44} {:>12} {:>12} {:>8} {:<14}",
        "workload", "wharfd", "dockerd", "ratio", "target"
    );
    let row = |label: &str, pick: fn(&CpResults) -> Option<f64>| {
        let w = pick(wharfd);
        let d = dockerd.and_then(pick);
        let ratio = match (w, d) {
            (Some(w), Some(d)) if d > 0.0 => Some(w / d),
            _ => None,
        };
        let shown = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.0} MB/s"));
        println!(
            "{:<44} {:>12} {:>12} {:>8} {:<14}",
            label,
            shown(w),
            shown(d),
            fmt_ratio(ratio),
            TARGET.verdict(ratio)
        );
    };
    row("docker cp into the container", |r| r.into);
    row("docker cp out of the container", |r| r.out_of);
    for (name, side) in ["wharfd", "dockerd"].iter().zip(sides) {
        for e in &side.errors {
            println!("  {name}: {e}");
        }
    }
}
