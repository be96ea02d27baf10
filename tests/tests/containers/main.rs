//! Containers end to end: the real docker CLI against the real wharfd (its own containerd, runc) running
//! a static-busybox image imported with `docker import`. A module per area: `run`, `exec`, `lifecycle`
//! (ps and the commands between states), `logs`, `events` (and restart policies), `health`, `mounts`
//! (and the memory limit), `seccomp`, `stats`, `update`, `fine_points`, `crash` (of wharfd, with and
//! without `--live-restore`).
//!
//! Starting a daemon costs seconds, so each test starts one and runs its area's scenario against it as
//! a list of named checks (`wharf_tests::run_checks`): a failure names the check that broke, and the
//! checks after it still run.
//!
//! Each scenario is a function of the docker CLI's environment alone, so it runs unchanged against
//! Debian's dockerd 20.10: `WHARF_E2E_AGAINST=dockerd cargo test -p wharf-tests --test containers`
//! checks that the tests assert what dockerd does (see `wharf_tests::against`). The crash tests are
//! wharfd's own and skip there. `the_fine_points_match_dockerd` collects the details where wharfd and
//! dockerd were seen to differ, and reports every difference at once.
//!
//! They need root, containerd, runc and busybox-static (and dockerd for the reference runs); without them
//! the tests print why and pass, except under CI (`CI` set), where that is a failure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

mod crash;
mod events;
mod exec;
mod fine_points;
mod fixtures;
mod health;
mod lifecycle;
mod logs;
mod mounts;
mod run;
mod seccomp;
mod stats;
mod update;

use fixtures::against_daemon;

#[test]
fn run_passes_output_exit_codes_env_workdir_users_and_stdin() {
    against_daemon(
        "run_passes_output_exit_codes_env_workdir_users_and_stdin",
        run::CHECKS,
    );
}

#[test]
fn exec_runs_commands_in_running_containers() {
    against_daemon("exec_runs_commands_in_running_containers", exec::CHECKS);
}

#[test]
fn ps_filters_and_the_lifecycle_commands() {
    against_daemon("ps_filters_and_the_lifecycle_commands", lifecycle::CHECKS);
}

#[test]
fn logs_tail_timestamps_follow_and_streams() {
    against_daemon("logs_tail_timestamps_follow_and_streams", logs::CHECKS);
}

#[test]
fn events_and_the_restart_policy() {
    against_daemon("events_and_the_restart_policy", events::CHECKS);
}

#[test]
fn mounts_and_the_memory_limit() {
    mounts::scenario("mounts_and_the_memory_limit");
}

#[test]
fn seccomp_profiles_filter_system_calls() {
    seccomp::scenario("seccomp_profiles_filter_system_calls");
}

#[test]
fn stats_show_memory_and_cpu() {
    against_daemon("stats_show_memory_and_cpu", stats::CHECKS);
}

#[test]
fn stats_streams_dropped_midway_leave_nothing() {
    stats::dropped_streams_leave_nothing("stats_streams_dropped_midway_leave_nothing");
}

#[test]
fn health_checks_probe_and_report_as_dockerd() {
    against_daemon("health_checks_probe_and_report_as_dockerd", health::CHECKS);
}

#[test]
fn update_changes_limits_and_the_restart_policy() {
    against_daemon(
        "update_changes_limits_and_the_restart_policy",
        update::CHECKS,
    );
}

#[test]
fn the_fine_points_match_dockerd() {
    against_daemon("the_fine_points_match_dockerd", fine_points::CHECKS);
}

#[test]
fn containers_and_logs_survive_a_kill_9_of_wharfd() {
    crash::without_live_restore("containers_and_logs_survive_a_kill_9_of_wharfd");
}

#[test]
fn live_restore_keeps_containers_running_across_a_kill_9() {
    crash::with_live_restore("live_restore_keeps_containers_running_across_a_kill_9");
}
