//! `docker run`: what a container is given (output streams, exit codes, environment, working directory,
//! users, stdin, init, devices, networks) and the errors of names and unknown containers. The checks run
//! in order; `rm_removed_every_container` counts on every check before it having used `--rm`.

use std::time::Duration;

use wharf_tests::cli::{daemon_error, docker, exit_code, fails, fails_with, ok, Env};
use wharf_tests::{checks, Against, Check, RunCommand};

use crate::fixtures::{id_of, inspect, run_detached, sh, sorted_lines, IMAGE};

/// The checks, in order.
pub const CHECKS: &[Check<Env>] = checks![
    output_and_exit_codes,
    env_workdir_and_users,
    unknown_users_and_groups,
    a_created_containers_environment,
    commands_that_cannot_start,
    stdin_through_an_attached_connection,
    detach_keys_leave_the_container_running,
    attached_output_arrives_whole,
    attach_picks_the_streams,
    init_runs_tini_as_pid_1,
    privileged_sees_the_host_devices,
    networks,
    rm_removed_every_container,
    a_name_and_the_name_taken,
    unknown_containers,
    rm_f_removes_a_running_container,
];

/// Output, exit codes passed through.
fn output_and_exit_codes(env: &Env) {
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
}

/// Environment, working directory, users by name and number (the image's /etc/passwd and /etc/group).
fn env_workdir_and_users(env: &Env) {
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
}

fn unknown_users_and_groups(env: &Env) {
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
}

/// A created container's environment and the process's: -e on top of the defaults.
fn a_created_containers_environment(env: &Env) {
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
}

/// Commands that cannot start: dockerd's 127 and 126, with runc's message.
fn commands_that_cannot_start(env: &Env) {
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
}

/// stdin through an attached connection, closed when the client's input ends.
fn stdin_through_an_attached_connection(env: &Env) {
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
}

/// Takes the connection of an attach to `container` over (stdin, stdout, detach keys `keys`) and types
/// `keys`' bytes one at a time: whether the daemon then closes the connection.
fn typing_detaches(env: &Env, container: &str, query: &str, typed: &[u8]) -> bool {
    use std::io::{Read, Write};
    let socket = crate::fixtures::socket_of(env);
    let mut conn = std::os::unix::net::UnixStream::connect(socket).unwrap();
    write!(
        conn,
        "POST /v1.41/containers/{container}/attach?stream=1&stdin=1&stdout=1{query} HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(conn.read(&mut byte).unwrap(), 1, "{head:?}");
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    for key in typed {
        conn.write_all(&[*key]).unwrap();
        std::thread::sleep(Duration::from_millis(300));
    }
    conn.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(_) => return false,
        }
    }
}

/// With a TTY, the detach keys (ctrl-p ctrl-q, or those the attach names), typed one at a time, close
/// the attach and leave the container running with its stdin open; without a TTY they are data, as with
/// dockerd. `docker attach` in a terminal detaches with them too.
fn detach_keys_leave_the_container_running(env: &Env) {
    ok(env, &["run", "-d", "-it", "--name", "detach", IMAGE, "cat"]);
    ok(env, &["run", "-d", "-i", "--name", "plain", IMAGE, "cat"]);
    let running = |c: &str| ok(env, &["inspect", "-f", "{{.State.Running}}", c]);
    assert!(typing_detaches(env, "detach", "", &[0x10, 0x11]));
    assert_eq!(running("detach"), "true\n");
    assert!(typing_detaches(
        env,
        "detach",
        "&detachKeys=ctrl-x,y",
        b"\x18y"
    ));
    assert!(!typing_detaches(
        env,
        "detach",
        "&detachKeys=ctrl-x,y",
        &[0x10, 0x11]
    ));
    assert!(!typing_detaches(env, "plain", "", &[0x10, 0x11]));
    assert_eq!(running("plain"), "true\n");
    // docker attach in a terminal (script gives it one).
    let out = RunCommand::new("sh")
        .envs(env.iter().cloned())
        .arg("-c")
        .arg("(sleep 1; printf '\\020'; sleep 0.5; printf '\\021'; sleep 2) | script -qfec 'docker attach detach' /dev/null; echo rc=$?")
        .timeout(Duration::from_secs(30))
        .run()
        .unwrap();
    // The CLI sees its own escape sequence, says so and exits 1, as with dockerd.
    assert!(
        out.stdout.ends_with("read escape sequence\r\nrc=1\n"),
        "{out:?}"
    );
    assert_eq!(running("detach"), "true\n");
    // Its stdin is still open: cat still echoes.
    let out = RunCommand::new("sh")
        .envs(env.iter().cloned())
        .arg("-c")
        .arg("(sleep 1; printf 'again\\n'; sleep 1; printf '\\020'; sleep 0.5; printf '\\021'; sleep 2) | script -qfec 'docker attach detach' /dev/null")
        .timeout(Duration::from_secs(30))
        .run()
        .unwrap();
    assert!(out.stdout.contains("again"), "{out:?}");
    let bad = wharf_tests::http::request(
        &crate::fixtures::socket_of(env),
        "POST",
        "/v1.41/containers/detach/attach?stream=1&stdin=1&detachKeys=ctrl-P",
        &[],
        None,
    )
    .unwrap();
    // dockerd writes it as text into the connection it took; wharfd answers JSON before taking it.
    assert_eq!(bad.status, 400);
    assert!(
        bad.body_text()
            .contains("Invalid detach keys (ctrl-P) provided"),
        "{bad:?}"
    );
    ok(env, &["rm", "-f", "detach", "plain"]);
}

/// Attached output arrives whole, however much of it there is.
fn attached_output_arrives_whole(env: &Env) {
    let out = ok(env, &["run", "--rm", IMAGE, "seq", "1", "100000"]);
    let expected: String = (1..=100_000).map(|i| format!("{i}\n")).collect();
    assert!(
        out == expected,
        "seq 1 100000 came through altered ({} bytes)",
        out.len()
    );
}

/// -a picks the streams.
fn attach_picks_the_streams(env: &Env) {
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
}

/// --init runs tini as PID 1, mounted as dockerd mounts docker-init.
fn init_runs_tini_as_pid_1(env: &Env) {
    assert_eq!(
        ok(
            env,
            &["run", "--rm", "--init", IMAGE, "cat", "/proc/1/comm"]
        ),
        "docker-init\n"
    );
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

/// Networks: by default a namespace of its own on the bridge network (loopback and eth0; only loopback
/// on a daemon without a bridge, as the reference runs), only loopback with `none`, or the host's.
fn networks(env: &Env) {
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
    let default = interfaces(&[]);
    assert!(
        default == ["lo", "eth0"] || default == ["lo"],
        "the default network's interfaces: {default:?}"
    );
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
}

/// --rm removed every container above.
fn rm_removed_every_container(env: &Env) {
    assert_eq!(ok(env, &["ps", "-aq"]), "");
}

/// -d with a name, and the name taken.
fn a_name_and_the_name_taken(env: &Env) {
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
}

/// Unknown containers, in every command that names one (`kill` words it its own way: see
/// the_fine_points_match_dockerd).
fn unknown_containers(env: &Env) {
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
}

fn rm_f_removes_a_running_container(env: &Env) {
    ok(env, &["rm", "-f", "named"]);
    fails_with(
        env,
        &["container", "inspect", "named"],
        "No such container: named",
    );
}
