//! `docker ps` and its filters over containers in every state, then the commands that move a container
//! between states: pause, unpause, top, rename, stop, start, restart, kill, wait, rm, prune. The checks
//! run in order on the same containers: each expects the states the ones before it left (`prune` counts
//! every stopped container they made).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use wharf_tests::cli::{exit_code, fails_with, ok, Env};
use wharf_tests::{checks, eventually, Check};

use crate::fixtures::{id_of, inspect, run_detached, run_trapping, sh, sorted_lines, IMAGE};

/// The checks, in order.
pub const CHECKS: &[Check<Env>] = checks![
    containers_in_every_state,
    ps_filters,
    ps_quiet_and_statuses,
    pause_and_unpause,
    a_paused_container_stops,
    top_runs_ps_on_the_host,
    rename,
    rm_of_a_running_container_needs_force,
    stop_signals_then_kills,
    stop_and_start_of_what_is_already_so,
    start_and_restart,
    kill_and_wait,
    rm_f_of_a_running_container,
    prune_removes_every_stopped_container,
];

/// `up` running with a label, `done` exited 0, `failed` exited 5, `new` created, `frozen` paused.
fn containers_in_every_state(env: &Env) {
    ok(
        env,
        &[
            "run", "-d", "--name", "up", "--label", "k=v", IMAGE, "sleep", "100",
        ],
    );
    ok(env, &["run", "--name", "done", IMAGE, "true"]);
    assert_eq!(
        exit_code(
            env,
            &["run", "--name", "failed", IMAGE, "sh", "-c", "exit 5"]
        ),
        5
    );
    ok(env, &["create", "--name", "new", IMAGE, "true"]);
    ok(
        env,
        &["run", "-d", "--name", "frozen", IMAGE, "sleep", "100"],
    );
    ok(env, &["pause", "frozen"]);
}

/// The names `docker ps <args...>` lists, sorted.
fn ps(env: &Env, args: &[&str]) -> Vec<String> {
    let mut all = vec!["ps", "--format", "{{.Names}}"];
    all.extend_from_slice(args);
    sorted_lines(&ok(env, &all))
}

fn ps_filters(env: &Env) {
    let up = id_of(env, "up");
    assert_eq!(ps(env, &[]), ["frozen", "up"]);
    assert_eq!(ps(env, &["-a"]), ["done", "failed", "frozen", "new", "up"]);
    assert_eq!(
        ps(env, &["-a", "--filter", "status=exited"]),
        ["done", "failed"]
    );
    assert_eq!(ps(env, &["-a", "--filter", "status=created"]), ["new"]);
    assert_eq!(ps(env, &["-a", "--filter", "status=running"]), ["up"]);
    assert_eq!(ps(env, &["-a", "--filter", "status=paused"]), ["frozen"]);
    assert_eq!(ps(env, &["-a", "--filter", "exited=0"]), ["done"]);
    assert_eq!(ps(env, &["-a", "--filter", "exited=5"]), ["failed"]);
    assert_eq!(ps(env, &["-a", "--filter", "name=^new"]), ["new"]);
    assert_eq!(ps(env, &["-a", "--filter", "name=ne"]), ["done", "new"]);
    assert_eq!(ps(env, &["-a", "--filter", "label=k=v"]), ["up"]);
    assert_eq!(ps(env, &["-a", "--filter", "label=k"]), ["up"]);
    assert_eq!(
        ps(env, &["-a", "--filter", "label=k=w"]),
        Vec::<String>::new()
    );
    assert_eq!(ps(env, &["-a", "--filter", "ancestor=bb"]).len(), 5);
    assert_eq!(
        ps(env, &["-a", "--filter", &format!("id={}", &up[..12])]),
        ["up"]
    );
    assert_eq!(
        ps(env, &["-a", "--filter", "before=new"]),
        ["done", "failed", "up"]
    );
    assert_eq!(ps(env, &["-a", "--filter", "since=new"]), ["frozen"]);
    assert_eq!(ps(env, &["-l"]), ["frozen"]);
    fails_with(
        env,
        &["ps", "-a", "--filter", "status=bogus"],
        "Invalid filter 'status=bogus'",
    );
}

/// -q: short IDs, of running containers only unless -a; and each state's status.
fn ps_quiet_and_statuses(env: &Env) {
    let up = id_of(env, "up");
    assert_eq!(
        ok(env, &["ps", "-q", "--filter", "name=up"]),
        format!("{}\n", &up[..12])
    );
    assert_eq!(ok(env, &["ps", "-q"]).lines().count(), 2);
    assert_eq!(ok(env, &["ps", "-aq"]).lines().count(), 5);
    let statuses = ok(env, &["ps", "-a", "--format", "{{.Names}}|{{.Status}}"]);
    for (name, status) in [
        ("done", "Exited (0) "),
        ("failed", "Exited (5) "),
        ("new", "Created"),
        ("up", "Up "),
    ] {
        let line = statuses
            .lines()
            .find(|l| l.starts_with(&format!("{name}|")))
            .unwrap();
        assert!(
            line[name.len() + 1..].starts_with(status),
            "ps status {line}"
        );
    }
    assert!(
        statuses
            .lines()
            .any(|l| l.starts_with("frozen|Up ") && l.ends_with(" (Paused)")),
        "{statuses}"
    );
}

fn pause_and_unpause(env: &Env) {
    let frozen = id_of(env, "frozen");
    assert_eq!(
        inspect(
            env,
            "frozen",
            "{{.State.Status}} {{.State.Paused}} {{.State.Running}}"
        ),
        "paused true true"
    );
    fails_with(
        env,
        &["pause", "frozen"],
        &format!("Container {frozen} is already paused"),
    );
    fails_with(
        env,
        &["rm", "frozen"],
        &format!(
            "You cannot remove a paused container {frozen}. Unpause and then stop the container before \
             attempting removal or force remove"
        ),
    );
    ok(env, &["unpause", "frozen"]);
    assert_eq!(
        inspect(env, "frozen", "{{.State.Status}} {{.State.Paused}}"),
        "running false"
    );
    fails_with(
        env,
        &["unpause", "frozen"],
        &format!("Container {frozen} is not paused"),
    );
    let new = id_of(env, "new");
    fails_with(
        env,
        &["pause", "new"],
        &format!("Container {new} is not running"),
    );
}

/// A paused container stops: it is thawed for the signals.
fn a_paused_container_stops(env: &Env) {
    ok(env, &["pause", "frozen"]);
    ok(env, &["stop", "-t", "1", "frozen"]);
    assert_eq!(
        inspect(env, "frozen", "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 137"
    );
}

/// top runs ps on the host: the PID column is the host's PID of the container's process.
fn top_runs_ps_on_the_host(env: &Env) {
    let top = ok(env, &["top", "up"]);
    let pid = inspect(env, "up", "{{.State.Pid}}");
    let header = top.lines().next().unwrap();
    assert!(
        header.starts_with("UID") && header.ends_with("CMD"),
        "{top}"
    );
    let row: Vec<&str> = top.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(
        (row[1], row.last().copied()),
        (pid.as_str(), Some("100")),
        "{top}"
    );
    assert!(top.contains("sleep 100"), "{top}");
    let custom = ok(env, &["top", "up", "-o", "pid,args"]);
    assert_eq!(
        custom
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>(),
        ["PID COMMAND".to_owned(), format!("{pid} sleep 100")]
    );
    let new = id_of(env, "new");
    fails_with(
        env,
        &["top", "new"],
        &format!("Container {new} is not running"),
    );
}

fn rename(env: &Env) {
    let up = id_of(env, "up");
    ok(env, &["rename", "up", "renamed"]);
    assert_eq!(inspect(env, "renamed", "{{.Name}}"), "/renamed");
    assert_eq!(id_of(env, "renamed"), up);
    fails_with(
        env,
        &["container", "inspect", "up"],
        "No such container: up",
    );
    fails_with(
        env,
        &["rename", "renamed", "renamed"],
        "Renaming a container with the same name as its current name",
    );
}

fn rm_of_a_running_container_needs_force(env: &Env) {
    let up = id_of(env, "renamed");
    fails_with(
        env,
        &["rm", "renamed"],
        &format!(
            "You cannot remove a running container {up}. Stop the container before attempting removal \
             or force remove"
        ),
    );
}

/// stop: SIGTERM, and SIGKILL after the timeout. A PID 1 without a handler ignores SIGTERM (137), a
/// handler decides (0 here), tini passes SIGTERM on to a child it kills (128+15).
fn stop_signals_then_kills(env: &Env) {
    let started = Instant::now();
    ok(env, &["stop", "-t", "1", "renamed"]);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "stop waited for the timeout"
    );
    assert_eq!(
        inspect(
            env,
            "renamed",
            "{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}"
        ),
        "exited 137 false"
    );
    run_trapping(env, "handler", "trap 'exit 0' TERM");
    ok(
        env,
        &[
            "run", "-d", "--init", "--name", "tini", IMAGE, "sleep", "100",
        ],
    );
    // tini passes signals on once its child runs.
    eventually(Duration::from_secs(5), "tini's child", || {
        ok(env, &["top", "tini"]).contains("sleep 100")
    });
    ok(env, &["stop", "handler", "tini"]);
    assert_eq!(inspect(env, "handler", "{{.State.ExitCode}}"), "0");
    assert_eq!(inspect(env, "tini", "{{.State.ExitCode}}"), "143");
}

/// stop and start of what is already so are no errors.
fn stop_and_start_of_what_is_already_so(env: &Env) {
    ok(env, &["stop", "new"]);
    assert_eq!(inspect(env, "new", "{{.State.Status}}"), "created");
}

fn start_and_restart(env: &Env) {
    ok(env, &["start", "renamed"]);
    assert_eq!(inspect(env, "renamed", "{{.State.Status}}"), "running");
    ok(env, &["start", "renamed"]);
    let started = inspect(env, "renamed", "{{.State.StartedAt}}");
    let pid = inspect(env, "renamed", "{{.State.Pid}}");
    ok(env, &["restart", "-t", "1", "renamed"]);
    assert_eq!(inspect(env, "renamed", "{{.State.Running}}"), "true");
    assert_ne!(inspect(env, "renamed", "{{.State.StartedAt}}"), started);
    assert_ne!(inspect(env, "renamed", "{{.State.Pid}}"), pid);
    ok(env, &["restart", "-t", "1", "new"]);
    eventually(
        Duration::from_secs(5),
        "the restarted `true` to exit",
        || inspect(env, "new", "{{.State.Status}} {{.State.ExitCode}}") == "exited 0",
    );
}

/// kill -s with a handler, kill -s 9, kill of a stopped container; wait prints exit codes.
fn kill_and_wait(env: &Env) {
    let trap = run_trapping(env, "trap", "trap 'exit 3' USR1");
    ok(env, &["kill", "-s", "USR1", "trap"]);
    assert_eq!(ok(env, &["wait", "trap"]), "3\n");
    fails_with(
        env,
        &["kill", "trap"],
        &format!("Cannot kill container: trap: Container {trap} is not running"),
    );
    fails_with(
        env,
        &["kill", "-s", "NOPE", "renamed"],
        "Invalid signal: NOPE",
    );
    ok(env, &["kill", "-s", "9", "renamed"]);
    assert_eq!(ok(env, &["wait", "renamed"]), "137\n");
    run_detached(env, "later", &sh("sleep 1; exit 4"));
    run_detached(env, "later2", &sh("sleep 1; exit 6"));
    assert_eq!(ok(env, &["wait", "later", "later2"]), "4\n6\n");
    assert_eq!(
        ok(env, &["wait", "later"]),
        "4\n",
        "wait on an exited container"
    );
}

/// rm -f of a running container removes it at once.
fn rm_f_of_a_running_container(env: &Env) {
    ok(env, &["start", "renamed"]);
    ok(env, &["rm", "-f", "renamed"]);
    fails_with(
        env,
        &["container", "inspect", "renamed"],
        "No such container: renamed",
    );
}

/// prune removes every stopped container, and says which.
fn prune_removes_every_stopped_container(env: &Env) {
    run_detached(env, "keeps", &["sleep", "100"]);
    let stopped: BTreeSet<String> = ok(
        env,
        &["ps", "-aq", "--no-trunc", "--filter", "status=exited"],
    )
    .lines()
    .chain(
        ok(
            env,
            &["ps", "-aq", "--no-trunc", "--filter", "status=created"],
        )
        .lines(),
    )
    .map(str::to_owned)
    .collect();
    assert_eq!(stopped.len(), 9, "{stopped:?}");
    let pruned = ok(env, &["container", "prune", "-f"]);
    let lines: Vec<&str> = pruned.lines().collect();
    assert_eq!(lines.first(), Some(&"Deleted Containers:"), "{pruned}");
    assert!(
        lines
            .last()
            .is_some_and(|l| l.starts_with("Total reclaimed space: ")),
        "{pruned}"
    );
    let deleted: BTreeSet<String> = lines
        .iter()
        .filter(|l| l.len() == 64)
        .map(|l| (*l).to_owned())
        .collect();
    assert_eq!(deleted, stopped, "{pruned}");
    assert_eq!(ps(env, &["-a"]), ["keeps"]);
    ok(env, &["rm", "-f", "keeps"]);
}
