//! Seccomp profiles: a daemon's default (`--seccomp-profile`) filters every container, a container lifts
//! it or brings its own. It takes two daemons, one with a profile that denies `mkdir` and one without a
//! default profile; both are started first, then the checks run against them.

use wharf_tests::cli::{docker, ok};
use wharf_tests::{checks, run_checks, Against, Check, TempDir};

use crate::fixtures::{daemon_under_test, seccomp_mode, LogOnFailure, IMAGE};

/// A profile that allows everything but `mkdir`.
const NO_MKDIR: &str = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}"#;

/// The two daemons' environments, and the profile that denies `mkdir`.
struct Seccomp {
    against: Against,
    /// The daemon whose default profile denies `mkdir`.
    filtered: Vec<(String, String)>,
    /// The daemon without a default profile.
    plain: Vec<(String, String)>,
    /// `seccomp=<the profile that denies mkdir>`, for `--security-opt`.
    own: String,
}

/// Starts both daemons and runs the checks in order.
pub fn scenario(test: &str) {
    let dir = TempDir::new("seccomp").unwrap();
    let profile = dir.path().join("no-mkdir.json");
    std::fs::write(&profile, NO_MKDIR).unwrap();
    let Some((filtered, filtered_env)) =
        daemon_under_test(test, &["--seccomp-profile", profile.to_str().unwrap()])
    else {
        return;
    };
    let _log = LogOnFailure(&filtered);
    // No default profile: `unconfined`, which dockerd 20.10 does not know yet (it refuses to start:
    // "opening seccomp profile (unconfined) failed"); it is given one that allows everything instead.
    let against = Against::from_env().unwrap();
    let allow_all = dir.path().join("allow-all.json");
    std::fs::write(&allow_all, r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#).unwrap();
    let none = match against {
        Against::Wharfd => "unconfined",
        Against::Dockerd => allow_all.to_str().unwrap(),
    };
    let (plain, plain_env) = daemon_under_test(test, &["--seccomp-profile", none]).unwrap();
    let _plain_log = LogOnFailure(&plain);
    let seccomp = Seccomp {
        against,
        filtered: filtered_env,
        plain: plain_env,
        own: format!("seccomp={}", profile.display()),
    };
    let checks: &[Check<Seccomp>] = checks![
        the_daemons_profile_filters_every_container,
        a_container_lifts_it_with_unconfined,
        without_a_default_profile_nothing_is_filtered,
        a_containers_own_profile_applies,
    ];
    run_checks(test, &seccomp, checks);
}

fn the_daemons_profile_filters_every_container(s: &Seccomp) {
    let denied = docker(&s.filtered, &["run", "--rm", IMAGE, "mkdir", "/tmp/x"]);
    assert!(
        !denied.success() && denied.stderr.contains("Operation not permitted"),
        "{}",
        denied.stderr
    );
    assert_eq!(
        seccomp_mode(&s.filtered),
        "2",
        "a filter from the default profile"
    );
}

fn a_container_lifts_it_with_unconfined(s: &Seccomp) {
    ok(
        &s.filtered,
        &[
            "run",
            "--rm",
            "--security-opt",
            "seccomp=unconfined",
            IMAGE,
            "mkdir",
            "/tmp/x",
        ],
    );
}

fn without_a_default_profile_nothing_is_filtered(s: &Seccomp) {
    ok(&s.plain, &["run", "--rm", IMAGE, "mkdir", "/tmp/x"]);
    if s.against == Against::Wharfd {
        assert_eq!(
            seccomp_mode(&s.plain),
            "0",
            "no filter with --seccomp-profile unconfined"
        );
    }
}

fn a_containers_own_profile_applies(s: &Seccomp) {
    let denied = docker(
        &s.plain,
        &[
            "run",
            "--rm",
            "--security-opt",
            &s.own,
            IMAGE,
            "mkdir",
            "/tmp/x",
        ],
    );
    assert!(
        !denied.success() && denied.stderr.contains("Operation not permitted"),
        "the container's own profile was not applied: {}",
        denied.stderr
    );
}
