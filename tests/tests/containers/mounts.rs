//! Bind, tmpfs and read-only mounts, and the memory limit's OOM kill. The bind checks share a host
//! directory: the read-only one expects what the writable one wrote, and inspect shows the read-only one.

use std::path::PathBuf;

use wharf_tests::cli::{daemon_error, docker, exit_code, ok, Env};
use wharf_tests::{checks, run_checks, Check, TempDir};

use crate::fixtures::{
    assert_unless_dockerd_races, daemon_under_test, inspect, sorted_lines, LogOnFailure, IMAGE,
};

/// The daemon under test and a host directory to mount.
struct Mounts {
    env: Vec<(String, String)>,
    dir: TempDir,
}

impl Mounts {
    /// The host directory the bind checks share.
    fn host(&self) -> PathBuf {
        self.dir.path().join("shared")
    }

    /// `-v <host>:/data`.
    fn bind(&self) -> String {
        format!("{}:/data", self.host().display())
    }

    /// `-v <host>:/data:ro`.
    fn read_only(&self) -> String {
        format!("{}:ro", self.bind())
    }
}

/// Runs the checks in order against a fresh daemon under test.
pub fn scenario(test: &str) {
    let Some((daemon, env)) = daemon_under_test(test, &[]) else {
        return;
    };
    let _log = LogOnFailure(&daemon);
    let mounts = Mounts {
        env,
        dir: TempDir::new("bind").unwrap(),
    };
    let checks: &[Check<Mounts>] = checks![
        bind_mounts_both_ways,
        a_read_only_bind_mount,
        v_makes_a_missing_source_and_mount_refuses_it,
        tmpfs_with_and_without_a_size,
        inspect_shows_them,
        a_read_only_root_file_system,
        the_memory_limit_oom_kills,
        under_the_limit_nothing_is_killed,
    ];
    run_checks(test, &mounts, checks);
}

fn bind_mounts_both_ways(m: &Mounts) {
    let host = m.host();
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("in"), "from host\n").unwrap();
    assert_eq!(
        ok(
            &m.env,
            &[
                "run",
                "--rm",
                "-v",
                &m.bind(),
                IMAGE,
                "sh",
                "-c",
                "cat /data/in; echo back > /data/out"
            ]
        ),
        "from host\n"
    );
    assert_eq!(std::fs::read_to_string(host.join("out")).unwrap(), "back\n");
}

fn a_read_only_bind_mount(m: &Mounts) {
    let out = docker(
        &m.env,
        &[
            "run",
            "--rm",
            "-v",
            &m.read_only(),
            IMAGE,
            "sh",
            "-c",
            "echo x > /data/out",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        out.stderr,
        "sh: can't create /data/out: Read-only file system\n"
    );
    assert_eq!(
        std::fs::read_to_string(m.host().join("out")).unwrap(),
        "back\n"
    );
}

/// -v creates a missing source directory; --mount refuses it.
fn v_makes_a_missing_source_and_mount_refuses_it(m: &Mounts) {
    let missing = m.dir.path().join("made");
    let made = format!("{}:/d", missing.display());
    ok(&m.env, &["run", "--rm", "-v", &made, IMAGE, "true"]);
    assert!(missing.is_dir(), "-v made its source");
    let absent = m.dir.path().join("absent");
    let mount = format!("type=bind,source={},target=/d", absent.display());
    let out = docker(&m.env, &["run", "--rm", "--mount", &mount, IMAGE, "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        daemon_error(&out.stderr),
        format!(
            "invalid mount config for type \"bind\": bind source path does not exist: {}",
            absent.display()
        )
    );
}

/// `grep " /t " /proc/mounts` in a container run with `mount`.
fn t_mounted(env: &Env, mount: &[&str]) -> String {
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(mount);
    args.extend([IMAGE, "grep", " /t ", "/proc/mounts"]);
    ok(env, &args)
}

fn tmpfs_with_and_without_a_size(m: &Mounts) {
    assert_eq!(
        t_mounted(&m.env, &["--mount", "type=tmpfs,target=/t"]),
        "tmpfs /t tmpfs rw,nosuid,nodev,noexec,relatime 0 0\n"
    );
    assert_eq!(
        t_mounted(&m.env, &["--mount", "type=tmpfs,target=/t,tmpfs-size=1m"]),
        "tmpfs /t tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k 0 0\n"
    );
    let mounts = t_mounted(&m.env, &["--tmpfs", "/t"]);
    assert!(mounts.starts_with("tmpfs /t tmpfs rw,"), "{mounts}");
}

fn inspect_shows_them(m: &Mounts) {
    let env = &m.env;
    let ro = m.read_only();
    ok(
        env,
        &[
            "create",
            "--name",
            "mounted",
            "-v",
            &ro,
            "--mount",
            "type=tmpfs,target=/t",
            IMAGE,
            "true",
        ],
    );
    // (In no particular order: dockerd keeps them in a map.)
    assert_eq!(
        sorted_lines(&inspect(
            env,
            "mounted",
            "{{range .Mounts}}{{json .}}{{println}}{{end}}"
        )),
        [
            format!(
                r#"{{"Type":"bind","Source":"{}","Destination":"/data","Mode":"ro","RW":false,"Propagation":"rprivate"}}"#,
                m.host().display()
            ),
            r#"{"Type":"tmpfs","Source":"","Destination":"/t","Mode":"","RW":true,"Propagation":""}"#
                .to_owned()
        ]
    );
    assert_eq!(
        inspect(
            env,
            "mounted",
            "{{json .HostConfig.Binds}} {{json .HostConfig.Mounts}}"
        ),
        format!(r#"["{ro}"] [{{"Type":"tmpfs","Target":"/t"}}]"#)
    );
    ok(env, &["rm", "mounted"]);
}

/// A read-only root file system: nothing writable but what is mounted so.
fn a_read_only_root_file_system(m: &Mounts) {
    let env = &m.env;
    let out = docker(
        env,
        &[
            "run",
            "--rm",
            "--read-only",
            IMAGE,
            "sh",
            "-c",
            "touch /x; echo root=$?; touch /tmp/x; echo tmp=$?; touch /dev/shm/x; echo shm=$?",
        ],
    );
    assert_eq!(out.stdout, "root=1\ntmp=1\nshm=0\n", "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "touch: /x: Read-only file system\ntouch: /tmp/x: Read-only file system\n"
    );
    assert_eq!(
        ok(
            env,
            &[
                "run",
                "--rm",
                "--read-only",
                "--tmpfs",
                "/tmp",
                IMAGE,
                "sh",
                "-c",
                "touch /tmp/x && echo ok"
            ]
        ),
        "ok\n"
    );
    let mounts = ok(
        env,
        &[
            "run",
            "--rm",
            "--read-only",
            IMAGE,
            "grep",
            " / ",
            "/proc/mounts",
        ],
    );
    let root = mounts.lines().last().unwrap().split(' ').nth(3).unwrap();
    assert!(root.starts_with("ro,"), "the root's options {root}");
}

/// A process over --memory is OOM-killed: the container's PID 1 (137), or a child of it, which the state
/// records too.
fn the_memory_limit_oom_kills(m: &Mounts) {
    let env = &m.env;
    let code = exit_code(
        env,
        &[
            "run",
            "--name",
            "hog",
            "-m",
            "16m",
            IMAGE,
            "dd",
            "if=/dev/zero",
            "of=/dev/null",
            "bs=64M",
            "count=1",
        ],
    );
    assert_eq!(code, 137);
    assert_eq!(
        inspect(env, "hog", "{{.State.ExitCode}} {{.HostConfig.Memory}}"),
        "137 16777216"
    );
    assert_unless_dockerd_races(
        inspect(env, "hog", "{{.State.OOMKilled}}") == "true",
        "OOMKilled of an OOM-killed PID 1",
    );
    let out = docker(
        env,
        &[
            "run",
            "--name",
            "child",
            "-m",
            "16m",
            IMAGE,
            "sh",
            "-c",
            "dd if=/dev/zero of=/dev/null bs=64M count=1; echo dd=$?",
        ],
    );
    assert_eq!(out.stdout, "dd=137\n", "{}", out.stderr);
    assert_eq!(inspect(env, "child", "{{.State.ExitCode}}"), "0");
    assert_unless_dockerd_races(
        inspect(env, "child", "{{.State.OOMKilled}}") == "true",
        "OOMKilled of a container whose child was OOM-killed",
    );
    ok(env, &["rm", "hog", "child"]);
}

fn under_the_limit_nothing_is_killed(m: &Mounts) {
    let env = &m.env;
    let out = docker(
        env,
        &[
            "run",
            "--name",
            "fits",
            "-m",
            "16m",
            IMAGE,
            "dd",
            "if=/dev/zero",
            "of=/dev/null",
            "bs=4M",
            "count=1",
        ],
    );
    assert!(out.success(), "{}", out.stderr);
    assert_eq!(
        inspect(env, "fits", "{{.State.OOMKilled}} {{.State.ExitCode}}"),
        "false 0"
    );
    ok(env, &["rm", "fits"]);
}
