//! `docker exec` in a running container `ex`: output, exit codes, the container's environment with the
//! exec's changes, users, working directories, stdin, TTYs, detached execs, `ExecIDs` and the errors;
//! then, over raw HTTP, what the CLI does not show (exec inspect, a second start, resize). The checks run
//! in order against `ex`: `detached` counts on no exec before it still running.

use std::time::Duration;

use wharf_tests::cli::{docker, fails_with, ok, Env};
use wharf_tests::{checks, eventually, Check, RunCommand};

use crate::fixtures::{id_of, inspect, run_detached, sorted_lines, IMAGE};

/// The checks, in order.
pub const CHECKS: &[Check<Env>] = checks![
    start_the_container,
    output_and_exit_codes,
    a_process_beside_pid_1,
    the_containers_environment_and_the_execs,
    user_and_working_directory,
    stdin_to_its_end,
    a_tty,
    detached,
    a_background_process_does_not_hold_the_exec,
    a_command_that_cannot_start,
    not_running_not_there_and_paused,
    exec_inspect_and_start_over_http,
    framing_follows_the_start_requests_tty,
    a_ttys_size,
    rm_f_removes_them,
];

/// `docker exec <args...>`, asserting success; its stdout.
fn exec(env: &Env, args: &[&str]) -> String {
    let mut all = vec!["exec"];
    all.extend_from_slice(args);
    ok(env, &all)
}

fn start_the_container(env: &Env) {
    run_detached(env, "ex", &["sh", "-c", "echo $$ > /pid1; exec sleep 1000"]);
}

/// Both streams, and the exit code, which the CLI reads from exec inspect after the stream.
fn output_and_exit_codes(env: &Env) {
    assert_eq!(exec(env, &["ex", "sh", "-c", "echo out"]), "out\n");
    let out = docker(env, &["exec", "ex", "sh", "-c", "echo err >&2; exit 3"]);
    assert_eq!((out.status.code(), out.stderr.as_str()), (Some(3), "err\n"));
}

/// The container's processes: the exec is another process beside pid 1.
fn a_process_beside_pid_1(env: &Env) {
    assert_eq!(exec(env, &["ex", "cat", "/pid1"]), "1\n");
    let exec_pid = exec(env, &["ex", "sh", "-c", "echo $$"]);
    assert_ne!(exec_pid.trim(), "1", "an exec is not the container's init");
    assert_eq!(
        exec(env, &["ex", "cat", "/proc/1/cmdline"]),
        "sleep\u{0}1000\u{0}"
    );
}

/// Environment: the container's (HOSTNAME from its config), the exec's added and replacing.
fn the_containers_environment_and_the_execs(env: &Env) {
    let id = id_of(env, "ex");
    let env_out = exec(env, &["-e", "A=b", "-e", "PATH=/bin", "ex", "env"]);
    let vars = sorted_lines(&env_out);
    assert!(vars.contains(&"A=b".to_owned()), "{env_out}");
    assert!(vars.contains(&"PATH=/bin".to_owned()), "{env_out}");
    assert!(
        vars.contains(&format!("HOSTNAME={}", &id[..12])),
        "{env_out}"
    );
}

fn user_and_working_directory(env: &Env) {
    assert_eq!(
        exec(
            env,
            &[
                "-u",
                "1:2",
                "-w",
                "/bin",
                "ex",
                "sh",
                "-c",
                "id -u; id -g; pwd"
            ]
        ),
        "1\n2\n/bin\n"
    );
    assert_eq!(exec(env, &["-w", "/etc", "ex", "pwd"]), "/etc\n");
}

fn stdin_to_its_end(env: &Env) {
    let out = RunCommand::new("sh")
        .envs(env.iter().cloned())
        .arg("-c")
        .arg("printf 'a\\nb\\n' | docker exec -i ex sh -c 'read x; echo got $x; cat'")
        .timeout(Duration::from_secs(30))
        .run()
        .unwrap();
    assert_eq!(out.stdout, "got a\nb\n", "{}", out.stderr);
}

/// A TTY (through `script`, which gives the CLI a terminal): the process sees one, TERM is set.
fn a_tty(env: &Env) {
    let out = RunCommand::new("script")
        .envs(env.iter().cloned())
        .args([
            "-qc",
            "docker exec -it ex sh -c 'tty; echo $TERM'",
            "/dev/null",
        ])
        .timeout(Duration::from_secs(30))
        .run()
        .unwrap();
    assert!(
        out.stdout.contains("/dev/pts/") && out.stdout.contains("xterm"),
        "{out:?}"
    );
}

/// Detached: it runs on, is listed in ExecIDs while it runs, and leaves no trace in the log.
fn detached(env: &Env) {
    exec(env, &["-d", "ex", "sh", "-c", "echo detached; sleep 30"]);
    eventually(
        Duration::from_secs(10),
        "the detached exec in ExecIDs",
        || inspect(env, "ex", "{{len .ExecIDs}}") == "1",
    );
    assert!(!ok(env, &["logs", "ex"]).contains("detached"));
}

/// A process left in the background keeps the output open: the exec still ends, its exit code read,
/// within moments (dockerd waits 2 s for the output, then lets go of it).
fn a_background_process_does_not_hold_the_exec(env: &Env) {
    let out = RunCommand::new("docker")
        .envs(env.iter().cloned())
        .args(["exec", "ex", "sh", "-c", "sleep 600 & exit 4"])
        .timeout(Duration::from_secs(20))
        .run()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
}

/// A command that cannot start: dockerd's message and exit code 126.
fn a_command_that_cannot_start(env: &Env) {
    let out = docker(env, &["exec", "ex", "no-such-command"]);
    assert_eq!(out.status.code(), Some(126), "{out:?}");
    assert!(out.stdout.contains("executable file not found"), "{out:?}");
}

fn not_running_not_there_and_paused(env: &Env) {
    ok(env, &["create", "--name", "idle", IMAGE, "true"]);
    let idle = id_of(env, "idle");
    fails_with(
        env,
        &["exec", "idle", "true"],
        &format!("Container {idle} is not running"),
    );
    fails_with(env, &["exec", "nope", "true"], "No such container: nope");
    ok(env, &["pause", "ex"]);
    fails_with(
        env,
        &["exec", "ex", "true"],
        "Container ex is paused, unpause the container before exec",
    );
    ok(env, &["unpause", "ex"]);
}

/// A request to the daemon's API over its unix socket (`env`'s `DOCKER_HOST`): the status and the body.
fn raw_call(env: &Env, method: &str, uri: &str, body: Option<&str>) -> (u16, Vec<u8>) {
    let socket = crate::fixtures::socket_of(env);
    let json = [("Content-Type", "application/json")];
    let headers: &[(&str, &str)] = if body.is_some() { &json } else { &[] };
    let response =
        wharf_tests::http::request(&socket, method, uri, headers, body.map(str::as_bytes)).unwrap();
    (response.status, response.body)
}

/// [`raw_call`] with the body read as JSON (`null` when none).
fn call(env: &Env, method: &str, uri: &str, body: Option<&str>) -> (u16, serde_json::Value) {
    let (status, body) = raw_call(env, method, uri, body);
    let value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    (status, value)
}

/// The output of an exec of `echo out; echo err >&2` created with `create_tty` and started with
/// `start_tty`, as the start request's body carries it.
fn exec_output(env: &Env, create_tty: bool, start_tty: bool) -> Vec<u8> {
    let id = id_of(env, "ex");
    let create = format!(
        r#"{{"Cmd":["sh","-c","echo out; sleep 0.2; echo err >&2"],"AttachStdout":true,"AttachStderr":true,"Tty":{create_tty}}}"#
    );
    let (status, created) = call(
        env,
        "POST",
        &format!("/v1.41/containers/{id}/exec"),
        Some(&create),
    );
    assert_eq!(status, 201, "{created}");
    let exec = created["Id"].as_str().unwrap();
    let start = format!(r#"{{"Detach":false,"Tty":{start_tty}}}"#);
    let (status, body) = raw_call(
        env,
        "POST",
        &format!("/v1.41/exec/{exec}/start"),
        Some(&start),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    body
}

/// The framing of an exec's output follows `Tty` in the start request, as dockerd's does: stdcopy frames
/// without it (a TTY's output all on stdout), the bytes as they are with it.
fn framing_follows_the_start_requests_tty(env: &Env) {
    let frame = |stream: u8, text: &str| {
        let mut f = vec![stream, 0, 0, 0];
        f.extend_from_slice(&u32::try_from(text.len()).unwrap().to_be_bytes());
        f.extend_from_slice(text.as_bytes());
        f
    };
    assert_eq!(
        exec_output(env, true, false),
        [frame(1, "out\r\n"), frame(1, "err\r\n")].concat()
    );
    assert_eq!(
        exec_output(env, false, false),
        [frame(1, "out\n"), frame(2, "err\n")].concat()
    );
    // Unframed, a process without a TTY has nowhere to send its stderr: dockerd drops it.
    assert_eq!(exec_output(env, false, true), b"out\n");
    assert_eq!(exec_output(env, true, true), b"out\r\nerr\r\n");
}

/// Exec inspect while an exec has not ended (`"ExitCode": null`) and after, a second start, an unknown
/// exec.
fn exec_inspect_and_start_over_http(env: &Env) {
    let id = id_of(env, "ex");
    let (status, created) = call(
        env,
        "POST",
        &format!("/v1.41/containers/{id}/exec"),
        Some(r#"{"Cmd":["true"]}"#),
    );
    assert_eq!(status, 201, "{created}");
    let exec = created["Id"].as_str().unwrap().to_owned();
    let (_, before) = call(env, "GET", &format!("/v1.41/exec/{exec}/json"), None);
    assert_eq!(
        (
            &before["Running"],
            &before["ExitCode"],
            &before["ContainerID"]
        ),
        (
            &serde_json::json!(false),
            &serde_json::Value::Null,
            &serde_json::json!(id)
        ),
        "{before}"
    );
    let start = format!("/v1.41/exec/{exec}/start");
    assert_eq!(call(env, "POST", &start, Some(r#"{"Detach":true}"#)).0, 200);
    eventually(Duration::from_secs(10), "the exec's exit code", || {
        call(env, "GET", &format!("/v1.41/exec/{exec}/json"), None).1["ExitCode"] == 0
    });
    let (status, again) = call(env, "POST", &start, Some(r#"{"Detach":true}"#));
    assert_eq!(
        (status, again["message"].as_str().unwrap_or("")),
        (
            409,
            format!("Error: Exec command {exec} has already run").as_str()
        )
    );
    let (status, unknown) = call(env, "GET", "/v1.41/exec/nope/json", None);
    assert_eq!(
        (status, &unknown["message"]),
        (404, &serde_json::json!("No such exec instance: nope"))
    );
}

/// A TTY's size, as `docker run -t` and a resized terminal set it.
fn a_ttys_size(env: &Env) {
    ok(
        env,
        &["run", "-d", "-t", "--name", "tty", IMAGE, "sleep", "100"],
    );
    assert_eq!(
        call(env, "POST", "/v1.41/containers/tty/resize?h=40&w=120", None).0,
        200
    );
    assert_eq!(
        ok(
            env,
            &["exec", "tty", "sh", "-c", "stty size < /proc/1/fd/0"]
        ),
        "40 120\n"
    );
    ok(env, &["rm", "-f", "tty"]);
}

fn rm_f_removes_them(env: &Env) {
    ok(env, &["rm", "-f", "ex", "idle"]);
}
