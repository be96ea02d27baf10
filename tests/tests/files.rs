//! A container's files from outside: `docker cp` both ways, for running and stopped containers, with
//! `-a` and `-L`, dockerd's errors, and the symlink escapes of the docker cp CVEs (2018-15664,
//! 2019-14271) refused — a symlink in the container never leads to the host's files, also while the
//! container swaps a directory for one during the copy; `docker diff`, `docker export` and `docker commit`.
//!
//! Each scenario is a function of the docker CLI's environment, so it runs unchanged against Debian's
//! dockerd 20.10: `WHARF_E2E_AGAINST=dockerd cargo test -p wharf-tests --test files`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use wharf_tests::cli::{daemon_error, docker, fails, ok};
use wharf_tests::{checks, prereq, rootfs, run_checks, Against, Check, TempDir};

const IMAGE: &str = "bb:latest";

/// The daemon's CLI environment and a host directory for the copies.
struct Files {
    env: Vec<(String, String)>,
    dir: TempDir,
}

impl Files {
    fn host(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn ok(&self, args: &[&str]) -> String {
        ok(&self.env, args)
    }

    /// `docker exec <c> sh -c <script>`.
    fn sh(&self, container: &str, script: &str) -> String {
        self.ok(&["exec", container, "sh", "-c", script])
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn docker_cp_diff_export_and_commit() {
    let against = Against::from_env().unwrap();
    let test = "docker_cp_diff_export_and_commit";
    if !prereq::can_run(test, against.missing().or_else(rootfs::missing_busybox)) {
        return;
    }
    let daemon = against.start(Vec::<String>::new()).unwrap();
    let env = daemon.docker_env();
    let tar = rootfs::busybox_tar(daemon.dir()).unwrap();
    ok(&env, &["import", s(&tar), IMAGE]);
    let files = Files {
        env,
        dir: TempDir::new("cp").unwrap(),
    };
    files.ok(&["run", "-d", "--name", "up", IMAGE, "sleep", "1000"]);
    files.ok(&["create", "--name", "down", IMAGE, "cat", "/tmp/tree/top"]);
    let checks: &[Check<Files>] = checks![
        a_file_in_and_out_of_a_running_container,
        a_directory_in_and_out_of_a_stopped_container,
        follow_links_with_l_and_keep_owners_with_a,
        a_missing_path_is_dockerds_error,
        binds_are_in_the_view_also_when_stopped,
        symlinks_copied_out_stay_links,
        uploads_through_symlinks_stay_in_the_container,
        a_symlink_swapped_during_copies_never_reaches_the_host,
        diff_lists_what_was_added_changed_and_deleted,
        export_streams_the_root_file_system,
        commit_makes_an_image_that_runs_saves_and_has_its_history,
    ];
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_checks(test, &files, checks)
    }));
    if result.is_err() {
        let logs = daemon.logs();
        let lines: Vec<&str> = logs.lines().collect();
        eprintln!("{}", lines[lines.len().saturating_sub(30)..].join("\n"));
        std::panic::resume_unwind(Box::new("checks failed"));
    }
    files.ok(&["rm", "-f", "up", "down"]);
}

fn a_file_in_and_out_of_a_running_container(f: &Files) {
    let file = f.host("in.txt");
    std::fs::write(&file, "into the container\n").unwrap();
    f.ok(&["cp", s(&file), "up:/tmp/"]);
    assert_eq!(f.sh("up", "cat /tmp/in.txt"), "into the container\n");
    f.ok(&["cp", s(&file), "up:/tmp/renamed"]);
    assert_eq!(f.sh("up", "cat /tmp/renamed"), "into the container\n");

    let out = f.host("hello-out");
    f.ok(&["cp", "up:/etc/hello", s(&out)]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "hi\n");
    // `-` streams the tar itself, its entry named after the path's base name.
    let tar = docker(&f.env, &["cp", "up:/tmp/in.txt", "-"]);
    assert!(tar.success(), "{}", tar.stderr);
    assert_eq!(&tar.stdout.as_bytes()[..6], b"in.txt");
}

fn a_directory_in_and_out_of_a_stopped_container(f: &Files) {
    let dir = f.host("tree");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/leaf"), "deep\n").unwrap();
    std::fs::write(dir.join("top"), "top\n").unwrap();
    f.ok(&["cp", s(&dir), "down:/tmp"]);
    // A directory's contents with `/.`, into a new directory.
    f.ok(&["cp", &format!("{}/.", s(&dir)), "down:/copied"]);

    let out = f.host("tree-out");
    f.ok(&["cp", "down:/tmp/tree", s(&out)]);
    assert_eq!(
        std::fs::read_to_string(out.join("sub/leaf")).unwrap(),
        "deep\n"
    );
    assert_eq!(std::fs::read_to_string(out.join("top")).unwrap(), "top\n");
    let contents = f.host("copied-out");
    f.ok(&["cp", "down:/copied/.", s(&contents)]);
    assert_eq!(
        std::fs::read_to_string(contents.join("sub/leaf")).unwrap(),
        "deep\n"
    );

    // What was copied into the stopped container is there when it runs.
    assert_eq!(f.ok(&["start", "-a", "down"]), "top\n");
    let again = f.host("tree-again");
    f.ok(&["cp", "down:/tmp/tree/sub/leaf", s(&again)]);
    assert_eq!(std::fs::read_to_string(again).unwrap(), "deep\n");
}

fn follow_links_with_l_and_keep_owners_with_a(f: &Files) {
    f.sh("up", "busybox ln -s /etc/hello /tmp/link");
    let kept = f.host("link-kept");
    f.ok(&["cp", "up:/tmp/link", s(&kept)]);
    assert_eq!(std::fs::read_link(&kept).unwrap(), Path::new("/etc/hello"));
    let followed = f.host("link-followed");
    f.ok(&["cp", "-L", "up:/tmp/link", s(&followed)]);
    assert_eq!(std::fs::read_to_string(&followed).unwrap(), "hi\n");

    f.ok(&[
        "run", "-d", "--name", "app", "--user", "1000", IMAGE, "sleep", "1000",
    ]);
    let file = f.host("owned");
    std::fs::write(&file, "x").unwrap();
    f.ok(&["cp", s(&file), "app:/tmp/plain"]);
    f.ok(&["cp", "-a", s(&file), "app:/tmp/archived"]);
    let owners = f.sh("app", "ls -ln /tmp/plain /tmp/archived");
    let uid = |name: &str| {
        let line = owners.lines().find(|l| l.ends_with(name)).unwrap();
        line.split_whitespace().nth(2).unwrap().to_owned()
    };
    assert_eq!(
        uid("/tmp/plain"),
        "0",
        "the archive's owner (root here): {owners}"
    );
    assert_eq!(
        uid("/tmp/archived"),
        "1000",
        "the container's user: {owners}"
    );
    f.ok(&["rm", "-f", "app"]);
}

fn binds_are_in_the_view_also_when_stopped(f: &Files) {
    let (rw, ro) = (f.host("bind-rw"), f.host("bind-ro"));
    for d in [&rw, &ro] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::write(d.join("on-host"), "host\n").unwrap();
    }
    let binds = [format!("{}:/data", s(&rw)), format!("{}:/ro:ro", s(&ro))];
    let file = f.host("in.txt");
    for running in [true, false] {
        let name = if running { "bound-up" } else { "bound-down" };
        let mut args = vec!["create", "--name", name, "-v", &binds[0], "-v", &binds[1]];
        args.extend([IMAGE, "sleep", "1000"]);
        f.ok(&args);
        if running {
            f.ok(&["start", name]);
        }
        let out = f.host(&format!("{name}-out"));
        f.ok(&["cp", &format!("{name}:/data/on-host"), s(&out)]);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "host\n");
        f.ok(&["cp", s(&file), &format!("{name}:/data/{name}")]);
        assert_eq!(
            std::fs::read_to_string(rw.join(name)).unwrap(),
            "into the container\n"
        );
        let err = fails(&f.env, &["cp", s(&file), &format!("{name}:/ro/")]);
        assert_eq!(
            daemon_error(&err),
            "mounted volume is marked read-only",
            "{err}"
        );
        f.ok(&["rm", "-f", name]);
    }
}

fn a_missing_path_is_dockerds_error(f: &Files) {
    let err = fails(&f.env, &["cp", "up:/nope", s(&f.host("nope"))]);
    assert_eq!(
        daemon_error(&err),
        "Could not find the file /nope in container up"
    );
    let err = fails(&f.env, &["cp", "down:/nope/x", s(&f.host("nope"))]);
    assert_eq!(
        daemon_error(&err),
        "Could not find the file /nope/x in container down"
    );
    let file = f.host("in.txt");
    let err = fails(&f.env, &["cp", s(&file), "up:/missing/dir"]);
    assert_eq!(
        daemon_error(&err),
        "Could not find the file /missing in container up"
    );
}

fn symlinks_copied_out_stay_links(f: &Files) {
    f.sh(
        "up",
        "busybox ln -s / /rootlink && busybox ln -s ../../.. /tmp/up3",
    );
    let out = f.host("rootlink");
    f.ok(&["cp", "up:/rootlink", s(&out)]);
    assert_eq!(std::fs::read_link(&out).unwrap(), Path::new("/"));
    // The CLI refuses to make a link that climbs out of its destination; the tar carries the link.
    let tar = docker(&f.env, &["cp", "up:/tmp/up3", "-"]);
    assert!(tar.success(), "{}", tar.stderr);
    let mut archive = tar::Archive::new(tar.stdout.as_bytes());
    let entries: Vec<(String, String)> = archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let link = e.link_name().unwrap().map(|l| l.display().to_string());
            (
                e.path().unwrap().display().to_string(),
                link.unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(entries, [("up3".to_owned(), "../../..".to_owned())]);
    // Through the link, the container's own root, never the host's.
    let through = f.host("through");
    f.ok(&["cp", "up:/tmp/up3/etc/hello", s(&through)]);
    assert_eq!(std::fs::read_to_string(&through).unwrap(), "hi\n");
}

fn uploads_through_symlinks_stay_in_the_container(f: &Files) {
    let marker = f.host("marker");
    std::fs::create_dir_all(&marker).unwrap();
    let m = s(&marker);
    f.sh(
        "up",
        &format!("mkdir -p {m} && busybox ln -s {m} /esc && busybox ln -s ../../.. /tmp/up4"),
    );
    let file = f.host("in.txt");
    f.ok(&["cp", s(&file), "up:/esc/"]);
    f.ok(&["cp", s(&file), "up:/tmp/up4/tmp/via-up4"]);
    assert_eq!(
        std::fs::read_dir(&marker).unwrap().count(),
        0,
        "the host's directory is untouched"
    );
    assert_eq!(
        f.sh("up", &format!("cat {m}/in.txt")),
        "into the container\n"
    );
    assert_eq!(f.sh("up", "cat /tmp/via-up4"), "into the container\n");
}

fn a_symlink_swapped_during_copies_never_reaches_the_host(f: &Files) {
    let marker = f.host("swap-marker");
    std::fs::create_dir_all(&marker).unwrap();
    std::fs::write(marker.join("secret"), "the host's\n").unwrap();
    let m = s(&marker);
    // The container swaps /w/x between a directory and a symlink to the marker's path for ever.
    f.sh(
        "up",
        &format!("mkdir -p {m} /w && echo container > {m}/secret"),
    );
    let swapper = format!(
        "while true; do busybox rm -rf /w/x; mkdir /w/x; echo inner > /w/x/secret; busybox rm -rf /w/x; busybox ln -s {m} /w/x; done"
    );
    f.ok(&["exec", "-d", "up", "sh", "-c", &swapper]);
    let file = f.host("payload");
    std::fs::write(&file, "payload\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(4);
    let mut round = 0;
    while Instant::now() < deadline {
        round += 1;
        // Failures are expected (the path vanishes half the time); escapes are not.
        docker(&f.env, &["cp", s(&file), "up:/w/x/"]);
        let out = f.host(&format!("swap-out-{round}"));
        docker(&f.env, &["cp", "up:/w/x/secret", s(&out)]);
        if let Ok(text) = std::fs::read_to_string(&out) {
            assert_ne!(text, "the host's\n", "round {round} read the host's file");
        }
    }
    let names: Vec<_> = std::fs::read_dir(&marker)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        ["secret"],
        "nothing written into the host's directory"
    );
    assert_eq!(
        std::fs::read_to_string(marker.join("secret")).unwrap(),
        "the host's\n"
    );
    assert!(round > 3, "only {round} rounds");
}

fn diff_lists_what_was_added_changed_and_deleted(f: &Files) {
    f.ok(&["run", "-d", "--name", "changer", IMAGE, "sleep", "1000"]);
    assert_eq!(
        f.ok(&["diff", "changer"]),
        "",
        "a new container changed nothing"
    );
    f.sh(
        "changer",
        "echo new > /tmp/added; mkdir -p /newdir/sub; echo x > /newdir/sub/f; echo more >> /etc/hello; busybox rm /bin/cat",
    );
    let expected = [
        "A /newdir",
        "A /newdir/sub",
        "A /newdir/sub/f",
        "A /tmp/added",
        "C /bin",
        "C /etc",
        "C /etc/hello",
        "C /tmp",
        "D /bin/cat",
    ];
    // In the daemon's order, which the CLI keeps (dockerd's is its walk's).
    let sorted = |text: String| {
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines.sort();
        lines
    };
    assert_eq!(sorted(f.ok(&["diff", "changer"])), expected);
    // The same once it stopped.
    f.ok(&["kill", "changer"]);
    assert_eq!(sorted(f.ok(&["diff", "changer"])), expected);
    let err = fails(&f.env, &["diff", "nosuch"]);
    assert_eq!(daemon_error(&err), "No such container: nosuch");
}

fn export_streams_the_root_file_system(f: &Files) {
    for container in ["up", "changer"] {
        let tar = f.host(&format!("{container}.tar"));
        f.ok(&["export", "-o", s(&tar), container]);
        let mut archive = tar::Archive::new(std::fs::File::open(&tar).unwrap());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        for name in ["bin/", "bin/busybox", "etc/hello", "tmp/", "proc/"] {
            assert!(
                names.iter().any(|n| n == name),
                "{name} in {container}'s export: {names:?}"
            );
        }
        assert!(
            !names.iter().any(|n| n.starts_with("proc/1")),
            "no /proc contents"
        );
        assert!(!names.iter().any(|n| n.starts_with('/')), "relative names");
    }
    f.ok(&["rm", "-f", "changer"]);
}

fn commit_makes_an_image_that_runs_saves_and_has_its_history(f: &Files) {
    f.ok(&["run", "-d", "--name", "tocommit", IMAGE, "sleep", "1000"]);
    f.sh("tocommit", "echo committed > /x; busybox rm /etc/hello");
    let change = r#"CMD ["cat","/x"]"#;
    let args = [
        "commit",
        "--change",
        change,
        "-m",
        "added x",
        "-a",
        "tester",
        "tocommit",
        "committed:v1",
    ];
    let id = f.ok(&args);
    assert!(id.trim().starts_with("sha256:"), "{id}");
    assert_eq!(
        f.ok(&["inspect", "-f", "{{.State.Status}}", "tocommit"]),
        "running\n"
    );
    assert_eq!(f.ok(&["run", "--rm", "committed:v1"]), "committed\n");
    // The deletion is in the image too.
    let gone = docker(
        &f.env,
        &["run", "--rm", "committed:v1", "cat", "/etc/hello"],
    );
    assert!(!gone.success(), "/etc/hello is deleted: {}", gone.stdout);
    let format = "{{.Author}}|{{.Comment}}|{{json .Config.Cmd}}";
    assert_eq!(
        f.ok(&["image", "inspect", "-f", format, "committed:v1"]),
        "tester|added x|[\"cat\",\"/x\"]\n"
    );
    let history = f.ok(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.CreatedBy}}|{{.Comment}}",
        "committed:v1",
    ]);
    let first = history.lines().next().unwrap();
    assert_eq!(first, "sleep 1000|added x", "{history}");
    assert!(
        history.lines().count() >= 2,
        "the image's own history follows: {history}"
    );
    let saved = f.host("committed.tar");
    f.ok(&["save", "-o", s(&saved), "committed:v1"]);
    assert!(std::fs::metadata(&saved).unwrap().len() > 1024);
    let err = fails(
        &f.env,
        &["commit", "--change", "RUN rm -rf /", "tocommit", "refused"],
    );
    assert_eq!(daemon_error(&err), "run is not a valid change command");
    // Without a name, a dangling image; its ID answers.
    let bare = f.ok(&["commit", "tocommit"]);
    assert_eq!(
        f.ok(&["image", "inspect", "-f", "{{.Id}}", bare.trim()])
            .trim(),
        bare.trim()
    );
    f.ok(&["rm", "-f", "tocommit"]);
}
