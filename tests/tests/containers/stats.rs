//! `docker stats`: real memory and CPU figures of running containers, zeros for a stopped one, dockerd's
//! error for a missing one; then the raw answers (their shape, `one-shot`, the stream's chaining of
//! samples) over the daemon's socket. Apart, for wharfd alone: streams dropped mid-way leave nothing.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use wharf_tests::cli::{docker, ok, Env};
use wharf_tests::{checks, eventually, Check};

use crate::fixtures::{run_detached, sh, IMAGE};

/// The checks, in order.
pub const CHECKS: &[Check<Env>] = checks![
    memory_in_use_shows,
    a_busy_container_shows_cpu,
    a_stopped_container_shows_zeros,
    a_missing_container_is_an_error,
    one_sample_has_dockers_shape_with_the_previous_cpu_figures,
    one_shot_answers_the_first_sample,
    a_stream_chains_its_samples,
    wharf_stats_shows_dockers_table,
    rm_of_the_containers,
];

/// 30 MiB held: `dd` keeps its block while `sleep` never reads the pipe.
const HOLD_MEMORY: &str = "dd if=/dev/zero bs=30M count=1 | sleep 1000";

/// Bytes of `docker stats`' sizes (`30.7MiB`, `448KiB`, `0B`).
fn bytes_of(size: &str) -> f64 {
    let size = size.trim();
    let split = size
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(size.len());
    let (number, unit) = size.split_at(split);
    let scale = match unit {
        "B" => 1.0,
        "KiB" | "kB" => 1024.0,
        "MiB" | "MB" => 1024.0 * 1024.0,
        "GiB" | "GB" => 1024.0 * 1024.0 * 1024.0,
        other => panic!("unknown unit {other:?} in {size:?}"),
    };
    number.parse::<f64>().unwrap() * scale
}

/// `docker stats --no-stream --format <format> <name>`, trimmed.
fn no_stream(env: &Env, name: &str, format: &str) -> String {
    ok(env, &["stats", "--no-stream", "--format", format, name])
        .trim()
        .to_owned()
}

/// A container holding 30 MiB shows about that in MEM USAGE, under docker's columns.
fn memory_in_use_shows(env: &Env) {
    run_detached(env, "hog", &sh(HOLD_MEMORY));
    eventually(Duration::from_secs(10), "hog's 30 MiB in use", || {
        let usage = no_stream(env, "hog", "{{.MemUsage}}");
        let (used, limit) = usage.split_once(" / ").unwrap();
        bytes_of(used) >= 30.0 * 1024.0 * 1024.0 && bytes_of(limit) > bytes_of(used)
    });
    let table = ok(env, &["stats", "--no-stream", "hog"]);
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    for column in [
        "CONTAINER ID",
        "NAME",
        "CPU %",
        "MEM USAGE / LIMIT",
        "MEM %",
        "PIDS",
    ] {
        assert!(header.contains(column), "{column} in {header:?}");
    }
    let row = lines.next().unwrap();
    assert!(row.contains("hog") && row.contains('%'), "{row}");
    assert_eq!(no_stream(env, "hog", "{{.PIDs}}"), "3", "sh, dd and sleep");
}

/// A shell spinning shows CPU %: the answer's two samples are a second apart.
fn a_busy_container_shows_cpu(env: &Env) {
    run_detached(env, "spin", &sh("while :; do :; done"));
    let cpu = no_stream(env, "spin", "{{.CPUPerc}}");
    let percent: f64 = cpu.strip_suffix('%').unwrap().parse().unwrap();
    assert!(percent > 1.0, "spin's CPU: {cpu}");
    let idle = no_stream(env, "hog", "{{.CPUPerc}}");
    assert!(idle.ends_with('%'), "{idle}");
}

/// A container that does not run: zeros, and success.
fn a_stopped_container_shows_zeros(env: &Env) {
    ok(env, &["create", "--name", "idle", IMAGE, "true"]);
    assert_eq!(
        no_stream(
            env,
            "idle",
            "{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.MemPerc}} {{.PIDs}}"
        ),
        "idle 0.00% 0B / 0B 0.00% 0"
    );
}

fn a_missing_container_is_an_error(env: &Env) {
    let out = docker(env, &["stats", "--no-stream", "nosuch"]);
    assert!(!out.success());
    assert!(
        out.stderr
            .contains("Error response from daemon: No such container: nosuch"),
        "{}",
        out.stderr
    );
}

/// The daemon's unix socket, from `DOCKER_HOST`.
fn socket(env: &Env) -> PathBuf {
    let host = env.iter().find(|(k, _)| k == "DOCKER_HOST").unwrap();
    PathBuf::from(host.1.strip_prefix("unix://").unwrap())
}

/// `GET uri` as one JSON answer.
fn get_json(env: &Env, uri: &str) -> (wharf_tests::http::RawResponse, Value) {
    let r = wharf_tests::http::get(&socket(env), uri).unwrap();
    assert_eq!(r.status, 200, "{uri}: {}", r.body_text());
    let v = serde_json::from_slice(&r.body).unwrap();
    (r, v)
}

const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// `stream=false`: one JSON object in Docker's shape, its `precpu_stats` from a sample before it.
fn one_sample_has_dockers_shape_with_the_previous_cpu_figures(env: &Env) {
    let (r, v) = get_json(env, "/v1.41/containers/hog/stats?stream=false");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(v["name"], "/hog");
    assert_eq!(v["id"].as_str().unwrap().len(), 64);
    assert_eq!(v["num_procs"], 0);
    assert_eq!(v["pids_stats"]["current"], 3);
    assert_ne!(v["read"], ZERO_TIME);
    assert_ne!(v["preread"], ZERO_TIME);
    assert!(v["preread"].as_str() < v["read"].as_str(), "{v}");
    for cpu in ["cpu_stats", "precpu_stats"] {
        assert!(
            v[cpu]["cpu_usage"]["total_usage"].as_u64().unwrap() > 0,
            "{cpu}"
        );
        assert!(v[cpu]["system_cpu_usage"].as_u64().unwrap() > 0, "{cpu}");
        assert!(v[cpu]["online_cpus"].as_u64().unwrap() > 0, "{cpu}");
        assert!(v[cpu]["throttling_data"].is_object(), "{cpu}");
    }
    let system = |cpu: &str| v[cpu]["system_cpu_usage"].as_u64().unwrap();
    assert!(system("cpu_stats") > system("precpu_stats"));
    let memory = &v["memory_stats"];
    assert!(memory["usage"].as_u64().unwrap() >= 30 << 20, "{memory}");
    assert!(memory["limit"].as_u64().unwrap() > memory["usage"].as_u64().unwrap());
    assert!(memory["stats"].as_object().unwrap().len() > 20, "{memory}");
    assert!(v["blkio_stats"]["io_service_bytes_recursive"].is_array());
    assert_eq!(v["storage_stats"], serde_json::json!({}));
    // A container that does not run: zeros at once, its name and ID.
    let (_, idle) = get_json(env, "/v1.41/containers/idle/stats?stream=false");
    assert_eq!(idle["name"], "/idle");
    assert_eq!(
        (idle["read"].as_str(), idle["preread"].as_str()),
        (Some(ZERO_TIME), Some(ZERO_TIME))
    );
    assert_eq!(idle["memory_stats"], serde_json::json!({}));
    assert_eq!(idle["pids_stats"], serde_json::json!({}));
    assert_eq!(idle["cpu_stats"]["cpu_usage"]["total_usage"], 0);
    assert!(idle["blkio_stats"]["io_service_bytes_recursive"].is_null());
}

/// `one-shot` (API 1.41): the first sample, without `precpu_stats`.
fn one_shot_answers_the_first_sample(env: &Env) {
    let (_, v) = get_json(
        env,
        "/v1.41/containers/hog/stats?stream=false&one-shot=true",
    );
    assert_ne!(v["read"], ZERO_TIME);
    assert_eq!(v["preread"], ZERO_TIME);
    assert_eq!(v["precpu_stats"]["cpu_usage"]["total_usage"], 0);
    assert!(v["precpu_stats"].get("system_cpu_usage").is_none(), "{v}");
    // Before 1.41 the parameter is not read: two samples, as without it.
    let (_, old) = get_json(
        env,
        "/v1.40/containers/hog/stats?stream=false&one-shot=true",
    );
    assert_ne!(old["preread"], ZERO_TIME);
}

/// A stats stream: one JSON line after another, read as they come.
pub struct StatsStream {
    reader: BufReader<UnixStream>,
}

impl StatsStream {
    /// Asks for `uri` over HTTP/1.0 (so that the body is the bytes themselves, not chunks) and reads
    /// the head.
    pub fn open(socket: &Path, uri: &str) -> Self {
        let mut stream = UnixStream::connect(socket).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(stream, "GET {uri} HTTP/1.0\r\nHost: docker\r\n\r\n").unwrap();
        let mut reader = BufReader::new(stream);
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        assert!(status.contains(" 200 "), "{status}");
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            assert!(
                !line.to_ascii_lowercase().starts_with("content-type"),
                "a stream names no media type, as with dockerd: {line}"
            );
        }
        Self { reader }
    }

    /// The next sample.
    pub fn next(&mut self) -> Value {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
    }
}

/// Each sample of a stream carries the one before it: its `read` as `preread`, its `cpu_stats` as
/// `precpu_stats`. The first has none.
fn a_stream_chains_its_samples(env: &Env) {
    let mut stream = StatsStream::open(&socket(env), "/v1.41/containers/spin/stats");
    let first = stream.next();
    assert_eq!(first["preread"], ZERO_TIME);
    assert_eq!(first["precpu_stats"]["cpu_usage"]["total_usage"], 0);
    let mut previous = first;
    for _ in 0..2 {
        let sample = stream.next();
        assert_eq!(sample["name"], "/spin");
        assert_eq!(sample["preread"], previous["read"]);
        assert_eq!(sample["precpu_stats"], previous["cpu_stats"]);
        let total = |v: &Value| v["cpu_stats"]["cpu_usage"]["total_usage"].as_u64().unwrap();
        assert!(total(&sample) > total(&previous), "spin keeps using CPU");
        previous = sample;
    }
    // A stopped container streams zeros.
    let mut idle = StatsStream::open(&socket(env), "/v1.41/containers/idle/stats");
    for _ in 0..2 {
        let sample = idle.next();
        assert_eq!(
            (sample["name"].as_str(), sample["read"].as_str()),
            (Some("/idle"), Some(ZERO_TIME))
        );
    }
}

/// `wharf stats --no-stream`: docker's header, and the same figures (memory, CPU, zeros).
fn wharf_stats_shows_dockers_table(env: &Env) {
    let wharf = wharf_tests::Binaries::locate().unwrap().wharf().unwrap();
    let out = wharf_tests::RunCommand::new(wharf)
        .envs(env.iter().cloned())
        .args(["stats", "--no-stream", "hog", "spin", "idle"])
        .run()
        .unwrap();
    assert!(out.success(), "{}", out.stderr);
    let docker_table = ok(env, &["stats", "--no-stream", "hog"]);
    let mut lines = out.stdout.lines();
    assert_eq!(lines.next(), docker_table.lines().next(), "the same header");
    let rows: Vec<Vec<&str>> = lines
        .map(|l| {
            l.split("   ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 3, "{}", out.stdout);
    let names: Vec<&str> = rows.iter().map(|r| r[1]).collect();
    assert_eq!(names, ["hog", "spin", "idle"]);
    let used = rows[0][3].split_once(" / ").unwrap().0;
    assert!(bytes_of(used) >= 30.0 * 1024.0 * 1024.0, "{}", out.stdout);
    let spin_cpu: f64 = rows[1][2].strip_suffix('%').unwrap().parse().unwrap();
    assert!(spin_cpu > 1.0, "{}", out.stdout);
    assert_eq!(
        rows[2][2..],
        ["0.00%", "0B / 0B", "0.00%", "0B / 0B", "0B / 0B", "0"]
    );
    let missing =
        wharf_tests::RunCommand::new(wharf_tests::Binaries::locate().unwrap().wharf().unwrap())
            .envs(env.iter().cloned())
            .args(["stats", "--no-stream", "nosuch"])
            .run()
            .unwrap();
    assert!(!missing.success());
    assert!(
        missing.stderr.contains("No such container: nosuch"),
        "{}",
        missing.stderr
    );
}

fn rm_of_the_containers(env: &Env) {
    ok(env, &["rm", "-f", "hog", "spin", "idle"]);
}

/// The `open_streams` of a fresh SIGUSR1 state dump of the wharfd `pid` under `exec_root`.
fn open_streams(pid: u32, exec_root: &Path) -> u64 {
    let dumps = || {
        std::fs::read_dir(exec_root)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().contains("wharfd-state-"))
            .collect::<Vec<_>>()
    };
    for old in dumps() {
        std::fs::remove_file(old).unwrap();
    }
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGUSR1).unwrap();
    let mut counters = None;
    eventually(Duration::from_secs(10), "a complete state dump", || {
        counters = dumps().first().and_then(|p| {
            let dump: Value = serde_json::from_slice(&std::fs::read(p).ok()?).ok()?;
            dump["requests"]["open_streams"].as_u64()
        });
        counters.is_some()
    });
    counters.unwrap()
}

/// wharfd alone: stats streams dropped mid-way by their clients end, with their connections: the state
/// dump counts none left open and wharfd holds no more file descriptors than before.
pub fn dropped_streams_leave_nothing(test: &str) {
    if !crate::fixtures::wharfd_only(test) {
        return;
    }
    let wharfd = wharf_tests::Wharfd::start().unwrap();
    let env = wharfd.endpoints().docker_env_unix();
    crate::fixtures::import_image(&env, wharfd.dir());
    run_detached(&env, "hog", &sh(HOLD_MEMORY));
    let (pid, exec_root) = (wharfd.pid(), wharfd.dir().join("exec"));
    let fds = || {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .count()
    };
    assert_eq!(open_streams(pid, &exec_root), 0);
    let before = fds();
    let mut streams: Vec<StatsStream> = (0..20)
        .map(|_| StatsStream::open(wharfd.socket(), "/containers/hog/stats"))
        .collect();
    for s in &mut streams {
        assert_eq!(s.next()["name"], "/hog");
    }
    assert_eq!(open_streams(pid, &exec_root), 20, "the dump counts them");
    assert!(fds() >= before + 20, "a connection each");
    drop(streams);
    eventually(Duration::from_secs(15), "no stats stream left", || {
        open_streams(pid, &exec_root) == 0
    });
    eventually(Duration::from_secs(15), "the connections closed", || {
        fds() <= before
    });
}
