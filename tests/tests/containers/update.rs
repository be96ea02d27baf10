//! `docker update`: new memory, CPU and pids limits seen in a running container's cgroup (v1 or v2, as
//! the host has them, read from inside the container) and in inspect, recorded for a stopped one and
//! applied at its next start, a new restart policy, the `update` event, and dockerd's refusals.

use std::path::Path;
use std::time::Duration;

use wharf_tests::cli::{fails, ok, Env};
use wharf_tests::{checks, Check};

use crate::fixtures::{container_events, id_of, inspect, run_detached, timestamp, IMAGE};

/// The checks, in order.
pub const CHECKS: &[Check<Env>] = checks![
    a_running_container_gets_its_new_limits_at_once,
    memory_alone_conflicts_with_the_swap_limit,
    a_stopped_container_gets_them_at_its_next_start,
    the_restart_policy_changes_unless_auto_remove,
    bad_values_are_refused_with_dockerd_words,
    rm_of_the_containers,
];

/// Whether the host runs the unified cgroup hierarchy (v2).
fn cgroup_v2() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// The container's own cgroup file, as it sees it (v1: `<controller>/<file>`, v2: `<file>`).
fn cgroup_file(env: &Env, name: &str, v1: &str, v2: &str) -> String {
    let path = if cgroup_v2() {
        format!("/sys/fs/cgroup/{v2}")
    } else {
        format!("/sys/fs/cgroup/{v1}")
    };
    ok(env, &["exec", name, "cat", &path]).trim().to_owned()
}

fn memory_limit(env: &Env, name: &str) -> String {
    cgroup_file(env, name, "memory/memory.limit_in_bytes", "memory.max")
}

fn pids_max(env: &Env, name: &str) -> String {
    cgroup_file(env, name, "pids/pids.max", "pids.max")
}

/// The CFS quota and period: `50000 100000`.
fn cpu_max(env: &Env, name: &str) -> String {
    if cgroup_v2() {
        cgroup_file(env, name, "", "cpu.max")
    } else {
        format!(
            "{} {}",
            cgroup_file(env, name, "cpu/cpu.cfs_quota_us", ""),
            cgroup_file(env, name, "cpu/cpu.cfs_period_us", "")
        )
    }
}

/// A running container without limits: memory, swap, CPUs and pids change in its cgroup at once and in
/// inspect, with an `update` event.
fn a_running_container_gets_its_new_limits_at_once(env: &Env) {
    let since = timestamp(Duration::ZERO);
    let id = run_detached(env, "up", &["sleep", "1000"]);
    assert_eq!(pids_max(env, "up"), "max");
    let out = ok(
        env,
        &[
            "update",
            "--memory",
            "64m",
            "--memory-swap",
            "128m",
            "--cpus",
            "0.5",
            "--pids-limit",
            "50",
            "up",
        ],
    );
    assert_eq!(out.trim(), "up");
    assert_eq!(memory_limit(env, "up"), "67108864");
    assert_eq!(cpu_max(env, "up"), "50000 100000");
    assert_eq!(pids_max(env, "up"), "50");
    assert_eq!(
        inspect(
            env,
            "up",
            "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} \
             {{.HostConfig.PidsLimit}} {{.HostConfig.CpuQuota}} {{.HostConfig.CpuPeriod}}"
        ),
        "67108864 134217728 500000000 50 0 0"
    );
    let actions = container_events(env, &since, &id, "{{.Action}} {{json .Actor.Attributes}}");
    assert!(
        actions
            .iter()
            .any(|a| a == &format!(r#"update {{"image":"{IMAGE}","name":"up"}}"#)),
        "{actions:?}"
    );
    // Only what is asked changes.
    ok(env, &["update", "--pids-limit", "60", "up"]);
    assert_eq!(pids_max(env, "up"), "60");
    assert_eq!(memory_limit(env, "up"), "67108864");
}

/// A memory limit above the swap limit already set (none is 0) needs the swap limit too, as dockerd
/// 20.10 wants it; the container keeps what it had.
fn memory_alone_conflicts_with_the_swap_limit(env: &Env) {
    run_detached(env, "up-mem", &["sleep", "1000"]);
    let id = id_of(env, "up-mem");
    let err = fails(env, &["update", "--memory", "64m", "up-mem"]);
    assert!(
        err.contains(&format!(
            "Cannot update container {id}: Memory limit should be smaller than already set \
             memoryswap limit, update the memoryswap at the same time"
        )),
        "{err}"
    );
    assert_eq!(inspect(env, "up-mem", "{{.HostConfig.Memory}}"), "0");
}

/// A container that is not running keeps the new limits in its record and runs with them.
fn a_stopped_container_gets_them_at_its_next_start(env: &Env) {
    ok(
        env,
        &["create", "--name", "up-later", IMAGE, "sleep", "1000"],
    );
    ok(
        env,
        &[
            "update",
            "--memory",
            "96m",
            "--memory-swap",
            "192m",
            "--pids-limit",
            "40",
            "up-later",
        ],
    );
    assert_eq!(
        inspect(
            env,
            "up-later",
            "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.PidsLimit}}"
        ),
        "100663296 201326592 40"
    );
    ok(env, &["start", "up-later"]);
    assert_eq!(memory_limit(env, "up-later"), "100663296");
    assert_eq!(pids_max(env, "up-later"), "40");
}

/// `--restart` changes the policy; a container with `--rm` may not get one.
fn the_restart_policy_changes_unless_auto_remove(env: &Env) {
    ok(env, &["update", "--restart", "on-failure:3", "up"]);
    assert_eq!(
        inspect(env, "up", "{{json .HostConfig.RestartPolicy}}"),
        r#"{"Name":"on-failure","MaximumRetryCount":3}"#
    );
    ok(env, &["update", "--restart", "always", "up"]);
    assert_eq!(
        inspect(env, "up", "{{.HostConfig.RestartPolicy.Name}}"),
        "always"
    );
    ok(
        env,
        &[
            "run", "-d", "--rm", "--name", "up-rm", IMAGE, "sleep", "1000",
        ],
    );
    let id = id_of(env, "up-rm");
    let err = fails(env, &["update", "--restart", "always", "up-rm"]);
    assert!(
        err.contains(&format!(
            "Cannot update container {id}: Restart policy cannot be updated because AutoRemove is \
             enabled for the container"
        )),
        "{err}"
    );
}

/// Values a create would refuse are refused with the same words; a missing container is named.
fn bad_values_are_refused_with_dockerd_words(env: &Env) {
    let err = fails(env, &["update", "--memory", "1000", "up"]);
    assert!(err.contains("Minimum memory limit allowed is 6MB"), "{err}");
    let err = fails(
        env,
        &["update", "--memory", "64m", "--memory-swap", "32m", "up"],
    );
    assert!(
        err.contains("Minimum memoryswap limit should be larger than memory limit, see usage"),
        "{err}"
    );
    let err = fails(env, &["update", "--cpu-period", "50000", "up"]);
    assert!(
        err.contains(
            "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set"
        ),
        "{err}"
    );
    let err = fails(env, &["update", "--pids-limit", "10", "up-nope"]);
    assert!(err.contains("No such container: up-nope"), "{err}");
    assert_eq!(pids_max(env, "up"), "60", "nothing changed");
}

fn rm_of_the_containers(env: &Env) {
    ok(env, &["rm", "-f", "up", "up-mem", "up-later", "up-rm"]);
}
