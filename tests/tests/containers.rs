//! Containers end to end: the real docker CLI against the real wharfd (its own containerd, runc) running
//! a static-busybox image imported with `docker import` — run and its exit codes, env, workdir, users,
//! stdin; ps and its filters; stop, start, restart, kill, wait, pause, unpause, top, rename, inspect, rm,
//! prune; logs; events; restart policies; bind, tmpfs and read-only mounts; the memory limit's OOM kill.
//!
//! They need root, containerd, runc and busybox-static; without them the tests print why and pass, except
//! under CI (`CI` set), where that is a failure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::time::{Duration, Instant};

use wharf_tests::{prereq, rootfs, CommandOutput, RunCommand, Wharfd};

/// The image every test runs.
const IMAGE: &str = "bb:latest";

fn can_run(test: &str) -> bool {
    prereq::can_run(
        test,
        prereq::missing_runtime().or_else(rootfs::missing_busybox),
    )
}

/// A default wharfd with the busybox image imported, and the docker CLI's environment for it.
fn wharfd_with_image() -> (Wharfd, Vec<(String, String)>) {
    with_image(Wharfd::start().unwrap())
}

/// Imports the busybox image into `wharfd`.
fn with_image(wharfd: Wharfd) -> (Wharfd, Vec<(String, String)>) {
    let env = wharfd.endpoints().docker_env_unix();
    let tar = rootfs::busybox_tar(wharfd.dir()).unwrap();
    ok(&env, &["import", tar.to_str().unwrap(), IMAGE]);
    (wharfd, env)
}

fn docker(env: &[(String, String)], args: &[&str]) -> CommandOutput {
    wharf_tests::docker(env, args).expect("docker runs")
}

/// Runs docker, asserting success; its stdout.
fn ok(env: &[(String, String)], args: &[&str]) -> String {
    let out = docker(env, args);
    assert!(
        out.success(),
        "docker {args:?} failed: {}\n{}",
        out.stdout,
        out.stderr
    );
    out.stdout
}

/// Runs docker, asserting failure; its stderr.
fn fails(env: &[(String, String)], args: &[&str]) -> String {
    let out = docker(env, args);
    assert!(!out.success(), "docker {args:?} succeeded: {}", out.stdout);
    out.stderr
}

fn exit_code(env: &[(String, String)], args: &[&str]) -> i32 {
    docker(env, args).status.code().unwrap_or(-1)
}

fn inspect(env: &[(String, String)], name: &str, format: &str) -> String {
    ok(env, &["inspect", "-f", format, name]).trim().to_owned()
}

/// Polls `check` every 100 ms until it holds or `limit` passes.
fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn names(out: &str) -> Vec<String> {
    let mut v: Vec<String> = out.lines().map(str::to_owned).collect();
    v.sort();
    v
}

#[test]
fn run_passes_output_exit_codes_env_workdir_user_and_stdin() {
    if !can_run("run_passes_output_exit_codes_env_workdir_user_and_stdin") {
        return;
    }
    let (_wharfd, env) = wharfd_with_image();
    assert_eq!(ok(&env, &["run", "--rm", IMAGE, "echo", "hi"]), "hi\n");
    assert_eq!(exit_code(&env, &["run", "--rm", IMAGE, "false"]), 1);
    assert_eq!(
        exit_code(&env, &["run", "--rm", IMAGE, "sh", "-c", "exit 42"]),
        42
    );
    let out = ok(
        &env,
        &[
            "run",
            "--rm",
            "-e",
            "A=b",
            "-w",
            "/tmp",
            "--user",
            "app",
            IMAGE,
            "sh",
            "-c",
            "echo $A $(pwd) $(id -u):$(id -g) $HOME",
        ],
    );
    assert_eq!(out, "b /tmp 1000:1000 /home/app\n");
    assert_eq!(
        ok(
            &env,
            &["run", "--rm", "--user", "65534:1000", IMAGE, "id", "-u"]
        ),
        "65534\n"
    );
    // The command not found: dockerd's 127 and its message.
    let out = docker(&env, &["run", "--rm", IMAGE, "no-such-command"]);
    assert_eq!(out.status.code(), Some(127), "{}", out.stderr);
    assert!(
        out.stderr.contains("executable file not found"),
        "{}",
        out.stderr
    );
    // stdin through an attached connection, closed when the client's input ends.
    let out = RunCommand::new("sh")
        .envs(env.iter().cloned())
        .arg("-c")
        .arg(format!("echo hello | docker run -i --rm {IMAGE} cat"))
        .timeout(Duration::from_secs(30))
        .run()
        .unwrap();
    assert_eq!(out.stdout, "hello\n", "{}", out.stderr);
    // --init runs tini as PID 1, mounted as dockerd mounts docker-init.
    assert_eq!(
        ok(
            &env,
            &["run", "--rm", "--init", IMAGE, "cat", "/proc/1/comm"]
        ),
        "docker-init\n"
    );
    // A privileged container sees the host's devices.
    let ls = ok(&env, &["run", "--rm", "--privileged", IMAGE, "ls", "/dev"]);
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
    // --rm removed every container above.
    assert_eq!(ok(&env, &["ps", "-aq"]), "");
    // -d with a name.
    let id = ok(
        &env,
        &["run", "-d", "--name", "named", IMAGE, "sleep", "30"],
    );
    assert_eq!(id.trim().len(), 64);
    assert_eq!(
        inspect(&env, "named", "{{.Name}} {{.State.Running}}"),
        "/named true"
    );
    assert!(fails(&env, &["run", "--name", "named", IMAGE, "true"]).contains("is already in use"));
    for args in [
        &["container", "inspect", "nope"][..],
        &["stop", "nope"],
        &["logs", "nope"],
    ] {
        assert!(
            fails(&env, args).contains("No such container: nope"),
            "{args:?}"
        );
    }
    ok(&env, &["rm", "-f", "named"]);
}

#[test]
fn ps_filters_and_the_lifecycle_commands() {
    if !can_run("ps_filters_and_the_lifecycle_commands") {
        return;
    }
    let (_wharfd, env) = wharfd_with_image();
    ok(
        &env,
        &[
            "run", "-d", "--name", "up", "--label", "k=v", IMAGE, "sleep", "100",
        ],
    );
    ok(&env, &["run", "--name", "done", IMAGE, "true"]);
    ok(&env, &["create", "--name", "new", IMAGE, "true"]);
    let ps = |args: &[&str]| {
        let mut all = vec!["ps", "--format", "{{.Names}}"];
        all.extend_from_slice(args);
        names(&ok(&env, &all))
    };
    assert_eq!(ps(&[]), ["up"]);
    assert_eq!(ps(&["-a"]), ["done", "new", "up"]);
    assert_eq!(ps(&["-a", "--filter", "status=exited"]), ["done"]);
    assert_eq!(ps(&["-a", "--filter", "status=created"]), ["new"]);
    assert_eq!(ps(&["-a", "--filter", "name=^new"]), ["new"]);
    assert_eq!(ps(&["-a", "--filter", "label=k=v"]), ["up"]);
    assert_eq!(ps(&["-a", "--filter", "exited=0"]), ["done"]);
    assert_eq!(ok(&env, &["ps", "-aq"]).lines().count(), 3);

    // pause, unpause, top, rename.
    ok(&env, &["pause", "up"]);
    assert_eq!(
        inspect(&env, "up", "{{.State.Status}} {{.State.Paused}}"),
        "paused true"
    );
    assert!(ok(&env, &["ps"]).contains("(Paused)"));
    assert!(fails(&env, &["pause", "up"]).contains("is already paused"));
    ok(&env, &["unpause", "up"]);
    assert_eq!(inspect(&env, "up", "{{.State.Status}}"), "running");
    assert!(ok(&env, &["top", "up"]).contains("sleep 100"));
    ok(&env, &["rename", "up", "renamed"]);
    assert_eq!(inspect(&env, "renamed", "{{.Name}}"), "/renamed");

    // rm of a running container needs -f; stop kills a PID 1 that ignores SIGTERM after the timeout.
    assert!(fails(&env, &["rm", "renamed"]).contains("You cannot remove a running container"));
    ok(&env, &["stop", "-t", "1", "renamed"]);
    assert_eq!(
        inspect(&env, "renamed", "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 137"
    );
    ok(&env, &["start", "renamed"]);
    let started = inspect(&env, "renamed", "{{.State.StartedAt}}");
    ok(&env, &["restart", "-t", "1", "renamed"]);
    assert_eq!(inspect(&env, "renamed", "{{.State.Running}}"), "true");
    assert_ne!(inspect(&env, "renamed", "{{.State.StartedAt}}"), started);

    // kill -s with a handler, wait's exit code.
    ok(
        &env,
        &[
            "run",
            "-d",
            "--name",
            "trap",
            IMAGE,
            "sh",
            "-c",
            "trap 'exit 3' USR1; while true; do sleep 0.1; done",
        ],
    );
    std::thread::sleep(Duration::from_millis(300));
    ok(&env, &["kill", "-s", "USR1", "trap"]);
    assert_eq!(ok(&env, &["wait", "trap"]), "3\n");
    assert!(fails(&env, &["kill", "trap"]).contains("is not running"));
    ok(
        &env,
        &[
            "run",
            "-d",
            "--name",
            "later",
            IMAGE,
            "sh",
            "-c",
            "sleep 1; exit 4",
        ],
    );
    assert_eq!(ok(&env, &["wait", "later"]), "4\n");

    ok(&env, &["rm", "-f", "renamed"]);
    let pruned = ok(&env, &["container", "prune", "-f"]);
    assert_eq!(
        pruned.lines().filter(|l| l.len() == 64).count(),
        4,
        "{pruned}"
    );
    assert_eq!(ok(&env, &["ps", "-aq"]), "");
}

#[test]
fn logs_tail_timestamps_follow_and_streams() {
    if !can_run("logs_tail_timestamps_follow_and_streams") {
        return;
    }
    let (_wharfd, env) = wharfd_with_image();
    ok(
        &env,
        &[
            "run",
            "-d",
            "--name",
            "talk",
            IMAGE,
            "sh",
            "-c",
            "echo one; echo two; sleep 0.5; echo oops >&2; sleep 2; echo three",
        ],
    );
    // -f ends when the container exits, with everything.
    let followed = docker(&env, &["logs", "-f", "talk"]);
    assert!(followed.success());
    assert_eq!(followed.stdout, "one\ntwo\nthree\n");
    assert_eq!(followed.stderr, "oops\n");
    let tail = docker(&env, &["logs", "--tail", "2", "talk"]);
    assert_eq!(
        (tail.stdout.as_str(), tail.stderr.as_str()),
        ("three\n", "oops\n")
    );
    let stamped = ok(&env, &["logs", "--timestamps", "talk"]);
    for (line, text) in stamped.lines().zip(["one", "two", "three"]) {
        let (time, rest) = line.split_once(' ').unwrap();
        assert_eq!(rest, text);
        assert!(
            time.len() == 30 && time.ends_with('Z') && time.contains('T'),
            "{line}"
        );
    }
    // The file is dockerd's json-file format.
    let path = inspect(&env, "talk", "{{.LogPath}}");
    let file = std::fs::read_to_string(path).unwrap();
    assert!(
        file.starts_with(r#"{"log":"one\n","stream":"stdout","time":""#),
        "{file}"
    );
}

#[test]
fn events_restart_policy_mounts_and_the_memory_limit() {
    if !can_run("events_restart_policy_mounts_and_the_memory_limit") {
        return;
    }
    let (wharfd, env) = wharfd_with_image();
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 1;
    assert_eq!(
        exit_code(&env, &["run", "--name", "ev", IMAGE, "sh", "-c", "exit 2"]),
        2
    );
    ok(&env, &["rm", "ev"]);
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    let events = ok(
        &env,
        &[
            "events",
            "--since",
            &t0.to_string(),
            "--until",
            &until.to_string(),
            "--filter",
            "container=ev",
            "--format",
            "{{.Action}} {{index .Actor.Attributes \"exitCode\"}}",
        ],
    );
    let actions: Vec<&str> = events.lines().map(str::trim).collect();
    let order = ["create", "start", "die 2", "destroy"];
    let mut at = 0;
    for a in &actions {
        if at < order.len() && *a == order[at] {
            at += 1;
        }
    }
    assert_eq!(at, order.len(), "events in order {order:?}: {actions:?}");

    // on-failure:2 restarts twice, then stays exited.
    ok(
        &env,
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
    );
    eventually(Duration::from_secs(20), "two restarts", || {
        inspect(&env, "flaky", "{{.State.Status}} {{.RestartCount}}") == "exited 2"
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        inspect(
            &env,
            "flaky",
            "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}"
        ),
        "exited 3 2"
    );

    // Bind mounts both ways, tmpfs, a read-only rootfs.
    let host = wharfd.dir().join("shared");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("in"), "from host\n").unwrap();
    let bind = format!("{}:/data", host.display());
    assert_eq!(
        ok(
            &env,
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
    let mounts = ok(
        &env,
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
    assert!(mounts.starts_with("tmpfs /t tmpfs"), "{mounts}");
    let ro = docker(&env, &["run", "--rm", "--read-only", IMAGE, "touch", "/x"]);
    assert!(
        !ro.success() && ro.stderr.contains("Read-only file system"),
        "{}",
        ro.stderr
    );

    // A process over --memory is OOM-killed.
    let code = exit_code(
        &env,
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
        inspect(&env, "hog", "{{.State.OOMKilled}} {{.State.ExitCode}}"),
        "true 137"
    );
    ok(&env, &["rm", "hog", "flaky"]);
}

/// A container writing `n<i>` ten times a second, for the crash tests.
const COUNTER: &str = "i=0; while true; do i=$((i+1)); echo n$i; sleep 0.1; done";

/// The numbers a counter logged, checked to be 1, 2, 3... without a gap.
fn counted(env: &[(String, String)], name: &str) -> usize {
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
    if !can_run("containers_and_logs_survive_a_kill_9_of_wharfd") {
        return;
    }
    let (mut wharfd, env) = wharfd_with_image();
    ok(
        &env,
        &["run", "-d", "--name", "counter", IMAGE, "sh", "-c", COUNTER],
    );
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

    wharfd.kill_and_restart().unwrap();
    // Without --live-restore the running container was stopped at start-up, its output drained first.
    assert_eq!(
        inspect(&env, "counter", "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 137"
    );
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
    if !can_run("live_restore_keeps_containers_running_across_a_kill_9") {
        return;
    }
    let (mut wharfd, env) = with_image(Wharfd::builder().arg("--live-restore").start().unwrap());
    ok(
        &env,
        &["run", "-d", "--name", "counter", IMAGE, "sh", "-c", COUNTER],
    );
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

/// A profile that allows everything but `mkdir`.
const NO_MKDIR: &str = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}"#;

#[test]
fn seccomp_profiles_filter_system_calls() {
    if !can_run("seccomp_profiles_filter_system_calls") {
        return;
    }
    let dir = wharf_tests::TempDir::new("seccomp").unwrap();
    let profile = dir.path().join("no-mkdir.json");
    std::fs::write(&profile, NO_MKDIR).unwrap();
    // The daemon's default profile...
    let (_wharfd, env) = with_image(
        Wharfd::builder()
            .arg("--seccomp-profile")
            .arg(&profile)
            .start()
            .unwrap(),
    );
    let denied = docker(&env, &["run", "--rm", IMAGE, "mkdir", "/tmp/x"]);
    assert!(
        !denied.success() && denied.stderr.contains("Operation not permitted"),
        "{}",
        denied.stderr
    );
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
    let (_plain, env) = with_image(
        Wharfd::builder()
            .arg("--seccomp-profile")
            .arg("unconfined")
            .start()
            .unwrap(),
    );
    ok(&env, &["run", "--rm", IMAGE, "mkdir", "/tmp/x"]);
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
        !denied.success(),
        "the container's own profile was not applied"
    );
}
