//! Crash consistency of `start`: several `docker run -d` at once, wharfd killed with SIGKILL at a random
//! moment while they are in flight, then started again. After each restart:
//! - every record matches containerd: a running container has its containerd container and a running
//!   task with the recorded pid, any other has neither;
//! - nothing is left that no record owns: no containerd container, task, shim or writable layer (active
//!   snapshot), and no process in the cgroup of a container that is not running;
//! - a container that ran before the kill runs on with `--live-restore`, and is stopped without;
//! - every stopped container starts again, and `docker rm -f` removes them all, leaving nothing behind.
//!
//! Each test runs [`DEFAULT_ITERATIONS`] kills; the stress mode runs more, e.g.
//! `WHARF_CRASH_ITERATIONS=100 cargo test -p wharf-tests --test crash_loop -- --nocapture`.
//! The kill moments come from a seed printed at the start; `WHARF_CRASH_SEED=<n>` repeats them.
//!
//! They need root, containerd, runc (with `ctr`) and busybox-static; without them the tests print why and
//! pass, except under CI (`CI` set), where that is a failure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wharf_tests::cli::{docker, ok, Env};
use wharf_tests::{prereq, rootfs, RunCommand, Wharfd};

/// The image every container runs.
const IMAGE: &str = "bb:latest";

/// Kills per test unless `WHARF_CRASH_ITERATIONS` says otherwise.
const DEFAULT_ITERATIONS: u64 = 3;

/// The containers started at once in each iteration.
const CONCURRENT: usize = 8;

/// The kill comes this long after the first `docker run`, at most.
const MAX_KILL_DELAY_MS: u64 = 1500;

#[test]
fn starts_cut_short_by_a_kill_9_leave_nothing_unmanaged() {
    crash_loop("starts_cut_short_by_a_kill_9_leave_nothing_unmanaged", &[]);
}

#[test]
fn starts_cut_short_by_a_kill_9_leave_nothing_unmanaged_with_live_restore() {
    crash_loop(
        "starts_cut_short_by_a_kill_9_leave_nothing_unmanaged_with_live_restore",
        &["--live-restore"],
    );
}

fn crash_loop(test: &str, args: &[&str]) {
    let missing = prereq::missing_runtime()
        .or_else(|| (!prereq::on_path("ctr")).then(|| "ctr is not installed".to_owned()))
        .or_else(rootfs::missing_busybox);
    if !prereq::can_run(test, missing) {
        return;
    }
    let iterations = std::env::var("WHARF_CRASH_ITERATIONS")
        .ok()
        .map_or(DEFAULT_ITERATIONS, |v| v.parse().unwrap());
    let seed: u64 = std::env::var("WHARF_CRASH_SEED").ok().map_or_else(
        || {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
                .into()
        },
        |v| v.parse().unwrap(),
    );
    eprintln!("{test}: {iterations} iterations, WHARF_CRASH_SEED={seed}");
    let mut random = Random(seed | 1);

    let mut wharfd = Wharfd::builder().args(args).start().unwrap();
    let env = wharfd.endpoints().docker_env_unix();
    let tar = rootfs::busybox_tar(wharfd.dir()).unwrap();
    ok(&env, &["import", tar.to_str().unwrap(), IMAGE]);
    let containerd = Containerd::of(&wharfd, &env);
    let mut seen = BTreeSet::new();

    let live_restore = args.contains(&"--live-restore");

    for iteration in 0..iterations {
        let delay = Duration::from_millis(random.below(MAX_KILL_DELAY_MS));
        eprintln!("iteration {iteration}: kill after {delay:?}");
        // One container runs before the kill: it runs on with --live-restore, else it is stopped.
        let steady = ok(&env, &["run", "-d", IMAGE, "sleep", "1000"]);
        let steady = steady.trim();
        let steady_pid = ok(&env, &["inspect", "--format", "{{.State.Pid}}", steady]);
        let runs: Vec<_> = (0..CONCURRENT)
            .map(|k| {
                let env = env.to_vec();
                let name = format!("c{iteration}-{k}");
                // Some exit at once: their end may come while wharfd is away.
                let cmd = if k % 3 == 0 { "exit 3" } else { "sleep 1000" };
                std::thread::spawn(move || {
                    let _ = wharf_tests::docker(
                        &env,
                        &["run", "-d", "--name", &name, IMAGE, "sh", "-c", cmd],
                    );
                })
            })
            .collect();
        std::thread::sleep(delay);
        wharfd.kill_and_restart().unwrap();
        for run in runs {
            run.join().unwrap();
        }

        let context = || {
            format!(
                "iteration {iteration} (WHARF_CRASH_SEED={seed}), wharfd's log after the restart:\n{}",
                wharfd.logs()
            )
        };
        let records = containerd
            .settled(&env)
            .unwrap_or_else(|e| panic!("after the restart: {e}\n{}", context()));
        seen.extend(records.keys().cloned());
        let expected = if live_restore {
            format!("running {} 0", steady_pid.trim())
        } else {
            "exited 0 137".to_owned()
        };
        let format = "{{.State.Status}} {{.State.Pid}} {{.State.ExitCode}}";
        assert_eq!(
            ok(&env, &["inspect", "--format", format, steady]).trim(),
            expected,
            "the container that ran before the kill\n{}",
            context()
        );

        // Every stopped container starts again (no `task already exists`).
        for (id, record) in &records {
            if !record.running {
                let out = docker(&env, &["start", id]);
                assert!(
                    out.success(),
                    "docker start {id} failed: {}\n{}",
                    out.stderr,
                    context()
                );
            }
        }
        let started = containerd
            .settled(&env)
            .unwrap_or_else(|e| panic!("after starting every container: {e}\n{}", context()));

        // `rm -f` ends every process and leaves nothing behind.
        let ids: Vec<&str> = started.keys().map(String::as_str).collect();
        if !ids.is_empty() {
            let mut rm = vec!["rm", "-f"];
            rm.extend(&ids);
            ok(&env, &rm);
        }
        assert_eq!(ok(&env, &["ps", "-aq"]), "", "{}", context());
        if let Err(e) = containerd.settled(&env) {
            panic!("after rm -f: {e}\n{}", context());
        }
        let alive = processes_in_cgroups(&seen);
        assert!(
            alive.is_empty(),
            "processes outlived their containers' removal: {alive:?}\n{}",
            context()
        );
    }
}

/// A record as `docker inspect` shows it.
#[derive(Debug)]
struct Record {
    running: bool,
    pid: u32,
}

/// Every record by full ID.
fn records(env: &Env) -> BTreeMap<String, Record> {
    let ids = ok(env, &["ps", "-aq", "--no-trunc"]);
    let ids: Vec<&str> = ids.lines().collect();
    if ids.is_empty() {
        return BTreeMap::new();
    }
    let mut args = vec![
        "inspect",
        "--format",
        "{{.Id}} {{.State.Running}} {{.State.Pid}}",
    ];
    args.extend(&ids);
    ok(env, &args)
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let record = Record {
                running: fields[1] == "true",
                pid: fields[2].parse().unwrap(),
            };
            (fields[0].to_owned(), record)
        })
        .collect()
}

/// wharfd's containerd, read with `ctr`, and the processes of its shims.
struct Containerd {
    socket: PathBuf,
    snapshotter: String,
}

impl Containerd {
    fn of(wharfd: &Wharfd, env: &Env) -> Self {
        Self {
            socket: wharfd.dir().join("exec/containerd/containerd.sock"),
            snapshotter: ok(env, &["info", "--format", "{{.Driver}}"])
                .trim()
                .to_owned(),
        }
    }

    /// The records once they match containerd (a container exiting meanwhile is seen half-way for a
    /// moment), or why they do not after a few seconds.
    fn settled(&self, env: &Env) -> Result<BTreeMap<String, Record>, String> {
        let mut tries = 0;
        loop {
            let records = records(env);
            match self.matches(&records) {
                Ok(()) => return Ok(records),
                Err(e) if tries == 25 => return Err(e),
                Err(_) => tries += 1,
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn ctr(&self, args: &[&str]) -> String {
        let out = RunCommand::new("ctr")
            .arg("-a")
            .arg(&self.socket)
            .args(["-n", "wharf"])
            .args(args)
            .run()
            .unwrap();
        assert!(out.success(), "ctr {args:?}: {}", out.stderr);
        out.stdout
    }

    /// Whether containerd holds exactly what `records` say: a containerd container, a running task with
    /// the recorded pid and a shim for each running one, a writable layer for each, nothing else.
    fn matches(&self, records: &BTreeMap<String, Record>) -> Result<(), String> {
        let containers: BTreeSet<String> = self
            .ctr(&["containers", "ls", "-q"])
            .lines()
            .map(str::to_owned)
            .collect();
        let tasks: BTreeMap<String, (u32, String)> = self
            .ctr(&["tasks", "ls"])
            .lines()
            .skip(1)
            .map(|line| {
                let f: Vec<&str> = line.split_whitespace().collect();
                (f[0].to_owned(), (f[1].parse().unwrap(), f[2].to_owned()))
            })
            .collect();
        let layers: BTreeSet<String> = self
            .ctr(&["snapshots", "--snapshotter", &self.snapshotter, "ls"])
            .lines()
            .skip(1)
            .filter(|line| line.split_whitespace().last() == Some("Active"))
            .map(|line| line.split_whitespace().next().unwrap().to_owned())
            .collect();
        let shims = self.shims();
        let mut wrong = Vec::new();
        for (id, record) in records {
            let task = tasks.get(id);
            if record.running {
                if !containers.contains(id) {
                    wrong.push(format!("{id} runs without a containerd container"));
                }
                match task {
                    Some((pid, status)) if *pid == record.pid && status == "RUNNING" => {}
                    other => wrong.push(format!(
                        "{id} runs with pid {} but its task is {other:?}",
                        record.pid
                    )),
                }
                if !shims.contains(id) {
                    wrong.push(format!("{id} runs without a shim"));
                }
            } else {
                if containers.contains(id) {
                    wrong.push(format!("{id} is stopped but has a containerd container"));
                }
                if let Some(task) = task {
                    wrong.push(format!("{id} is stopped but has a task {task:?}"));
                }
                if shims.contains(id) {
                    wrong.push(format!("{id} is stopped but has a shim"));
                }
            }
            if !layers.contains(id) {
                wrong.push(format!("{id} has no writable layer"));
            }
        }
        for id in containers
            .iter()
            .chain(tasks.keys())
            .chain(&layers)
            .chain(&shims)
        {
            if !records.contains_key(id) {
                wrong.push(format!("{id} is in containerd but has no record"));
            }
        }
        if wrong.is_empty() {
            return Ok(());
        }
        wrong.dedup();
        Err(format!(
            "records {records:?}\ncontainers {containers:?}\ntasks {tasks:?}\nlayers {layers:?}\nshims {shims:?}\n{}",
            wrong.join("\n")
        ))
    }

    /// The container IDs of the shims that talk to this containerd.
    fn shims(&self) -> BTreeSet<String> {
        let socket = self.socket.display().to_string();
        let mut ids = BTreeSet::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            let args: Vec<String> = cmdline
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            let is_shim = args.first().is_some_and(|a| a.contains("containerd-shim"));
            let after = |flag: &str| {
                args.iter()
                    .position(|a| a == flag)
                    .and_then(|i| args.get(i + 1))
            };
            let ours = after("-address").is_some_and(|a| a.starts_with(&socket));
            if is_shim && ours {
                if let Some(id) = after("-id") {
                    ids.insert(id.clone());
                }
            }
        }
        ids
    }
}

/// The processes still in the cgroups of containers `ids` (cgroup v1 or v2), as `(id, pid)`.
fn processes_in_cgroups(ids: &BTreeSet<String>) -> Vec<(String, String)> {
    let roots = [
        "/sys/fs/cgroup/pids/wharf",
        "/sys/fs/cgroup/memory/wharf",
        "/sys/fs/cgroup/wharf",
    ];
    let mut found = Vec::new();
    for id in ids {
        for root in roots {
            let procs = Path::new(root).join(id).join("cgroup.procs");
            if let Ok(text) = std::fs::read_to_string(procs) {
                found.extend(text.lines().map(|pid| (id.clone(), pid.to_owned())));
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// xorshift64: the kill moments, repeatable from the seed.
struct Random(u64);

impl Random {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}
