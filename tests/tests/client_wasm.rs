//! client-wasm in a real browser against a real wharfd: headless Chromium (Debian's), driven by
//! playwright-core from `tests/browser/client_wasm.cjs`, loads the package `cargo xtask wasm` built and
//! uses its JavaScript API from a page at wharfd's own origin. The listener is plain HTTP on loopback,
//! so logins are bearer tokens: refused without one, a viewer refused a stop, an exec's WebSocket opened
//! with a ticket. Then ping, version, the container list, events, execs over the WebSocket (output, exit
//! code, the TTY's size at start and resized), stats samples, a followed log whose lines arrive while
//! the container runs, the daemon's error for a missing container; then the example page lists the
//! container and shows its logs; last, pages at another origin: one allowed (`--allow-origin`, CORS),
//! one refused.
//!
//! Ignored by a plain `cargo test`: it needs the package and Chromium, which `cargo xtask test`
//! prepares before running it (`--ignored`), with `WHARF_CLIENT_WASM_PKG` and `WHARF_PLAYWRIGHT_CORE`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::time::Duration;

use serde_json::{json, Value};
use wharf_tests::browser::{create_token, path_from_env, repo};
use wharf_tests::cli::ok;
use wharf_tests::net::free_loopback_addr;
use wharf_tests::{prereq, rootfs, Binaries, RunCommand, Wharfd};

/// The container the page follows: three lines a second apart, then a long sleep the page ends by
/// killing it, so that every line is seen while it still runs, whatever the machine's load.
const NAME: &str = "counter";
const SCRIPT: &str = "for i in 1 2 3; do echo $i; sleep 1; done; exec sleep 600";

#[test]
#[ignore = "needs client-wasm's package and Chromium: `cargo xtask test` builds them and runs it"]
fn a_page_drives_wharfd_through_client_wasm() {
    let missing = prereq::missing_runtime().or_else(rootfs::missing_busybox);
    if !prereq::can_run("a_page_drives_wharfd_through_client_wasm", missing) {
        return;
    }
    let pkg = path_from_env("WHARF_CLIENT_WASM_PKG", "target/client-wasm/pkg");
    let playwright = path_from_env(
        "WHARF_PLAYWRIGHT_CORE",
        "target/tools/playwright-core/node_modules/playwright-core",
    );
    assert!(
        pkg.join("wharf_client_wasm.js").exists(),
        "no package in {}: run `cargo xtask wasm`",
        pkg.display()
    );

    let addr = free_loopback_addr().unwrap();
    let wharfd = Wharfd::builder()
        .args(["-H", &format!("tcp://{addr}"), "--tls=false"])
        .args(["--allow-origin", "http://console.test"])
        .start()
        .unwrap();
    let env = wharfd.endpoints().docker_env_unix();
    let tar = rootfs::busybox_tar(wharfd.dir()).unwrap();
    ok(&env, &["import", tar.to_str().unwrap(), "busybox:latest"]);
    ok(
        &env,
        &["create", "--name", NAME, "busybox", "sh", "-c", SCRIPT],
    );
    ok(
        &env,
        &["run", "-d", "-i", "--name", "cat", "busybox", "cat"],
    );
    let bins = Binaries::locate().unwrap();
    let token = create_token(&bins, &wharfd, "page", "operator").unwrap();
    let viewer = create_token(&bins, &wharfd, "board", "viewer").unwrap();

    let out = RunCommand::new("node")
        .arg(repo().join("tests/browser/client_wasm.cjs"))
        .env("WHARF_PLAYWRIGHT_CORE", &playwright)
        .env("WHARF_CLIENT_WASM_PKG", &pkg)
        .env(
            "WHARF_EXAMPLE",
            repo().join("client-wasm/examples/index.html"),
        )
        .env("WHARF_BASE", format!("http://{addr}"))
        .env("WHARF_CONTAINER", NAME)
        .env("WHARF_CAT", "cat")
        .env("WHARF_TOKEN", &token)
        .env("WHARF_VIEWER_TOKEN", &viewer)
        .timeout(Duration::from_secs(180))
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
    eprintln!("the page saw: {seen}");

    // Without a token only the ping is answered; a viewer lists but may not stop.
    assert_eq!(
        seen["anonymousPing"]["apiVersion"],
        seen["ping"]["apiVersion"]
    );
    assert_eq!(
        seen["anonymous"],
        json!({"isError": true, "name": "WharfError", "status": 401, "kind": "Unauthorized",
               "message": "authentication required: present a client certificate or a bearer token"})
    );
    assert_eq!(seen["viewerList"], 2);
    assert_eq!(
        seen["viewerStop"],
        json!({"isError": true, "name": "WharfError", "status": 403, "kind": "Forbidden",
               "message": "role viewer may not POST /containers/{id}/stop"})
    );

    // Negotiated through a HEAD /_ping from the page; the version's answer as wharfd sent it.
    assert_eq!(seen["ping"]["osType"], "linux", "{seen}");
    let api = seen["ping"]["apiVersion"].as_str().unwrap();
    assert_eq!(seen["apiVersion"], api);
    assert_eq!(seen["version"]["ApiVersion"], api);
    assert!(seen["version"]["Version"].is_string(), "{seen}");
    let mut names: Vec<&str> = seen["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["/cat", &format!("/{NAME}")]);

    // Events come as they happen; leaving the loop closes the stream.
    assert_eq!(seen["events"], json!(["container start"]), "{seen}");
    assert_eq!(seen["eventsAfterBreak"]["done"], true);

    // Execs over the WebSocket: stdout and stderr apart, the exit code last; a TTY sized at start and
    // resized, as `stty size` sees it.
    let joined = |run: &Value| -> String {
        run["output"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["text"].as_str().unwrap())
            .collect()
    };
    let streams = |run: &Value, stream: &str| -> String {
        run["output"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["stream"] == stream)
            .map(|o| o["text"].as_str().unwrap())
            .collect()
    };
    assert_eq!(streams(&seen["echo"], "stdout"), "hi\n", "{seen}");
    assert_eq!(streams(&seen["echo"], "stderr"), "oops\n", "{seen}");
    assert_eq!(
        (&seen["echo"]["code"], &seen["echo"]["exitCode"]),
        (&json!(0), &json!(0))
    );
    let sized = joined(&seen["sizedAtStart"]);
    assert!(sized.contains("30 100"), "{sized:?} {seen}");
    assert_eq!(seen["sizedAtStart"]["code"], 0);
    let resized = joined(&seen["resized"]);
    assert!(resized.contains("40 120"), "{resized:?} {seen}");
    assert_eq!(seen["resized"]["code"], 0);
    assert_eq!(seen["exitCode"]["code"], 3, "{seen}");
    assert_eq!(seen["attach"], "ping\n", "{seen}");
    assert_eq!(seen["attachResize"]["kind"], "InvalidArgument", "{seen}");

    // A request past the client's timeout: given up, an Error without a status.
    assert_eq!(
        seen["timeout"],
        json!({"isError": true, "name": "WharfError", "kind": "Timeout",
               "message": "no answer within 0.3s"})
    );

    // Stats samples one by one while it runs (sh and sleep: two processes, memory in use); one-shot.
    let samples = seen["stats"].as_array().unwrap();
    assert_eq!(samples.len(), 2, "{seen}");
    for sample in samples {
        assert_eq!(sample["hasRead"], true);
        assert_eq!(sample["pids"], 2, "{seen}");
        assert!(sample["memory"].as_u64().unwrap() > 0, "{seen}");
    }
    assert_eq!(seen["statsAfterBreak"]["done"], true);
    assert!(seen["statsOnce"]["memory"].as_u64().unwrap() > 0, "{seen}");

    // Each line on its own, each seen while the container still ran: streamed, not read at the end.
    let lines = seen["lines"].as_array().unwrap();
    let texts: Vec<&str> = lines.iter().map(|l| l["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["1\n", "2\n", "3\n"], "{seen}");
    for line in lines {
        assert_eq!(
            line["running"], true,
            "a line seen only after the end: {seen}"
        );
        assert_eq!(line["stream"], "stdout");
        assert_eq!(line["bytes"], 2);
    }
    assert_eq!(
        seen["runningAfterEnd"], false,
        "the stream ended with the container"
    );

    // The daemon's error as a JS Error with its status and message.
    assert_eq!(
        seen["missing"],
        json!({"isError": true, "name": "WharfError", "status": 404, "kind": "NotFound",
               "message": "No such container: x"})
    );

    // The example page: refused without a token, then listed, and its logs shown.
    assert_eq!(
        seen["exampleWithoutToken"],
        "401: authentication required: present a client certificate or a bearer token"
    );
    assert!(
        seen["exampleStatus"].as_str().unwrap().contains(api),
        "{seen}"
    );
    assert_eq!(seen["exampleLogs"], "1\n2\n3\n");

    // From another origin: answered when wharfd allows it (CORS, preflights, the exposed Api-Version);
    // otherwise the browser gets no answer it may read.
    assert_eq!(
        seen["allowedOrigin"],
        json!({"apiVersion": api, "names": ["/cat", format!("/{NAME}")]})
    );
    assert_eq!(seen["otherOrigin"]["error"]["kind"], "Connect", "{seen}");
    assert!(seen["otherOrigin"]["error"]["status"].is_null(), "{seen}");
}
