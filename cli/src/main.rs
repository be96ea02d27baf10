//! The `wharf` binary: parses the command line, sets up logging and a runtime, and reports failures the
//! docker way (a message on stderr, exit status 1).

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use wharf_cli::args::Cli;
use wharf_cli::{logging, AppError};

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.global.log_level, cli.global.debug);
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err)
            if err
                .downcast_ref::<AppError>()
                .is_some_and(AppError::is_broken_pipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(err) => {
            // An AppError's Display is already the whole message; other errors show their chain.
            if err.downcast_ref::<AppError>().is_some() {
                eprintln!("{err}");
            } else {
                eprintln!("{err:#}");
            }
            ExitCode::from(1)
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut out = io::stdout().lock();
    let mut err = io::stderr().lock();
    let is_root = nix::unistd::geteuid().is_root();
    let result = runtime.block_on(wharf_cli::run(
        cli,
        |name| std::env::var(name).ok(),
        is_root,
        &mut out,
        &mut err,
    ));
    let _ = out.flush();
    Ok(result?)
}
