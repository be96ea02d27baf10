//! wharfd's own: what a `kill -9` of wharfd does to its containers, with and without `--live-restore`.
//! The checks run in order around the crash: the ones before it set containers up and note what the ones
//! after it compare.

use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use wharf_tests::cli::{docker, exit_code, ok, Env};
use wharf_tests::{checks, eventually, run_checks, Check, Wharfd};

use crate::fixtures::{import_image, inspect, run_detached, sh, wharfd_only, IMAGE};

/// A container writing `n<i>` ten times a second.
const COUNTER: &str = "i=0; while true; do i=$((i+1)); echo n$i; sleep 0.1; done";

/// How many lines the containers that write while wharfd is away write to each stream.
const LATE_LINES: usize = 50;

/// A script for a container that waits for `/go/now` (made once wharfd is killed), writes `out<i>` and
/// `err<i>` to stdout and stderr, says so in `/go/<name>`, then `and_then`.
fn writes_while_wharfd_is_away(name: &str, and_then: &str) -> String {
    format!(
        "while [ ! -e /go/now ]; do sleep 0.05; done; \
         i=0; while [ $i -lt {LATE_LINES} ]; do i=$((i+1)); echo out$i; echo err$i >&2; done; \
         touch /go/{name}; {and_then}"
    )
}

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

    /// The directory the containers that write while wharfd is away see as `/go`.
    fn go(&self) -> PathBuf {
        self.wharfd.borrow().dir().join("go")
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

/// Two containers waiting to write until wharfd is gone: `late` exits (code 3) once written, `talker`
/// runs on.
fn containers_that_will_write_while_wharfd_is_away(c: &Crash) {
    let env = &c.env;
    std::fs::create_dir_all(c.go()).unwrap();
    let volume = format!("{}:/go", c.go().display());
    for (name, and_then) in [("late", "exit 3"), ("talker", "exec sleep 1000")] {
        let script = writes_while_wharfd_is_away(name, and_then);
        ok(
            env,
            &[
                "run", "-d", "--name", name, "-v", &volume, IMAGE, "sh", "-c", &script,
            ],
        );
    }
}

/// `kill -9` of wharfd; then the containers write (and `late` exits) before it starts again.
fn kill_9_they_write_and_restart(c: &Crash) {
    c.wharfd.borrow_mut().kill_9().unwrap();
    std::fs::write(c.go().join("now"), "").unwrap();
    eventually(
        Duration::from_secs(10),
        "the writes while wharfd is away",
        || c.go().join("late").exists() && c.go().join("talker").exists(),
    );
    // Time for `late` to exit and its shim to close the FIFOs.
    std::thread::sleep(Duration::from_secs(1));
    c.wharfd.borrow_mut().restart().unwrap();
}

/// Every line `name` wrote while wharfd was away is in its log, in order, on its stream.
fn nothing_written_while_away_is_lost(env: &Env, name: &str) {
    let expected =
        |stream: &str| -> String { (1..=LATE_LINES).map(|i| format!("{stream}{i}\n")).collect() };
    let (out, err) = (expected("out"), expected("err"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let logs = docker(env, &["logs", name]);
        if (logs.stdout == out && logs.stderr == err) || Instant::now() > deadline {
            assert_eq!(logs.stdout, out, "{name}'s stdout");
            assert_eq!(logs.stderr, err, "{name}'s stderr");
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn the_exited_one_has_every_line_and_its_exit_code(c: &Crash) {
    let env = &c.env;
    assert_eq!(
        inspect(env, "late", "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 3"
    );
    nothing_written_while_away_is_lost(env, "late");
}

fn the_running_one_has_every_line(c: &Crash) {
    nothing_written_while_away_is_lost(&c.env, "talker");
}

/// Without `--live-restore`: running containers are stopped at start-up, their output drained first.
pub fn without_live_restore(test: &str) {
    if !wharfd_only(test) {
        return;
    }
    let crash = Crash::new(Wharfd::start().unwrap());
    let checks: &[Check<Crash>] = checks![
        running_exited_and_created_containers_and_an_exec,
        containers_that_will_write_while_wharfd_is_away,
        kill_9_they_write_and_restart,
        the_running_one_was_stopped_with_its_output_drained,
        the_others_are_as_they_were,
        the_exited_one_has_every_line_and_its_exit_code,
        the_running_one_has_every_line,
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
    ok(
        env,
        &["rm", "-f", "counter", "exited", "created", "late", "talker"],
    );
}

/// With `--live-restore`: running containers run on, and wharfd takes up their output where it left it.
pub fn with_live_restore(test: &str) {
    if !wharfd_only(test) {
        return;
    }
    let crash = Crash::new(Wharfd::builder().arg("--live-restore").start().unwrap());
    let checks: &[Check<Crash>] = checks![
        a_running_and_an_exited_container,
        a_healthy_container,
        containers_that_will_write_while_wharfd_is_away,
        kill_9_they_write_and_restart,
        the_running_one_runs_on,
        its_probes_go_on,
        no_line_is_missing_and_new_ones_come,
        the_exited_one_has_every_line_and_its_exit_code,
        the_running_one_has_every_line,
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

/// How many probes of `probed` have run (each appends a line to a file in the container).
fn probes(env: &Env) -> usize {
    ok(env, &["exec", "probed", "cat", "/tmp/probes"])
        .lines()
        .count()
}

/// A container whose health check runs every second.
fn a_healthy_container(c: &Crash) {
    let env = &c.env;
    ok(
        env,
        &[
            "run",
            "-d",
            "--name",
            "probed",
            "--health-cmd",
            "echo . >> /tmp/probes",
            "--health-interval",
            "1s",
            IMAGE,
            "sleep",
            "1000",
        ],
    );
    eventually(Duration::from_secs(20), "probed healthy", || {
        inspect(env, "probed", "{{.State.Health.Status}}") == "healthy"
    });
}

/// The restarted wharfd probes the container it re-attached, which stays healthy.
fn its_probes_go_on(c: &Crash) {
    let env = &c.env;
    assert_eq!(
        inspect(env, "probed", "{{.State.Health.Status}}"),
        "healthy"
    );
    let before = probes(env);
    eventually(Duration::from_secs(20), "more probes", || {
        probes(env) >= before + 2
    });
    assert_eq!(
        inspect(env, "probed", "{{.State.Health.Status}}"),
        "healthy"
    );
    ok(env, &["rm", "-f", "probed"]);
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
    assert_eq!(inspect(env, "talker", "{{.State.Status}}"), "running");
    ok(env, &["rm", "-f", "counter", "exited", "late", "talker"]);
}
