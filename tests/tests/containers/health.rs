//! Health checks: `--health-*` flags and an image's `HEALTHCHECK` (made with `docker import --change`),
//! `State.Health` in inspect, the `health_status` events and the probes' exec events, `docker ps`'s
//! `(healthy)`, `(unhealthy)` and `(health: starting)`, `ps --filter health=`, `--no-healthcheck`, a
//! probe killed at its timeout, the start period, and what a pause, a stop and a start do to the
//! status.

use std::time::Duration;

use serde_json::Value;
use wharf_tests::cli::{docker, fails, ok, Env};
use wharf_tests::{checks, eventually, rootfs, Check, TempDir};

use crate::fixtures::{container_events, inspect, timestamp, IMAGE};

/// The checks, in order.
pub const CHECKS: &[Check<Env>] = checks![
    a_passing_check_becomes_healthy,
    a_failing_check_becomes_unhealthy_after_its_retries,
    a_probe_over_its_timeout_is_killed_and_fails,
    long_output_is_cut_at_4096_bytes,
    a_container_shows_starting_until_its_first_probe,
    failures_in_the_start_period_do_not_count,
    the_image_healthcheck_runs_unless_no_healthcheck,
    ps_filters_by_health,
    a_pause_stops_the_probes_and_an_unpause_resumes_them,
    a_stop_leaves_it_unhealthy_and_a_start_begins_again,
    rm_of_the_containers,
];

/// How long a status may take to come (probes every second, a few retries).
const WAIT: Duration = Duration::from_secs(30);

/// The image with a failing `HEALTHCHECK`, made by the check that needs it.
const CHECKED_IMAGE: &str = "bb-health:latest";

/// `docker run -d --name <name> <flags> IMAGE sleep 1000`.
fn run_with(env: &Env, name: &str, flags: &[&str], image: &str) -> String {
    let mut args = vec!["run", "-d", "--name", name];
    args.extend_from_slice(flags);
    args.extend([image, "sleep", "1000"]);
    ok(env, &args).trim().to_owned()
}

/// `State.Health` of `name` as JSON (`null` without a health check).
fn health(env: &Env, name: &str) -> Value {
    serde_json::from_str(&inspect(env, name, "{{json .State.Health}}")).unwrap()
}

fn status(env: &Env, name: &str) -> String {
    health(env, name)["Status"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

/// `docker ps -a`'s STATUS of `name`.
fn ps_status(env: &Env, name: &str) -> String {
    let filter = format!("name=^{name}$");
    ok(
        env,
        &["ps", "-a", "--filter", &filter, "--format", "{{.Status}}"],
    )
    .trim()
    .to_owned()
}

/// The names `docker ps -a --filter health=<value>` lists, sorted.
fn with_health(env: &Env, value: &str) -> Vec<String> {
    let filter = format!("health={value}");
    let mut names: Vec<String> = ok(
        env,
        &["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"],
    )
    .lines()
    .map(str::to_owned)
    .collect();
    names.sort();
    names
}

/// A probe that succeeds: `healthy` after the first one, in inspect (with its output in the log), in
/// `docker ps` and as an event; each probe is an exec with dockerd's events.
fn a_passing_check_becomes_healthy(env: &Env) {
    let since = timestamp(Duration::ZERO);
    let id = run_with(
        env,
        "hc-ok",
        &["--health-cmd", "echo hi", "--health-interval", "1s"],
        IMAGE,
    );
    eventually(WAIT, "hc-ok healthy", || status(env, "hc-ok") == "healthy");
    let h = health(env, "hc-ok");
    assert_eq!(h["FailingStreak"], 0, "{h}");
    let first = &h["Log"][0];
    assert_eq!(first["ExitCode"], 0, "{h}");
    assert_eq!(first["Output"], "hi\n", "{h}");
    assert!(
        first["Start"].as_str().unwrap() <= first["End"].as_str().unwrap(),
        "{h}"
    );
    let ps = ps_status(env, "hc-ok");
    assert!(
        ps.starts_with("Up ") && ps.ends_with(" (healthy)"),
        "{ps:?}"
    );
    let actions = container_events(env, &since, &id, "{{.Action}}");
    assert!(
        actions.iter().any(|a| a == "health_status: healthy"),
        "{actions:?}"
    );
    assert!(
        actions
            .iter()
            .any(|a| a == "exec_create: /bin/sh -c echo hi"),
        "the probe is an exec: {actions:?}"
    );
    assert!(
        actions
            .iter()
            .any(|a| a == "exec_start: /bin/sh -c echo hi"),
        "{actions:?}"
    );
    assert!(actions.iter().any(|a| a == "exec_die"), "{actions:?}");
    let attributes = container_events(
        env,
        &since,
        &id,
        "{{if eq .Action \"health_status: healthy\"}}{{json .Actor.Attributes}}{{end}}",
    );
    assert!(
        attributes
            .iter()
            .any(|a| a == &format!(r#"{{"image":"{IMAGE}","name":"hc-ok"}}"#)),
        "{attributes:?}"
    );
}

/// A probe that fails: `unhealthy` once `retries` failed in a row, their output and exit code logged.
fn a_failing_check_becomes_unhealthy_after_its_retries(env: &Env) {
    let since = timestamp(Duration::ZERO);
    let id = run_with(
        env,
        "hc-bad",
        &[
            "--health-cmd",
            "echo broken >&2; exit 3",
            "--health-interval",
            "1s",
            "--health-retries",
            "2",
        ],
        IMAGE,
    );
    eventually(WAIT, "hc-bad unhealthy", || {
        status(env, "hc-bad") == "unhealthy"
    });
    let h = health(env, "hc-bad");
    assert!(h["FailingStreak"].as_i64().unwrap() >= 2, "{h}");
    let log = h["Log"].as_array().unwrap();
    assert!(log.len() >= 2 && log.len() <= 5, "{h}");
    assert!(
        log.iter()
            .all(|r| r["ExitCode"] == 3 && r["Output"] == "broken\n"),
        "{h}"
    );
    let ps = ps_status(env, "hc-bad");
    assert!(ps.ends_with(" (unhealthy)"), "{ps:?}");
    let actions = container_events(env, &since, &id, "{{.Action}}");
    let health_events: Vec<&String> = actions
        .iter()
        .filter(|a| a.starts_with("health_status"))
        .collect();
    assert_eq!(
        health_events,
        ["health_status: unhealthy"],
        "one event, at the change: {actions:?}"
    );
    eventually(WAIT, "the log to fill up to 5 results", || {
        health(env, "hc-bad")["Log"].as_array().unwrap().len() == 5
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        health(env, "hc-bad")["Log"].as_array().unwrap().len(),
        5,
        "only the last 5 are kept"
    );
}

/// A probe that overruns its timeout is killed and counts as a failure with dockerd's message.
fn a_probe_over_its_timeout_is_killed_and_fails(env: &Env) {
    run_with(
        env,
        "hc-slow",
        &[
            "--health-cmd",
            "sleep 30",
            "--health-interval",
            "1s",
            "--health-timeout",
            "500ms",
            "--health-retries",
            "1",
        ],
        IMAGE,
    );
    eventually(WAIT, "hc-slow unhealthy", || {
        status(env, "hc-slow") == "unhealthy"
    });
    let h = health(env, "hc-slow");
    let first = &h["Log"][0];
    assert_eq!(first["ExitCode"], -1, "{h}");
    assert_eq!(
        first["Output"], "Health check exceeded timeout (500ms)",
        "{h}"
    );
}

/// A probe's output (stdout and stderr together) keeps its first 4096 bytes, then `...`.
fn long_output_is_cut_at_4096_bytes(env: &Env) {
    run_with(
        env,
        "hc-long",
        &[
            "--health-cmd",
            // stdout and stderr reach wharfd (as dockerd) through two pipes read side by side: the
            // pause lets stdout's lines arrive before stderr's line is written.
            "seq 1 2000; sleep 0.5; echo after >&2",
            "--health-interval",
            "1s",
        ],
        IMAGE,
    );
    eventually(WAIT, "a probe of hc-long", || {
        status(env, "hc-long") == "healthy"
    });
    let h = health(env, "hc-long");
    let output = h["Log"][0]["Output"].as_str().unwrap();
    assert_eq!(output.len(), 4096 + 3, "{output:?}");
    assert!(output.starts_with("1\n2\n3\n"), "{output:?}");
    assert!(
        output.ends_with("...") && !output.contains("after"),
        "{output:?}"
    );
    ok(env, &["rm", "-f", "hc-long"]);
}

/// Before its first probe a container is `starting`: `(health: starting)` in `docker ps`.
fn a_container_shows_starting_until_its_first_probe(env: &Env) {
    run_with(
        env,
        "hc-wait",
        &["--health-cmd", "true", "--health-interval", "1h"],
        IMAGE,
    );
    let h = health(env, "hc-wait");
    assert_eq!(h["Status"], "starting", "{h}");
    assert_eq!(h["FailingStreak"], 0, "{h}");
    assert_eq!(h["Log"], Value::Array(Vec::new()), "{h}");
    let ps = ps_status(env, "hc-wait");
    assert!(
        ps.starts_with("Up ") && ps.ends_with(" (health: starting)"),
        "{ps:?}"
    );
}

/// Failures within the start period leave a container `starting` with no failing streak.
fn failures_in_the_start_period_do_not_count(env: &Env) {
    run_with(
        env,
        "hc-grace",
        &[
            "--health-cmd",
            "exit 1",
            "--health-interval",
            "1s",
            "--health-retries",
            "1",
            "--health-start-period",
            "1h",
        ],
        IMAGE,
    );
    eventually(WAIT, "two failed probes of hc-grace", || {
        health(env, "hc-grace")["Log"].as_array().unwrap().len() >= 2
    });
    let h = health(env, "hc-grace");
    assert_eq!(h["Status"], "starting", "{h}");
    assert_eq!(h["FailingStreak"], 0, "{h}");
    assert_eq!(h["Log"][0]["ExitCode"], 1, "{h}");
    ok(env, &["rm", "-f", "hc-grace"]);
}

/// A pause stops the probes and leaves the status `unhealthy` (no event); after the unpause they run
/// again and the next success is a `health_status: healthy` event.
fn a_pause_stops_the_probes_and_an_unpause_resumes_them(env: &Env) {
    let id = inspect(env, "hc-ok", "{{.Id}}");
    ok(env, &["pause", "hc-ok"]);
    assert_eq!(status(env, "hc-ok"), "unhealthy");
    let ps = ps_status(env, "hc-ok");
    assert!(ps.ends_with(" (Paused)"), "{ps:?}");
    let since = timestamp(Duration::ZERO);
    ok(env, &["unpause", "hc-ok"]);
    eventually(WAIT, "hc-ok healthy after the unpause", || {
        status(env, "hc-ok") == "healthy"
    });
    let actions = container_events(env, &since, &id, "{{.Action}}");
    assert!(
        actions.iter().any(|a| a == "health_status: healthy"),
        "{actions:?}"
    );
}

/// An image's `HEALTHCHECK` runs in its containers; `--no-healthcheck` turns it off (no `State.Health`,
/// nothing after `Up ...`) and keeps the test `NONE`.
fn the_image_healthcheck_runs_unless_no_healthcheck(env: &Env) {
    let dir = TempDir::new("hc-image").unwrap();
    let tar = rootfs::busybox_tar(dir.path()).unwrap();
    ok(
        env,
        &[
            "import",
            "--change",
            "HEALTHCHECK --interval=1s --retries=1 CMD echo image-check; false",
            tar.to_str().unwrap(),
            CHECKED_IMAGE,
        ],
    );
    let config = ok(
        env,
        &[
            "image",
            "inspect",
            "-f",
            "{{json .Config.Healthcheck}}",
            CHECKED_IMAGE,
        ],
    );
    assert_eq!(
        config.trim(),
        r#"{"Test":["CMD-SHELL","echo image-check; false"],"Interval":1000000000,"Retries":1}"#
    );
    run_with(env, "hc-image", &[], CHECKED_IMAGE);
    run_with(env, "hc-off", &["--no-healthcheck"], CHECKED_IMAGE);
    eventually(WAIT, "hc-image unhealthy", || {
        status(env, "hc-image") == "unhealthy"
    });
    assert_eq!(health(env, "hc-image")["Log"][0]["Output"], "image-check\n");
    assert_eq!(health(env, "hc-off"), Value::Null);
    assert_eq!(
        inspect(env, "hc-off", "{{json .Config.Healthcheck.Test}}"),
        r#"["NONE"]"#
    );
    let ps = ps_status(env, "hc-off");
    assert!(ps.starts_with("Up ") && !ps.contains('('), "{ps:?}");
}

/// `ps --filter health=` lists by status (`none` without a health check); an unknown value is refused.
fn ps_filters_by_health(env: &Env) {
    ok(env, &["create", "--name", "hc-none", IMAGE, "true"]);
    assert_eq!(with_health(env, "healthy"), ["hc-ok"]);
    assert_eq!(
        with_health(env, "unhealthy"),
        ["hc-bad", "hc-image", "hc-slow"]
    );
    assert_eq!(with_health(env, "starting"), ["hc-wait"]);
    assert_eq!(with_health(env, "none"), ["hc-none", "hc-off"]);
    let err = fails(env, &["ps", "--filter", "health=bogus"]);
    assert!(
        err.contains("Unrecognised filter value for health: bogus"),
        "{err}"
    );
}

/// A stop ends the probes and leaves the status `unhealthy` (with no event); a start begins `starting`
/// again with the earlier results kept, then the probes make it healthy.
fn a_stop_leaves_it_unhealthy_and_a_start_begins_again(env: &Env) {
    ok(env, &["stop", "-t", "1", "hc-ok"]);
    let h = health(env, "hc-ok");
    assert_eq!(h["Status"], "unhealthy", "{h}");
    assert!(with_health(env, "unhealthy").contains(&"hc-ok".to_owned()));
    let ps = ps_status(env, "hc-ok");
    assert!(ps.starts_with("Exited (137)"), "{ps:?}");
    let logged = h["Log"].as_array().unwrap().len();
    ok(env, &["start", "hc-ok"]);
    let h = health(env, "hc-ok");
    assert!(h["Status"] == "starting" || h["Status"] == "healthy", "{h}");
    assert!(h["Log"].as_array().unwrap().len() >= logged, "{h}");
    eventually(WAIT, "hc-ok healthy again", || {
        status(env, "hc-ok") == "healthy"
    });
}

fn rm_of_the_containers(env: &Env) {
    ok(
        env,
        &[
            "rm", "-f", "hc-ok", "hc-bad", "hc-slow", "hc-wait", "hc-image", "hc-off", "hc-none",
        ],
    );
    let out = docker(env, &["rmi", CHECKED_IMAGE]);
    assert!(out.success(), "{}", out.stderr);
}
