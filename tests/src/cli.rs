//! The docker CLI as the end-to-end tests drive it: a command either does what the test expects or the
//! test fails, saying which command, against which daemon, and what it printed. For test files only:
//! these helpers fail by panicking, where the fixtures return errors.

#![allow(clippy::panic)] // assertions for tests, which fail by panicking

use crate::CommandOutput;

/// The docker CLI's environment for a daemon, e.g. [`crate::Endpoints::docker_env_unix`].
pub type Env = [(String, String)];

/// What `docker` says before a daemon's error message on stderr.
const DAEMON_ERROR: &str = "Error response from daemon: ";

/// Runs docker with `env` and `args`; a test failure only if it cannot run or overruns its deadline.
pub fn docker(env: &Env, args: &[&str]) -> CommandOutput {
    match crate::docker(env, args) {
        Ok(out) => out,
        Err(err) => panic!("docker {args:?} did not run{}: {err:#}", against(env)),
    }
}

/// Runs docker, asserting success; its stdout.
pub fn ok(env: &Env, args: &[&str]) -> String {
    let out = docker(env, args);
    assert!(
        out.success(),
        "docker {args:?} failed{} ({}): {}\n{}",
        against(env),
        out.status,
        out.stdout,
        out.stderr
    );
    out.stdout
}

/// Runs docker, asserting failure; its stderr.
pub fn fails(env: &Env, args: &[&str]) -> String {
    let out = docker(env, args);
    assert!(
        !out.success(),
        "docker {args:?} succeeded{}: {}\n{}",
        against(env),
        out.stdout,
        out.stderr
    );
    out.stderr
}

/// Runs docker, asserting failure with the daemon's `message` (see [`daemon_error`]).
pub fn fails_with(env: &Env, args: &[&str], message: &str) {
    let stderr = fails(env, args);
    assert_eq!(
        daemon_error(&stderr),
        message,
        "the error of docker {args:?}; its stderr:\n{stderr}"
    );
}

/// Runs docker; its exit code (-1 when a signal ended it).
pub fn exit_code(env: &Env, args: &[&str]) -> i32 {
    docker(env, args).status.code().unwrap_or(-1)
}

/// The daemon's message in the CLI's `Error response from daemon: <message>` line (`""` when none).
pub fn daemon_error(stderr: &str) -> &str {
    stderr
        .lines()
        .find_map(|l| l.split_once(DAEMON_ERROR).map(|(_, message)| message))
        .unwrap_or("")
}

/// ` against <DOCKER_HOST>` for a failure message, when `env` names one.
fn against(env: &Env) -> String {
    env.iter()
        .find(|(key, _)| key == "DOCKER_HOST")
        .map(|(_, host)| format!(" against {host}"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daemon_error_is_the_message_after_the_clis_prefix() {
        let stderr =
            "Unable to find image\ndocker: Error response from daemon: No such container: x.\n";
        assert_eq!(daemon_error(stderr), "No such container: x.");
        assert_eq!(daemon_error("docker: something else\n"), "");
    }

    #[test]
    fn failures_name_the_daemon() {
        let env = [("DOCKER_HOST".to_owned(), "unix:///x.sock".to_owned())];
        assert_eq!(against(&env), " against unix:///x.sock");
        assert_eq!(against(&[]), "");
    }
}
