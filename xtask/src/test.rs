//! `cargo xtask test`: what CI checks, in order, stopping at the first failing step: setup, rustfmt,
//! clippy, the API docs (`cargo doc` with warnings as errors, so a broken doc link fails), clippy of the
//! client core on wasm32, a debug build of the binaries the end-to-end tests
//! start, the workspace's tests, and the client core's tests on wasm32 under node.

use std::process::Command;
use std::time::Instant;

use anyhow::Result;

use crate::{setup, step, workspace};

/// Options of `cargo xtask test`.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Do not check or install prerequisites.
    #[arg(long)]
    skip_setup: bool,
    /// Leave out the wasm32 clippy and test steps (and their setup).
    #[arg(long)]
    no_wasm: bool,
}

const WASM: &str = "wasm32-unknown-unknown";

/// Runs every step; an error names the first that failed.
pub fn test(args: TestArgs) -> Result<()> {
    let started = Instant::now();
    if !args.skip_setup {
        let needs = if args.no_wasm {
            setup::Needs::NATIVE
        } else {
            setup::Needs::ALL
        };
        setup::ensure(needs)?;
    }
    let steps = steps(args.no_wasm);
    let total = steps.len();
    for (done, (name, mut cmd)) in steps.into_iter().enumerate() {
        if let Err(err) = step::run(name, &mut cmd) {
            println!(
                "xtask test: FAILED at `{name}` ({done} of {total} steps passed, {:.0?})",
                started.elapsed()
            );
            return Err(err);
        }
    }
    println!(
        "xtask test: all {total} steps passed in {:.0?}{}",
        started.elapsed(),
        if args.no_wasm {
            " (wasm32 skipped)"
        } else {
            ""
        }
    );
    Ok(())
}

fn steps(no_wasm: bool) -> Vec<(&'static str, Command)> {
    let cargo = |args: &[&str]| {
        let mut cmd = workspace::cargo();
        cmd.args(args);
        cmd
    };
    let mut steps = vec![
        ("fmt", cargo(&["fmt", "--all", "--", "--check"])),
        (
            "clippy",
            cargo(&[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]),
        ),
    ];
    let mut doc = cargo(&["doc", "--no-deps", "--workspace", "--locked"]);
    doc.env("RUSTDOCFLAGS", "-D warnings");
    steps.push(("doc", doc));
    if !no_wasm {
        steps.push((
            "clippy wasm32",
            cargo(&[
                "clippy",
                "-p",
                "wharf-client-core",
                "--target",
                WASM,
                "--",
                "-D",
                "warnings",
            ]),
        ));
    }
    steps.push((
        "build binaries",
        cargo(&[&["build"][..], &workspace::BINARY_PACKAGES[..]].concat()),
    ));
    steps.push(("test", cargo(&["test", "--workspace"])));
    if !no_wasm {
        steps.push((
            "test wasm32",
            cargo(&["test", "-p", "wharf-client-core", "--target", WASM]),
        ));
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(no_wasm: bool) -> Vec<&'static str> {
        steps(no_wasm).into_iter().map(|(name, _)| name).collect()
    }

    #[test]
    fn binaries_are_built_before_the_tests_and_wasm_is_optional() {
        let all = names(false);
        let build = all.iter().position(|n| *n == "build binaries").unwrap();
        let test = all.iter().position(|n| *n == "test").unwrap();
        assert!(build < test);
        let doc = all.iter().position(|n| *n == "doc").unwrap();
        assert!(doc < build, "docs are checked before the slow steps");
        assert!(all.contains(&"test wasm32") && all.contains(&"clippy wasm32"));
        assert!(!names(true).iter().any(|n| n.contains("wasm")));
    }
}
