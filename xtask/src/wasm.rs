//! `cargo xtask wasm`: client-wasm as a page imports it, in `<target>/client-wasm/pkg`.
//!
//! Three steps, each offline once `setup` ran: cargo builds the crate for wasm32 with the
//! `wasm-release` profile (release, optimised for size); `wasm-bindgen --target web` (the CLI at
//! Cargo.lock's version: a different one refuses the module) writes the ES module, its TypeScript
//! declarations and the wasm; `wasm-opt -Oz` from npm's binaryen (setup pins it under
//! `<target>/tools/binaryen`; Debian's binaryen 108 predates the wasm features rustc now emits and
//! breaks the module without a word) shrinks the wasm in place. wasm-opt is the slow step: it is
//! skipped when the wasm it would read is the one it last optimised.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::{setup, step, workspace};

/// Options of `cargo xtask wasm`.
#[derive(Debug, clap::Args)]
pub struct WasmArgs {
    /// Do not check or install prerequisites.
    #[arg(long)]
    skip_setup: bool,
}

/// The crate, and the base name wasm-bindgen gives its files.
const PACKAGE: &str = "wharf-client-wasm";
const STEM: &str = "wharf_client_wasm";
/// The cargo profile (see the root Cargo.toml).
const PROFILE: &str = "wasm-release";
const TARGET: &str = "wasm32-unknown-unknown";

/// Where the package is and how big it is.
#[derive(Debug, Clone)]
pub struct Package {
    /// `<target>/client-wasm/pkg`.
    pub dir: PathBuf,
    /// The optimised wasm's bytes.
    pub wasm: u64,
    /// The same gzipped (level 9, as a server would send it).
    pub wasm_gzip: u64,
    /// The JavaScript glue's bytes, gzipped.
    pub js_gzip: u64,
}

impl Package {
    /// What a browser downloads, gzipped: the wasm and its glue.
    pub fn total_gzip(&self) -> u64 {
        self.wasm_gzip + self.js_gzip
    }

    /// One line for people.
    pub fn summary(&self) -> String {
        format!(
            "client-wasm: {:.1} KiB gzipped (wasm {:.1} KiB, {:.1} KiB gzipped; JS glue {:.1} KiB gzipped) in {}",
            kib(self.total_gzip()),
            kib(self.wasm),
            kib(self.wasm_gzip),
            kib(self.js_gzip),
            self.dir.display()
        )
    }
}

fn kib(bytes: u64) -> f64 {
    bytes as f64 / 1024.0
}

/// `cargo xtask wasm`.
pub fn run(args: WasmArgs) -> Result<()> {
    if !args.skip_setup {
        setup::ensure(setup::Needs::WASM)?;
    }
    let package = build()?;
    println!("{}", package.summary());
    Ok(())
}

/// The package's directory, built or not.
pub fn pkg_dir() -> Result<PathBuf> {
    Ok(workspace::target_dir()?.join("client-wasm").join("pkg"))
}

/// Builds the package and measures it.
pub fn build() -> Result<Package> {
    let target = workspace::target_dir()?;
    step::run(
        "wasm: cargo build",
        workspace::cargo().args([
            "build",
            "--locked",
            "-p",
            PACKAGE,
            "--target",
            TARGET,
            "--profile",
            PROFILE,
        ]),
    )?;
    let built = target
        .join(TARGET)
        .join(PROFILE)
        .join(format!("{STEM}.wasm"));
    let dir = pkg_dir()?;
    let stamp = dir.join(".optimised-from");
    let fingerprint = fingerprint(&built)?;
    let wasm = dir.join(format!("{STEM}_bg.wasm"));
    let fresh = std::fs::read_to_string(&stamp).is_ok_and(|s| s == fingerprint) && wasm.exists();
    if fresh {
        println!("xtask: [wasm] {} is up to date", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
        step::run(
            "wasm: wasm-bindgen",
            Command::new("wasm-bindgen")
                .args(["--target", "web", "--out-dir"])
                .arg(&dir)
                .arg(&built),
        )?;
        let wasm_opt = setup::wasm_opt()?;
        step::run(
            "wasm: wasm-opt",
            Command::new(wasm_opt)
                .arg("-Oz")
                .arg(&wasm)
                .arg("-o")
                .arg(&wasm),
        )?;
        std::fs::write(&stamp, &fingerprint)
            .with_context(|| format!("writing {}", stamp.display()))?;
    }
    let js = dir.join(format!("{STEM}.js"));
    Ok(Package {
        wasm: std::fs::metadata(&wasm)
            .with_context(|| format!("reading {}", wasm.display()))?
            .len(),
        wasm_gzip: gzipped(&wasm)?,
        js_gzip: gzipped(&js)?,
        dir,
    })
}

/// What identifies a cargo output: its size and modification time.
fn fingerprint(path: &Path) -> Result<String> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Ok(format!("{} {modified}\n", meta.len()))
}

/// The size of `path` gzipped at level 9.
pub fn gzipped(path: &Path) -> Result<u64> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&bytes)?;
    let out = encoder.finish()?;
    if out.is_empty() {
        bail!("gzip of {} is empty", path.display());
    }
    Ok(out.len() as u64)
}
