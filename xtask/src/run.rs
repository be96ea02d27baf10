//! `cargo xtask run`: build release binaries, make development certificates on first use, print how to
//! connect, then replace this process with `wharfd` listening on `.wharf-dev/wharf.sock` and mutual-TLS
//! `tcp://127.0.0.1:2376`, which also serves the browser console at `https://127.0.0.1:2376/` (the one built
//! into wharfd; nothing to pass). Arguments after `--` go to `wharfd`.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use wharf_tests::DevCerts;

use crate::{setup, workspace};

/// Options of `cargo xtask run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Do not check or install prerequisites.
    #[arg(long)]
    skip_setup: bool,
    /// The mutual-TLS port on 127.0.0.1.
    #[arg(long, default_value_t = 2376)]
    port: u16,
    /// Extra arguments for wharfd (after `--`).
    #[arg(last = true)]
    wharfd_args: Vec<OsString>,
}

/// Runs wharfd in the foreground; returns only if it cannot be started.
pub fn run(args: RunArgs) -> Result<()> {
    if !args.skip_setup {
        setup::ensure(setup::Needs::RUN)?;
    }
    // The console first: wharfd's build embeds it.
    let console = crate::console::build()?;
    println!("xtask: [run] {}", console.summary());
    let bin_dir = workspace::build_release_binaries()?;
    let wharfd = bin_dir.join("wharfd");
    let dev = workspace::root().join(".wharf-dev");
    let certs = dev_certs(&wharfd, &dev.join("certs"))?;
    let socket = dev.join("wharf.sock");
    let tcp = format!("tcp://127.0.0.1:{}", args.port);

    println!();
    println!("wharfd is starting in the foreground (Ctrl-C stops it). To talk to it, either");
    println!(
        "  export DOCKER_HOST={tcp} DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH={}",
        certs.dir().display()
    );
    println!("or");
    println!("  export DOCKER_HOST=unix://{}", socket.display());
    println!(
        "and then `docker version` or `{} version` talk to it.",
        bin_dir.join("wharf").display()
    );
    println!();
    println!(
        "The browser console: https://127.0.0.1:{}/ (trust {} in the browser first: see README.md).",
        args.port,
        certs.ca().display()
    );
    println!("Log in with a token; the unix socket is admin, so make one with");
    println!(
        "  DOCKER_HOST=unix://{} {} token create --name console-$(date +%s) --role admin",
        socket.display(),
        bin_dir.join("wharf").display()
    );
    println!();

    let mut cmd = Command::new(&wharfd);
    cmd.arg("-H")
        .arg(format!("unix://{}", socket.display()))
        .arg("-H")
        .arg(&tcp)
        .args(certs.daemon_tls_args())
        .arg("--data-root")
        .arg(dev.join("data"))
        .arg("--exec-root")
        .arg(dev.join("exec"))
        .arg("--pidfile")
        .arg(dev.join("wharfd.pid"))
        .args(&args.wharfd_args);
    // exec: wharfd becomes this process, so terminal signals reach it directly.
    let err = cmd.exec();
    Err(err).with_context(|| format!("starting {}", wharfd.display()))
}

/// The certificates in `dir`, made with `wharfd certs` the first time.
fn dev_certs(wharfd: &Path, dir: &Path) -> Result<DevCerts> {
    if let Ok(certs) = DevCerts::existing(dir) {
        return Ok(certs);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let certs = DevCerts::generate(wharfd, dir)?;
    println!("xtask: made development certificates in {}", dir.display());
    Ok(certs)
}
