//! Where things are: the repository root, the cargo target directory, the cargo binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

/// The repository root (the directory above `xtask/`).
pub fn root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest_dir.join(".."))
}

/// The cargo target directory xtask itself was built into (`<target>/<profile>/xtask`), so that it
/// follows `CARGO_TARGET_DIR` and `build.target-dir` like the builds it starts.
pub fn target_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("finding xtask's own executable")?;
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .context("xtask is not inside a cargo target directory")
}

/// The packages whose binaries (`wharfd`, `wharf`) run, test and bench use, as cargo arguments.
pub const BINARY_PACKAGES: [&str; 4] = ["-p", "wharf-daemon", "-p", "wharf-cli"];

/// Builds `wharfd` and `wharf` optimized and returns the directory they are in.
pub fn build_release_binaries() -> Result<PathBuf> {
    crate::step::run(
        "build",
        cargo().args(["build", "--release"]).args(BINARY_PACKAGES),
    )?;
    Ok(target_dir()?.join("release"))
}

/// A `cargo` command (the one that started xtask) run from the repository root.
pub fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root());
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_holds_the_workspace_manifest() {
        let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[workspace]"));
    }
}
