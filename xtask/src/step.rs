//! Running external commands as named steps: echo the command, fail naming the step, probe tools.

use std::ffi::OsStr;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// Runs `cmd` with inherited output; an error naming `step` if it cannot start or exits non-zero.
pub fn run(step: &str, cmd: &mut Command) -> Result<()> {
    println!("xtask: [{step}] {}", shown(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("step `{step}`: cannot start {}", shown(cmd)))?;
    if !status.success() {
        bail!("step `{step}` failed ({status})");
    }
    Ok(())
}

/// The trimmed stdout of `program args` if it runs and succeeds, else `None`.
pub fn probe<S: AsRef<OsStr>>(program: &str, args: &[S]) -> Option<String> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// `program arg arg…` for echoing.
fn shown(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|part| part.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_name_the_step() {
        let err = run("deliberate", Command::new("false").arg("x")).unwrap_err();
        assert!(
            err.to_string().contains("step `deliberate` failed"),
            "{err}"
        );
        assert!(run("fine", &mut Command::new("true")).is_ok());
    }

    #[test]
    fn probes_return_stdout_only_on_success() {
        assert_eq!(probe("echo", &[" hi "]).as_deref(), Some("hi"));
        assert_eq!(probe("false", &[] as &[&str]), None);
        assert_eq!(probe("/nonexistent/tool", &[] as &[&str]), None);
    }
}
