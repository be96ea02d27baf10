//! The browser console end to end: headless Chromium (Debian's), driven by playwright-core from
//! `tests/browser/console.cjs`, opens the console wharfd serves on its TLS listener (HTTP/2, as a
//! browser talks to it) and does what a user does: logs in with a token, sees a container the docker
//! CLI starts appear in the open table without a reload, runs one from the form, follows its logs, types
//! `echo hi` and `stty size` in its exec terminal (and sees the size follow the window), stops and removes
//! it, uploads an image tar; then a viewer, who sees no stop button and, when the page offers one anyway,
//! gets the daemon's 403 message. Screenshots of every view, at desktop and phone widths, go to
//! `WHARF_SCREENSHOTS` (default `target/console/screenshots`).
//!
//! Ignored by a plain `cargo test`: it needs the built console and Chromium, which `cargo xtask test`
//! prepares before running it (`--ignored`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::time::Duration;

use serde_json::Value;
use wharf_tests::browser::{create_token, path_from_env, repo};
use wharf_tests::cli::ok;
use wharf_tests::{prereq, rootfs, Binaries, RunCommand, Wharfd};

#[test]
#[ignore = "needs the built console and Chromium: `cargo xtask test` builds them and runs it"]
fn a_user_manages_containers_from_the_console() {
    let missing = prereq::missing_runtime().or_else(rootfs::missing_busybox);
    if !prereq::can_run("a_user_manages_containers_from_the_console", missing) {
        return;
    }
    let dist = path_from_env("WHARF_CONSOLE_DIST", "target/console/dist");
    let playwright = path_from_env(
        "WHARF_PLAYWRIGHT_CORE",
        "target/tools/playwright-core/node_modules/playwright-core",
    );
    let shots = path_from_env("WHARF_SCREENSHOTS", "target/console/screenshots");
    assert!(
        dist.join("index.html").exists(),
        "no console in {}: run `cargo xtask console`",
        dist.display()
    );
    std::fs::create_dir_all(&shots).unwrap();

    let wharfd = Wharfd::builder()
        .tcp(true)
        .arg("--console-dir")
        .arg(&dist)
        .start()
        .unwrap();
    let tcp = wharfd.tcp_host().expect("a TLS listener");
    let base = tcp.replacen("tcp://", "https://", 1);
    let env = wharfd.endpoints().docker_env_unix();
    let tar = rootfs::busybox_tar(wharfd.dir()).unwrap();
    ok(&env, &["import", tar.to_str().unwrap(), "busybox:latest"]);
    // Something to look at in every view.
    ok(
        &env,
        &[
            "run", "-d", "--name", "idle", "--label", "tier=web", "busybox", "sleep", "600",
        ],
    );
    let bins = Binaries::locate().unwrap();
    let operator = create_token(&bins, &wharfd, "ops", "operator").unwrap();
    let viewer = create_token(&bins, &wharfd, "board", "viewer").unwrap();
    let admin = create_token(&bins, &wharfd, "root", "admin").unwrap();

    let out = RunCommand::new("node")
        .arg(repo().join("tests/browser/console.cjs"))
        .env("WHARF_PLAYWRIGHT_CORE", &playwright)
        .env("WHARF_BASE", &base)
        .env("WHARF_DOCKER_HOST", wharfd.unix_host())
        .env("WHARF_TOKEN", &operator)
        .env("WHARF_VIEWER_TOKEN", &viewer)
        .env("WHARF_ADMIN_TOKEN", &admin)
        .env("WHARF_IMAGE_TAR", &tar)
        .env("WHARF_SCREENSHOTS", &shots)
        .timeout(Duration::from_secs(300))
        .run()
        .unwrap();
    assert!(
        out.success(),
        "the browser run failed ({}):\n{}\n{}\nwharfd:\n{}",
        out.status,
        out.stdout,
        out.stderr,
        wharfd.logs()
    );
    let seen: Value = serde_json::from_str(out.stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", out.stdout, out.stderr));
    eprintln!("the console saw: {seen}");
    judge(&seen, &env);
}

/// What the page must have seen; each failure names itself.
fn judge(seen: &Value, env: &[(String, String)]) {
    let mut failed = Vec::new();
    let mut check = |name: &str, pass: bool| {
        if !pass {
            failed.push(format!("{name}: {}", seen[name]));
        }
    };
    check("loggedIn", seen["loggedIn"] == "ops");
    check(
        "refusedBadToken",
        seen["refusedBadToken"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
    );
    check("cliContainerAppeared", seen["cliContainerAppeared"] == true);
    check("noReload", seen["noReload"] == true);
    check(
        "ranFromForm",
        seen["ranFromForm"]
            .as_str()
            .is_some_and(|id| id.len() == 64),
    );
    check(
        "runLine",
        seen["runLine"]
            .as_str()
            .is_some_and(|l| l.starts_with("docker run") && l.contains("--name web-run")),
    );
    check("logsFollowed", seen["logsFollowed"] == true);
    check("terminalEcho", seen["terminalEcho"] == true);
    let sizes = (seen["sttyBefore"].as_str(), seen["sttyAfter"].as_str());
    check(
        "sttyBefore",
        matches!(sizes, (Some(a), Some(b)) if a.split(' ').count() == 2 && a != b),
    );
    check("stoppedAndRemoved", seen["stoppedAndRemoved"] == true);
    check("uploaded", seen["uploaded"] == true);
    check("viewerHasNoStop", seen["viewerHasNoStop"] == true);
    check(
        "forcedStopMessage",
        seen["forcedStopMessage"]
            .as_str()
            .is_some_and(|m| m.contains("role viewer may not")),
    );
    check("auditShown", seen["auditShown"] == true);
    check(
        "screenshots",
        seen["screenshots"].as_u64().is_some_and(|n| n >= 12),
    );
    assert!(
        failed.is_empty(),
        "{} checks failed:\n{}",
        failed.len(),
        failed.join("\n")
    );

    // What the page did, seen from the daemon: the form's container is gone, the upload is an image.
    let ps = ok(env, &["ps", "-a", "--format", "{{.Names}}"]);
    assert!(!ps.lines().any(|n| n == "web-run"), "{ps}");
    let images = ok(env, &["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert!(images.lines().any(|i| i == "uploaded:1"), "{images}");
}
