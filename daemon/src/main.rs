//! `wharfd`: parse the command line, set up logging, run the daemon, map errors to exit codes.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use wharf_daemon::buildinfo::{GIT_COMMIT, VERSION};
use wharf_daemon::certs::{self, CertRequest};
use wharf_daemon::cli::{Cli, Command};
use wharf_daemon::config::{self, Defaults};
use wharf_daemon::{daemon, fifo_keeper, logging, tls};

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wharfd: {}", describe(&e));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if cli.daemon.version {
        println!("Wharf version {VERSION}, build {GIT_COMMIT}");
        return Ok(());
    }
    if let Some(Command::HoldFifos { dir }) = &cli.command {
        return fifo_keeper::hold(dir).context("holding the FIFOs");
    }
    if let Some(Command::Certs(args)) = cli.command {
        let written = certs::generate(&CertRequest {
            dir: args.dir,
            names: args.names,
            ips: args.ips,
            force: args.force,
        })?;
        for path in written {
            println!("{}", path.display());
        }
        return Ok(());
    }
    let defaults = Defaults::detect();
    let config = config::resolve(&cli.daemon, &defaults)?;
    if cli.daemon.validate {
        if config.has_tcp() {
            tls::server_config(config.tls_mode, &config.tls_files)?;
        }
        daemon::validate_seccomp(&config)?;
        daemon::validate_console(&config)?;
        println!("configuration OK");
        return Ok(());
    }
    let log = logging::init(config.log_level.effective(config.debug))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime
        .block_on(daemon::run(cli.daemon, defaults, config, log))
        .context("failed to start daemon")
}

/// The error and its causes, each said once (many messages already include their cause).
fn describe(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}
