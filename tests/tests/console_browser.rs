//! The browser console end to end: headless Chromium (Debian's), driven by playwright-core from
//! `tests/browser/console.cjs`, opens the console wharfd serves on its TLS listener (HTTP/2, as a
//! browser talks to it) and does what a user does: logs in with a token, sees a container the docker
//! CLI starts appear in the open table without a reload, runs one from the form, follows its logs, types
//! `echo hi` and `stty size` in its exec terminal (and sees the size follow the window), stops and removes
//! it, uploads an image tar, logs in to a registry and pulls an image from it, creates a network (and
//! sees a container the CLI attaches to it) and a volume, browses a container's files, downloads one and
//! uploads another; then a viewer, who sees no stop button and, when the page offers one anyway,
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
use wharf_tests::oci;
use wharf_tests::registry::Registry;
use wharf_tests::{prereq, rootfs, Binaries, RunCommand, TempDir, Wharfd};

#[test]
#[ignore = "needs the built console and Chromium: `cargo xtask test` builds them and runs it"]
fn a_user_manages_containers_from_the_console() {
    let missing = prereq::missing_runtime()
        .or_else(rootfs::missing_busybox)
        .or_else(wharf_tests::registry::missing_registry);
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

    // A registry that needs a login, with an image the console pulls (pushed there through wharfd).
    let registry = Registry::builder()
        .tls()
        .user(REGISTRY_USER, REGISTRY_PASSWORD)
        .start()
        .unwrap();
    let wharfd = Wharfd::builder()
        .tcp(true)
        .arg("--console-dir")
        .arg(&dist)
        .arg("--registry-certs-dir")
        .arg(registry.certs_d().expect("a TLS registry has a certs.d"))
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
    let pulled = format!("{}/console/pulled:1", registry.host());
    let docker_config = TempDir::new("dc").unwrap();
    let mut push_env = env.clone();
    push_env.push((
        "DOCKER_CONFIG".into(),
        docker_config.path().display().to_string(),
    ));
    ok(
        &push_env,
        &[
            "login",
            "-u",
            REGISTRY_USER,
            "-p",
            REGISTRY_PASSWORD,
            &registry.host(),
        ],
    );
    // Two layers of its own (one that gzip cannot shrink), so the pull downloads and unpacks them.
    let layers = vec![
        oci::layer(&[("data/random", oci::random_bytes(4 << 20, 7))]).unwrap(),
        oci::layer(&[("data/notes.txt", oci::text_bytes(1 << 20, 7))]).unwrap(),
    ];
    let archive = docker_config.path().join("pulled.tar");
    oci::Image::new("amd64", layers, &["sh"])
        .write_archive(&archive, &pulled)
        .unwrap();
    ok(&push_env, &["load", "-i", archive.to_str().unwrap()]);
    ok(&push_env, &["push", &pulled]);
    ok(&push_env, &["rmi", &pulled]);
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
        .env("WHARF_REGISTRY", registry.host())
        .env("WHARF_REGISTRY_USER", REGISTRY_USER)
        .env("WHARF_REGISTRY_PASSWORD", REGISTRY_PASSWORD)
        .env("WHARF_PULL_IMAGE", &pulled)
        .env("WHARF_NET_SUBNET", NET_SUBNET)
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
    judge(&seen, &env, &pulled);
}

/// The subnet of the network the page creates.
const NET_SUBNET: &str = "10.251.77.0/24";

const REGISTRY_USER: &str = "console";
const REGISTRY_PASSWORD: &str = "pull-secret";

/// What the page must have seen; each failure names itself.
fn judge(seen: &Value, env: &[(String, String)], pulled: &str) {
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
    // Pulling: refused without a login, a wrong password refused, then per-layer progress as the
    // docker CLI draws it and the image in the list.
    check(
        "pullRefusedAnonymous",
        seen["pullRefusedAnonymous"]
            .as_str()
            .is_some_and(|m| m.contains("no basic auth credentials")),
    );
    check(
        "registryLoginRefused",
        seen["registryLoginRefused"]
            .as_str()
            .is_some_and(|m| m.contains("401") || m.contains("unauthorized")),
    );
    check("registryLoggedIn", seen["registryLoggedIn"] == true);
    let lines: Vec<&str> = seen["pullLines"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    check(
        "pullLines",
        lines.iter().any(|l| l.ends_with(": Pull complete"))
            && lines.contains(&format!("Status: Downloaded newer image for {pulled}").as_str())
            && lines.iter().any(|l| l.starts_with("Digest: sha256:")),
    );
    check("pulledListed", seen["pulledListed"] == true);
    check("viewerHasNoStop", seen["viewerHasNoStop"] == true);
    check(
        "forcedStopMessage",
        seen["forcedStopMessage"]
            .as_str()
            .is_some_and(|m| m.contains("role viewer may not")),
    );
    check("auditShown", seen["auditShown"] == true);
    // Networks, volumes, files.
    check("networkListed", seen["networkListed"] == true);
    let subnet_prefix = NET_SUBNET.trim_end_matches("0/24");
    check(
        "networkAttached",
        seen["networkAttached"]
            .as_str()
            .is_some_and(|r| r.contains("on-net") && r.contains(subnet_prefix)),
    );
    check("volumeListed", seen["volumeListed"] == true);
    check("downloadName", seen["downloadName"] == "hello");
    check("downloaded", seen["downloaded"] == "hi\n");
    check("uploadListed", seen["uploadListed"] == true);
    check(
        "screenshots",
        seen["screenshots"].as_u64().is_some_and(|n| n >= 30),
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
    assert!(images.lines().any(|i| i == pulled), "{images}");
    let network = ok(
        env,
        &[
            "network",
            "inspect",
            "console-net",
            "--format",
            "{{range .IPAM.Config}}{{.Subnet}}{{end}} {{.Labels.made}}",
        ],
    );
    assert_eq!(network.trim(), format!("{NET_SUBNET} console"));
    let volume = ok(
        env,
        &[
            "volume",
            "inspect",
            "console-vol",
            "--format",
            "{{.Labels.made}}",
        ],
    );
    assert_eq!(volume.trim(), "console");
    let uploaded = ok(env, &["exec", "from-cli", "cat", "/tmp/uploaded-note.txt"]);
    assert_eq!(uploaded, "uploaded from the console\n");
    ok(env, &["rm", "-f", "on-net"]);
    ok(env, &["network", "rm", "console-net"]);
}
