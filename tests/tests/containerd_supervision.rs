//! wharfd's containerd across wharfd's own death: a wharfd killed with SIGKILL leaves its containerd
//! running, and the next wharfd on the same paths stops that one before starting its own — while a forced
//! exit (third stop signal) takes containerd down with it.
//!
//! Needs root and containerd; skipped with the reason printed otherwise, failed under CI.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use wharf_tests::Binaries;

fn can_run() -> bool {
    wharf_tests::prereq::can_run(
        "containerd supervision",
        wharf_tests::prereq::missing_runtime(),
    )
}

/// A wharfd child that is killed, with its containerd, if the test fails before stopping it itself.
struct Daemon {
    child: Child,
    dir: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("exec/containerd/containerd.pid")) {
            if let Ok(pid) = pid.trim().parse::<i32>() {
                if alive(pid) {
                    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                }
            }
        }
    }
}

fn start(dir: &Path) -> Daemon {
    let _ = std::fs::remove_file(dir.join("s.sock"));
    let child = Command::new(Binaries::locate().unwrap().wharfd().unwrap())
        .arg("-H")
        .arg(format!("unix://{}", dir.join("s.sock").display()))
        .arg("--data-root")
        .arg(dir.join("data"))
        .arg("--exec-root")
        .arg(dir.join("exec"))
        .arg("--pidfile")
        .arg(dir.join("wharfd.pid"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Until wharfd listens: the socket file appears at bind(2), a moment before listen(2), and a
    // connection in between is refused.
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::os::unix::net::UnixStream::connect(dir.join("s.sock")).is_err() {
        assert!(Instant::now() < deadline, "wharfd did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let daemon = Daemon {
        child,
        dir: dir.to_owned(),
    };
    // The socket serves before containerd answers; a request that needs containerd waits for it.
    let images = wharf_tests::http::get(&dir.join("s.sock"), "/v1.47/images/json").unwrap();
    assert_eq!(
        images.status,
        200,
        "containerd came up: {}",
        images.body_text()
    );
    daemon
}

fn containerd_pid(dir: &Path) -> i32 {
    std::fs::read_to_string(dir.join("exec/containerd/containerd.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}

fn wait_gone(pid: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    while alive(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

#[test]
fn a_killed_wharfds_containerd_is_stopped_by_the_next_and_a_forced_exit_takes_it_down() {
    if !can_run() {
        return;
    }
    let tmp = wharf_tests::TempDir::new("wcs").unwrap();
    let dir = tmp.path().to_owned();

    let mut first = start(&dir);
    let stale = containerd_pid(&dir);
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    assert!(
        alive(stale),
        "containerd {stale} should outlive a SIGKILLed wharfd"
    );

    let mut second = start(&dir);
    assert!(
        wait_gone(stale),
        "the stale containerd {stale} was not stopped"
    );
    let current = containerd_pid(&dir);
    assert_ne!(current, stale);
    assert!(alive(current));

    // Three stop signals: the forced exit kills containerd too.
    for _ in 0..3 {
        kill(Pid::from_raw(second.child.id() as i32), Signal::SIGTERM).unwrap();
    }
    second.child.wait().unwrap();
    assert!(
        wait_gone(current),
        "containerd {current} outlived a forced exit"
    );
}
