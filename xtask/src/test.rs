//! `cargo xtask test`: what CI checks, in order, stopping at the first failing step: setup, rustfmt,
//! the browser console's build (first: wharfd's build embeds it), clippy, the API docs (`cargo doc`
//! with warnings as errors, so a broken doc link fails), clippy of the client core, client-wasm and the
//! console on wasm32, a debug build of the binaries the end-to-end tests start, the workspace's tests,
//! the client core's tests on wasm32 under node, then client-wasm's package (`cargo xtask wasm`) and
//! the console, each driven in headless Chromium against a real wharfd.

use std::process::Command;
use std::time::Instant;

use anyhow::Result;

use crate::{console, setup, step, wasm, workspace};

/// One step: a command, or xtask's own work.
enum Step {
    Command(Command),
    Xtask(fn() -> Result<()>),
}

impl From<Command> for Step {
    fn from(cmd: Command) -> Self {
        Self::Command(cmd)
    }
}

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
    let steps = steps(args.no_wasm)?;
    let total = steps.len();
    for (done, (name, step)) in steps.into_iter().enumerate() {
        let result = match step {
            Step::Command(mut cmd) => step::run(name, &mut cmd),
            Step::Xtask(work) => {
                println!("xtask: [{name}]");
                work()
            }
        };
        if let Err(err) = result {
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

/// The browser tests' file in `tests/tests/` (ignored by a plain `cargo test`: they need the package
/// built and Chromium, which only this run prepares).
const BROWSER_TEST: &str = "client_wasm";
/// The console's browser test, likewise.
const CONSOLE_TEST: &str = "console_browser";

fn steps(no_wasm: bool) -> Result<Vec<(&'static str, Step)>> {
    let cargo = |args: &[&str]| {
        let mut cmd = workspace::cargo();
        cmd.args(args);
        cmd
    };
    let mut steps: Vec<(&'static str, Step)> =
        vec![("fmt", cargo(&["fmt", "--all", "--", "--check"]).into())];
    if !no_wasm {
        // Before anything builds wharfd: its build embeds the console.
        steps.push(("build console", Step::Xtask(build_console)));
    }
    steps.extend([(
        "clippy",
        cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ])
        .into(),
    )]);
    let mut doc = cargo(&["doc", "--no-deps", "--workspace", "--locked"]);
    doc.env("RUSTDOCFLAGS", "-D warnings");
    steps.push(("doc", doc.into()));
    if !no_wasm {
        steps.push((
            "clippy wasm32",
            cargo(&[
                "clippy",
                "-p",
                "wharf-client-core",
                "-p",
                "wharf-client-wasm",
                "-p",
                "wharf-web",
                "--target",
                WASM,
                "--",
                "-D",
                "warnings",
            ])
            .into(),
        ));
    }
    steps.push((
        "build binaries",
        cargo(&[&["build"][..], &workspace::BINARY_PACKAGES[..]].concat()).into(),
    ));
    steps.push(("test", cargo(&["test", "--workspace"]).into()));
    if !no_wasm {
        steps.push((
            "test wasm32",
            cargo(&["test", "-p", "wharf-client-core", "--target", WASM]).into(),
        ));
        steps.push(("build client-wasm", Step::Xtask(build_wasm)));
        let mut browser = cargo(&[
            "test",
            "-p",
            "wharf-tests",
            "--test",
            BROWSER_TEST,
            "--",
            "--ignored",
        ]);
        browser
            .env("WHARF_CLIENT_WASM_PKG", wasm::pkg_dir()?)
            .env("WHARF_PLAYWRIGHT_CORE", setup::playwright_core()?);
        steps.push(("test client-wasm in chromium", browser.into()));
        let mut console = cargo(&[
            "test",
            "-p",
            "wharf-tests",
            "--test",
            CONSOLE_TEST,
            "--",
            "--ignored",
        ]);
        console
            .env("WHARF_CONSOLE_DIST", console::dist_dir()?)
            .env("WHARF_PLAYWRIGHT_CORE", setup::playwright_core()?);
        steps.push(("test the console in chromium", console.into()));
    }
    Ok(steps)
}

fn build_console() -> Result<()> {
    println!("{}", console::build()?.summary());
    Ok(())
}

fn build_wasm() -> Result<()> {
    println!("{}", wasm::build()?.summary());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(no_wasm: bool) -> Vec<&'static str> {
        steps(no_wasm)
            .unwrap()
            .into_iter()
            .map(|(name, _)| name)
            .collect()
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
        let package = all.iter().position(|n| *n == "build client-wasm").unwrap();
        let browser = all
            .iter()
            .position(|n| *n == "test client-wasm in chromium")
            .unwrap();
        assert!(
            build < browser && package < browser,
            "the browser test needs wharfd and the package"
        );
        let console = all.iter().position(|n| *n == "build console").unwrap();
        let clippy = all.iter().position(|n| *n == "clippy").unwrap();
        assert!(console < clippy, "wharfd's build embeds the console");
        assert!(all.contains(&"test the console in chromium"));
        assert!(!names(true)
            .iter()
            .any(|n| n.contains("wasm") || n.contains("console")));
    }
}
