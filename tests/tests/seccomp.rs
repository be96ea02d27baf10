//! The default seccomp filter. wharfd builds its default profile in and must have the effect of dockerd's:
//! a static probe (`tests/fixtures/seccomp_probe.c`) tries the syscalls a filter decides on (unshare of a
//! user namespace, keyctl, mount, clone with namespace flags, clone3...) in containers of both daemons,
//! with the default filter, with CAP_SYS_ADMIN, with no capabilities and unconfined, and the
//! answers must be the same; then the filters both daemons hand runc are compared syscall by syscall for
//! several capability sets. Also: `/info` names the profile, and a configured profile that cannot be read
//! stops the start-up.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use wharf_tests::cli::{ok, Env};
use wharf_tests::http::request;
use wharf_tests::{prereq, rootfs, RefDockerd, RunCommand, Wharfd};

const IMAGE: &str = "seccomp-probe:1";

fn can_run(test: &str) -> bool {
    let missing = prereq::missing_runtime()
        .or_else(rootfs::missing_busybox)
        .or_else(|| (!prereq::on_path("cc")).then(|| "no C compiler (cc)".to_owned()));
    prereq::can_run(test, missing)
}

/// Imports the busybox image with the probe, statically built, at `/probe`.
fn import_probe_image(env: &Env, dir: &Path) {
    rootfs::busybox_tar(dir).unwrap();
    let root = dir.join("rootfs");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seccomp_probe.c");
    RunCommand::new("cc")
        .args(["-static", "-O2", "-o"])
        .arg(root.join("probe"))
        .arg(&source)
        .run()
        .unwrap()
        .ok()
        .unwrap();
    let tar = dir.join("probe.tar");
    RunCommand::new("tar")
        .arg("-cf")
        .arg(&tar)
        .arg("-C")
        .arg(&root)
        .arg(".")
        .run()
        .unwrap()
        .ok()
        .unwrap();
    ok(env, &["import", tar.to_str().unwrap(), IMAGE]);
}

/// The probe's answers in a container run with `args`: syscall → "ok" or an errno's name.
fn probe(env: &Env, args: &[&str]) -> BTreeMap<String, String> {
    let mut cmd = vec!["run", "--rm"];
    cmd.extend_from_slice(args);
    cmd.extend([IMAGE, "/probe"]);
    ok(env, &cmd)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(name, answer)| (name.to_owned(), answer.to_owned()))
        .collect()
}

/// The `linux.seccomp` of the OCI spec a running container's bundle holds, under the daemon's `dir`.
fn running_filter(dir: &Path, id: &str) -> Value {
    let found = RunCommand::new("find")
        .arg(dir)
        .args(["-path", &format!("*/{id}/config.json")])
        .run()
        .unwrap()
        .ok()
        .unwrap()
        .stdout;
    let path = PathBuf::from(
        found
            .lines()
            .next()
            .expect("the running container's bundle"),
    );
    let spec: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    spec["linux"]["seccomp"].clone()
}

/// A filter as what it decides: the default action and errno, the architectures, and for each syscall
/// its rules (action, errno, argument conditions), sorted. runc answers EPERM where a profile leaves the
/// errno unset.
fn decisions(filter: &Value) -> BTreeMap<String, Vec<String>> {
    let errno = |v: &Value, action: &Value| match action.as_str() {
        Some("SCMP_ACT_ERRNO") => v.as_u64().unwrap_or(1),
        _ => 0,
    };
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    out.insert(
        "(default)".into(),
        vec![format!(
            "{} {}",
            filter["defaultAction"],
            errno(&filter["defaultErrnoRet"], &filter["defaultAction"])
        )],
    );
    out.insert(
        "(architectures)".into(),
        vec![filter["architectures"].to_string()],
    );
    for rule in filter["syscalls"].as_array().into_iter().flatten() {
        let args = match &rule["args"] {
            Value::Array(a) if !a.is_empty() => a
                .iter()
                .map(|a| {
                    format!(
                        "{}:{}:{}:{}",
                        a["index"],
                        a["op"],
                        a["value"],
                        a["valueTwo"].as_u64().unwrap_or(0)
                    )
                })
                .collect::<Vec<_>>()
                .join(","),
            _ => String::new(),
        };
        let decision = format!(
            "{} {} [{args}]",
            rule["action"],
            errno(&rule["errnoRet"], &rule["action"])
        );
        for name in rule["names"].as_array().into_iter().flatten() {
            out.entry(name.as_str().unwrap().to_owned())
                .or_default()
                .push(decision.clone());
        }
    }
    for rules in out.values_mut() {
        rules.sort();
        rules.dedup();
    }
    out
}

/// What differs between two decision maps, one line per syscall.
fn differences(
    wharfd: &BTreeMap<String, Vec<String>>,
    dockerd: &BTreeMap<String, Vec<String>>,
) -> Vec<String> {
    let mut names: Vec<&String> = wharfd.keys().chain(dockerd.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|n| wharfd.get(*n) != dockerd.get(*n))
        .map(|n| {
            format!(
                "{n}: wharfd {:?}, dockerd {:?}",
                wharfd.get(n),
                dockerd.get(n)
            )
        })
        .collect()
}

/// The filter a container started with `args` gets.
fn filter_of(env: &Env, dir: &Path, args: &[&str]) -> Value {
    let mut cmd = vec!["run", "-d"];
    cmd.extend_from_slice(args);
    cmd.extend([IMAGE, "sleep", "60"]);
    let id = ok(env, &cmd).trim().to_owned();
    let filter = running_filter(dir, &id);
    ok(env, &["rm", "-f", &id]);
    filter
}

const PROBED: &[&[&str]] = &[
    &[],
    &["--cap-add", "SYS_ADMIN"],
    &["--cap-drop", "ALL"],
    &["--security-opt", "seccomp=unconfined"],
];

// dockerd 20.10 cannot start a privileged container on this kernel (runc: "unable to apply caps"), so
// `--privileged` (no filter) is checked by the daemon's unit tests only.

/// Capability sets whose filters are compared rule by rule: every capability the profile conditions on.
const CAPABILITY_SETS: &[&[&str]] = &[
    &[],
    &["--cap-drop", "ALL"],
    &["--cap-add", "SYS_ADMIN"],
    &[
        "--cap-add=DAC_READ_SEARCH",
        "--cap-add=SYS_BOOT",
        "--cap-add=SYS_MODULE",
        "--cap-add=SYS_PACCT",
        "--cap-add=SYS_PTRACE",
        "--cap-add=SYS_RAWIO",
        "--cap-add=SYS_TIME",
        "--cap-add=SYS_TTY_CONFIG",
        "--cap-add=SYS_NICE",
        "--cap-add=SYSLOG",
    ],
];

#[test]
fn the_default_filter_denies_what_dockerds_denies() {
    if !can_run("the_default_filter_denies_what_dockerds_denies") {
        return;
    }
    let wharfd = Wharfd::start().unwrap();
    let env = wharfd.endpoints().docker_env_unix();
    import_probe_image(&env, wharfd.dir());

    let confined = probe(&env, &[]);
    for denied in [
        "unshare_user",
        "keyctl",
        "add_key",
        "mount",
        "clone_newuser",
        "setns",
    ] {
        assert_eq!(confined[denied], "EPERM", "{denied}: {confined:?}");
    }
    assert_eq!(confined["clone3"], "ENOSYS", "{confined:?}");
    assert_eq!(confined["clone_plain"], "ok", "{confined:?}");
    let unconfined = probe(&env, &["--security-opt", "seccomp=unconfined"]);
    for lifted in ["unshare_user", "keyctl", "clone3"] {
        assert_eq!(unconfined[lifted], "ok", "{lifted}: {unconfined:?}");
    }
    assert_eq!(unconfined["setns"], "EBADF", "{unconfined:?}");

    let Some(reference) = RefDockerd::builder().start_if_available().unwrap() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "the reference dockerd must run under CI"
        );
        return;
    };
    let ref_env = reference.endpoints().docker_env_unix();
    import_probe_image(&ref_env, reference.dir());
    let mut found = Vec::new();
    for args in PROBED {
        let ours = probe(&env, args);
        let theirs = probe(&ref_env, args);
        if ours != theirs {
            found.push(format!(
                "probe {args:?}: wharfd {ours:?}\n  dockerd {theirs:?}"
            ));
        }
    }
    for args in CAPABILITY_SETS {
        let ours = decisions(&filter_of(&env, wharfd.dir(), args));
        let theirs = decisions(&filter_of(&ref_env, reference.dir(), args));
        for d in differences(&ours, &theirs) {
            found.push(format!("filter {args:?}: {d}"));
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

fn info(wharfd: &Wharfd) -> Value {
    let r = request(wharfd.socket(), "GET", "/info", &[], None).unwrap();
    assert_eq!(r.status, 200);
    serde_json::from_slice(&r.body).unwrap()
}

fn security_options(info: &Value) -> Vec<String> {
    info["SecurityOptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap().to_owned())
        .collect()
}

const NOT_DEFAULT: &str = "WARNING: daemon is not using the default seccomp profile";

fn warns_not_default(info: &Value) -> bool {
    info["Warnings"]
        .as_array()
        .is_some_and(|w| w.iter().any(|w| w == NOT_DEFAULT))
}

#[test]
fn info_names_the_profile_and_a_missing_one_stops_the_start() {
    if !can_run("info_names_the_profile_and_a_missing_one_stops_the_start") {
        return;
    }
    let wharfd = Wharfd::start().unwrap();
    let i = info(&wharfd);
    assert!(
        security_options(&i).contains(&"name=seccomp,profile=builtin".to_owned()),
        "{i}"
    );
    assert!(!warns_not_default(&i), "{i}");
    drop(wharfd);

    let dir = wharf_tests::TempDir::new("seccomp").unwrap();
    let custom = dir.path().join("allow-all.json");
    std::fs::write(&custom, r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#).unwrap();
    let wharfd = Wharfd::builder()
        .arg("--seccomp-profile")
        .arg(&custom)
        .start()
        .unwrap();
    let i = info(&wharfd);
    assert!(
        security_options(&i).contains(&format!("name=seccomp,profile={}", custom.display())),
        "{i}"
    );
    assert!(warns_not_default(&i), "{i}");
    drop(wharfd);

    let missing = dir.path().join("missing.json");
    let failed = Wharfd::builder()
        .arg("--seccomp-profile")
        .arg(&missing)
        .start_expect_failure()
        .unwrap();
    let want = format!("cannot read seccomp profile {}", missing.display());
    assert!(failed.stderr.contains(&want), "{}", failed.stderr);
    let config = format!(r#"{{"seccomp-profile": "{}"}}"#, missing.display());
    let failed = Wharfd::builder()
        .config_json(Some(&config))
        .start_expect_failure()
        .unwrap();
    assert!(failed.stderr.contains(&want), "{}", failed.stderr);
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{").unwrap();
    let failed = Wharfd::builder()
        .arg("--seccomp-profile")
        .arg(&broken)
        .start_expect_failure()
        .unwrap();
    assert!(
        failed.stderr.contains("Decoding seccomp profile failed"),
        "{}",
        failed.stderr
    );
}
