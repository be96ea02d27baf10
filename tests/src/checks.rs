//! Scenarios cut into named checks, and waiting for what a daemon does in its own time. For test files
//! only: these fail the test by panicking.
//!
//! Starting a daemon costs seconds, so an end-to-end scenario checks many things against one. Written as
//! one long function, a failure would name only a line in it; [`run_checks`] runs the scenario as a list
//! of named functions instead, goes on past a failure, and fails naming every check that failed.

#![allow(clippy::panic)] // assertions for tests, which fail by panicking

use std::any::Any;
use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

/// A check of a scenario: its name, and the function that runs it against the scenario's context (the
/// docker CLI's environment, say). See [`checks!`](crate::checks!).
pub type Check<C> = (&'static str, fn(&C));

/// Named checks from functions of the same context, each named after its function:
/// `checks![output, exit_codes]` is `&[("output", output), ("exit_codes", exit_codes)]`.
#[macro_export]
macro_rules! checks {
    ($($check:ident),+ $(,)?) => {
        &[$((stringify!($check), $check as fn(&_))),+]
    };
}

/// Runs `checks` in order against `context`, each to its end or its failure, and then fails if any
/// failed, naming each with its message. A check may use what earlier ones left (containers, names),
/// so a failure can bring later ones down with it: the first named is the one to read first.
#[track_caller]
pub fn run_checks<C: ?Sized>(scenario: &str, context: &C, checks: &[Check<C>]) {
    let mut failed = Vec::new();
    for (name, check) in checks {
        eprintln!("{scenario}: check `{name}`");
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| check(context))) {
            eprintln!("{scenario}: check `{name}` failed");
            failed.push((*name, panic_message(panic.as_ref())));
        }
    }
    if failed.is_empty() {
        return;
    }
    let mut report = format!(
        "{scenario}: {} of {} checks failed: {}\n",
        failed.len(),
        checks.len(),
        failed
            .iter()
            .map(|(name, _)| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (name, message) in &failed {
        let _ = writeln!(report, "- `{name}`: {message}");
    }
    panic!("{report}");
}

/// What a caught panic said.
fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(message) = panic.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message.clone()
    } else {
        "(a panic without a message)".to_owned()
    }
}

/// Polls `check` until it holds, failing the test, named by `what`, once `limit` has passed: first
/// every few milliseconds, then every 100 ms.
pub fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn counts(seen: &Cell<u32>) {
        seen.set(seen.get() + 1);
    }

    fn breaks(seen: &Cell<u32>) {
        counts(seen);
        assert_eq!(seen.get(), 0, "broken on purpose");
    }

    fn panics_with_a_string(_: &Cell<u32>) {
        panic!("{}", String::from("no value"));
    }

    #[test]
    fn every_check_runs_and_every_failure_is_named() {
        let seen = Cell::new(0u32);
        let failure = catch_unwind(AssertUnwindSafe(|| {
            run_checks(
                "s",
                &seen,
                checks![counts, breaks, panics_with_a_string, counts],
            )
        }))
        .unwrap_err();
        assert_eq!(seen.get(), 3, "the checks after a failure run too");
        let report = panic_message(failure.as_ref());
        assert!(
            report.starts_with("s: 2 of 4 checks failed: `breaks`, `panics_with_a_string`\n"),
            "{report}"
        );
        assert!(report.contains("- `breaks`: assertion"), "{report}");
        assert!(report.contains("broken on purpose"), "{report}");
        assert!(
            report.contains("- `panics_with_a_string`: no value"),
            "{report}"
        );
    }

    #[test]
    fn checks_that_pass_pass() {
        let seen = Cell::new(0u32);
        run_checks("s", &seen, checks![counts, counts]);
        assert_eq!(seen.get(), 2);
    }

    #[test]
    fn eventually_waits_for_the_condition_and_names_it_on_timeout() {
        let mut polls = 0;
        eventually(Duration::from_secs(5), "three polls", || {
            polls += 1;
            polls == 3
        });
        let timeout = catch_unwind(|| eventually(Duration::from_millis(50), "never", || false));
        let message = panic_message(timeout.unwrap_err().as_ref());
        assert_eq!(message, "timed out waiting for never");
    }
}
