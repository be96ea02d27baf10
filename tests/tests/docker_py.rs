//! docker-py, the Python client, against wharfd: `attach_socket(..., ws=True)` over dockerd's
//! `attach/ws` route. docker-py opens that WebSocket with websocket-client and no way to add a header, so
//! it logs in as browsers do: with a one-use ticket in the attach's query (`params={"ticket": ...}`),
//! fetched with a token. `cargo xtask setup` installs docker-py and websocket-client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::time::Duration;

use wharf_tests::cli::ok;
use wharf_tests::http::request;
use wharf_tests::{prereq, rootfs, RunCommand, Wharfd};

const ATTACH: &str = r#"
import os, sys, docker
client = docker.APIClient(base_url=os.environ["WHARF_URL"], version="1.47")
params = {"stdin": 1, "stdout": 1, "stream": 1, "ticket": os.environ["WHARF_TICKET"]}
ws = client.attach_socket(os.environ["WHARF_CONTAINER"], params=params, ws=True)
ws.send("hello from python\n")
data = ws.recv()
sys.stdout.write(data.decode() if isinstance(data, bytes) else data)
ws.close()
"#;

fn missing() -> Option<String> {
    prereq::missing_runtime()
        .or_else(rootfs::missing_busybox)
        .or_else(|| {
            let found = RunCommand::new("python3")
                .args(["-c", "import docker, websocket"])
                .run()
                .is_ok_and(|o| o.success());
            (!found).then(|| "docker-py or websocket-client is missing (cargo xtask setup)".into())
        })
}

/// The JSON answer of a `POST` on `socket` with an optional bearer token.
fn post(
    socket: &std::path::Path,
    path: &str,
    body: &str,
    token: Option<&str>,
) -> serde_json::Value {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a));
    }
    let r = request(socket, "POST", path, &headers, Some(body.as_bytes())).unwrap();
    assert_eq!(r.status, 201, "{path}: {}", r.body_text());
    serde_json::from_slice(&r.body).unwrap()
}

#[test]
fn docker_py_attaches_over_a_websocket() {
    if !prereq::can_run("docker_py_attaches_over_a_websocket", missing()) {
        return;
    }
    let wharfd = Wharfd::builder().plain_tcp().start().unwrap();
    let port = wharfd.endpoints().tcp.unwrap().port();
    let env = wharfd.endpoints().docker_env_unix();
    let tar = rootfs::busybox_tar(wharfd.dir()).unwrap();
    ok(&env, &["import", tar.to_str().unwrap(), "py:1"]);
    let id = ok(&env, &["run", "-d", "-i", "py:1", "cat"])
        .trim()
        .to_owned();

    // An operator's token, and with it a ticket over the TCP port, as a Python program would get them.
    let token = post(
        wharfd.socket(),
        "/wharf/v1/tokens",
        r#"{"Name":"py","Role":"operator"}"#,
        None,
    )["Token"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = format!("tcp://127.0.0.1:{port}");
    let ticket = {
        let r = RunCommand::new("python3")
            .args([
                "-c",
                "import os, requests; r = requests.post(os.environ['U'] + '/wharf/v1/ws-ticket', headers={'Authorization': 'Bearer ' + os.environ['T']}); r.raise_for_status(); print(r.json()['Ticket'])",
            ])
            .env("U", format!("http://127.0.0.1:{port}"))
            .env("T", &token)
            .run()
            .unwrap()
            .ok()
            .unwrap();
        r.stdout.trim().to_owned()
    };
    let out = RunCommand::new("python3")
        .args(["-c", ATTACH])
        .env("WHARF_URL", &url)
        .env("WHARF_TICKET", &ticket)
        .env("WHARF_CONTAINER", &id)
        .timeout(Duration::from_secs(60))
        .run()
        .unwrap();
    assert!(out.success(), "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "hello from python\n", "{}", out.stderr);
}
