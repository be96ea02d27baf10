//! `docker logs` of `talk`, which wrote both streams and an unterminated last line and exited: follow,
//! tail, timestamps and the json-file format dockerd writes; then following a running container, and
//! much output. The checks after the first read the log `talk` left.

use std::time::Duration;

use wharf_tests::cli::{docker, ok, Env};
use wharf_tests::{checks, eventually, Check};

use crate::fixtures::{assert_unless_dockerd_races, inspect, run_detached, sh, IMAGE};

/// The checks, in order.
pub const CHECKS: &[Check<Env>] = checks![
    follow_ends_when_the_container_exits,
    tail_counts_lines_of_both_streams,
    timestamps,
    the_file_is_dockerds_json_file_format,
    follow_a_running_container,
    much_output,
    rm_of_the_exited_containers,
];

/// -f ends when the container exits, with everything, stdout and stderr apart.
fn follow_ends_when_the_container_exits(env: &Env) {
    run_detached(
        env,
        "talk",
        &sh("echo one; echo two; sleep 0.5; echo oops >&2; sleep 2; echo three; printf partial"),
    );
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
}

/// --tail counts lines of both streams.
fn tail_counts_lines_of_both_streams(env: &Env) {
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
}

/// --timestamps: RFC 3339 with nanoseconds, always nine digits.
fn timestamps(env: &Env) {
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
}

fn the_file_is_dockerds_json_file_format(env: &Env) {
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
}

/// -f on a running container: the lines so far, then new ones, ending when it is stopped.
fn follow_a_running_container(env: &Env) {
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
}

/// Much output, in the log as written.
fn much_output(env: &Env) {
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
}

fn rm_of_the_exited_containers(env: &Env) {
    ok(env, &["rm", "talk", "ticker", "big"]);
}
