//! Where wharfd was seen to differ from dockerd: each comparison is recorded rather than failing at
//! once, and every difference reported, so the list is the to-do list. When you find another difference,
//! add it here first.
//!
//! The checks run in order: the ones after `error_wording` use its two running containers, `first` and
//! `second`.

use std::fmt::Write as _;
use std::time::Duration;

use wharf_tests::cli::{daemon_error, docker, fails, ok, Env};
use wharf_tests::{checks, Check};

use crate::fixtures::{
    container_events, id_of, inspect, run_detached, seccomp_mode, timestamp, IMAGE,
};

/// The checks, in order.
pub const CHECKS: &[Check<Env>] = checks![
    kill_returns_once_the_exit_is_recorded,
    error_wording,
    filters_dockerd_knows,
    the_primary_group_is_a_supplementary_one,
    docker_top_is_an_event,
    an_exec_that_cannot_start_still_starts_in_the_events,
    a_start_that_fails,
    sizes_of_a_container_that_wrote_nothing,
    a_default_seccomp_profile,
    the_none_log_driver,
    network_sysctls,
    what_create_records,
    cgroupns_private,
    the_raw_inspect_json,
    rm_f_of_the_running_containers,
];

/// A SIGKILL from `docker kill` returns once the exit is recorded (dockerd waits for it), so
/// `docker kill x && docker rm x` works.
fn kill_returns_once_the_exit_is_recorded(env: &Env) {
    let mut diffs = Differences::default();
    for (name, kill) in [
        ("k-default", &["kill"][..]),
        ("k-9", &["kill", "-s", "9"]),
        ("k-name", &["kill", "-s", "KILL"]),
        ("k-paused", &["kill"]),
    ] {
        run_detached(env, name, &["sleep", "100"]);
        if name == "k-paused" {
            ok(env, &["pause", name]);
        }
        let mut args = kill.to_vec();
        args.push(name);
        ok(env, &args);
        diffs.check(
            &format!("state right after docker {}", args.join(" ")),
            inspect(env, name, "{{.State.Status}} {{.State.ExitCode}}"),
            "exited 137",
        );
        let rm = docker(env, &["rm", name]);
        diffs.check(
            &format!("docker rm right after docker {}", args.join(" ")),
            daemon_error(&rm.stderr),
            "",
        );
        let _ = docker(env, &["rm", "-f", name]);
    }
    diffs.assert_none();
}

/// Error wording; and the two running containers `first` and `second` the later checks use.
fn error_wording(env: &Env) {
    let mut diffs = Differences::default();
    diffs.check(
        "docker kill of an unknown container",
        daemon_error(&fails(env, &["kill", "nope"])),
        "Cannot kill container: nope: No such container: nope",
    );
    run_detached(env, "first", &["sleep", "100"]);
    let second = run_detached(env, "second", &["sleep", "100"]);
    diffs.check(
        "docker rename to a taken name",
        daemon_error(&fails(env, &["rename", "first", "second"])),
        &format!(
            "Error when allocating new name: Conflict. The container name \"/second\" is already in use \
             by container \"{second}\". You have to remove (or rename) that container to be able to reuse \
             that name."
        ),
    );
    diffs.check(
        "docker ps with an unknown filter",
        daemon_error(&fails(env, &["ps", "--filter", "bogus=1"])),
        "Invalid filter 'bogus'",
    );
    for (restart, dockerd) in [
        (
            "always:3",
            "maximum retry count cannot be used with restart policy 'always'",
        ),
        ("on-failure:-2", "maximum retry count cannot be negative"),
    ] {
        diffs.check(
            &format!("docker create --restart {restart}"),
            daemon_error(&fails(env, &["create", "--restart", restart, IMAGE])),
            dockerd,
        );
        diffs.check(
            &format!("docker update --restart {restart}"),
            daemon_error(&fails(env, &["update", "--restart", restart, "first"])),
            dockerd,
        );
    }
    diffs.assert_none();
}

/// Filters dockerd knows, true of every container here.
fn filters_dockerd_knows(env: &Env) {
    let mut diffs = Differences::default();
    for filter in ["isolation=default", "health=none", "is-task=false"] {
        let out = docker(env, &["ps", "-q", "--filter", filter]);
        diffs.check(
            &format!("docker ps --filter {filter}"),
            format!(
                "{}{}",
                out.stdout.lines().count(),
                daemon_error(&out.stderr)
            ),
            "2",
        );
    }
    diffs.assert_none();
}

/// The primary group is also a supplementary one (runc's setgroups gets it).
fn the_primary_group_is_a_supplementary_one(env: &Env) {
    let mut diffs = Differences::default();
    for (user, id) in [
        ("root", "uid=0(root) gid=0(root) groups=0(root)"),
        ("app", "uid=1000(app) gid=1000(app) groups=1000(app)"),
        (
            "65534:1000",
            "uid=65534(nobody) gid=1000(app) groups=1000(app)",
        ),
    ] {
        diffs.check(
            &format!("id of --user {user}"),
            ok(env, &["run", "--rm", "--user", user, IMAGE, "id"]).trim(),
            id,
        );
    }
    diffs.assert_none();
}

fn docker_top_is_an_event(env: &Env) {
    let mut diffs = Differences::default();
    let since = timestamp(Duration::ZERO);
    ok(env, &["top", "first"]);
    let first = id_of(env, "first");
    diffs.check(
        "events of docker top",
        container_events(env, &since, &first, "{{.Action}}").join(","),
        "top",
    );
    diffs.assert_none();
}

/// An exec whose command does not exist: `exec_create` and `exec_start` (dockerd announces the start
/// before asking containerd), no `exec_die`. Health probes of a missing command show the same.
fn an_exec_that_cannot_start_still_starts_in_the_events(env: &Env) {
    let mut diffs = Differences::default();
    let since = timestamp(Duration::ZERO);
    let out = docker(env, &["exec", "first", "no-such-command"]);
    diffs.check(
        "exit code of an exec that cannot start",
        format!("{:?}", out.status.code()),
        "Some(126)",
    );
    let first = id_of(env, "first");
    diffs.check(
        "events of an exec that cannot start",
        container_events(env, &since, &first, "{{.Action}}").join(","),
        "exec_create: no-such-command,exec_start: no-such-command",
    );
    diffs.assert_none();
}

/// A start that fails: the wait answers no error (the CLI prints `Error waiting for container` if it
/// does, with --rm), and the container never finished.
fn a_start_that_fails(env: &Env) {
    let mut diffs = Differences::default();
    for rm in [true, false] {
        let mut args = vec!["run", "--name", "broken"];
        if rm {
            args.push("--rm");
        }
        args.extend([IMAGE, "no-such-command"]);
        let out = docker(env, &args);
        diffs.check(
            &format!("the CLI's complaint about the wait of a failed start (--rm: {rm})"),
            out.stderr
                .lines()
                .find(|l| l.contains("Error waiting for container"))
                .unwrap_or(""),
            "",
        );
    }
    diffs.check(
        "FinishedAt of a container that failed to start",
        inspect(
            env,
            "broken",
            "{{.State.Status}} {{.State.ExitCode}} {{.State.FinishedAt}}",
        ),
        "created 127 0001-01-01T00:00:00Z",
    );
    ok(env, &["rm", "broken"]);
    diffs.assert_none();
}

/// Sizes: a container that wrote nothing has an empty writable layer, and the image's size as its root
/// file system's.
fn sizes_of_a_container_that_wrote_nothing(env: &Env) {
    let mut diffs = Differences::default();
    ok(env, &["run", "--name", "quiet", IMAGE, "true"]);
    let image_size = ok(env, &["image", "inspect", "-f", "{{.Size}}", IMAGE])
        .trim()
        .to_owned();
    diffs.check(
        "SizeRw and SizeRootFs of a container that wrote nothing",
        ok(
            env,
            &[
                "inspect",
                "-s",
                "-f",
                "{{.SizeRw}} {{.SizeRootFs}}",
                "quiet",
            ],
        )
        .trim(),
        &format!("0 {image_size}"),
    );
    ok(env, &["rm", "quiet"]);
    diffs.assert_none();
}

/// A default seccomp profile, dockerd's own, without --seccomp-profile (wharfd has one only where
/// /usr/share/containers/seccomp.json is installed).
fn a_default_seccomp_profile(env: &Env) {
    let mut diffs = Differences::default();
    diffs.check(
        "Seccomp mode of a container with the daemon's defaults",
        seccomp_mode(env),
        "2",
    );
    diffs.assert_none();
}

fn the_none_log_driver(env: &Env) {
    let mut diffs = Differences::default();
    let out = docker(
        env,
        &[
            "run",
            "--name",
            "unlogged",
            "--log-driver",
            "none",
            IMAGE,
            "echo",
            "hi",
        ],
    );
    diffs.check(
        "docker run --log-driver none",
        format!("{}{}", out.stdout, daemon_error(&out.stderr)),
        "hi\n",
    );
    if out.success() {
        diffs.check(
            "docker logs with the none driver",
            daemon_error(&fails(env, &["logs", "unlogged"])),
            "configured logging driver does not support reading",
        );
        ok(env, &["rm", "unlogged"]);
    }
    diffs.assert_none();
}

/// dockerd's network sysctls: in a network namespace of its own an unprivileged process may bind ports
/// below 1024 and ping; a --sysctl wins; the host's network keeps the host's values.
fn network_sysctls(env: &Env) {
    let mut diffs = Differences::default();
    let net_sysctls =
        "cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/net/ipv4/ping_group_range";
    let run_sh = |extra: &[&str]| {
        let mut args = vec!["run", "--rm", "--user", "1000"];
        args.extend_from_slice(extra);
        args.extend([IMAGE, "sh", "-c", net_sysctls]);
        ok(env, &args)
    };
    diffs.check(
        "net sysctls in a container's own network",
        run_sh(&[]),
        "0\n0\t2147483647\n",
    );
    diffs.check(
        "net sysctls with --sysctl net.ipv4.ip_unprivileged_port_start=1024",
        run_sh(&["--sysctl", "net.ipv4.ip_unprivileged_port_start=1024"]),
        "1024\n0\t2147483647\n",
    );
    let host_values: String = [
        "/proc/sys/net/ipv4/ip_unprivileged_port_start",
        "/proc/sys/net/ipv4/ping_group_range",
    ]
    .iter()
    .map(|path| std::fs::read_to_string(path).unwrap())
    .collect();
    diffs.check(
        "net sysctls with --network host",
        run_sh(&["--network", "host"]),
        &host_values,
    );
    diffs.assert_none();
}

/// What create records for settings left empty, and the unlimited spellings it drops.
fn what_create_records(env: &Env) {
    let mut diffs = Differences::default();
    let cgroupns_default = if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        "private"
    } else {
        "host"
    };
    ok(
        env,
        &[
            "create",
            "--name",
            "defaults",
            "--pids-limit",
            "0",
            IMAGE,
            "true",
        ],
    );
    diffs.check(
        "HostConfig defaults recorded at create",
        inspect(
            env,
            "defaults",
            "{{.HostConfig.CgroupnsMode}} {{.HostConfig.IpcMode}} {{.HostConfig.ShmSize}} \
             {{.HostConfig.Runtime}} {{.HostConfig.PidsLimit}}",
        ),
        &format!("{cgroupns_default} private 67108864 runc <nil>"),
    );
    diffs.check(
        "HostConfig MaskedPaths and ReadonlyPaths recorded at create",
        inspect(
            env,
            "defaults",
            "{{index .HostConfig.MaskedPaths 0}} {{.HostConfig.ReadonlyPaths}}",
        ),
        "/proc/asound [/proc/bus /proc/fs /proc/irq /proc/sys /proc/sysrq-trigger]",
    );
    ok(env, &["rm", "defaults"]);
    ok(
        env,
        &[
            "create",
            "--name",
            "privileged",
            "--privileged",
            IMAGE,
            "true",
        ],
    );
    diffs.check(
        "no MaskedPaths or ReadonlyPaths recorded for a privileged container",
        inspect(
            env,
            "privileged",
            "{{json .HostConfig.MaskedPaths}} {{json .HostConfig.ReadonlyPaths}}",
        ),
        "null null",
    );
    ok(env, &["rm", "privileged"]);
    diffs.assert_none();
}

/// --cgroupns private: every hierarchy is the namespace's root.
fn cgroupns_private(env: &Env) {
    let mut diffs = Differences::default();
    diffs.check(
        "cgroup paths with --cgroupns private",
        ok(
            env,
            &[
                "run",
                "--rm",
                "--cgroupns",
                "private",
                IMAGE,
                "sh",
                "-c",
                "grep -v ':/$' /proc/self/cgroup | wc -l",
            ],
        ),
        "0\n",
    );
    diffs.assert_none();
}

/// The raw inspect JSON (what docker-py hands its users as `attrs`) has the network keys dockerd always
/// sends, empty when there is no address.
fn the_raw_inspect_json(env: &Env) {
    let mut diffs = Differences::default();
    let raw: serde_json::Value = serde_json::from_str(&ok(env, &["inspect", "first"])).unwrap();
    let network = &raw[0]["NetworkSettings"];
    diffs.check(
        "NetworkSettings IPAddress, Ports and Networks.bridge.IPAddress in the raw docker inspect",
        // The address itself is the daemon's (empty on the reference, which runs without a bridge):
        // the keys, their types and the agreement of the legacy and per-network fields are compared.
        format!(
            "{} {} {}",
            network["IPAddress"].is_string(),
            network["Ports"].is_object(),
            network["IPAddress"] == network["Networks"]["bridge"]["IPAddress"]
        ),
        "true true true",
    );
    let has = |object: &serde_json::Value, key: &str| {
        object.as_object().is_some_and(|o| o.contains_key(key))
    };
    diffs.check(
        "ExecIDs, Config.Entrypoint and HostConfig.Binds present (null) in the raw docker inspect",
        format!(
            "{} {} {}",
            has(&raw[0], "ExecIDs"),
            has(&raw[0]["Config"], "Entrypoint"),
            has(&raw[0]["HostConfig"], "Binds")
        ),
        "true true true",
    );
    let driver_data = &raw[0]["GraphDriver"]["Data"];
    let is_dir = |key: &str| {
        driver_data[key]
            .as_str()
            .is_some_and(|dir| std::path::Path::new(dir).is_dir())
    };
    diffs.check(
        "GraphDriver.Data UpperDir and WorkDir are directories, LowerDir names some",
        format!(
            "{} {} {}",
            is_dir("UpperDir"),
            is_dir("WorkDir"),
            driver_data["LowerDir"]
                .as_str()
                .is_some_and(|l| !l.is_empty())
        ),
        "true true true",
    );
    diffs.assert_none();
}

fn rm_f_of_the_running_containers(env: &Env) {
    ok(env, &["rm", "-f", "first", "second"]);
}

/// Comparisons with what dockerd answers that record a difference instead of failing at once.
#[derive(Default)]
struct Differences {
    found: Vec<String>,
    checked: usize,
}

impl Differences {
    fn check(&mut self, what: &str, got: impl AsRef<str>, dockerd: &str) {
        self.checked += 1;
        let got = got.as_ref();
        if got != dockerd {
            self.found.push(format!(
                "{what}:\n    got:     {got:?}\n    dockerd: {dockerd:?}"
            ));
        }
    }

    fn assert_none(self) {
        if !self.found.is_empty() {
            let mut report = format!(
                "{} of {} comparisons differ from dockerd:\n",
                self.found.len(),
                self.checked
            );
            for f in &self.found {
                writeln!(report, "- {f}").unwrap();
            }
            panic!("{report}");
        }
    }
}
