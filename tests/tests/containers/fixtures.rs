//! What the scenarios share: the daemon under test with the busybox image imported, its log shown when a
//! test fails, and the docker commands they use most.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wharf_tests::cli::{ok, Env};
use wharf_tests::{eventually, prereq, rootfs, run_checks, Against, Check, Daemon};

/// The image every test runs.
pub const IMAGE: &str = "bb:latest";

/// The daemon under test (`WHARF_E2E_AGAINST`), started with `args` and with the busybox image imported;
/// `None`, after saying why, when this host cannot run it.
pub fn daemon_under_test(test: &str, args: &[&str]) -> Option<(Daemon, Vec<(String, String)>)> {
    let against = Against::from_env().unwrap();
    let missing = against.missing().or_else(rootfs::missing_busybox);
    if !prereq::can_run(test, missing) {
        return None;
    }
    eprintln!("{test}: against {against}");
    let daemon = against.start(args.iter().copied()).unwrap();
    let env = daemon.docker_env();
    import_image(&env, daemon.dir());
    Some((daemon, env))
}

/// Runs `checks` in order against one fresh daemon under test.
pub fn against_daemon(test: &str, checks: &[Check<Env>]) {
    if let Some((daemon, env)) = daemon_under_test(test, &[]) {
        let _log = LogOnFailure(&daemon);
        run_checks(test, &env[..], checks);
    }
}

/// Prints the end of the daemon's log if the test fails while it is held.
pub struct LogOnFailure<'a>(pub &'a Daemon);

impl Drop for LogOnFailure<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let logs = self.0.logs();
            let lines: Vec<&str> = logs.lines().collect();
            let tail = &lines[lines.len().saturating_sub(40)..];
            eprintln!(
                "the last lines of {}'s log ({}):\n{}",
                self.0.against(),
                self.0.dir().display(),
                tail.join("\n")
            );
        }
    }
}

/// Whether `test`, which only makes sense for wharfd (it restarts the daemon), runs now.
pub fn wharfd_only(test: &str) -> bool {
    if Against::from_env().unwrap() != Against::Wharfd {
        eprintln!("skipping {test}: it tests wharfd itself");
        return false;
    }
    prereq::can_run(
        test,
        prereq::missing_runtime().or_else(rootfs::missing_busybox),
    )
}

/// Imports the busybox image (see [`rootfs::busybox_tar`]), making the tar in `dir`.
pub fn import_image(env: &Env, dir: &Path) {
    let tar = rootfs::busybox_tar(dir).unwrap();
    ok(env, &["import", tar.to_str().unwrap(), IMAGE]);
}

/// `docker inspect -f <format> <name>`, trimmed.
pub fn inspect(env: &Env, name: &str, format: &str) -> String {
    ok(env, &["inspect", "-f", format, name]).trim().to_owned()
}

/// The full ID of container `name`.
pub fn id_of(env: &Env, name: &str) -> String {
    inspect(env, name, "{{.Id}}")
}

/// `docker run -d --name <name> IMAGE <cmd...>`; the container's ID.
pub fn run_detached(env: &Env, name: &str, cmd: &[&str]) -> String {
    let mut args = vec!["run", "-d", "--name", name, IMAGE];
    args.extend_from_slice(cmd);
    let id = ok(env, &args).trim().to_owned();
    assert_eq!(id.len(), 64, "docker run -d prints the full ID: {id:?}");
    id
}

/// Runs a shell loop detached that installs `trap` first, and returns its ID once the trap is in place
/// (the script says so in its log), so that a signal sent next meets the handler.
pub fn run_trapping(env: &Env, name: &str, trap: &str) -> String {
    let id = run_detached(
        env,
        name,
        &sh(&format!(
            "{trap}; echo trapped; while true; do sleep 0.1; done"
        )),
    );
    eventually(Duration::from_secs(5), "the trap", || {
        ok(env, &["logs", name]) == "trapped\n"
    });
    id
}

/// The lines of `out`, sorted.
pub fn sorted_lines(out: &str) -> Vec<String> {
    let mut v: Vec<String> = out.lines().map(str::to_owned).collect();
    v.sort();
    v
}

/// Now as a unix timestamp with nanoseconds, as `docker events --since/--until` take it.
pub fn timestamp(offset: Duration) -> String {
    let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + offset;
    format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
}

/// The events about container `id` between `since` and now, one `format`ted line each.
pub fn container_events(env: &Env, since: &str, id: &str, format: &str) -> Vec<String> {
    let until = timestamp(Duration::from_millis(500));
    let filter = format!("container={id}");
    ok(
        env,
        &[
            "events",
            "--since",
            since,
            "--until",
            &until,
            "--filter",
            "type=container",
            "--filter",
            &filter,
            "--format",
            format,
        ],
    )
    .lines()
    .map(|l| l.trim().to_owned())
    .collect()
}

/// Asserts what wharfd must always do and dockerd 20.10 does only mostly, for a race of its own: its
/// `logs -f` can end before the copier has flushed an unterminated last line (about 3 runs in 4), and on
/// cgroup v1 it can handle a container's exit before the OOM event (about 1 in 10) and never set
/// OOMKilled. Against dockerd a miss is only reported.
pub fn assert_unless_dockerd_races(holds: bool, what: &str) {
    if holds {
        return;
    }
    assert_eq!(
        Against::from_env().unwrap(),
        Against::Dockerd,
        "failed: {what}"
    );
    eprintln!("dockerd missed, as it does now and then: {what}");
}

/// `sh -c` as a container command: runs `script` with busybox's shell.
pub fn sh(script: &str) -> [&str; 3] {
    ["sh", "-c", script]
}

/// The `Seccomp:` mode of a container's process: 0 without a filter, 2 with one.
pub fn seccomp_mode(env: &Env) -> String {
    let status = ok(env, &["run", "--rm", IMAGE, "cat", "/proc/self/status"]);
    status
        .lines()
        .find_map(|l| l.strip_prefix("Seccomp:"))
        .unwrap()
        .trim()
        .to_owned()
}

/// The daemon's unix socket, from `env`'s `DOCKER_HOST`.
pub fn socket_of(env: &Env) -> std::path::PathBuf {
    let host = env
        .iter()
        .find(|(k, _)| k == "DOCKER_HOST")
        .map(|(_, v)| v.clone())
        .unwrap();
    std::path::PathBuf::from(host.strip_prefix("unix://").unwrap())
}
