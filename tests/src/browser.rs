//! What the browser tests (client-wasm's and the console's) share: where the build left what they drive,
//! and a login for the page.

use std::path::{Path, PathBuf};

use anyhow::{ensure, Result};

use crate::{Binaries, RunCommand, Wharfd};

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The path in the environment variable `name`, else `default` under the repository.
pub fn path_from_env(name: &str, default: &str) -> PathBuf {
    std::env::var_os(name).map_or_else(|| repo().join(default), PathBuf::from)
}

/// `wharf token create` (the `wharf` of `bins`) over the unix socket, which is admin: the token it
/// printed.
pub fn create_token(bins: &Binaries, wharfd: &Wharfd, name: &str, role: &str) -> Result<String> {
    let out = RunCommand::new(bins.wharf()?)
        .env("DOCKER_HOST", wharfd.unix_host())
        .args(["token", "create", "--name", name, "--role", role])
        .run()?;
    ensure!(out.success(), "wharf token create: {}", out.stderr);
    Ok(out.stdout.trim().to_owned())
}
