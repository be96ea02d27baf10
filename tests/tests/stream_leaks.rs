//! Streams opened and dropped abruptly leave nothing behind: 200 each of hijacked attach and exec, attach
//! and exec over WebSockets, logs that follow and events, every one dropped mid-stream, then wharfd's file
//! descriptors, its resident memory, the container's processes and the exec FIFO directories are compared
//! with what they were before. The figures are printed for the record; the bounds only catch a leak
//! (a descriptor per stream would be 1200 of them).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use tungstenite::client::IntoClientRequest;
use wharf_tests::cli::ok;
use wharf_tests::process::rss_kib;
use wharf_tests::{eventually, prereq, rootfs, Wharfd};

const IMAGE: &str = "leaks:1";
const EACH: usize = 200;

fn can_run(test: &str) -> bool {
    let missing = prereq::missing_runtime().or_else(rootfs::missing_busybox);
    prereq::can_run(test, missing)
}

fn connect(socket: &Path) -> UnixStream {
    let s = UnixStream::connect(socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Sends `head` (a request without body), reads the answer's head and at least one byte after it when
/// `wait_for_data`, then drops the connection.
fn open_and_drop(socket: &Path, head: &str, wait_for_data: bool) {
    let mut s = connect(socket);
    s.write_all(head.as_bytes()).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "closed before its head: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    let head_end = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(
        got.starts_with(b"HTTP/1.1 101") || got.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    if wait_for_data && got.len() == head_end {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0);
    }
}

fn websocket_open_and_drop(socket: &Path, path: &str) {
    let req = format!("ws://docker{path}").into_client_request().unwrap();
    let (mut ws, _) = tungstenite::client::client(req, connect(socket)).unwrap();
    // The first output arrives, then the client vanishes.
    assert!(matches!(ws.read(), Ok(tungstenite::Message::Binary(_))));
    drop(ws);
}

/// Everything a stream could leave behind.
#[derive(Debug, PartialEq)]
struct Footprint {
    fds: usize,
    rss_kib: u64,
    container_processes: usize,
    exec_dirs: usize,
}

fn footprint(wharfd: &Wharfd, env: &[(String, String)]) -> Footprint {
    let count = |dir: &Path| std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
    Footprint {
        fds: count(&Path::new("/proc").join(wharfd.pid().to_string()).join("fd")),
        rss_kib: rss_kib(wharfd.pid()).unwrap(),
        // The streams' own processes (the loop's `sh` and its `sleep 0.05` come and go).
        container_processes: ok(env, &["top", "box"])
            .lines()
            .filter(|l| l.ends_with("cat") || l.ends_with("sleep 1000"))
            .count(),
        exec_dirs: count(&wharfd.dir().join("exec/execs")),
    }
}

/// One of each kind of stream, opened and dropped.
fn one_round(socket: &Path) {
    open_and_drop(
        socket,
        "POST /v1.47/containers/box/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
        true,
    );
    // cat with its stdin attached: the dropped connection closes its stdin and it ends.
    let id = wharf_tests::http::exec_create(
        socket,
        "box",
        r#"{"Cmd":["cat"],"AttachStdin":true,"AttachStdout":true,"AttachStderr":true}"#,
    )
    .unwrap();
    let body = r#"{"Detach":false,"Tty":false}"#;
    open_and_drop(
        socket,
        &format!("POST /v1.47/exec/{id}/start HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()),
        false,
    );
    // It says it started (so that the client has something to read), then would sleep on.
    let id = wharf_tests::http::exec_create(
        socket,
        "box",
        r#"{"Cmd":["sh","-c","echo started; exec sleep 1000"],"AttachStdout":true}"#,
    )
    .unwrap();
    websocket_open_and_drop(socket, &format!("/v1.47/exec/{id}/start/ws"));
    websocket_open_and_drop(
        socket,
        "/v1.47/containers/box/attach/ws?stream=1&stdin=1&stdout=1",
    );
    open_and_drop(
        socket,
        "GET /v1.47/containers/box/logs?follow=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: d\r\n\r\n",
        true,
    );
    open_and_drop(
        socket,
        "GET /v1.47/events HTTP/1.1\r\nHost: d\r\n\r\n",
        false,
    );
}

#[test]
fn streams_dropped_mid_way_leave_nothing_behind() {
    if !can_run("streams_dropped_mid_way_leave_nothing_behind") {
        return;
    }
    let wharfd = Wharfd::start().unwrap();
    let env = wharfd.endpoints().docker_env_unix();
    let tar = rootfs::busybox_tar(wharfd.dir()).unwrap();
    ok(&env, &["import", tar.to_str().unwrap(), IMAGE]);
    ok(
        &env,
        &[
            "run",
            "-d",
            "-i",
            "--name",
            "box",
            IMAGE,
            "sh",
            "-c",
            "while :; do echo tick; sleep 0.05; done",
        ],
    );
    let socket = wharfd.socket();
    // Warm up: buffers, pools and tables every stream shares grow to their working size first.
    for _ in 0..20 {
        one_round(socket);
    }
    let settled = |before: &Footprint| {
        eventually(
            Duration::from_secs(30),
            "the dropped streams to end",
            || {
                let now = footprint(&wharfd, &env);
                now.container_processes == before.container_processes
                    && now.exec_dirs <= before.exec_dirs
                    && now.fds <= before.fds + 2
            },
        );
    };
    let before = footprint(&wharfd, &env);
    assert_eq!(before.container_processes, 0, "{before:?}");
    // Four clients at once, as a console's tabs would be.
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..EACH / 4 {
                    one_round(socket);
                }
            });
        }
    });
    settled(&before);
    let after = footprint(&wharfd, &env);
    eprintln!(
        "{EACH} each of hijacked attach and exec, WebSocket attach and exec, logs -f and events, dropped: before {before:?}, after {after:?}"
    );
    // Ended execs stay inspectable (up to 1024 of them): a few KiB each, the rest must come back.
    let grown = after.rss_kib.saturating_sub(before.rss_kib);
    assert!(
        grown < 16 * 1024,
        "RSS grew by {grown} KiB: {before:?} -> {after:?}"
    );
    assert_eq!(
        ok(&env, &["inspect", "-f", "{{.State.Running}}", "box"]),
        "true\n"
    );
}
