//! Containers end to end: the real docker CLI against the real wharfd (its own containerd, runc) running
//! a static-busybox image imported with `docker import` — run and its exit codes, env, workdir, users,
//! stdin; ps and its filters; stop, start, restart, kill, wait, pause, unpause, top, rename, inspect, rm,
//! prune; exec and terminal sizes; logs; events; restart policies; bind, tmpfs and read-only mounts;
//! the memory limit's OOM kill; seccomp profiles; crashes of wharfd with and without `--live-restore`.
//!
//! Each scenario is a function of the docker CLI's environment alone, so it runs unchanged against
//! Debian's dockerd 20.10: `WHARF_E2E_AGAINST=dockerd cargo test -p wharf-tests --test containers`
//! checks that the tests assert what dockerd does (see `wharf_tests::against`). The crash tests are
//! wharfd's own and skip there. `the_fine_points_match_dockerd` collects the details where wharfd and
//! dockerd were seen to differ, and reports every difference at once.
//!
//! They need root, containerd, runc and busybox-static (and dockerd for the reference runs); without them
//! the tests print why and pass, except under CI (`CI` set), where that is a failure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wharf_tests::{prereq, rootfs, Against, CommandOutput, Daemon, RunCommand, TempDir, Wharfd};

/// The image every test runs.
const IMAGE: &str = "bb:latest";

/// The docker CLI's environment for the daemon under test.
type Env = [(String, String)];

// ---------------------------------------------------------------------------------------------------
// Fixtures and helpers.

/// The daemon under test (`WHARF_E2E_AGAINST`), started with `args` and with the busybox image imported;
/// `None`, after saying why, when this host cannot run it.
fn daemon_under_test(test: &str, args: &[&str]) -> Option<(Daemon, Vec<(String, String)>)> {
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

/// Runs `scenario` against a fresh daemon under test.
fn against_daemon(test: &str, scenario: fn(&Env)) {
    if let Some((daemon, env)) = daemon_under_test(test, &[]) {
        let _log = LogOnFailure(&daemon);
        scenario(&env);
    }
}

/// Prints the end of the daemon's log if the test fails while it is held.
struct LogOnFailure<'a>(&'a Daemon);

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
fn wharfd_only(test: &str) -> bool {
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
fn import_image(env: &Env, dir: &std::path::Path) {
    let tar = rootfs::busybox_tar(dir).unwrap();
    ok(env, &["import", tar.to_str().unwrap(), IMAGE]);
}

fn docker(env: &Env, args: &[&str]) -> CommandOutput {
    wharf_tests::docker(env, args).expect("docker runs")
}

/// Runs docker, asserting success; its stdout.
fn ok(env: &Env, args: &[&str]) -> String {
    let out = docker(env, args);
    assert!(
        out.success(),
        "docker {args:?} failed ({}): {}\n{}",
        out.status,
        out.stdout,
        out.stderr
    );
    out.stdout
}

/// Runs docker, asserting failure; its stderr.
fn fails(env: &Env, args: &[&str]) -> String {
    let out = docker(env, args);
    assert!(
        !out.success(),
        "docker {args:?} succeeded: {}\n{}",
        out.stdout,
        out.stderr
    );
    out.stderr
}

/// The daemon's message in the CLI's `Error response from daemon: <message>` line (`""` when none).
fn daemon_error(stderr: &str) -> &str {
    const PREFIX: &str = "Error response from daemon: ";
    stderr
        .lines()
        .find_map(|l| l.split_once(PREFIX).map(|(_, message)| message))
        .unwrap_or("")
}

/// Runs docker, asserting failure with the daemon's `message`.
fn fails_with(env: &Env, args: &[&str], message: &str) {
    let stderr = fails(env, args);
    assert_eq!(
        daemon_error(&stderr),
        message,
        "the error of docker {args:?}; its stderr:\n{stderr}"
    );
}

fn exit_code(env: &Env, args: &[&str]) -> i32 {
    docker(env, args).status.code().unwrap_or(-1)
}

fn inspect(env: &Env, name: &str, format: &str) -> String {
    ok(env, &["inspect", "-f", format, name]).trim().to_owned()
}

fn id_of(env: &Env, name: &str) -> String {
    inspect(env, name, "{{.Id}}")
}

/// `docker run -d --name <name> IMAGE <cmd...>`; the container's ID.
fn run_detached(env: &Env, name: &str, cmd: &[&str]) -> String {
    let mut args = vec!["run", "-d", "--name", name, IMAGE];
    args.extend_from_slice(cmd);
    let id = ok(env, &args).trim().to_owned();
    assert_eq!(id.len(), 64, "docker run -d prints the full ID: {id:?}");
    id
}

/// Runs a shell loop detached that installs `trap` first, and returns its ID once the trap is in place
/// (the script says so in its log), so that a signal sent next meets the handler.
fn run_trapping(env: &Env, name: &str, trap: &str) -> String {
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

/// Polls `check` every 100 ms until it holds or `limit` passes.
fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn sorted_lines(out: &str) -> Vec<String> {
    let mut v: Vec<String> = out.lines().map(str::to_owned).collect();
    v.sort();
    v
}

/// Now as a unix timestamp with nanoseconds, as `docker events --since/--until` take it.
fn timestamp(offset: Duration) -> String {
    let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + offset;
    format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
}

/// The events about container `id` between `since` and now, one `format`ted line each.
fn container_events(env: &Env, since: &str, id: &str, format: &str) -> Vec<String> {
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
fn assert_unless_dockerd_races(holds: bool, what: &str) {
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
fn sh(script: &str) -> [&str; 3] {
    ["sh", "-c", script]
}

// ---------------------------------------------------------------------------------------------------
// The tests: each starts one daemon under test.

#[test]
fn run_passes_output_exit_codes_env_workdir_users_and_stdin() {
    against_daemon(
        "run_passes_output_exit_codes_env_workdir_users_and_stdin",
        run_scenario,
    );
}

#[test]
fn exec_runs_commands_in_running_containers() {
    against_daemon("exec_runs_commands_in_running_containers", exec_scenario);
}

#[test]
fn ps_filters_and_the_lifecycle_commands() {
    against_daemon("ps_filters_and_the_lifecycle_commands", lifecycle_scenario);
}

#[test]
fn logs_tail_timestamps_follow_and_streams() {
    against_daemon("logs_tail_timestamps_follow_and_streams", logs_scenario);
}

#[test]
fn events_and_the_restart_policy() {
    against_daemon("events_and_the_restart_policy", events_scenario);
}

#[test]
fn mounts_and_the_memory_limit() {
    against_daemon("mounts_and_the_memory_limit", mounts_scenario);
}

#[test]
fn seccomp_profiles_filter_system_calls() {
    seccomp_scenario("seccomp_profiles_filter_system_calls");
}

#[test]
fn the_fine_points_match_dockerd() {
    against_daemon("the_fine_points_match_dockerd", fine_points_scenario);
}

// ---------------------------------------------------------------------------------------------------
// The scenarios.

fn run_scenario(env: &Env) {
    // Output, exit codes passed through.
    assert_eq!(ok(env, &["run", "--rm", IMAGE, "echo", "hi"]), "hi\n");
    assert_eq!(exit_code(env, &["run", "--rm", IMAGE, "false"]), 1);
    assert_eq!(
        exit_code(env, &["run", "--rm", IMAGE, "sh", "-c", "exit 42"]),
        42
    );
    let out = docker(
        env,
        &["run", "--rm", IMAGE, "sh", "-c", "echo out; echo err >&2"],
    );
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str()),
        ("out\n", "err\n"),
        "stdout and stderr kept apart"
    );

    // Environment, working directory, users by name and number (the image's /etc/passwd and /etc/group).
    let who = "echo $A $(pwd) $(id -u):$(id -g) $HOME";
    let run_as = |user: &str| {
        let mut args = vec!["run", "--rm", "-e", "A=b", "-w", "/tmp"];
        if !user.is_empty() {
            args.extend(["--user", user]);
        }
        args.push(IMAGE);
        args.extend(sh(who));
        ok(env, &args)
    };
    assert_eq!(run_as(""), "b /tmp 0:0 /root\n");
    assert_eq!(run_as("app"), "b /tmp 1000:1000 /home/app\n");
    assert_eq!(run_as("1000:1000"), "b /tmp 1000:1000 /home/app\n");
    assert_eq!(run_as("nobody"), "b /tmp 65534:65534 /nonexistent\n");
    assert_eq!(run_as("65534:1000"), "b /tmp 65534:1000 /nonexistent\n");
    assert_eq!(run_as("app:nogroup"), "b /tmp 1000:65534 /home/app\n");
    // A uid without a passwd entry: group 0 and HOME=/.
    assert_eq!(run_as("4242"), "b /tmp 4242:0 /\n");
    for (user, message) in [
        (
            "nosuch",
            "unable to find user nosuch: no matching entries in passwd file",
        ),
        (
            "1000:nosuch",
            "unable to find group nosuch: no matching entries in group file",
        ),
    ] {
        let out = docker(env, &["run", "--rm", "--user", user, IMAGE, "true"]);
        assert_eq!(
            out.status.code(),
            Some(125),
            "--user {user}: {}",
            out.stderr
        );
        assert_eq!(daemon_error(&out.stderr), message, "--user {user}");
    }

    // A created container's environment and the process's: -e on top of the defaults.
    ok(
        env,
        &[
            "run", "--name", "envd", "-e", "A=b", "-e", "EMPTY=", IMAGE, "env",
        ],
    );
    // (In the order the CLI sends them, which is not always the command line's.)
    assert_eq!(
        sorted_lines(&inspect(
            env,
            "envd",
            "{{range .Config.Env}}{{println .}}{{end}}"
        )),
        ["A=b", "EMPTY="]
    );
    let id = id_of(env, "envd");
    let seen = sorted_lines(&ok(env, &["logs", "envd"]));
    assert_eq!(
        seen,
        [
            "A=b".to_owned(),
            "EMPTY=".into(),
            "HOME=/root".into(),
            format!("HOSTNAME={}", &id[..12]),
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        ],
        "the container's environment"
    );
    assert_eq!(
        inspect(
            env,
            "envd",
            "{{.Path}} {{json .Args}} {{json .Config.Cmd}} {{.Config.Image}} {{.Config.Hostname}}"
        ),
        format!(r#"env [] ["env"] {IMAGE} {}"#, &id[..12])
    );
    ok(env, &["rm", "envd"]);

    // Commands that cannot start: dockerd's 127 and 126, with runc's message.
    let out = docker(env, &["run", "--rm", IMAGE, "no-such-command"]);
    assert_eq!(out.status.code(), Some(127), "{}", out.stderr);
    assert!(
        daemon_error(&out.stderr)
            .ends_with(r#"exec: "no-such-command": executable file not found in $PATH: unknown"#),
        "{}",
        out.stderr
    );
    let out = docker(env, &["run", "--rm", IMAGE, "/etc/passwd"]);
    assert_eq!(out.status.code(), Some(126), "{}", out.stderr);
    assert!(
        daemon_error(&out.stderr).ends_with(r#"exec: "/etc/passwd": permission denied: unknown"#),
        "{}",
        out.stderr
    );

    // stdin through an attached connection, closed when the client's input ends.
    let out = RunCommand::new("sh")
        .envs(env.iter().cloned())
        .arg("-c")
        .arg(format!(
            "echo hello | docker run -i --rm {IMAGE} sh -c 'cat; echo done'"
        ))
        .timeout(Duration::from_secs(30))
        .run()
        .unwrap();
    assert_eq!(out.stdout, "hello\ndone\n", "{}", out.stderr);
    // Attached output arrives whole, however much of it there is.
    let out = ok(env, &["run", "--rm", IMAGE, "seq", "1", "100000"]);
    let expected: String = (1..=100_000).map(|i| format!("{i}\n")).collect();
    assert!(
        out == expected,
        "seq 1 100000 came through altered ({} bytes)",
        out.len()
    );
    // -a picks the streams.
    let out = docker(
        env,
        &[
            "run",
            "--rm",
            "-a",
            "stderr",
            IMAGE,
            "sh",
            "-c",
            "echo out; echo err >&2",
        ],
    );
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", "err\n"));

    // --init runs tini as PID 1, mounted as dockerd mounts docker-init.
    assert_eq!(
        ok(
            env,
            &["run", "--rm", "--init", IMAGE, "cat", "/proc/1/comm"]
        ),
        "docker-init\n"
    );
    privileged_sees_the_host_devices(env);

    // Networks: by default a namespace of its own with only loopback (dockerd's without a bridge, as the
    // reference runs; wharfd's for now), the same with `none`, or the host's.
    let interfaces = |network: &[&str]| {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(network);
        args.extend([IMAGE, "cat", "/proc/net/dev"]);
        ok(env, &args)
            .lines()
            .skip(2)
            .filter_map(|l| l.split_once(':').map(|(name, _)| name.trim().to_owned()))
            .collect::<Vec<_>>()
    };
    assert_eq!(interfaces(&[]), ["lo"]);
    assert_eq!(interfaces(&["--network", "none"]), ["lo"]);
    let host_ns = std::fs::read_link("/proc/self/ns/net").unwrap();
    let ls = ok(
        env,
        &[
            "run",
            "--rm",
            "--network",
            "host",
            IMAGE,
            "ls",
            "-l",
            "/proc/self/ns/net",
        ],
    );
    assert_eq!(
        ls.trim().rsplit(" -> ").next(),
        host_ns.to_str(),
        "--network host shares the host's namespace: {ls}"
    );

    // --rm removed every container above.
    assert_eq!(ok(env, &["ps", "-aq"]), "");

    // -d with a name, and the name taken.
    let id = run_detached(env, "named", &["sleep", "30"]);
    assert_eq!(
        inspect(env, "named", "{{.Id}} {{.Name}} {{.State.Running}}"),
        format!("{id} /named true")
    );
    let out = docker(env, &["run", "--name", "named", IMAGE, "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        daemon_error(&out.stderr),
        format!(
            "Conflict. The container name \"/named\" is already in use by container \"{id}\". \
             You have to remove (or rename) that container to be able to reuse that name."
        )
    );

    // Unknown containers, in every command that names one (`kill` words it its own way: see
    // the_fine_points_match_dockerd).
    for args in [
        &["container", "inspect", "nope"][..],
        &["stop", "nope"],
        &["start", "nope"],
        &["restart", "nope"],
        &["pause", "nope"],
        &["unpause", "nope"],
        &["wait", "nope"],
        &["top", "nope"],
        &["logs", "nope"],
        &["rename", "nope", "other"],
        &["rm", "nope"],
    ] {
        fails_with(env, args, "No such container: nope");
    }
    assert!(fails(env, &["inspect", "nope"]).contains("Error: No such object: nope"));
    ok(env, &["rm", "-f", "named"]);
    fails_with(
        env,
        &["container", "inspect", "named"],
        "No such container: named",
    );
}

/// `docker exec`: output, exit codes, the container's environment with the exec's changes, users,
/// working directories, stdin, TTYs, detached execs, `ExecIDs` and the errors.
fn exec_scenario(env: &Env) {
    let id = run_detached(env, "ex", &["sh", "-c", "echo $$ > /pid1; exec sleep 1000"]);
    let ok_in = |args: &[&str]| {
        let mut all = vec!["exec"];
        all.extend_from_slice(args);
        ok(env, &all)
    };
    // Both streams, and the exit code, which the CLI reads from exec inspect after the stream.
    assert_eq!(ok_in(&["ex", "sh", "-c", "echo out"]), "out\n");
    let out = docker(env, &["exec", "ex", "sh", "-c", "echo err >&2; exit 3"]);
    assert_eq!((out.status.code(), out.stderr.as_str()), (Some(3), "err\n"));
    // The container's processes: the exec is another process beside pid 1.
    assert_eq!(ok_in(&["ex", "cat", "/pid1"]), "1\n");
    let exec_pid = ok_in(&["ex", "sh", "-c", "echo $$"]);
    assert_ne!(exec_pid.trim(), "1", "an exec is not the container's init");
    assert_eq!(
        ok_in(&["ex", "cat", "/proc/1/cmdline"]),
        "sleep\u{0}1000\u{0}"
    );
    // Environment: the container's (HOSTNAME from its config), the exec's added and replacing.
    let env_out = ok_in(&["-e", "A=b", "-e", "PATH=/bin", "ex", "env"]);
    let vars = sorted_lines(&env_out);
    assert!(vars.contains(&"A=b".to_owned()), "{env_out}");
    assert!(vars.contains(&"PATH=/bin".to_owned()), "{env_out}");
    assert!(
        vars.contains(&format!("HOSTNAME={}", &id[..12])),
        "{env_out}"
    );
    // User and working directory.
    assert_eq!(
        ok_in(&[
            "-u",
            "1:2",
            "-w",
            "/bin",
            "ex",
            "sh",
            "-c",
            "id -u; id -g; pwd"
        ]),
        "1\n2\n/bin\n"
    );
    assert_eq!(ok_in(&["-w", "/etc", "ex", "pwd"]), "/etc\n");
    // stdin, to its end.
    let out = RunCommand::new("sh")
        .envs(env.iter().cloned())
        .arg("-c")
        .arg("printf 'a\\nb\\n' | docker exec -i ex sh -c 'read x; echo got $x; cat'")
        .timeout(Duration::from_secs(30))
        .run()
        .unwrap();
    assert_eq!(out.stdout, "got a\nb\n", "{}", out.stderr);
    // A TTY (through `script`, which gives the CLI a terminal): the process sees one, TERM is set.
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
    // Detached: it runs on, is listed in ExecIDs while it runs, and leaves no trace in the log.
    ok_in(&["-d", "ex", "sh", "-c", "echo detached; sleep 30"]);
    eventually(
        Duration::from_secs(10),
        "the detached exec in ExecIDs",
        || inspect(env, "ex", "{{len .ExecIDs}}") == "1",
    );
    assert!(!ok(env, &["logs", "ex"]).contains("detached"));
    // A process left in the background keeps the output open: the exec still ends, its exit code
    // read, within moments (dockerd waits 2 s for the output, then lets go of it).
    let out = RunCommand::new("docker")
        .envs(env.iter().cloned())
        .args(["exec", "ex", "sh", "-c", "sleep 600 & exit 4"])
        .timeout(Duration::from_secs(20))
        .run()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    // A command that cannot start: dockerd's message and exit code 126.
    let out = docker(env, &["exec", "ex", "no-such-command"]);
    assert_eq!(out.status.code(), Some(126), "{out:?}");
    assert!(out.stdout.contains("executable file not found"), "{out:?}");
    // Not running, not there.
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
    exec_api_checks(env, &id);
    ok(env, &["rm", "-f", "ex", "idle"]);
}

/// What the docker CLI does not show of exec and resize, over raw HTTP: exec inspect while an exec has
/// not ended (`"ExitCode": null`) and after, a second start, an unknown exec, and a TTY's new size.
fn exec_api_checks(env: &Env, id: &str) {
    let host = env
        .iter()
        .find(|(k, _)| k == "DOCKER_HOST")
        .map(|(_, v)| v.clone())
        .unwrap();
    let socket = std::path::PathBuf::from(host.strip_prefix("unix://").unwrap());
    let call = |method: &str, uri: &str, body: Option<&str>| {
        let json = [("Content-Type", "application/json")];
        let headers: &[(&str, &str)] = if body.is_some() { &json } else { &[] };
        let response =
            wharf_tests::http::request(&socket, method, uri, headers, body.map(str::as_bytes))
                .unwrap();
        let value: serde_json::Value =
            serde_json::from_slice(&response.body).unwrap_or(serde_json::Value::Null);
        (response.status, value)
    };
    let (status, created) = call(
        "POST",
        &format!("/v1.41/containers/{id}/exec"),
        Some(r#"{"Cmd":["true"]}"#),
    );
    assert_eq!(status, 201, "{created}");
    let exec = created["Id"].as_str().unwrap().to_owned();
    let (_, before) = call("GET", &format!("/v1.41/exec/{exec}/json"), None);
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
    assert_eq!(call("POST", &start, Some(r#"{"Detach":true}"#)).0, 200);
    eventually(Duration::from_secs(10), "the exec's exit code", || {
        call("GET", &format!("/v1.41/exec/{exec}/json"), None).1["ExitCode"] == 0
    });
    let (status, again) = call("POST", &start, Some(r#"{"Detach":true}"#));
    assert_eq!(
        (status, again["message"].as_str().unwrap_or("")),
        (
            409,
            format!("Error: Exec command {exec} has already run").as_str()
        )
    );
    let (status, unknown) = call("GET", "/v1.41/exec/nope/json", None);
    assert_eq!(
        (status, &unknown["message"]),
        (404, &serde_json::json!("No such exec instance: nope"))
    );
    // A TTY's size, as `docker run -t` and a resized terminal set it.
    ok(
        env,
        &["run", "-d", "-t", "--name", "tty", IMAGE, "sleep", "100"],
    );
    assert_eq!(
        call("POST", "/v1.41/containers/tty/resize?h=40&w=120", None).0,
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

/// `--privileged` gives the host's devices. dockerd grants every capability it knows of, so where this
/// host's bounding set lacks one (some sandboxes drop CAP_SYS_RESOURCE) runc cannot start its privileged
/// containers; wharfd grants the host's and must run them.
fn privileged_sees_the_host_devices(env: &Env) {
    if Against::from_env().unwrap() == Against::Dockerd && !full_capability_bounding_set() {
        eprintln!(
            "not checking --privileged: dockerd cannot run it on a host without every capability"
        );
        return;
    }
    let ls = ok(env, &["run", "--rm", "--privileged", IMAGE, "ls", "/dev"]);
    let host: Vec<String> = std::fs::read_dir("/dev")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_type().is_ok_and(|t| {
                use std::os::unix::fs::FileTypeExt;
                t.is_block_device()
            })
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if let Some(block) = host.first() {
        assert!(ls.lines().any(|l| l == block), "{block} missing from {ls}");
    }
}

/// Whether this process holds every capability the kernel has.
fn full_capability_bounding_set() -> bool {
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let bounding = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .map(|hex| u64::from_str_radix(hex.trim(), 16).unwrap())
        .unwrap();
    bounding == (1u64 << (last + 1)) - 1
}

fn lifecycle_scenario(env: &Env) {
    let up = ok(
        env,
        &[
            "run", "-d", "--name", "up", "--label", "k=v", IMAGE, "sleep", "100",
        ],
    )
    .trim()
    .to_owned();
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

    // ps and its filters.
    let ps = |args: &[&str]| {
        let mut all = vec!["ps", "--format", "{{.Names}}"];
        all.extend_from_slice(args);
        sorted_lines(&ok(env, &all))
    };
    assert_eq!(ps(&[]), ["frozen", "up"]);
    assert_eq!(ps(&["-a"]), ["done", "failed", "frozen", "new", "up"]);
    assert_eq!(ps(&["-a", "--filter", "status=exited"]), ["done", "failed"]);
    assert_eq!(ps(&["-a", "--filter", "status=created"]), ["new"]);
    assert_eq!(ps(&["-a", "--filter", "status=running"]), ["up"]);
    assert_eq!(ps(&["-a", "--filter", "status=paused"]), ["frozen"]);
    assert_eq!(ps(&["-a", "--filter", "exited=0"]), ["done"]);
    assert_eq!(ps(&["-a", "--filter", "exited=5"]), ["failed"]);
    assert_eq!(ps(&["-a", "--filter", "name=^new"]), ["new"]);
    assert_eq!(ps(&["-a", "--filter", "name=ne"]), ["done", "new"]);
    assert_eq!(ps(&["-a", "--filter", "label=k=v"]), ["up"]);
    assert_eq!(ps(&["-a", "--filter", "label=k"]), ["up"]);
    assert_eq!(ps(&["-a", "--filter", "label=k=w"]), Vec::<String>::new());
    assert_eq!(ps(&["-a", "--filter", "ancestor=bb"]).len(), 5);
    assert_eq!(
        ps(&["-a", "--filter", &format!("id={}", &up[..12])]),
        ["up"]
    );
    assert_eq!(
        ps(&["-a", "--filter", "before=new"]),
        ["done", "failed", "up"]
    );
    assert_eq!(ps(&["-a", "--filter", "since=new"]), ["frozen"]);
    assert_eq!(ps(&["-l"]), ["frozen"]);
    fails_with(
        env,
        &["ps", "-a", "--filter", "status=bogus"],
        "Invalid filter 'status=bogus'",
    );
    // -q: short IDs, of running containers only unless -a.
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

    // pause and unpause.
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
    // A paused container stops: it is thawed for the signals.
    ok(env, &["pause", "frozen"]);
    ok(env, &["stop", "-t", "1", "frozen"]);
    assert_eq!(
        inspect(env, "frozen", "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 137"
    );

    // top runs ps on the host: the PID column is the host's PID of the container's process.
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
    fails_with(
        env,
        &["top", "new"],
        &format!("Container {new} is not running"),
    );

    // rename.
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

    // rm of a running container needs -f.
    fails_with(
        env,
        &["rm", "renamed"],
        &format!(
            "You cannot remove a running container {up}. Stop the container before attempting removal \
             or force remove"
        ),
    );
    // stop: SIGTERM, and SIGKILL after the timeout. A PID 1 without a handler ignores SIGTERM (137), a
    // handler decides (0 here), tini passes SIGTERM on to a child it kills (128+15).
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
    // stop and start of what is already so are no errors.
    ok(env, &["stop", "new"]);
    assert_eq!(inspect(env, "new", "{{.State.Status}}"), "created");

    // start, restart.
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

    // kill -s with a handler, kill -s 9, kill of a stopped container; wait prints exit codes.
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

    // rm -f of a running container removes it at once.
    ok(env, &["start", "renamed"]);
    ok(env, &["rm", "-f", "renamed"]);
    fails_with(
        env,
        &["container", "inspect", "renamed"],
        "No such container: renamed",
    );

    // prune removes every stopped container, and says which.
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
    assert_eq!(ps(&["-a"]), ["keeps"]);
    ok(env, &["rm", "-f", "keeps"]);
}

fn logs_scenario(env: &Env) {
    run_detached(
        env,
        "talk",
        &sh("echo one; echo two; sleep 0.5; echo oops >&2; sleep 2; echo three; printf partial"),
    );
    // -f ends when the container exits, with everything, stdout and stderr apart.
    let followed = docker(env, &["logs", "-f", "talk"]);
    assert!(followed.success(), "{}", followed.stderr);
    assert!(
        followed.stdout.starts_with("one\ntwo\nthree\n"),
        "{}",
        followed.stdout
    );
    assert_unless_dockerd_races(
        followed.stdout.ends_with("three\npartial"),
        "logs -f ends with the unterminated last line",
    );
    assert_eq!(followed.stderr, "oops\n");
    // --tail counts lines of both streams.
    for (n, stdout, stderr) in [
        ("1", "partial", ""),
        ("2", "three\npartial", ""),
        ("3", "three\npartial", "oops\n"),
        ("4", "two\nthree\npartial", "oops\n"),
    ] {
        let tail = docker(env, &["logs", "--tail", n, "talk"]);
        assert_eq!(
            (tail.stdout.as_str(), tail.stderr.as_str()),
            (stdout, stderr),
            "logs --tail {n}"
        );
    }
    assert_eq!(ok(env, &["logs", "--tail", "0", "talk"]), "");
    // --timestamps: RFC 3339 with nanoseconds, always nine digits.
    let stamped = ok(env, &["logs", "--timestamps", "talk"]);
    let mut lines = 0;
    for (line, text) in stamped.lines().zip(["one", "two", "three", "partial"]) {
        let (time, rest) = line.split_once(' ').unwrap();
        assert_eq!(rest, text);
        assert!(
            time.len() == 30 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
            "{line}"
        );
        lines += 1;
    }
    assert_eq!(lines, 4, "{stamped}");
    // The file is dockerd's json-file format.
    let path = inspect(env, "talk", "{{.LogPath}}");
    assert_eq!(
        inspect(env, "talk", "{{.HostConfig.LogConfig.Type}}"),
        "json-file"
    );
    let file = std::fs::read_to_string(path).unwrap();
    let streams: Vec<(&str, &str)> = file
        .lines()
        .map(|l| {
            let (log, rest) = l
                .strip_prefix(r#"{"log":""#)
                .unwrap()
                .split_once(r#"","stream":""#)
                .unwrap();
            let (stream, time) = rest.split_once(r#"","time":""#).unwrap();
            assert!(time.ends_with(r#"Z"}"#), "{l}");
            (log, stream)
        })
        .collect();
    assert_eq!(
        streams,
        [
            (r"one\n", "stdout"),
            (r"two\n", "stdout"),
            (r"oops\n", "stderr"),
            (r"three\n", "stdout"),
            ("partial", "stdout")
        ]
    );

    // -f on a running container: the lines so far, then new ones, ending when it is stopped.
    run_detached(
        env,
        "ticker",
        &sh("trap 'echo bye; exit 0' TERM; echo first; while true; do sleep 0.1; done"),
    );
    eventually(Duration::from_secs(5), "the first line", || {
        ok(env, &["logs", "ticker"]) == "first\n"
    });
    let follower = std::thread::spawn({
        let env = env.to_vec();
        move || docker(&env, &["logs", "-f", "ticker"])
    });
    std::thread::sleep(Duration::from_millis(500));
    ok(env, &["stop", "ticker"]);
    let followed = follower.join().unwrap();
    assert!(followed.success(), "{}", followed.stderr);
    assert_eq!(followed.stdout, "first\nbye\n");

    // Much output, in the log as written.
    ok(
        env,
        &[
            "run",
            "--name",
            "big",
            IMAGE,
            "sh",
            "-c",
            "seq 1 50000; seq 1 50000 >&2",
        ],
    );
    let expected: String = (1..=50_000).map(|i| format!("{i}\n")).collect();
    let out = docker(env, &["logs", "big"]);
    assert!(
        out.stdout == expected,
        "stdout altered ({} bytes)",
        out.stdout.len()
    );
    assert!(
        out.stderr == expected,
        "stderr altered ({} bytes)",
        out.stderr.len()
    );
    ok(env, &["rm", "talk", "ticker", "big"]);
}

fn events_scenario(env: &Env) {
    // A run: every event, with the container's name, image and labels as attributes, and the exit code
    // on die.
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

    // The lifecycle commands' events: stop's two kills, rename's old name, restart, kill's signal.
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

    // on-failure:2 restarts twice, then stays exited with the last exit code.
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
    // --restart and --rm do not go together (the CLI says so).
    let out = docker(env, &["run", "--rm", "--restart", "always", IMAGE, "true"]);
    assert!(
        out.stderr
            .contains("conflicting options: cannot specify both --restart and --rm"),
        "{}",
        out.stderr
    );
    // always: restarted until stopped, and not after.
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
    ok(env, &["rm", "flaky", "always"]);
}

fn mounts_scenario(env: &Env) {
    // Bind mounts both ways, and read-only.
    let dir = TempDir::new("bind").unwrap();
    let host = dir.path().join("shared");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("in"), "from host\n").unwrap();
    let bind = format!("{}:/data", host.display());
    assert_eq!(
        ok(
            env,
            &[
                "run",
                "--rm",
                "-v",
                &bind,
                IMAGE,
                "sh",
                "-c",
                "cat /data/in; echo back > /data/out"
            ]
        ),
        "from host\n"
    );
    assert_eq!(std::fs::read_to_string(host.join("out")).unwrap(), "back\n");
    let ro = format!("{bind}:ro");
    let out = docker(
        env,
        &[
            "run",
            "--rm",
            "-v",
            &ro,
            IMAGE,
            "sh",
            "-c",
            "echo x > /data/out",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        out.stderr,
        "sh: can't create /data/out: Read-only file system\n"
    );
    assert_eq!(std::fs::read_to_string(host.join("out")).unwrap(), "back\n");
    // -v creates a missing source directory; --mount refuses it.
    let missing = dir.path().join("made");
    let made = format!("{}:/d", missing.display());
    ok(env, &["run", "--rm", "-v", &made, IMAGE, "true"]);
    assert!(missing.is_dir(), "-v made its source");
    let absent = dir.path().join("absent");
    let mount = format!("type=bind,source={},target=/d", absent.display());
    let out = docker(env, &["run", "--rm", "--mount", &mount, IMAGE, "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        daemon_error(&out.stderr),
        format!(
            "invalid mount config for type \"bind\": bind source path does not exist: {}",
            absent.display()
        )
    );

    // tmpfs, with and without a size.
    let mounts = ok(
        env,
        &[
            "run",
            "--rm",
            "--mount",
            "type=tmpfs,target=/t",
            IMAGE,
            "grep",
            " /t ",
            "/proc/mounts",
        ],
    );
    assert_eq!(
        mounts,
        "tmpfs /t tmpfs rw,nosuid,nodev,noexec,relatime 0 0\n"
    );
    let mounts = ok(
        env,
        &[
            "run",
            "--rm",
            "--mount",
            "type=tmpfs,target=/t,tmpfs-size=1m",
            IMAGE,
            "grep",
            " /t ",
            "/proc/mounts",
        ],
    );
    assert_eq!(
        mounts,
        "tmpfs /t tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k 0 0\n"
    );
    let mounts = ok(
        env,
        &[
            "run",
            "--rm",
            "--tmpfs",
            "/t",
            IMAGE,
            "grep",
            " /t ",
            "/proc/mounts",
        ],
    );
    assert!(mounts.starts_with("tmpfs /t tmpfs rw,"), "{mounts}");

    // inspect shows them.
    ok(
        env,
        &[
            "create",
            "--name",
            "mounted",
            "-v",
            &ro,
            "--mount",
            "type=tmpfs,target=/t",
            IMAGE,
            "true",
        ],
    );
    // (In no particular order: dockerd keeps them in a map.)
    assert_eq!(
        sorted_lines(&inspect(
            env,
            "mounted",
            "{{range .Mounts}}{{json .}}{{println}}{{end}}"
        )),
        [
            format!(
                r#"{{"Type":"bind","Source":"{}","Destination":"/data","Mode":"ro","RW":false,"Propagation":"rprivate"}}"#,
                host.display()
            ),
            r#"{"Type":"tmpfs","Source":"","Destination":"/t","Mode":"","RW":true,"Propagation":""}"#
                .to_owned()
        ]
    );
    assert_eq!(
        inspect(
            env,
            "mounted",
            "{{json .HostConfig.Binds}} {{json .HostConfig.Mounts}}"
        ),
        format!(r#"["{ro}"] [{{"Type":"tmpfs","Target":"/t"}}]"#)
    );
    ok(env, &["rm", "mounted"]);

    // A read-only root file system: nothing writable but what is mounted so.
    let out = docker(
        env,
        &[
            "run",
            "--rm",
            "--read-only",
            IMAGE,
            "sh",
            "-c",
            "touch /x; echo root=$?; touch /tmp/x; echo tmp=$?; touch /dev/shm/x; echo shm=$?",
        ],
    );
    assert_eq!(out.stdout, "root=1\ntmp=1\nshm=0\n", "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "touch: /x: Read-only file system\ntouch: /tmp/x: Read-only file system\n"
    );
    assert_eq!(
        ok(
            env,
            &[
                "run",
                "--rm",
                "--read-only",
                "--tmpfs",
                "/tmp",
                IMAGE,
                "sh",
                "-c",
                "touch /tmp/x && echo ok"
            ]
        ),
        "ok\n"
    );
    let mounts = ok(
        env,
        &[
            "run",
            "--rm",
            "--read-only",
            IMAGE,
            "grep",
            " / ",
            "/proc/mounts",
        ],
    );
    let root = mounts.lines().last().unwrap().split(' ').nth(3).unwrap();
    assert!(root.starts_with("ro,"), "the root's options {root}");

    // A process over --memory is OOM-killed: the container's PID 1 (137), or a child of it, which the
    // state records too.
    let code = exit_code(
        env,
        &[
            "run",
            "--name",
            "hog",
            "-m",
            "16m",
            IMAGE,
            "dd",
            "if=/dev/zero",
            "of=/dev/null",
            "bs=64M",
            "count=1",
        ],
    );
    assert_eq!(code, 137);
    assert_eq!(
        inspect(env, "hog", "{{.State.ExitCode}} {{.HostConfig.Memory}}"),
        "137 16777216"
    );
    assert_unless_dockerd_races(
        inspect(env, "hog", "{{.State.OOMKilled}}") == "true",
        "OOMKilled of an OOM-killed PID 1",
    );
    let out = docker(
        env,
        &[
            "run",
            "--name",
            "child",
            "-m",
            "16m",
            IMAGE,
            "sh",
            "-c",
            "dd if=/dev/zero of=/dev/null bs=64M count=1; echo dd=$?",
        ],
    );
    assert_eq!(out.stdout, "dd=137\n", "{}", out.stderr);
    assert_eq!(inspect(env, "child", "{{.State.ExitCode}}"), "0");
    assert_unless_dockerd_races(
        inspect(env, "child", "{{.State.OOMKilled}}") == "true",
        "OOMKilled of a container whose child was OOM-killed",
    );
    // Under the limit nothing is killed.
    let out = docker(
        env,
        &[
            "run",
            "--name",
            "fits",
            "-m",
            "16m",
            IMAGE,
            "dd",
            "if=/dev/zero",
            "of=/dev/null",
            "bs=4M",
            "count=1",
        ],
    );
    assert!(out.success(), "{}", out.stderr);
    assert_eq!(
        inspect(env, "fits", "{{.State.OOMKilled}} {{.State.ExitCode}}"),
        "false 0"
    );
    ok(env, &["rm", "hog", "child", "fits"]);
}

/// The `Seccomp:` mode of a container's process: 0 without a filter, 2 with one.
fn seccomp_mode(env: &Env) -> String {
    let status = ok(env, &["run", "--rm", IMAGE, "cat", "/proc/self/status"]);
    status
        .lines()
        .find_map(|l| l.strip_prefix("Seccomp:"))
        .unwrap()
        .trim()
        .to_owned()
}

/// A profile that allows everything but `mkdir`.
const NO_MKDIR: &str = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}"#;

fn seccomp_scenario(test: &str) {
    let dir = TempDir::new("seccomp").unwrap();
    let profile = dir.path().join("no-mkdir.json");
    std::fs::write(&profile, NO_MKDIR).unwrap();
    // The daemon's default profile...
    let Some((daemon, env)) =
        daemon_under_test(test, &["--seccomp-profile", profile.to_str().unwrap()])
    else {
        return;
    };
    let _log = LogOnFailure(&daemon);
    let denied = docker(&env, &["run", "--rm", IMAGE, "mkdir", "/tmp/x"]);
    assert!(
        !denied.success() && denied.stderr.contains("Operation not permitted"),
        "{}",
        denied.stderr
    );
    assert_eq!(seccomp_mode(&env), "2", "a filter from the default profile");
    // ...is lifted per container, and a container's own profile applies.
    ok(
        &env,
        &[
            "run",
            "--rm",
            "--security-opt",
            "seccomp=unconfined",
            IMAGE,
            "mkdir",
            "/tmp/x",
        ],
    );
    let own = format!("seccomp={}", profile.display());
    // No default profile: `unconfined`, which dockerd 20.10 does not know yet (it refuses to start:
    // "opening seccomp profile (unconfined) failed"); it is given one that allows everything instead.
    let against = Against::from_env().unwrap();
    let allow_all = dir.path().join("allow-all.json");
    std::fs::write(&allow_all, r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#).unwrap();
    let none = match against {
        Against::Wharfd => "unconfined",
        Against::Dockerd => allow_all.to_str().unwrap(),
    };
    let (plain, env) = daemon_under_test(test, &["--seccomp-profile", none]).unwrap();
    let _log = LogOnFailure(&plain);
    ok(&env, &["run", "--rm", IMAGE, "mkdir", "/tmp/x"]);
    if against == Against::Wharfd {
        assert_eq!(
            seccomp_mode(&env),
            "0",
            "no filter with --seccomp-profile unconfined"
        );
    }
    let denied = docker(
        &env,
        &[
            "run",
            "--rm",
            "--security-opt",
            &own,
            IMAGE,
            "mkdir",
            "/tmp/x",
        ],
    );
    assert!(
        !denied.success() && denied.stderr.contains("Operation not permitted"),
        "the container's own profile was not applied: {}",
        denied.stderr
    );
}

/// Where wharfd was seen to differ from dockerd: each check is recorded, and every difference reported
/// at once, so the list is the to-do list.
fn fine_points_scenario(env: &Env) {
    let mut diffs = Differences::default();

    // A SIGKILL from `docker kill` returns once the exit is recorded (dockerd waits for it), so
    // `docker kill x && docker rm x` works.
    for (name, kill) in [
        ("k-default", &["kill"][..]),
        ("k-9", &["kill", "-s", "9"]),
        ("k-name", &["kill", "-s", "KILL"]),
        ("k-paused", &["kill"]),
    ] {
        run_detached(env, name, &["sleep", "100"]);
        if name == "k-paused" {
            ok(env, &["pause", name]);
        }
        let mut args = kill.to_vec();
        args.push(name);
        ok(env, &args);
        diffs.check(
            &format!("state right after docker {}", args.join(" ")),
            inspect(env, name, "{{.State.Status}} {{.State.ExitCode}}"),
            "exited 137",
        );
        let rm = docker(env, &["rm", name]);
        diffs.check(
            &format!("docker rm right after docker {}", args.join(" ")),
            daemon_error(&rm.stderr),
            "",
        );
        let _ = docker(env, &["rm", "-f", name]);
    }

    // Error wording.
    diffs.check(
        "docker kill of an unknown container",
        daemon_error(&fails(env, &["kill", "nope"])),
        "Cannot kill container: nope: No such container: nope",
    );
    run_detached(env, "first", &["sleep", "100"]);
    let second = run_detached(env, "second", &["sleep", "100"]);
    diffs.check(
        "docker rename to a taken name",
        daemon_error(&fails(env, &["rename", "first", "second"])),
        &format!(
            "Error when allocating new name: Conflict. The container name \"/second\" is already in use \
             by container \"{second}\". You have to remove (or rename) that container to be able to reuse \
             that name."
        ),
    );
    diffs.check(
        "docker ps with an unknown filter",
        daemon_error(&fails(env, &["ps", "--filter", "bogus=1"])),
        "Invalid filter 'bogus'",
    );
    // Filters dockerd knows, true of every container here.
    for filter in ["isolation=default", "health=none", "is-task=false"] {
        let out = docker(env, &["ps", "-q", "--filter", filter]);
        diffs.check(
            &format!("docker ps --filter {filter}"),
            format!(
                "{}{}",
                out.stdout.lines().count(),
                daemon_error(&out.stderr)
            ),
            "2",
        );
    }

    // The primary group is also a supplementary one (runc's setgroups gets it).
    for (user, id) in [
        ("root", "uid=0(root) gid=0(root) groups=0(root)"),
        ("app", "uid=1000(app) gid=1000(app) groups=1000(app)"),
        (
            "65534:1000",
            "uid=65534(nobody) gid=1000(app) groups=1000(app)",
        ),
    ] {
        diffs.check(
            &format!("id of --user {user}"),
            ok(env, &["run", "--rm", "--user", user, IMAGE, "id"]).trim(),
            id,
        );
    }

    // docker top is an event.
    let since = timestamp(Duration::ZERO);
    ok(env, &["top", "first"]);
    let first = id_of(env, "first");
    diffs.check(
        "events of docker top",
        container_events(env, &since, &first, "{{.Action}}").join(","),
        "top",
    );

    // A start that fails: the wait answers no error (the CLI prints `Error waiting for container` if it
    // does, with --rm), and the container never finished.
    for rm in [true, false] {
        let mut args = vec!["run", "--name", "broken"];
        if rm {
            args.push("--rm");
        }
        args.extend([IMAGE, "no-such-command"]);
        let out = docker(env, &args);
        diffs.check(
            &format!("the CLI's complaint about the wait of a failed start (--rm: {rm})"),
            out.stderr
                .lines()
                .find(|l| l.contains("Error waiting for container"))
                .unwrap_or(""),
            "",
        );
    }
    diffs.check(
        "FinishedAt of a container that failed to start",
        inspect(
            env,
            "broken",
            "{{.State.Status}} {{.State.ExitCode}} {{.State.FinishedAt}}",
        ),
        "created 127 0001-01-01T00:00:00Z",
    );
    ok(env, &["rm", "broken"]);

    // Sizes: a container that wrote nothing has an empty writable layer, and the image's size as its
    // root file system's.
    ok(env, &["run", "--name", "quiet", IMAGE, "true"]);
    let image_size = ok(env, &["image", "inspect", "-f", "{{.Size}}", IMAGE])
        .trim()
        .to_owned();
    diffs.check(
        "SizeRw and SizeRootFs of a container that wrote nothing",
        ok(
            env,
            &[
                "inspect",
                "-s",
                "-f",
                "{{.SizeRw}} {{.SizeRootFs}}",
                "quiet",
            ],
        )
        .trim(),
        &format!("0 {image_size}"),
    );
    ok(env, &["rm", "quiet"]);

    // A default seccomp profile, dockerd's own, without --seccomp-profile (wharfd has one only where
    // /usr/share/containers/seccomp.json is installed).
    diffs.check(
        "Seccomp mode of a container with the daemon's defaults",
        seccomp_mode(env),
        "2",
    );

    // The none log driver.
    let out = docker(
        env,
        &[
            "run",
            "--name",
            "unlogged",
            "--log-driver",
            "none",
            IMAGE,
            "echo",
            "hi",
        ],
    );
    diffs.check(
        "docker run --log-driver none",
        format!("{}{}", out.stdout, daemon_error(&out.stderr)),
        "hi\n",
    );
    if out.success() {
        diffs.check(
            "docker logs with the none driver",
            daemon_error(&fails(env, &["logs", "unlogged"])),
            "configured logging driver does not support reading",
        );
        ok(env, &["rm", "unlogged"]);
    }

    // dockerd's network sysctls: in a network namespace of its own an unprivileged process may bind
    // ports below 1024 and ping; a --sysctl wins; the host's network keeps the host's values.
    let net_sysctls =
        "cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/net/ipv4/ping_group_range";
    let run_sh = |extra: &[&str]| {
        let mut args = vec!["run", "--rm", "--user", "1000"];
        args.extend_from_slice(extra);
        args.extend([IMAGE, "sh", "-c", net_sysctls]);
        ok(env, &args)
    };
    diffs.check(
        "net sysctls in a container's own network",
        run_sh(&[]),
        "0\n0\t2147483647\n",
    );
    diffs.check(
        "net sysctls with --sysctl net.ipv4.ip_unprivileged_port_start=1024",
        run_sh(&["--sysctl", "net.ipv4.ip_unprivileged_port_start=1024"]),
        "1024\n0\t2147483647\n",
    );
    let host_values: String = [
        "/proc/sys/net/ipv4/ip_unprivileged_port_start",
        "/proc/sys/net/ipv4/ping_group_range",
    ]
    .iter()
    .map(|path| std::fs::read_to_string(path).unwrap())
    .collect();
    diffs.check(
        "net sysctls with --network host",
        run_sh(&["--network", "host"]),
        &host_values,
    );

    // The raw inspect JSON (what docker-py hands its users as `attrs`) has the network keys dockerd
    // always sends, empty when there is no address.
    // What create records for settings left empty, and the unlimited spellings it drops.
    let cgroupns_default = if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        "private"
    } else {
        "host"
    };
    ok(
        env,
        &[
            "create",
            "--name",
            "defaults",
            "--pids-limit",
            "0",
            IMAGE,
            "true",
        ],
    );
    diffs.check(
        "HostConfig defaults recorded at create",
        inspect(
            env,
            "defaults",
            "{{.HostConfig.CgroupnsMode}} {{.HostConfig.IpcMode}} {{.HostConfig.ShmSize}} \
             {{.HostConfig.Runtime}} {{.HostConfig.PidsLimit}}",
        ),
        &format!("{cgroupns_default} private 67108864 runc <nil>"),
    );
    diffs.check(
        "HostConfig MaskedPaths and ReadonlyPaths recorded at create",
        inspect(
            env,
            "defaults",
            "{{index .HostConfig.MaskedPaths 0}} {{.HostConfig.ReadonlyPaths}}",
        ),
        "/proc/asound [/proc/bus /proc/fs /proc/irq /proc/sys /proc/sysrq-trigger]",
    );
    ok(env, &["rm", "defaults"]);
    ok(
        env,
        &[
            "create",
            "--name",
            "privileged",
            "--privileged",
            IMAGE,
            "true",
        ],
    );
    diffs.check(
        "no MaskedPaths or ReadonlyPaths recorded for a privileged container",
        inspect(
            env,
            "privileged",
            "{{json .HostConfig.MaskedPaths}} {{json .HostConfig.ReadonlyPaths}}",
        ),
        "null null",
    );
    ok(env, &["rm", "privileged"]);
    // --cgroupns private: every hierarchy is the namespace's root.
    diffs.check(
        "cgroup paths with --cgroupns private",
        ok(
            env,
            &[
                "run",
                "--rm",
                "--cgroupns",
                "private",
                IMAGE,
                "sh",
                "-c",
                "grep -v ':/$' /proc/self/cgroup | wc -l",
            ],
        ),
        "0\n",
    );

    let raw: serde_json::Value = serde_json::from_str(&ok(env, &["inspect", "first"])).unwrap();
    let network = &raw[0]["NetworkSettings"];
    diffs.check(
        "NetworkSettings IPAddress, Ports and Networks.bridge.IPAddress in the raw docker inspect",
        format!(
            "{} {} {}",
            network["IPAddress"], network["Ports"], network["Networks"]["bridge"]["IPAddress"]
        ),
        r#""" {} """#,
    );
    let has = |object: &serde_json::Value, key: &str| {
        object.as_object().is_some_and(|o| o.contains_key(key))
    };
    diffs.check(
        "ExecIDs, Config.Entrypoint and HostConfig.Binds present (null) in the raw docker inspect",
        format!(
            "{} {} {}",
            has(&raw[0], "ExecIDs"),
            has(&raw[0]["Config"], "Entrypoint"),
            has(&raw[0]["HostConfig"], "Binds")
        ),
        "true true true",
    );
    let driver_data = &raw[0]["GraphDriver"]["Data"];
    let is_dir = |key: &str| {
        driver_data[key]
            .as_str()
            .is_some_and(|dir| std::path::Path::new(dir).is_dir())
    };
    diffs.check(
        "GraphDriver.Data UpperDir and WorkDir are directories, LowerDir names some",
        format!(
            "{} {} {}",
            is_dir("UpperDir"),
            is_dir("WorkDir"),
            driver_data["LowerDir"]
                .as_str()
                .is_some_and(|l| !l.is_empty())
        ),
        "true true true",
    );

    ok(env, &["rm", "-f", "first", "second"]);
    diffs.assert_none();
}

/// Checks that record a difference instead of failing at once.
#[derive(Default)]
struct Differences {
    found: Vec<String>,
    checked: usize,
}

impl Differences {
    fn check(&mut self, what: &str, got: impl AsRef<str>, dockerd: &str) {
        self.checked += 1;
        let got = got.as_ref();
        if got != dockerd {
            self.found.push(format!(
                "{what}:\n    got:     {got:?}\n    dockerd: {dockerd:?}"
            ));
        }
    }

    fn assert_none(self) {
        if !self.found.is_empty() {
            let mut report = format!(
                "{} of {} checks differ from dockerd:\n",
                self.found.len(),
                self.checked
            );
            for f in &self.found {
                writeln!(report, "- {f}").unwrap();
            }
            panic!("{report}");
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// wharfd's own: crashes and restarts of the daemon.

/// A wharfd with the image imported.
fn wharfd_with_image(wharfd: Wharfd) -> (Wharfd, Vec<(String, String)>) {
    let env = wharfd.endpoints().docker_env_unix();
    import_image(&env, wharfd.dir());
    (wharfd, env)
}

/// A container writing `n<i>` ten times a second, for the crash tests.
const COUNTER: &str = "i=0; while true; do i=$((i+1)); echo n$i; sleep 0.1; done";

/// The numbers a counter logged, checked to be 1, 2, 3... without a gap.
fn counted(env: &Env, name: &str) -> usize {
    let logs = ok(env, &["logs", name]);
    let numbers: Vec<usize> = logs
        .lines()
        .map(|l| l.trim_start_matches('n').parse().unwrap())
        .collect();
    for (i, n) in numbers.iter().enumerate() {
        assert_eq!(*n, i + 1, "a log line is missing before n{n}: {logs}");
    }
    numbers.len()
}

#[test]
fn containers_and_logs_survive_a_kill_9_of_wharfd() {
    if !wharfd_only("containers_and_logs_survive_a_kill_9_of_wharfd") {
        return;
    }
    let (mut wharfd, env) = wharfd_with_image(Wharfd::start().unwrap());
    run_detached(&env, "counter", &sh(COUNTER));
    assert_eq!(
        exit_code(
            &env,
            &[
                "run",
                "--name",
                "exited",
                IMAGE,
                "sh",
                "-c",
                "echo bye; exit 5"
            ]
        ),
        5
    );
    ok(&env, &["create", "--name", "created", IMAGE, "true"]);
    std::thread::sleep(Duration::from_millis(800));
    let before = counted(&env, "counter");
    assert!(before > 0);
    ok(&env, &["exec", "-d", "counter", "sleep", "100"]);
    let exec_fifos = wharfd.dir().join("exec/execs");
    assert!(exec_fifos.read_dir().unwrap().next().is_some());

    wharfd.kill_and_restart().unwrap();
    // Without --live-restore the running container was stopped at start-up, its output drained first.
    assert_eq!(
        inspect(&env, "counter", "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 137"
    );
    // An exec does not outlive the daemon that started it: its FIFOs are gone (once containers are
    // restored, which the answer above waited for).
    assert!(!exec_fifos.exists());
    assert!(counted(&env, "counter") >= before);
    assert_eq!(
        inspect(&env, "exited", "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 5"
    );
    assert_eq!(ok(&env, &["logs", "exited"]), "bye\n");
    assert_eq!(inspect(&env, "created", "{{.State.Status}}"), "created");
    // And it runs again.
    ok(&env, &["start", "counter"]);
    assert_eq!(inspect(&env, "counter", "{{.State.Running}}"), "true");
    ok(&env, &["rm", "-f", "counter", "exited", "created"]);
}

#[test]
fn live_restore_keeps_containers_running_across_a_kill_9() {
    if !wharfd_only("live_restore_keeps_containers_running_across_a_kill_9") {
        return;
    }
    let (mut wharfd, env) =
        wharfd_with_image(Wharfd::builder().arg("--live-restore").start().unwrap());
    run_detached(&env, "counter", &sh(COUNTER));
    assert_eq!(
        exit_code(
            &env,
            &["run", "--name", "exited", IMAGE, "sh", "-c", "exit 5"]
        ),
        5
    );
    std::thread::sleep(Duration::from_millis(500));
    let pid = inspect(&env, "counter", "{{.State.Pid}}");

    wharfd.kill_and_restart().unwrap();
    assert_eq!(
        inspect(&env, "counter", "{{.State.Status}} {{.State.Pid}}"),
        format!("running {pid}")
    );
    assert_eq!(inspect(&env, "exited", "{{.State.ExitCode}}"), "5");
    // Lines written while wharfd was away are in the log, none missing, and new ones keep coming.
    let now = counted(&env, "counter");
    eventually(Duration::from_secs(5), "new log lines", || {
        counted(&env, "counter") > now
    });
    ok(&env, &["stop", "-t", "1", "counter"]);
    assert_eq!(inspect(&env, "counter", "{{.State.Status}}"), "exited");
    ok(&env, &["rm", "counter", "exited"]);
}
