//! `cargo xtask`: Wharf's developer front door.
//!
//! - `setup`: install what building and testing need (Debian packages, the wasm32 target,
//!   `wasm-bindgen-cli` matching Cargo.lock); idempotent and quick when everything is present.
//! - `run`: build release binaries and run `wharfd` in the foreground on `.wharf-dev/`.
//! - `test`: everything CI checks, in order, failing fast (`.ci/run` calls this).
//! - `bench`: wharfd against the reference dockerd, side by side, with the targets.
//! - `wasm`: build client-wasm for browsers (`<target>/client-wasm/pkg`) and print its gzipped size.

mod bench;
mod console;
mod run;
mod setup;
mod step;
mod test;
mod wasm;
mod workspace;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Wharf's build, run, test and benchmark tasks.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Install the tools and packages that run, test and bench need (root for apt packages).
    Setup,
    /// Build release binaries and run wharfd in the foreground on `.wharf-dev/` (Ctrl-C stops it).
    Run(run::RunArgs),
    /// Setup, fmt, clippy (native and wasm32), build, unit and end-to-end tests, wasm32 tests.
    Test(test::TestArgs),
    /// Compare wharfd with the reference dockerd: throughput, latency, idle memory, start time.
    Bench(bench::BenchArgs),
    /// Build client-wasm for browsers (wasm-bindgen, wasm-opt) and print its gzipped size.
    Wasm(wasm::WasmArgs),
    /// Build the browser console (web/, trunk) into target/console/dist, where wharfd embeds it.
    Console(console::ConsoleArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Setup => setup::ensure(setup::Needs::ALL),
        Command::Run(args) => run::run(args),
        Command::Test(args) => test::test(args),
        Command::Bench(args) => bench::bench(args),
        Command::Wasm(args) => wasm::run(args),
        Command::Console(args) => console::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
