//! The WebSocket routes on the wire, with a real WebSocket client (tungstenite) over the unix socket:
//! Wharf's exec (output by stream, exit code last, sizes and resizes, the process killed when the client
//! goes), dockerd's attach (stdio, detach keys with a TTY), and the `Origin` check every request gets
//! (with CORS for the origins allowed).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::HandshakeError;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};
use wharf_client_core::api::websocket::{decode_output, Control};
use wharf_client_core::stdcopy::StdStream;
use wharf_tests::cli::ok;
use wharf_tests::http::request;
use wharf_tests::{eventually, prereq, rootfs, Wharfd};

const IMAGE: &str = "ws:1";

fn can_run(test: &str) -> bool {
    let missing = prereq::missing_runtime().or_else(rootfs::missing_busybox);
    prereq::can_run(test, missing)
}

type Socket = WebSocket<UnixStream>;

/// Opens a WebSocket to `path` over the daemon's unix socket, with `origin` if any; the refusal's status
/// and message when the daemon answers the handshake with an error.
fn connect(socket: &Path, path: &str, origin: Option<&str>) -> Result<Socket, (u16, String)> {
    let stream = UnixStream::connect(socket).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut req = format!("ws://docker{path}").into_client_request().unwrap();
    if let Some(origin) = origin {
        req.headers_mut().insert("Origin", origin.parse().unwrap());
    }
    match tungstenite::client::client(req, stream) {
        Ok((ws, response)) => {
            assert_eq!(response.status(), 101);
            Ok(ws)
        }
        Err(HandshakeError::Failure(tungstenite::Error::Http(response))) => {
            let body: Value = serde_json::from_slice(response.body().as_deref().unwrap_or(b"{}"))
                .unwrap_or(Value::Null);
            Err((
                response.status().as_u16(),
                body["message"].as_str().unwrap_or_default().to_owned(),
            ))
        }
        Err(e) => panic!("WebSocket handshake to {path}: {e}"),
    }
}

/// What an exec session brought: its stdout, its stderr, its exit code and the close code.
#[derive(Debug, Default)]
struct Session {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    exit: Option<i64>,
    close: Option<CloseCode>,
}

impl Session {
    /// Reads messages until the server closes (or `until` holds of what came).
    fn read(ws: &mut Socket, tty: bool, until: impl Fn(&Session) -> bool) -> Session {
        let mut s = Session::default();
        s.read_more(ws, tty, until);
        s
    }

    fn read_more(&mut self, ws: &mut Socket, tty: bool, until: impl Fn(&Session) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !until(self) {
            assert!(Instant::now() < deadline, "no end in sight: {self:?}");
            match ws.read() {
                Ok(Message::Binary(b)) => {
                    let (stream, bytes) = decode_output(&b, tty).unwrap();
                    match stream {
                        StdStream::Stderr => self.stderr.extend_from_slice(bytes),
                        _ => self.stdout.extend_from_slice(bytes),
                    }
                }
                Ok(Message::Text(t)) => match Control::from_text(t.as_str()).unwrap() {
                    Control::Exit { code } => self.exit = Some(code),
                    other => panic!("the server sent {other:?}"),
                },
                Ok(Message::Close(frame)) => {
                    self.close = Some(frame.map(|f| f.code).unwrap_or(CloseCode::Status));
                    return;
                }
                Ok(_) => {}
                Err(tungstenite::Error::ConnectionClosed) => return,
                Err(e) => panic!("reading: {e}; so far {self:?}"),
            }
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

fn exec_inspect(socket: &Path, id: &str) -> Value {
    let r = request(socket, "GET", &format!("/v1.47/exec/{id}/json"), &[], None).unwrap();
    serde_json::from_slice(&r.body).unwrap()
}

fn start(test: &str) -> Option<(Wharfd, Vec<(String, String)>)> {
    if !can_run(test) {
        return None;
    }
    let wharfd = Wharfd::start().unwrap();
    let env = wharfd.endpoints().docker_env_unix();
    let tar = rootfs::busybox_tar(wharfd.dir()).unwrap();
    ok(&env, &["import", tar.to_str().unwrap(), IMAGE]);
    Some((wharfd, env))
}

#[test]
fn an_exec_over_a_websocket_streams_its_output_and_ends_with_its_exit_code() {
    let Some((wharfd, env)) =
        start("an_exec_over_a_websocket_streams_its_output_and_ends_with_its_exit_code")
    else {
        return;
    };
    let socket = wharfd.socket();
    ok(
        &env,
        &["run", "-d", "--name", "box", IMAGE, "sleep", "1000"],
    );

    let id = wharf_tests::http::exec_create(
        socket,
        "box",
        r#"{"Cmd":["sh","-c","echo out; echo err >&2; printf '\\342\\202\\254'; exit 3"],"AttachStdout":true,"AttachStderr":true}"#,
    ).unwrap();
    let mut ws = connect(socket, &format!("/v1.47/exec/{id}/start/ws"), None).unwrap();
    let s = Session::read(&mut ws, false, |_| false);
    // The euro sign's three bytes arrive as they are, never decoded on the way.
    assert_eq!(s.stdout, "out\n€".as_bytes(), "{s:?}");
    assert_eq!(s.stderr, b"err\n", "{s:?}");
    assert_eq!((s.exit, s.close), (Some(3), Some(CloseCode::Normal)));
    assert_eq!(exec_inspect(socket, &id)["ExitCode"], 3);

    // Started once: a second start is refused before the upgrade, an unknown exec is a 404.
    let again = connect(socket, &format!("/v1.47/exec/{id}/start/ws"), None).unwrap_err();
    assert_eq!(
        again,
        (409, format!("Error: Exec command {id} has already run"))
    );
    let missing = connect(socket, "/v1.47/exec/nope/start/ws", None).unwrap_err();
    assert_eq!(missing, (404, "No such exec instance: nope".to_owned()));

    // A command that cannot start: its error in the output, exit code 126.
    let id = wharf_tests::http::exec_create(
        socket,
        "box",
        r#"{"Cmd":["no-such-command"],"AttachStdout":true,"AttachStderr":true}"#,
    )
    .unwrap();
    let mut ws = connect(socket, &format!("/v1.47/exec/{id}/start/ws"), None).unwrap();
    let s = Session::read(&mut ws, false, |_| false);
    assert_eq!(s.exit, Some(126), "{s:?}");
    assert!(s.text().contains("no-such-command"), "{s:?}");
}

#[test]
fn a_terminal_over_a_websocket_is_sized_resized_and_killed_when_the_client_goes() {
    let Some((wharfd, env)) =
        start("a_terminal_over_a_websocket_is_sized_resized_and_killed_when_the_client_goes")
    else {
        return;
    };
    let socket = wharfd.socket();
    ok(
        &env,
        &["run", "-d", "--name", "box", IMAGE, "sleep", "1000"],
    );
    // A process that reads its size at once finds it: the TTY is sized before it runs.
    let id = wharf_tests::http::exec_create(
        socket,
        "box",
        r#"{"Cmd":["sh","-c","stty size"],"AttachStdout":true,"Tty":true}"#,
    )
    .unwrap();
    let mut ws = connect(
        socket,
        &format!("/v1.47/exec/{id}/start/ws?h=33&w=111"),
        None,
    )
    .unwrap();
    let s = Session::read(&mut ws, true, |_| false);
    assert_eq!(
        (s.text().as_str(), s.exit),
        ("33 111\r\n", Some(0)),
        "{s:?}"
    );

    let id = wharf_tests::http::exec_create(
        socket,
        "box",
        r#"{"Cmd":["sh"],"AttachStdin":true,"AttachStdout":true,"AttachStderr":true,"Tty":true}"#,
    )
    .unwrap();
    let mut ws = connect(
        socket,
        &format!("/v1.47/exec/{id}/start/ws?h=24&w=80"),
        None,
    )
    .unwrap();
    ws.send(Message::Binary("stty size\n".into())).unwrap();
    let mut s = Session::read(&mut ws, true, |s| s.text().contains("24 80"));
    let resize = Control::Resize { h: 30, w: 100 }.to_text();
    ws.send(Message::Text(resize.into())).unwrap();
    ws.send(Message::Binary("stty size\n".into())).unwrap();
    s.read_more(&mut ws, true, |s| s.text().contains("30 100"));
    ws.send(Message::Binary("exit 7\n".into())).unwrap();
    s.read_more(&mut ws, true, |_| false);
    assert_eq!(
        (s.exit, s.close),
        (Some(7), Some(CloseCode::Normal)),
        "{s:?}"
    );

    // A client that closes first takes its process along.
    let id = wharf_tests::http::exec_create(
        socket,
        "box",
        r#"{"Cmd":["sleep","1000"],"AttachStdout":true,"Tty":true}"#,
    )
    .unwrap();
    let mut ws = connect(socket, &format!("/v1.47/exec/{id}/start/ws"), None).unwrap();
    eventually(Duration::from_secs(10), "the exec to run", || {
        exec_inspect(socket, &id)["Running"] == true
    });
    ws.close(None).unwrap();
    let _ = ws.flush();
    drop(ws);
    eventually(Duration::from_secs(10), "the exec to be killed", || {
        exec_inspect(socket, &id)["ExitCode"] == 137
    });
    assert_eq!(
        ok(&env, &["inspect", "-f", "{{.State.Running}}", "box"]),
        "true\n"
    );
}

#[test]
fn attach_over_a_websocket_carries_stdio_and_the_detach_keys() {
    let Some((wharfd, env)) = start("attach_over_a_websocket_carries_stdio_and_the_detach_keys")
    else {
        return;
    };
    let socket = wharfd.socket();
    ok(&env, &["run", "-d", "-i", "--name", "plain", IMAGE, "cat"]);
    let path = "/v1.47/containers/plain/attach/ws?stream=1&stdin=1&stdout=1&stderr=1";
    let mut ws = connect(socket, path, None).unwrap();
    ws.send(Message::Text("hello\n".into())).unwrap();
    let s = Session::read(&mut ws, true, |s| s.stdout == b"hello\n");
    assert_eq!(s.text(), "hello\n");
    drop(ws);

    ok(&env, &["run", "-d", "-it", "--name", "tty", IMAGE, "cat"]);
    let path = "/v1.47/containers/tty/attach/ws?stream=1&stdin=1&stdout=1";
    let mut ws = connect(socket, path, None).unwrap();
    ws.send(Message::Binary("hi\n".into())).unwrap();
    let mut s = Session::read(&mut ws, true, |s| s.text().contains("hi"));
    ws.send(Message::Binary(vec![0x10].into())).unwrap();
    ws.send(Message::Binary(vec![0x11].into())).unwrap();
    s.read_more(&mut ws, true, |_| false);
    assert_eq!(s.close, Some(CloseCode::Normal), "{s:?}");
    assert_eq!(
        ok(&env, &["inspect", "-f", "{{.State.Running}}", "tty"]),
        "true\n"
    );
    let missing = connect(socket, "/v1.47/containers/nope/attach/ws?stream=1", None);
    assert_eq!(
        missing.unwrap_err(),
        (404, "No such container: nope".to_owned())
    );
}

#[test]
fn every_request_checks_the_origin_and_allowed_ones_get_cors() {
    if !can_run("every_request_checks_the_origin_and_allowed_ones_get_cors") {
        return;
    }
    let wharfd = Wharfd::builder()
        .arg("--allow-origin")
        .arg("https://console.example:8443")
        .start()
        .unwrap();
    let socket = wharfd.socket();
    for path in [
        "/v1.47/exec/nope/start/ws",
        "/v1.47/containers/nope/attach/ws?stream=1",
    ] {
        let (status, message) = connect(socket, path, Some("https://evil.example")).unwrap_err();
        assert_eq!(status, 403, "{path}");
        assert!(
            message.starts_with("origin https://evil.example may not use this daemon"),
            "{message}"
        );
        // The daemon's own origin and the allowed one pass the check (and reach the 404).
        for origin in ["http://docker", "https://console.example:8443"] {
            assert_eq!(
                connect(socket, path, Some(origin)).unwrap_err().0,
                404,
                "{origin}"
            );
        }
    }
    // Not only upgrades: a page's "simple" POST (no preflight) is refused too, before anything happens.
    let post = |origin: &str| {
        request(
            socket,
            "POST",
            "/v1.47/containers/create?name=csrf",
            &[("Origin", origin), ("Content-Type", "text/plain")],
            Some(br#"{"Image":"ws:1"}"#),
        )
        .unwrap()
    };
    let refused = post("https://evil.example");
    assert_eq!(refused.status, 403, "{refused:?}");
    assert!(refused.header("access-control-allow-origin").is_none());
    // The allowed origin reaches the daemon (which wants JSON, as dockerd does) and may read the answer.
    let allowed = post("https://console.example:8443");
    assert_eq!(allowed.status, 400, "{allowed:?}");
    assert!(
        allowed.body_text().contains("must be 'application/json'"),
        "{allowed:?}"
    );
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://console.example:8443")
    );
    // Its preflight is answered without credentials; another origin's is refused.
    let preflight = |origin: &str| {
        request(
            socket,
            "OPTIONS",
            "/v1.47/containers/json",
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", "GET"),
                ("Access-Control-Request-Headers", "authorization"),
            ],
            None,
        )
        .unwrap()
    };
    let ok_preflight = preflight("https://console.example:8443");
    assert_eq!(ok_preflight.status, 204, "{ok_preflight:?}");
    assert!(ok_preflight
        .header("access-control-allow-headers")
        .unwrap()
        .contains("authorization"));
    assert!(ok_preflight
        .header("access-control-allow-credentials")
        .is_none());
    assert_eq!(preflight("https://evil.example").status, 403);
    drop(wharfd);
    let failed = Wharfd::builder()
        .arg("--allow-origin")
        .arg("console.example")
        .start_expect_failure()
        .unwrap();
    assert!(
        failed
            .stderr
            .contains("invalid origin \"console.example\" for --allow-origin"),
        "{}",
        failed.stderr
    );
}
