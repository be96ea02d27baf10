//! Volumes end to end: the docker CLI against wharfd (or, with `WHARF_E2E_AGAINST=dockerd`, Debian's
//! dockerd 20.10, to check that the scenario asserts what dockerd does). `docker volume create|ls|
//! inspect|rm|prune` with labels and filters, named volumes that outlive their containers and are
//! shared by running ones, an image's `VOLUME` with content there getting a pre-filled anonymous volume
//! (and `nocopy` an empty one), `--volumes-from`, `rm -v`, the 409 of a volume in use, a tmpfs volume
//! mounted on the host only while a container uses it, the events, and `system df -v`.
//!
//! Both daemons keep their state under `<dir>/data` (the fixtures' `--data-root`), so a volume's
//! `Mountpoint` is `<dir>/data/volumes/<name>/_data` for both.
//!
//! They need root, containerd, runc and busybox-static; without them the test prints why and passes,
//! except under CI.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

mod scenario;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use wharf_tests::cli::ok;
use wharf_tests::{eventually, prereq, rootfs, run_checks, Against, Daemon, RunCommand};

use scenario::Ctx;

/// The image: busybox with `VOLUME /data`, and in `/data` a file owned by 1000:1000 with mode 0640,
/// a symlink to it and a subdirectory.
const IMAGE: &str = "vimg:latest";

/// Writes the image's root file system as a tar in `dir`.
fn image_tar(dir: &Path) -> PathBuf {
    let root = dir.join("vroot");
    for sub in ["bin", "etc", "tmp", "data/sub"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    std::fs::copy(rootfs::BUSYBOX, root.join("bin/busybox")).unwrap();
    for applet in [
        "sh", "ls", "cat", "echo", "sleep", "stat", "readlink", "touch", "grep", "true",
    ] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
    }
    std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    std::fs::write(root.join("data/file"), "hello\n").unwrap();
    std::os::unix::fs::lchown(root.join("data/file"), Some(1000), Some(1000)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        root.join("data/file"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    std::os::unix::fs::symlink("file", root.join("data/link")).unwrap();
    std::fs::write(root.join("data/sub/y"), "y\n").unwrap();
    let tar = dir.join("vimg.tar");
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
    tar
}

/// Now as a Unix time with nanoseconds, as `docker events --since/--until` take it.
fn now() -> String {
    let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
}

#[test]
fn volumes_as_dockerds_local_driver() {
    let test = "volumes_as_dockerds_local_driver";
    let against = Against::from_env().unwrap();
    let missing = against.missing().or_else(rootfs::missing_busybox);
    if !prereq::can_run(test, missing) {
        return;
    }
    eprintln!("{test}: against {against}");
    let daemon: Daemon = against.start(Vec::<String>::new()).unwrap();
    let env = daemon.docker_env();
    let tar = image_tar(daemon.dir());
    ok(
        &env,
        &[
            "import",
            "-c",
            "VOLUME /data",
            "-c",
            "CMD [\"sh\"]",
            tar.to_str().unwrap(),
            IMAGE,
        ],
    );
    let ctx = Ctx {
        env,
        volumes: daemon.dir().join("data").join("volumes"),
        since: now(),
    };
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_checks(test, &ctx, scenario::CHECKS)
    }))
    .is_err()
    {
        let logs = daemon.logs();
        let lines: Vec<&str> = logs.lines().collect();
        eprintln!("{}", lines[lines.len().saturating_sub(40)..].join("\n"));
        panic!("{test} failed against {against}");
    }
}

/// docker-py's volume collection against wharfd, as a Python program uses it.
const DOCKER_PY: &str = r#"
import json, os, docker
c = docker.DockerClient(base_url=os.environ["WHARF_URL"])
out = {}
v = c.volumes.create(name="pyv", driver="local", labels={"a": "b"})
out["created"] = [v.name, v.attrs["Labels"], v.attrs["Driver"], v.attrs["Scope"]]
c.volumes.create(name="pyplain")
out["listed"] = sorted(x.name for x in c.volumes.list(filters={"label": "a=b"}))
out["got"] = c.volumes.get("pyv").id
c.volumes.get("pyv").remove()
try:
    c.volumes.get("pyv")
    out["gone"] = "still there"
except docker.errors.NotFound as e:
    out["gone"] = e.explanation
out["pruned"] = c.volumes.prune(filters={"all": "true"})["VolumesDeleted"]
out["left"] = [x.name for x in c.volumes.list()]
print(json.dumps(out))
"#;

#[test]
fn docker_py_manages_volumes() {
    let test = "docker_py_manages_volumes";
    let missing = prereq::missing_runtime().or_else(|| {
        let found = RunCommand::new("python3")
            .args(["-c", "import docker"])
            .run()
            .is_ok_and(|o| o.success());
        (!found).then(|| "docker-py is missing (cargo xtask setup)".into())
    });
    if !prereq::can_run(test, missing) {
        return;
    }
    let wharfd = wharf_tests::Wharfd::start().unwrap();
    let out = RunCommand::new("python3")
        .args(["-c", DOCKER_PY])
        .env("WHARF_URL", format!("unix://{}", wharfd.socket().display()))
        .run()
        .unwrap();
    assert!(out.success(), "{}\n{}", out.stdout, out.stderr);
    let seen: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(
        seen,
        json!({
            "created": ["pyv", {"a": "b"}, "local", "local"],
            "listed": ["pyv"],
            "got": "pyv",
            "gone": "get pyv: no such volume",
            "pruned": ["pyplain"],
            "left": [],
        })
    );
}

/// The host's mount table lines under `dir`.
fn mounts_under(dir: &Path) -> Vec<String> {
    let wanted = dir.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(&wanted))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_kill_9_with_live_restore_keeps_a_used_tmpfs_volume_and_unmounts_it_later() {
    let test = "a_kill_9_with_live_restore_keeps_a_used_tmpfs_volume_and_unmounts_it_later";
    if !prereq::can_run(
        test,
        prereq::missing_runtime().or_else(rootfs::missing_busybox),
    ) {
        return;
    }
    let mut wharfd = wharf_tests::Wharfd::builder()
        .arg("--live-restore")
        .start()
        .unwrap();
    let env = wharfd.endpoints().docker_env_unix();
    let volumes = wharfd.dir().join("data").join("volumes");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        kill_9_scenario(&mut wharfd, &env, &volumes)
    }));
    if let Err(panic) = result {
        // With --live-restore the container outlives its daemon: remove it, and whatever it mounted.
        let _ = wharf_tests::docker(&env, &["rm", "-f", "kt"]);
        for line in mounts_under(&volumes) {
            if let Some(point) = line.split(' ').nth(4) {
                let _ = RunCommand::new("umount").args(["-l", point]).run();
            }
        }
        std::panic::resume_unwind(panic);
    }
}

fn kill_9_scenario(wharfd: &mut wharf_tests::Wharfd, env: &[(String, String)], volumes: &Path) {
    let env = env.to_vec();
    let volumes = volumes.to_path_buf();
    let tar = image_tar(wharfd.dir());
    ok(&env, &["import", tar.to_str().unwrap(), IMAGE]);
    ok(
        &env,
        &[
            "volume",
            "create",
            "-o",
            "type=tmpfs",
            "-o",
            "device=tmpfs",
            "kv",
        ],
    );
    ok(
        &env,
        &[
            "run", "-d", "--name", "kt", "-v", "kv:/t", IMAGE, "sleep", "300",
        ],
    );
    ok(&env, &["exec", "kt", "sh", "-c", "echo before > /t/f"]);
    assert_eq!(mounts_under(&volumes).len(), 1);
    wharfd.kill_and_restart().unwrap();
    assert_eq!(
        mounts_under(&volumes).len(),
        1,
        "the running container's volume stays mounted"
    );
    assert_eq!(ok(&env, &["exec", "kt", "cat", "/t/f"]), "before\n");
    let out = ok(&env, &["run", "--rm", "-v", "kv:/t", IMAGE, "cat", "/t/f"]);
    assert_eq!(out, "before\n", "a new container shares the same tmpfs");
    assert_eq!(
        mounts_under(&volumes).len(),
        1,
        "the restored run still counts as a user: the other run's end leaves the tmpfs mounted"
    );
    ok(&env, &["rm", "-f", "kt"]);
    eventually(Duration::from_secs(10), "the tmpfs unmounted", || {
        mounts_under(&volumes).is_empty()
    });
    ok(&env, &["volume", "rm", "kv"]);
}
