//! `docker events` of containers, and the restart policies whose restarts they show. Each check reads
//! the events of its own containers since it began.

use std::time::Duration;

use wharf_tests::cli::{docker, exit_code, ok, Env};
use wharf_tests::{checks, eventually, Check};

use crate::fixtures::{container_events, id_of, inspect, run_detached, timestamp, IMAGE};

/// The checks, in order.
pub const CHECKS: &[Check<Env>] = checks![
    a_run,
    the_lifecycle_commands,
    on_failure_restarts_then_stays_exited,
    restart_and_rm_do_not_go_together,
    always_restarts_until_stopped,
    rm_of_the_restarted_containers,
];

/// A run: every event, with the container's name, image and labels as attributes, and the exit code on
/// die.
fn a_run(env: &Env) {
    let since = timestamp(Duration::ZERO);
    assert_eq!(
        exit_code(
            env,
            &["run", "--name", "ev", "--label", "k=v", IMAGE, "sh", "-c", "exit 2"]
        ),
        2
    );
    let id = id_of(env, "ev");
    ok(env, &["rm", "ev"]);
    let events = container_events(
        env,
        &since,
        &id,
        "{{.Type}} {{.Action}} {{.Actor.ID}} {{json .Actor.Attributes}} {{.Scope}}",
    );
    let attrs = format!(r#"{{"image":"{IMAGE}","k":"v","name":"ev"}}"#);
    let expected: Vec<String> = [
        format!("create {attrs}"),
        format!("attach {attrs}"),
        format!("start {attrs}"),
        format!(r#"die {{"exitCode":"2","image":"{IMAGE}","k":"v","name":"ev"}}"#),
        format!("destroy {attrs}"),
    ]
    .iter()
    .map(|e| {
        let (action, attributes) = e.split_once(' ').unwrap();
        format!("container {action} {id} {attributes} local")
    })
    .collect();
    assert_eq!(events, expected);
}

/// The lifecycle commands' events: stop's two kills, rename's old name, restart, kill's signal.
fn the_lifecycle_commands(env: &Env) {
    let since = timestamp(Duration::ZERO);
    let id = run_detached(env, "lc", &["sleep", "100"]);
    ok(env, &["pause", "lc"]);
    ok(env, &["unpause", "lc"]);
    ok(env, &["rename", "lc", "lc2"]);
    ok(env, &["stop", "-t", "1", "lc2"]);
    ok(env, &["start", "lc2"]);
    ok(env, &["restart", "-t", "1", "lc2"]);
    ok(env, &["kill", "-s", "USR1", "lc2"]);
    ok(env, &["rm", "-f", "lc2"]);
    let events = container_events(
        env,
        &since,
        &id,
        "{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.oldName}}\
         {{.Actor.Attributes.signal}}{{.Actor.Attributes.exitCode}}",
    );
    let events: Vec<String> = events
        .iter()
        .map(|e| {
            e.replace("<no value>", "")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        // `top` is dockerd's and is checked in the_fine_points_match_dockerd.
        .filter(|e| !e.starts_with("top "))
        .collect();
    assert_eq!(
        events,
        [
            "create lc",
            "start lc",
            "pause lc",
            "unpause lc",
            "rename lc2 /lc",
            "kill lc2 15",
            "kill lc2 9",
            "die lc2 137",
            "stop lc2",
            "start lc2",
            "kill lc2 15",
            "kill lc2 9",
            "die lc2 137",
            "stop lc2",
            "start lc2",
            "restart lc2",
            "kill lc2 10",
            "kill lc2 9",
            "die lc2 137",
            "destroy lc2",
        ]
    );
}

/// on-failure:2 restarts twice, then stays exited with the last exit code.
fn on_failure_restarts_then_stays_exited(env: &Env) {
    let since = timestamp(Duration::ZERO);
    let id = ok(
        env,
        &[
            "run",
            "-d",
            "--name",
            "flaky",
            "--restart",
            "on-failure:2",
            IMAGE,
            "sh",
            "-c",
            "exit 3",
        ],
    )
    .trim()
    .to_owned();
    eventually(Duration::from_secs(20), "two restarts", || {
        inspect(env, "flaky", "{{.State.Status}} {{.RestartCount}}") == "exited 2"
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        inspect(
            env,
            "flaky",
            "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}} {{.HostConfig.RestartPolicy.Name}}:\
             {{.HostConfig.RestartPolicy.MaximumRetryCount}}"
        ),
        "exited 3 2 on-failure:2"
    );
    assert_eq!(ok(env, &["wait", "flaky"]), "3\n");
    let events = container_events(
        env,
        &since,
        &id,
        "{{.Action}} {{.Actor.Attributes.exitCode}}",
    );
    assert_eq!(
        events,
        [
            "create <no value>",
            "start <no value>",
            "die 3",
            "start <no value>",
            "die 3",
            "start <no value>",
            "die 3"
        ]
    );
}

/// --restart and --rm do not go together (the CLI says so).
fn restart_and_rm_do_not_go_together(env: &Env) {
    let out = docker(env, &["run", "--rm", "--restart", "always", IMAGE, "true"]);
    assert!(
        out.stderr
            .contains("conflicting options: cannot specify both --restart and --rm"),
        "{}",
        out.stderr
    );
}

/// always: restarted until stopped, and not after.
fn always_restarts_until_stopped(env: &Env) {
    ok(
        env,
        &[
            "run",
            "-d",
            "--name",
            "always",
            "--restart",
            "always",
            IMAGE,
            "sh",
            "-c",
            "sleep 0.2; exit 1",
        ],
    );
    eventually(Duration::from_secs(20), "a restart", || {
        inspect(env, "always", "{{.RestartCount}}") != "0"
    });
    ok(env, &["stop", "always"]);
    std::thread::sleep(Duration::from_secs(1));
    let count = inspect(env, "always", "{{.State.Status}} {{.RestartCount}}");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        inspect(env, "always", "{{.State.Status}} {{.RestartCount}}"),
        count
    );
    assert!(count.starts_with("exited "), "{count}");
}

fn rm_of_the_restarted_containers(env: &Env) {
    ok(env, &["rm", "flaky", "always"]);
}
