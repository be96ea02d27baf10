//! wharfd's life as an operator sees it: its socket and pidfile, signals (stop, reload, state dump, forced
//! exit) and configuration errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use wharf_tests::http::request;
use wharf_tests::{eventually, Binaries, RunCommand, TempDir, Wharfd};

fn signal(pid: u32, sig: Signal) {
    kill(Pid::from_raw(pid as i32), sig).unwrap();
}

#[test]
fn socket_is_0660_pidfile_names_the_process_and_sigterm_cleans_up() {
    let mut wharfd = Wharfd::start().unwrap();
    let meta = std::fs::metadata(wharfd.socket()).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    let pid: u32 = std::fs::read_to_string(wharfd.pidfile())
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(pid, wharfd.pid());

    let (status, killed) = wharfd.stop().unwrap();
    assert!(!killed, "SIGTERM was enough");
    assert_eq!(status.code(), Some(0));
    assert!(!wharfd.socket().exists(), "socket removed");
    assert!(!wharfd.pidfile().exists(), "pidfile removed");
}

#[test]
fn a_second_daemon_on_the_same_pidfile_is_refused() {
    let wharfd = Wharfd::start().unwrap();
    let dir = wharfd.dir();
    let pidfile = wharfd.pidfile();
    let out = RunCommand::new(Binaries::locate().unwrap().wharfd().unwrap())
        .arg("-H")
        .arg(format!("unix://{}", dir.join("second.sock").display()))
        .arg("--data-root")
        .arg(dir.join("data2"))
        .arg("--exec-root")
        .arg(dir.join("exec2"))
        .arg("--pidfile")
        .arg(&pidfile)
        .timeout(Duration::from_secs(20))
        .run()
        .unwrap();
    assert!(!out.success());
    let expected = format!(
        "pid file found, ensure wharfd is not running or delete {}",
        pidfile.display()
    );
    assert!(out.stderr.contains(&expected), "{}", out.stderr);
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(
        pid,
        wharfd.pid(),
        "the running daemon's pidfile is untouched"
    );
    assert_eq!(wharfd.endpoints().ping().unwrap().status, 200);
}

#[test]
fn sighup_reloads_debug_and_sigusr1_writes_a_state_dump() {
    let wharfd = Wharfd::start().unwrap();
    let debug = || {
        let r = request(wharfd.socket(), "GET", "/v1.47/info", &[], None).unwrap();
        let info: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        info["Debug"].as_bool().unwrap()
    };
    assert!(!debug());
    std::fs::write(wharfd.dir().join("daemon.json"), r#"{"debug": true}"#).unwrap();
    signal(wharfd.pid(), Signal::SIGHUP);
    eventually(Duration::from_secs(10), "debug on after SIGHUP", debug);

    let exec_root = wharfd.dir().join("exec");
    signal(wharfd.pid(), Signal::SIGUSR1);
    let dump = || {
        std::fs::read_dir(&exec_root).ok().and_then(|d| {
            d.flatten()
                .map(|e| e.path())
                .find(|p| p.to_string_lossy().contains("wharfd-state-"))
        })
    };
    eventually(
        Duration::from_secs(10),
        "a state dump under the exec root",
        || dump().is_some(),
    );
    let path = dump().unwrap();
    eventually(Duration::from_secs(10), "the dump is complete JSON", || {
        std::fs::read(&path)
            .ok()
            .is_some_and(|b| serde_json::from_slice::<serde_json::Value>(&b).is_ok())
    });
    assert_eq!(
        wharfd.endpoints().ping().unwrap().status,
        200,
        "still serving"
    );
}

#[test]
fn a_third_signal_forces_the_exit_while_a_request_is_still_in_flight() {
    let mut wharfd = Wharfd::builder()
        .args(["--shutdown-timeout", "60"])
        .start()
        .unwrap();
    // A request whose head never completes keeps the drain waiting.
    let mut stalled = std::os::unix::net::UnixStream::connect(wharfd.socket()).unwrap();
    std::io::Write::write_all(&mut stalled, b"GET /_ping HTTP/1.1\r\nHost: x\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let pid = wharfd.pid();
    for _ in 0..3 {
        signal(pid, Signal::SIGINT);
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = wharfd
        .process()
        .wait_exit(Duration::from_secs(10))
        .unwrap()
        .expect("exited at the third signal");
    assert_eq!(status.code(), Some(128 + Signal::SIGINT as i32));
}

#[test]
fn a_stop_signal_while_containerd_is_awaited_ends_the_start_up() {
    // Nothing serves this socket: wharfd would wait 30 s for containerd before giving up, while its
    // listeners already answer `/_ping`.
    let dir = TempDir::new("wab").unwrap();
    let absent = dir.path().join("absent.sock");
    let mut wharfd = Wharfd::builder()
        .arg("--containerd")
        .arg(&absent)
        .start()
        .unwrap();
    assert_eq!(wharfd.endpoints().ping().unwrap().status, 200);
    signal(wharfd.pid(), Signal::SIGTERM);
    let status = wharfd
        .process()
        .wait_exit(Duration::from_secs(10))
        .unwrap()
        .expect("exited at the signal, not at containerd's deadline");
    assert_eq!(status.code(), Some(0));
    assert!(!wharfd.socket().exists(), "socket removed");
    assert!(!wharfd.pidfile().exists(), "pidfile removed");
    assert!(
        wharfd
            .process()
            .logs()
            .contains("stopping before containerd is up"),
        "{}",
        wharfd.process().logs()
    );
}

#[test]
fn configuration_errors_are_named_and_validate_says_ok() {
    let wharfd_bin = Binaries::locate().unwrap().wharfd().unwrap();
    let dir = TempDir::new("wcf").unwrap();
    let config = dir.path().join("daemon.json");
    let validate = |json: &str, extra: &[&str]| {
        std::fs::write(&config, json).unwrap();
        RunCommand::new(&wharfd_bin)
            .arg("--validate")
            .arg("--config-file")
            .arg(&config)
            .args(extra)
            .run()
            .unwrap()
    };

    let out = validate(r#"{"debug": true, "hosts": ["unix:///tmp/x.sock"]}"#, &[]);
    assert!(out.success(), "{}", out.stderr);
    assert!(out.stdout.contains("configuration OK"), "{}", out.stdout);

    let out = validate(r#"{"debug": true, "no-such-key": 1}"#, &[]);
    assert!(!out.success());
    assert!(
        out.stderr
            .contains("the following directives don't match any configuration option: no-such-key"),
        "{}",
        out.stderr
    );

    let out = validate(
        r#"{"hosts": ["unix:///tmp/from-file.sock"]}"#,
        &["-H", "unix:///tmp/from-flag.sock"],
    );
    assert!(!out.success());
    assert!(
        out.stderr.contains(
            "the following directives are specified both as a flag and in the configuration file"
        ) && out.stderr.contains("from-flag.sock")
            && out.stderr.contains("from-file.sock"),
        "{}",
        out.stderr
    );

    let out = validate("{not json", &[]);
    assert!(!out.success());
    assert!(
        out.stderr.contains(&config.display().to_string()),
        "names the file: {}",
        out.stderr
    );
}
