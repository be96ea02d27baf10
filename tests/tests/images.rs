//! Images end to end: the real docker CLI against the real wharfd (which runs its own containerd):
//! import with changes, images, inspect, tag, history, system df, rmi, refusal of bad archives — and the
//! layer's diff ID compared with the reference dockerd's for the same tar.
//!
//! wharfd's images need root, containerd and a static busybox for the rootfs; without them the tests print
//! why and pass, except under CI (`CI` set), where that is a failure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::path::{Path, PathBuf};

use wharf_tests::cli::{docker, ok};
use wharf_tests::{prereq, RefDockerd, RunCommand, Wharfd};

fn can_run(test: &str) -> bool {
    let missing = prereq::missing_runtime().or_else(wharf_tests::rootfs::missing_busybox);
    prereq::can_run(test, missing)
}

/// A busybox rootfs tar in `dir`.
fn rootfs_tar(dir: &Path) -> PathBuf {
    wharf_tests::rootfs::busybox_tar(dir).unwrap()
}

#[test]
fn docker_cli_drives_the_image_store() {
    if !can_run("docker_cli_drives_the_image_store") {
        return;
    }
    let wharfd = Wharfd::start().unwrap();
    let env = wharfd.endpoints().docker_env_unix();
    let tar = rootfs_tar(wharfd.dir());
    let tar = tar.to_str().unwrap();

    let id = ok(
        &env,
        &[
            "import",
            "-m",
            "hello",
            "-c",
            "CMD [\"sh\"]",
            "-c",
            "ENV A=b",
            tar,
            "img:1",
        ],
    );
    let id = id.trim().to_owned();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");

    let listed = ok(
        &env,
        &[
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}",
        ],
    );
    assert_eq!(listed.trim(), format!("img:1 {} 1.98MB", &id[7..19]));

    let inspected = ok(
        &env,
        &[
            "inspect",
            "--format",
            "{{.Id}}|{{json .Config.Cmd}}|{{json .Config.Env}}|{{.Comment}}|{{.Os}}|{{.RootFS.Type}}|{{len .RootFS.Layers}}",
            "img:1",
        ],
    );
    assert_eq!(
        inspected.trim(),
        format!("{id}|[\"sh\"]|[\"A=b\"]|hello|linux|layers|1")
    );

    ok(&env, &["tag", "img:1", "user/app:v2"]);
    let tags = ok(&env, &["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    let mut tags: Vec<&str> = tags.lines().collect();
    tags.sort();
    assert_eq!(tags, ["img:1", "user/app:v2"]);
    let filtered = ok(
        &env,
        &[
            "images",
            "--filter",
            "reference=user/*",
            "--format",
            "{{.Repository}}",
        ],
    );
    assert_eq!(filtered.trim(), "user/app");

    let history = ok(
        &env,
        &[
            "history",
            "--format",
            "{{.ID}}|{{.Comment}}|{{.Size}}",
            "user/app:v2",
        ],
    );
    assert_eq!(history.trim(), format!("{}|hello|1.98MB", &id[7..19]));

    let df = ok(
        &env,
        &[
            "system",
            "df",
            "--format",
            "{{.Type}} {{.TotalCount}} {{.Active}}",
        ],
    );
    assert!(df.contains("Images 1 0"), "{df}");

    let info = ok(&env, &["info", "--format", "{{.Images}} {{.Driver}}"]);
    assert!(matches!(info.trim(), "1 overlayfs" | "1 native"), "{info}");

    let refused = docker(&env, &["rmi", &id[7..19]]);
    assert!(!refused.success());
    assert!(
        refused
            .stderr
            .contains("(must be forced) - image is referenced in multiple repositories"),
        "{}",
        refused.stderr
    );
    let untag = ok(&env, &["rmi", "img:1"]);
    assert_eq!(untag.trim(), "Untagged: img:1");
    let deleted = ok(&env, &["rmi", "user/app:v2"]);
    assert_eq!(
        deleted.trim(),
        format!("Untagged: user/app:v2\nDeleted: {id}")
    );
    let missing = docker(&env, &["rmi", "img:1"]);
    assert_eq!(
        missing.stderr.trim(),
        "Error response from daemon: No such image: img:1"
    );
    assert_eq!(ok(&env, &["images", "-q"]).trim(), "");
}

#[test]
fn list_filters_before_since_label_and_dangling() {
    if !can_run("list_filters_before_since_label_and_dangling") {
        return;
    }
    let wharfd = Wharfd::start().unwrap();
    let env = wharfd.endpoints().docker_env_unix();
    let tar = rootfs_tar(wharfd.dir());
    let tar = tar.to_str().unwrap();
    ok(&env, &["import", tar, "a:1"]);
    // Created has one-second resolution in the list.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    ok(&env, &["import", "-c", "LABEL k=v", tar, "b:1"]);
    let names = |filter: &str| {
        ok(
            &env,
            &["images", "--filter", filter, "--format", "{{.Repository}}"],
        )
        .trim()
        .to_owned()
    };
    assert_eq!(names("since=a:1"), "b");
    assert_eq!(names("before=b:1"), "a");
    assert_eq!(names("label=k=v"), "b");
    assert_eq!(names("label=k"), "b");
    assert_eq!(names("dangling=true"), "");
    // Re-tagging b:1 onto a's image leaves the old b dangling.
    ok(&env, &["tag", "a:1", "b:1"]);
    assert_eq!(names("dangling=true"), "<none>");
    let missing = docker(&env, &["images", "--filter", "since=zz"]);
    assert_eq!(
        missing.stderr.trim(),
        "Error response from daemon: No such image: zz:latest"
    );
}

#[test]
fn bad_archives_are_refused_and_leave_nothing() {
    if !can_run("bad_archives_are_refused_and_leave_nothing") {
        return;
    }
    let wharfd = Wharfd::start().unwrap();
    let env = wharfd.endpoints().docker_env_unix();
    let dir = wharfd.dir();
    let good = std::fs::read(rootfs_tar(dir)).unwrap();
    let junk = dir.join("junk.tar");
    std::fs::write(&junk, b"this is not a tar archive").unwrap();
    let truncated = dir.join("truncated.tar");
    std::fs::write(&truncated, &good[..good.len() / 2]).unwrap();
    let evil = dir.join("evil.tar");
    let mut h = [0u8; 512];
    let name = b"../../etc/evil";
    h[..name.len()].copy_from_slice(name);
    h[100..108].copy_from_slice(b"0000644\0");
    h[124..136].copy_from_slice(b"00000000000\0");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut evil_bytes = h.to_vec();
    evil_bytes.extend_from_slice(&[0u8; 1024]);
    std::fs::write(&evil, evil_bytes).unwrap();
    for (path, expect) in [
        (&junk, "not a tar archive"),
        (&truncated, "truncated"),
        (&evil, "paths must stay inside the image root"),
    ] {
        let out = docker(&env, &["import", path.to_str().unwrap(), "bad:1"]);
        assert!(!out.success(), "{} was accepted", path.display());
        assert!(
            out.stderr.contains("Error response from daemon: "),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains(expect), "{}", out.stderr);
    }
    assert_eq!(ok(&env, &["images", "-q"]).trim(), "");
    let spool = dir.join("data/tmp");
    assert_eq!(std::fs::read_dir(spool).map(|d| d.count()).unwrap_or(0), 0);
}

#[test]
fn layer_diff_ids_match_the_reference_dockerd() {
    if !can_run("layer_diff_ids_match_the_reference_dockerd") {
        return;
    }
    let Some(reference) = RefDockerd::builder().start_if_available().unwrap() else {
        if std::env::var_os("CI").is_some() {
            panic!("the reference dockerd must run under CI");
        }
        return;
    };
    let wharfd = Wharfd::start().unwrap();
    let tar = rootfs_tar(wharfd.dir());
    let tar = tar.to_str().unwrap();
    let layers = |env: &[(String, String)]| {
        ok(env, &["import", tar, "same:1"]);
        let out = ok(
            env,
            &[
                "inspect",
                "--format",
                "{{json .RootFS}} {{.Size}} {{json .RepoTags}}",
                "same:1",
            ],
        );
        out.trim().to_owned()
    };
    let ours = layers(&wharfd.endpoints().docker_env_unix());
    let theirs = layers(&reference.endpoints().docker_env_unix());
    assert_eq!(ours, theirs);
}

#[test]
fn the_native_storage_driver_can_be_chosen() {
    if !can_run("the_native_storage_driver_can_be_chosen") {
        return;
    }
    let wharfd = Wharfd::builder()
        .config_json(Some(
            r#"{"storage-driver":"native","containerd-namespace":"other"}"#,
        ))
        .start()
        .unwrap();
    let env = wharfd.endpoints().docker_env_unix();
    let tar = rootfs_tar(wharfd.dir());
    ok(&env, &["import", tar.to_str().unwrap(), "n:1"]);
    let info = ok(&env, &["info", "--format", "{{.Driver}} {{.Images}}"]);
    assert_eq!(info.trim(), "native 1");
    let inspect = ok(
        &env,
        &["inspect", "--format", "{{.GraphDriver.Name}}", "n:1"],
    );
    assert_eq!(inspect.trim(), "native");
}

#[test]
fn without_containerd_start_up_fails_saying_how_to_fix_it() {
    let failed = Wharfd::builder()
        .env("PATH", "/nonexistent")
        .start_expect_failure()
        .unwrap();
    assert!(!failed.status.success());
    assert!(
        failed.stderr.contains(
            "containerd was not found in PATH: install Debian's containerd and runc packages"
        ),
        "{}",
        failed.stderr
    );
    assert!(
        failed.stderr.contains("cargo xtask setup"),
        "{}",
        failed.stderr
    );
}

#[test]
fn save_and_load_round_trip_between_wharfd_and_dockerd() {
    if !can_run("save_and_load_round_trip_between_wharfd_and_dockerd") {
        return;
    }
    let wharfd = Wharfd::start().unwrap();
    let ours = wharfd.endpoints().docker_env_unix();
    let dir = wharfd.dir().to_owned();
    let tar = rootfs_tar(&dir);
    let id = ok(
        &ours,
        &[
            "import",
            "-c",
            "CMD [\"sh\"]",
            tar.to_str().unwrap(),
            "rt:1",
        ],
    );
    let id = id.trim().to_owned();
    let saved = dir.join("saved.tar");
    let saved = saved.to_str().unwrap();
    ok(&ours, &["save", "-o", saved, "rt:1"]);

    // wharfd -> wharfd, from the docker-save layout and from the OCI layout alone.
    ok(&ours, &["rmi", "rt:1"]);
    let loaded = ok(&ours, &["load", "-i", saved]);
    assert_eq!(loaded.trim(), "Loaded image: rt:1");
    let oci_dir = dir.join("oci");
    std::fs::create_dir(&oci_dir).unwrap();
    RunCommand::new("tar")
        .arg("-xf")
        .arg(saved)
        .arg("-C")
        .arg(&oci_dir)
        .run()
        .unwrap()
        .ok()
        .unwrap();
    assert!(oci_dir.join("index.json").exists() && oci_dir.join("oci-layout").exists());
    std::fs::remove_file(oci_dir.join("manifest.json")).unwrap();
    let oci_tar = dir.join("oci.tar");
    RunCommand::new("tar")
        .arg("-cf")
        .arg(&oci_tar)
        .arg("-C")
        .arg(&oci_dir)
        .arg(".")
        .run()
        .unwrap()
        .ok()
        .unwrap();
    ok(&ours, &["rmi", "rt:1"]);
    let loaded = ok(&ours, &["load", "-i", oci_tar.to_str().unwrap()]);
    assert_eq!(loaded.trim(), "Loaded image: rt:1");
    let inspect = |env: &[(String, String)], name: &str| {
        ok(
            env,
            &[
                "inspect",
                "--format",
                "{{.Id}} {{json .Config.Cmd}} {{json .RootFS.Layers}}",
                name,
            ],
        )
        .trim()
        .to_owned()
    };
    assert!(inspect(&ours, "rt:1").starts_with(&id));

    let Some(reference) = RefDockerd::builder().start_if_available().unwrap() else {
        if std::env::var_os("CI").is_some() {
            panic!("the reference dockerd must run under CI");
        }
        return;
    };
    let theirs = reference.endpoints().docker_env_unix();
    // wharfd -> dockerd: same ID, config and layers.
    let loaded = ok(&theirs, &["load", "-i", saved]);
    assert_eq!(loaded.trim(), "Loaded image: rt:1");
    assert_eq!(inspect(&theirs, "rt:1"), inspect(&ours, "rt:1"));
    // dockerd -> wharfd: an image dockerd imported.
    ok(&theirs, &["import", tar.to_str().unwrap(), "fromref:1"]);
    let theirs_saved = dir.join("theirs.tar");
    ok(
        &theirs,
        &["save", "-o", theirs_saved.to_str().unwrap(), "fromref:1"],
    );
    let loaded = ok(&ours, &["load", "-i", theirs_saved.to_str().unwrap()]);
    assert_eq!(loaded.trim(), "Loaded image: fromref:1");
    assert_eq!(inspect(&ours, "fromref:1"), inspect(&theirs, "fromref:1"));
}

#[test]
fn docker_events_shows_the_image_lifecycle() {
    if !can_run("docker_events_shows_the_image_lifecycle") {
        return;
    }
    let wharfd = Wharfd::start().unwrap();
    let env = wharfd.endpoints().docker_env_unix();
    let tar = rootfs_tar(wharfd.dir());
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 1;
    let id = ok(&env, &["import", tar.to_str().unwrap(), "ev:1"]);
    ok(&env, &["tag", "ev:1", "ev:2"]);
    ok(&env, &["rmi", "ev:2"]);
    ok(&env, &["rmi", "ev:1"]);
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    let format = "{{.Type}} {{.Action}} {{.Actor.ID}} {{index .Actor.Attributes \"name\"}}";
    let events = ok(
        &env,
        &[
            "events",
            "--since",
            &since.to_string(),
            "--until",
            &until.to_string(),
            "--format",
            format,
        ],
    );
    let id = id.trim();
    let lines: Vec<&str> = events.lines().map(str::trim_end).collect();
    let expected = [
        format!("image import {id} ev:1"),
        format!("image tag {id} ev:2"),
        format!("image untag {id} ev:2"),
        format!("image untag {id} ev:1"),
        format!("image delete {id}"),
    ];
    assert_eq!(lines, expected, "docker events output:\n{events}");
}
