//! wharfd under systemd's protocols, with systemd's own tools and a notify socket of the test's: `READY=1`,
//! `RELOADING=1` and `STOPPING=1` reach `NOTIFY_SOCKET`, and `-H fd://` serves a socket handed over by
//! `systemd-socket-activate`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::io::{Read, Write};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use wharf_tests::{Binaries, TempDir, Wharfd};

/// Waits for a notification containing `want`, returning everything received until then.
fn expect_notification(socket: &UnixDatagram, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match socket.recv(&mut buf) {
            Ok(n) => {
                seen.push_str(&String::from_utf8_lossy(&buf[..n]));
                seen.push('\n');
                if seen.lines().any(|l| l == want) {
                    return seen;
                }
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("receiving notifications: {e}"),
        }
    }
    panic!("no {want} within 10 s; received: {seen:?}");
}

#[test]
fn ready_reloading_and_stopping_reach_the_notify_socket() {
    let dir = TempDir::new("ns").unwrap();
    let path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();

    let mut wharfd = Wharfd::builder()
        .env("NOTIFY_SOCKET", &path)
        .start()
        .unwrap();
    expect_notification(&socket, "READY=1");
    kill(Pid::from_raw(wharfd.pid() as i32), Signal::SIGHUP).unwrap();
    expect_notification(&socket, "RELOADING=1");
    expect_notification(&socket, "READY=1");
    let (status, _) = wharfd.stop().unwrap();
    assert!(status.success());
    expect_notification(&socket, "STOPPING=1");
}

#[test]
fn serves_a_socket_handed_over_by_systemd_socket_activate() {
    if !wharf_tests::prereq::on_path("systemd-socket-activate") {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have systemd-socket-activate (package systemd)"
        );
        eprintln!("skipping: systemd-socket-activate is not installed");
        return;
    }
    let dir = TempDir::new("fd").unwrap();
    let socket = dir.path().join("activated.sock");
    let wharfd = Binaries::locate().unwrap().wharfd().unwrap();
    let mut activator = Command::new("systemd-socket-activate")
        .arg("-l")
        .arg(&socket)
        .arg(&wharfd)
        .args(["-H", "fd://"])
        .arg("--data-root")
        .arg(dir.path().join("data"))
        .arg("--exec-root")
        .arg(dir.path().join("exec"))
        .arg("--pidfile")
        .arg(dir.path().join("w.pid"))
        .arg("--config-file")
        .arg(write_config(&dir))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first connection starts wharfd, which inherits the listening socket and answers. The
    // activator creates the socket file at bind(2) and listens a moment later: a connection in between
    // is refused (and starts nothing).
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut stream = loop {
        match UnixStream::connect(&socket) {
            Ok(stream) => break stream,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                assert!(
                    Instant::now() < deadline,
                    "systemd-socket-activate never listened on {}: {e}",
                    socket.display()
                );
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("connecting to {}: {e}", socket.display()),
        }
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    let read = stream.read_to_string(&mut answer);
    kill(Pid::from_raw(activator.id() as i32), Signal::SIGTERM).unwrap();
    let status = activator.wait().unwrap();
    let mut stderr = String::new();
    activator
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    read.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}\n{stderr}");
    assert!(answer.ends_with("OK"), "{answer}");
    assert!(
        status.success(),
        "wharfd (exec'd by the activator) exits 0 on SIGTERM: {status}\n{stderr}"
    );
}

fn write_config(dir: &TempDir) -> std::path::PathBuf {
    let path = dir.path().join("daemon.json");
    std::fs::write(&path, "{}").unwrap();
    path
}
