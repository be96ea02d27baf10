//! wharfd's own: what a `kill -9` of wharfd does to its containers, with and without `--live-restore`.
//! The checks run in order around the crash: the ones before it set containers up and note what the ones
//! after it compare.

use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::time::Duration;

use wharf_tests::cli::{exit_code, ok, Env};
use wharf_tests::{checks, eventually, run_checks, Check, Wharfd};

use crate::fixtures::{import_image, inspect, run_detached, sh, wharfd_only, IMAGE};

/// A container writing `n<i>` ten times a second.
const COUNTER: &str = "i=0; while true; do i=$((i+1)); echo n$i; sleep 0.1; done";

/// A wharfd with the image imported, to crash, and what its checks noted before the crash.
struct Crash {
    wharfd: RefCell<Wharfd>,
    env: Vec<(String, String)>,
    /// How many lines the counter had logged.
    counted: Cell<usize>,
    /// The counter's PID.
    pid: RefCell<String>,
}

impl Crash {
    fn new(wharfd: Wharfd) -> Self {
        let env = wharfd.endpoints().docker_env_unix();
        import_image(&env, wharfd.dir());
        Self {
            wharfd: RefCell::new(wharfd),
            env,
            counted: Cell::new(0),
            pid: RefCell::new(String::new()),
        }
    }

    /// Where wharfd keeps the FIFOs of execs.
    fn exec_fifos(&self) -> PathBuf {
        self.wharfd.borrow().dir().join("exec/execs")
    }
}

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

fn kill_9_and_restart(c: &Crash) {
    c.wharfd.borrow_mut().kill_and_restart().unwrap();
}

/// Without `--live-restore`: running containers are stopped at start-up, their output drained first.
pub fn without_live_restore(test: &str) {
    if !wharfd_only(test) {
        return;
    }
    let crash = Crash::new(Wharfd::start().unwrap());
    let checks: &[Check<Crash>] = checks![
        running_exited_and_created_containers_and_an_exec,
        kill_9_and_restart,
        the_running_one_was_stopped_with_its_output_drained,
        the_others_are_as_they_were,
        the_stopped_one_runs_again,
    ];
    run_checks(test, &crash, checks);
}

fn running_exited_and_created_containers_and_an_exec(c: &Crash) {
    let env = &c.env;
    run_detached(env, "counter", &sh(COUNTER));
    assert_eq!(
        exit_code(
            env,
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
    ok(env, &["create", "--name", "created", IMAGE, "true"]);
    std::thread::sleep(Duration::from_millis(800));
    let before = counted(env, "counter");
    assert!(before > 0);
    c.counted.set(before);
    ok(env, &["exec", "-d", "counter", "sleep", "100"]);
    assert!(c.exec_fifos().read_dir().unwrap().next().is_some());
}

fn the_running_one_was_stopped_with_its_output_drained(c: &Crash) {
    let env = &c.env;
    assert_eq!(
        inspect(env, "counter", "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 137"
    );
    // An exec does not outlive the daemon that started it: its FIFOs are gone (once containers are
    // restored, which the answer above waited for).
    assert!(!c.exec_fifos().exists());
    assert!(counted(env, "counter") >= c.counted.get());
}

fn the_others_are_as_they_were(c: &Crash) {
    let env = &c.env;
    assert_eq!(
        inspect(env, "exited", "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 5"
    );
    assert_eq!(ok(env, &["logs", "exited"]), "bye\n");
    assert_eq!(inspect(env, "created", "{{.State.Status}}"), "created");
}

fn the_stopped_one_runs_again(c: &Crash) {
    let env = &c.env;
    ok(env, &["start", "counter"]);
    assert_eq!(inspect(env, "counter", "{{.State.Running}}"), "true");
    ok(env, &["rm", "-f", "counter", "exited", "created"]);
}

/// With `--live-restore`: running containers run on, and wharfd takes up their output where it left it.
pub fn with_live_restore(test: &str) {
    if !wharfd_only(test) {
        return;
    }
    let crash = Crash::new(Wharfd::builder().arg("--live-restore").start().unwrap());
    let checks: &[Check<Crash>] = checks![
        a_running_and_an_exited_container,
        kill_9_and_restart,
        the_running_one_runs_on,
        no_line_is_missing_and_new_ones_come,
        it_stops_as_before,
    ];
    run_checks(test, &crash, checks);
}

fn a_running_and_an_exited_container(c: &Crash) {
    let env = &c.env;
    run_detached(env, "counter", &sh(COUNTER));
    assert_eq!(
        exit_code(
            env,
            &["run", "--name", "exited", IMAGE, "sh", "-c", "exit 5"]
        ),
        5
    );
    std::thread::sleep(Duration::from_millis(500));
    *c.pid.borrow_mut() = inspect(env, "counter", "{{.State.Pid}}");
}

fn the_running_one_runs_on(c: &Crash) {
    let env = &c.env;
    assert_eq!(
        inspect(env, "counter", "{{.State.Status}} {{.State.Pid}}"),
        format!("running {}", c.pid.borrow())
    );
    assert_eq!(inspect(env, "exited", "{{.State.ExitCode}}"), "5");
}

/// Lines written while wharfd was away are in the log, none missing, and new ones keep coming.
fn no_line_is_missing_and_new_ones_come(c: &Crash) {
    let env = &c.env;
    let now = counted(env, "counter");
    eventually(Duration::from_secs(5), "new log lines", || {
        counted(env, "counter") > now
    });
}

fn it_stops_as_before(c: &Crash) {
    let env = &c.env;
    ok(env, &["stop", "-t", "1", "counter"]);
    assert_eq!(inspect(env, "counter", "{{.State.Status}}"), "exited");
    ok(env, &["rm", "counter", "exited"]);
}
