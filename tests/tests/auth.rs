//! Logins for clients without a certificate: bearer tokens and their roles on the TLS listener, client
//! certificates mapped to roles, the unix socket as admin, the audit log, the failed-login limit and the
//! tokens file — raw HTTP over rustls (wharf's native transport) and the `wharf` CLI.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::os::unix::fs::PermissionsExt;

use http::{HeaderValue, Method};
use wharf_cli::{NativeTransport, TransportOptions};
use wharf_client_core::host::{Side, TlsSettings};
use wharf_client_core::{DockerHost, RequestFactory, Transport};
use wharf_tests::cli::ok;
use wharf_tests::{Binaries, CommandOutput, RunCommand, TempDir, Wharfd};

const AUTH_REQUIRED: &str =
    r#"{"message":"authentication required: present a client certificate or a bearer token"}"#;
const BAD_TOKEN: &str = r#"{"message":"authentication failed: invalid or expired token"}"#;

/// One client of a TCP listener: with or without a client certificate, with or without a token.
struct Client {
    host: DockerHost,
    tls: Option<TlsSettings>,
}

impl Client {
    /// A TLS client of `wharfd` that trusts its CA, presenting its client certificate if `cert`.
    fn tls(wharfd: &Wharfd, cert: bool) -> Self {
        let certs = wharfd.certs().unwrap();
        let path = |p: std::path::PathBuf| p.display().to_string();
        let missing = path(wharfd.dir().join("absent.pem"));
        let settings = TlsSettings {
            verify: true,
            ca: path(certs.ca()),
            cert: if cert {
                path(certs.client_cert())
            } else {
                missing.clone()
            },
            key: if cert {
                path(certs.client_key())
            } else {
                missing
            },
            explicit: cert,
        };
        let host = DockerHost::parse(&wharfd.tcp_host().unwrap(), true, Side::Client).unwrap();
        Self {
            host,
            tls: Some(settings),
        }
    }

    /// Sends `method path` (path as sent, version prefix and all), with `token` as a bearer token and
    /// `body` as JSON; the status and body.
    fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> (u16, String) {
        let factory = RequestFactory::new(&self.host.host_header(), "").unwrap();
        let mut request = match &body {
            Some(b) => factory.build_json_unversioned(method, path, b).unwrap(),
            None => factory.build_unversioned(method, path),
        };
        if let Some(t) = token {
            let value = HeaderValue::from_str(&format!("Bearer {t}")).unwrap();
            request = RequestFactory::with_header(request, http::header::AUTHORIZATION, value);
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let transport =
                NativeTransport::new(&self.host, self.tls.as_ref(), TransportOptions::default())
                    .unwrap();
            let r = transport.send(request).await.unwrap();
            (r.status, String::from_utf8_lossy(&r.body).into_owned())
        })
    }

    fn get(&self, path: &str, token: Option<&str>) -> (u16, String) {
        self.send(Method::GET, path, token, None)
    }

    fn post(&self, path: &str, token: Option<&str>) -> (u16, String) {
        self.send(Method::POST, path, token, None)
    }
}

/// `wharf` against the daemon's unix socket.
fn wharf(wharfd: &Wharfd, args: &[&str]) -> CommandOutput {
    RunCommand::new(Binaries::locate().unwrap().wharf().unwrap())
        .env("DOCKER_HOST", wharfd.unix_host())
        .args(args)
        .run()
        .unwrap()
}

/// `wharf token create` over the unix socket: the token it printed.
fn create_token(wharfd: &Wharfd, name: &str, role: &str, expires: Option<&str>) -> String {
    let mut args = vec!["token", "create", "--name", name, "--role", role];
    if let Some(e) = expires {
        args.extend(["--expires", e]);
    }
    let out = wharf(wharfd, &args);
    assert!(out.success(), "{}", out.stderr);
    let token = out.stdout.trim().to_owned();
    assert!(
        token.starts_with("wharf_") && token.len() == 6 + 43,
        "{token}"
    );
    assert!(out.stderr.contains("not shown again"), "{}", out.stderr);
    token
}

/// A running busybox container named `web`, made over the unix socket.
fn run_container(wharfd: &Wharfd) {
    assert_eq!(wharf_tests::rootfs::missing_busybox(), None);
    let dir = TempDir::new("auth-rootfs").unwrap();
    let tar = wharf_tests::rootfs::busybox_tar(dir.path()).unwrap();
    let env = wharfd.endpoints().docker_env_unix();
    ok(&env, &["import", &tar.display().to_string(), "bb:1"]);
    ok(
        &env,
        &["run", "-d", "--name", "web", "bb:1", "sleep", "1000"],
    );
}

fn running(wharfd: &Wharfd) -> String {
    let env = wharfd.endpoints().docker_env_unix();
    ok(&env, &["inspect", "-f", "{{.State.Running}}", "web"])
        .trim()
        .to_owned()
}

#[test]
fn tokens_roles_expiry_removal_and_audit_over_tls() {
    let wharfd = Wharfd::builder().tcp(true).arg("-D").start().unwrap();
    run_container(&wharfd);
    let viewer = create_token(&wharfd, "board", "viewer", None);
    let operator = create_token(&wharfd, "ops", "operator", Some("30d"));
    let short = create_token(&wharfd, "short", "viewer", Some("1s"));
    let anon = Client::tls(&wharfd, false);

    // No certificate and no token: the handshake is admitted, every request refused, /_ping included.
    assert_eq!(anon.get("/_ping", None), (401, AUTH_REQUIRED.to_owned()));
    assert_eq!(
        anon.get("/v1.47/containers/json", None),
        (401, AUTH_REQUIRED.to_owned())
    );
    assert_eq!(
        anon.get("/v1.47/containers/json", Some("wharf_wrong")),
        (401, BAD_TOKEN.to_owned())
    );

    // A viewer reads, and may not stop.
    let (status, body) = anon.get("/v1.47/containers/json", Some(&viewer));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("/web"), "{body}");
    assert_eq!(anon.get("/_ping", Some(&viewer)).0, 200);
    assert_eq!(
        anon.post("/v1.47/containers/web/stop?t=1", Some(&viewer)),
        (
            403,
            r#"{"message":"role viewer may not POST /containers/{id}/stop"}"#.to_owned()
        )
    );
    assert_eq!(running(&wharfd), "true");

    // An operator stops, and may not make tokens.
    let (status, body) = anon.post("/v1.47/containers/web/stop?t=1", Some(&operator));
    assert_eq!(status, 204, "{body}");
    assert_eq!(running(&wharfd), "false");
    let create = serde_json::json!({"Name": "mine", "Role": "admin"});
    assert_eq!(
        anon.send(
            Method::POST,
            "/wharf/v1/tokens",
            Some(&operator),
            Some(create)
        ),
        (
            403,
            r#"{"message":"role operator may not POST /wharf/v1/tokens"}"#.to_owned()
        )
    );

    // Expired, then removed.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(
        anon.get("/v1.47/containers/json", Some(&short)),
        (401, BAD_TOKEN.to_owned())
    );
    let out = wharf(&wharfd, &["token", "rm", "ops"]);
    assert!(out.success(), "{}", out.stderr);
    assert_eq!(
        anon.get("/v1.47/containers/json", Some(&operator)),
        (401, BAD_TOKEN.to_owned())
    );

    // The client certificate is still admin, tokens or not.
    let cert = Client::tls(&wharfd, true);
    let (status, body) = cert.get("/wharf/v1/tokens", None);
    assert_eq!(status, 200, "{body}");
    let listed: serde_json::Value = serde_json::from_str(&body).unwrap();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["board", "short"]);
    assert!(!body.contains("wharf_"), "no secrets listed: {body}");

    // The tokens file: private, and no token in it.
    let auth_dir = wharfd.dir().join("data/auth");
    let tokens_file = auth_dir.join("tokens.json");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&tokens_file), 0o600);
    assert_eq!(mode(&auth_dir), 0o700);
    let stored = std::fs::read_to_string(&tokens_file).unwrap();
    assert!(stored.contains("\"board\""), "{stored}");

    // The audit log: the stop as the operator's token, the token creations as the unix socket.
    let read_audit = || std::fs::read_to_string(auth_dir.join("audit.log")).unwrap_or_default();
    let wanted = "/wharf/v1/tokens/ops";
    wharf_tests::eventually(std::time::Duration::from_secs(10), "audit lines", || {
        read_audit().contains(wanted)
    });
    let audit = read_audit();
    let lines: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let find = |method: &str, path: &str, status: u64| {
        lines
            .iter()
            .find(|l| l["method"] == method && l["path"] == path && l["status"] == status)
    };
    let stop = find("POST", "/containers/web/stop", 204).unwrap_or_else(|| panic!("{audit}"));
    assert_eq!(stop["identity"], "token:ops");
    assert_eq!(stop["role"], "operator");
    assert_eq!(stop["id"], "web");
    assert!(stop["time"].as_str().unwrap().ends_with('Z'), "{stop}");
    let denied = find("POST", "/containers/web/stop", 403).unwrap_or_else(|| panic!("{audit}"));
    assert_eq!(denied["identity"], "token:board");
    let created = find("POST", "/wharf/v1/tokens", 201).unwrap_or_else(|| panic!("{audit}"));
    assert_eq!(created["identity"], "unix");
    assert_eq!(created["role"], "admin");
    let removed = find("DELETE", "/wharf/v1/tokens/ops", 204).unwrap_or_else(|| panic!("{audit}"));
    assert_eq!(removed["id"], "ops");
    assert!(
        find("GET", "/containers/json", 200).is_none(),
        "reads are not audited"
    );

    // No token's secret anywhere: tokens file, audit log, daemon log (at debug level).
    let logs = wharfd.logs();
    assert!(logs.contains("/containers/web/stop"), "debug request log");
    for token in [&viewer, &operator, &short] {
        let secret = token.strip_prefix("wharf_").unwrap();
        assert!(!stored.contains(secret), "tokens file");
        assert!(!audit.contains(secret), "audit log");
        assert!(!logs.contains(secret), "daemon log");
    }
}

#[test]
fn a_certificate_mapped_to_viewer_reads_only_and_the_unix_socket_stays_admin() {
    let wharfd = Wharfd::builder()
        .tcp(true)
        .config_json(Some(r#"{"client-cert-roles": {"client": "viewer"}}"#))
        .start()
        .unwrap();
    let cert = Client::tls(&wharfd, true);
    assert_eq!(cert.get("/_ping", None).0, 200);
    assert_eq!(cert.get("/v1.47/containers/json", None).0, 200);
    assert_eq!(
        cert.post("/v1.47/containers/web/stop", None),
        (
            403,
            r#"{"message":"role viewer may not POST /containers/{id}/stop"}"#.to_owned()
        )
    );
    assert_eq!(cert.get("/wharf/v1/tokens", None).0, 403);

    // The unix socket: admin, through the CLI and raw.
    create_token(&wharfd, "ci", "operator", None);
    let out = wharf(&wharfd, &["token", "ls"]);
    assert!(out.success(), "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with("NAME") && lines[0].contains("EXPIRES"),
        "{}",
        out.stdout
    );
    assert!(
        lines[1].starts_with("ci ") && lines[1].contains("operator"),
        "{}",
        out.stdout
    );
    assert!(lines[1].ends_with("never"), "{}", out.stdout);
    let r = wharf_tests::http::get(wharfd.socket(), "/wharf/v1/tokens").unwrap();
    assert_eq!(r.status, 200, "{r:?}");

    // A duplicate name and a bad role, as the daemon words them.
    let out = wharf(
        &wharfd,
        &["token", "create", "--name", "ci", "--role", "viewer"],
    );
    assert!(!out.success());
    assert!(
        out.stderr.contains("a token named \"ci\" already exists"),
        "{}",
        out.stderr
    );
    let r = wharf_tests::http::request(
        wharfd.socket(),
        "POST",
        "/wharf/v1/tokens",
        &[("Content-Type", "application/json")],
        Some(br#"{"Name":"x","Role":"root"}"#),
    )
    .unwrap();
    assert_eq!(r.status, 400, "{r:?}");
    let r = wharf_tests::http::request(
        wharfd.socket(),
        "POST",
        "/wharf/v1/tokens",
        &[("Content-Type", "application/json")],
        Some(br#"{"Name":"ci","Role":"viewer"}"#),
    )
    .unwrap();
    assert_eq!(r.status, 409, "{r:?}");
}

#[test]
fn ten_failed_logins_from_an_address_are_answered_429_until_the_window_passes() {
    let wharfd = Wharfd::start_with_tls().unwrap();
    let good = create_token(&wharfd, "good", "viewer", None);
    let anon = Client::tls(&wharfd, false);
    assert_eq!(anon.get("/v1.47/version", Some(&good)).0, 200);
    for i in 0..10 {
        let wrong = format!("wharf_wrong{i}");
        assert_eq!(
            anon.get("/v1.47/version", Some(&wrong)),
            (401, BAD_TOKEN.to_owned()),
            "failure {i}"
        );
    }
    let (status, body) = anon.get("/v1.47/version", Some(&good));
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("too many failed authentications"), "{body}");
    // A client with a certificate is not counted against.
    assert_eq!(
        Client::tls(&wharfd, true).get("/v1.47/version", None).0,
        200
    );
    assert!(
        wharfd
            .logs()
            .contains("127.0.0.1: 10 failed logins within 60s"),
        "the daemon says why: {}",
        wharfd.logs()
    );
}

#[test]
fn plain_loopback_http_needs_a_token_except_for_ping() {
    let wharfd = Wharfd::builder().plain_tcp().start().unwrap();
    let port = wharfd.endpoints().tcp.unwrap().port();
    let token = create_token(&wharfd, "local", "viewer", None);
    let plain = Client {
        host: DockerHost::parse(&format!("tcp://127.0.0.1:{port}"), false, Side::Client).unwrap(),
        tls: None,
    };
    assert_eq!(plain.get("/_ping", None).0, 200);
    assert_eq!(
        plain.get("/v1.47/version", None),
        (401, AUTH_REQUIRED.to_owned())
    );
    assert_eq!(plain.get("/v1.47/version", Some(&token)).0, 200);
    assert_eq!(plain.post("/v1.47/containers/x/stop", Some(&token)).0, 403);
    // Any identity gets a WebSocket ticket; without one, none.
    let (status, body) = plain.post("/wharf/v1/ws-ticket", Some(&token));
    assert_eq!(status, 201, "{body}");
    let ticket: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        ticket["Ticket"].as_str().unwrap().starts_with("wharft_"),
        "{body}"
    );
    assert!(ticket["Expires"].as_str().unwrap().ends_with('Z'), "{body}");
    assert_eq!(plain.post("/wharf/v1/ws-ticket", None).0, 401);
}

#[test]
fn the_docker_cli_logs_in_with_a_token_from_its_config_http_headers() {
    let wharfd = Wharfd::start_with_tls().unwrap();
    run_container(&wharfd);
    let certs = wharfd.certs().unwrap();
    // A client with the CA and no certificate, and a token in config.json's HttpHeaders.
    let home = TempDir::new("auth-docker").unwrap();
    std::fs::copy(certs.ca(), home.path().join("ca.pem")).unwrap();
    let env = |role: Option<&str>| {
        let config_dir = home.path().join(role.unwrap_or("none"));
        if let Some(role) = role {
            let token = create_token(&wharfd, &format!("cli-{role}"), role, None);
            std::fs::create_dir(&config_dir).unwrap();
            let header = format!("Bearer {token}");
            let config = serde_json::json!({"HttpHeaders": {"Authorization": header}});
            std::fs::write(config_dir.join("config.json"), config.to_string()).unwrap();
        }
        vec![
            ("DOCKER_HOST".to_owned(), wharfd.tcp_host().unwrap()),
            ("DOCKER_TLS_VERIFY".to_owned(), "1".to_owned()),
            (
                "DOCKER_CERT_PATH".to_owned(),
                home.path().display().to_string(),
            ),
            ("DOCKER_CONFIG".to_owned(), config_dir.display().to_string()),
        ]
    };
    let (viewer, operator) = (env(Some("viewer")), env(Some("operator")));

    let listed = ok(&viewer, &["ps", "--format", "{{.Names}}"]);
    assert_eq!(listed.trim(), "web");
    for (args, action) in [
        (&["stop", "web"][..], "POST /containers/{id}/stop"),
        (&["exec", "web", "true"][..], "POST /containers/{id}/exec"),
    ] {
        let refused = wharf_tests::cli::fails(&viewer, args);
        assert_eq!(
            wharf_tests::cli::daemon_error(&refused),
            format!("role viewer may not {action}"),
            "{refused}"
        );
    }
    // A hijacked route is refused before the upgrade (the docker CLI shows only the status there).
    let refused = wharf_tests::cli::fails(&viewer, &["attach", "web"]);
    assert!(refused.contains("received 403"), "{refused}");
    // An operator's exec: the hijacked stream works through the authentication, and is audited.
    let out = ok(&operator, &["exec", "web", "echo", "hi"]);
    assert_eq!(out, "hi\n");
    let audit = wharfd.dir().join("data/auth/audit.log");
    wharf_tests::eventually(
        std::time::Duration::from_secs(10),
        "the exec's audit",
        || {
            std::fs::read_to_string(&audit)
                .unwrap_or_default()
                .lines()
                .any(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).unwrap();
                    v["identity"] == "token:cli-operator"
                        && v["method"] == "POST"
                        && v["path"].as_str().unwrap().starts_with("/exec/")
                        && v["path"].as_str().unwrap().ends_with("/start")
                })
        },
    );

    let refused = wharf_tests::cli::fails(&env(None), &["ps"]);
    assert!(
        refused.contains("authentication required: present a client certificate or a bearer token"),
        "{refused}"
    );
}

/// Opens a WebSocket to `path` on the plain loopback port `port`; the handshake's refusal as its status
/// and message.
fn ws_connect(
    port: u16,
    path: &str,
) -> Result<tungstenite::WebSocket<std::net::TcpStream>, (u16, String)> {
    use tungstenite::client::IntoClientRequest;
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let request = format!("ws://127.0.0.1:{port}{path}")
        .into_client_request()
        .unwrap();
    match tungstenite::client::client(request, stream) {
        Ok((ws, _)) => Ok(ws),
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(r))) => {
            let body = String::from_utf8_lossy(r.body().as_deref().unwrap_or_default());
            Err((r.status().as_u16(), body.into_owned()))
        }
        Err(e) => panic!("WebSocket handshake to {path}: {e}"),
    }
}

#[test]
fn a_websocket_exec_logs_in_with_a_one_use_ticket_never_a_token() {
    let wharfd = Wharfd::builder().plain_tcp().start().unwrap();
    let port = wharfd.endpoints().tcp.unwrap().port();
    run_container(&wharfd);
    let operator = create_token(&wharfd, "term", "operator", None);
    let viewer = create_token(&wharfd, "look", "viewer", None);
    let plain = Client {
        host: DockerHost::parse(&format!("tcp://127.0.0.1:{port}"), false, Side::Client).unwrap(),
        tls: None,
    };
    let exec = |token: &str| {
        let body = serde_json::json!({"Cmd": ["echo", "hi"], "AttachStdout": true});
        let path = "/v1.47/containers/web/exec";
        let (status, body) = plain.send(Method::POST, path, Some(token), Some(body));
        assert_eq!(status, 201, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["Id"].as_str().unwrap().to_owned()
    };
    let ticket = |token: &str| {
        let (status, body) = plain.post("/wharf/v1/ws-ticket", Some(token));
        assert_eq!(status, 201, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["Ticket"].as_str().unwrap().to_owned()
    };
    let id = exec(&operator);

    // Neither nothing nor the token itself in the URL opens it.
    let start = format!("/v1.47/exec/{id}/start/ws");
    let (status, body) = ws_connect(port, &start).unwrap_err();
    assert_eq!((status, body.as_str()), (401, AUTH_REQUIRED));
    let (status, _) = ws_connect(port, &format!("{start}?ticket={operator}")).unwrap_err();
    assert_eq!(status, 401);

    // A viewer's ticket is the viewer: refused before the upgrade.
    let (status, body) =
        ws_connect(port, &format!("{start}?ticket={}", ticket(&viewer))).unwrap_err();
    assert_eq!(status, 403);
    assert!(
        body.contains("role viewer may not GET /exec/{id}/start/ws"),
        "{body}"
    );

    // The operator's ticket opens the session, once.
    let t = ticket(&operator);
    let mut ws = ws_connect(port, &format!("{start}?ticket={t}")).unwrap();
    let mut stdout = Vec::new();
    let mut exit = None;
    loop {
        match ws.read() {
            Ok(tungstenite::Message::Binary(b)) => stdout.extend_from_slice(&b[1..]),
            Ok(tungstenite::Message::Text(t)) => {
                let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
                exit = v["code"].as_i64();
            }
            Ok(tungstenite::Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    assert_eq!((stdout.as_slice(), exit), (&b"hi\n"[..], Some(0)));
    let again = exec(&operator);
    let (status, _) =
        ws_connect(port, &format!("/v1.47/exec/{again}/start/ws?ticket={t}")).unwrap_err();
    assert_eq!(status, 401, "a ticket is good once");

    // The session is audited as the token's, without the ticket.
    let audit = wharfd.dir().join("data/auth/audit.log");
    wharf_tests::eventually(
        std::time::Duration::from_secs(10),
        "the session's audit",
        || {
            std::fs::read_to_string(&audit)
                .unwrap_or_default()
                .lines()
                .any(|l| {
                    l.contains("\"identity\":\"token:term\"")
                        && l.contains(&format!("/exec/{id}/start/ws"))
                })
        },
    );
    let text = std::fs::read_to_string(&audit).unwrap();
    assert!(!text.contains(&t) && !text.contains("ticket="), "{text}");
}

/// The console's routes: whoami per identity, the daemon's listeners, and the audit log read back by an
/// admin (a viewer refused with the policy's message).
#[test]
fn whoami_daemon_and_the_audit_log_read_back_over_tls() {
    let wharfd = Wharfd::builder().tcp(true).start().unwrap();
    let viewer = create_token(&wharfd, "board", "viewer", None);
    let operator = create_token(&wharfd, "ops", "operator", None);
    let admin = create_token(&wharfd, "root", "admin", None);
    let anon = Client::tls(&wharfd, false);
    let json = |(status, body): (u16, String)| -> serde_json::Value {
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    };

    // Who each one is.
    for (token, name, role) in [
        (&viewer, "board", "viewer"),
        (&operator, "ops", "operator"),
        (&admin, "root", "admin"),
    ] {
        let me = json(anon.get("/wharf/v1/whoami", Some(token)));
        let want =
            serde_json::json!({"Identity": format!("token:{name}"), "Role": role, "Kind": "token"});
        assert_eq!(me, want);
    }
    let me = json(Client::tls(&wharfd, true).get("/wharf/v1/whoami", None));
    assert_eq!(
        (&me["Kind"], &me["Role"]),
        (&"cert".into(), &"admin".into())
    );
    assert!(
        me["Identity"].as_str().unwrap().starts_with("cert:"),
        "{me}"
    );
    let out = wharf(&wharfd, &["whoami"]);
    assert!(out.success(), "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "Identity: unix\nRole:     admin\nKind:     unix\n"
    );

    // How the daemon is reached, for a viewer too; no key or certificate path in it.
    let (status, body) = anon.get("/wharf/v1/daemon", Some(&viewer));
    let info = json((status, body.clone()));
    assert!(!body.contains(".pem") && !body.contains("key"), "{body}");
    let listeners = info["Listeners"].as_array().unwrap();
    let tcp = wharfd.tcp_host().unwrap();
    assert!(
        listeners.contains(&serde_json::json!({"Address": tcp, "Tls": true, "ClientCerts": true, "TokenRequired": true})),
        "{body}"
    );
    assert!(
        listeners.contains(&serde_json::json!({"Address": wharfd.unix_host(), "Tls": false, "ClientCerts": false, "TokenRequired": false})),
        "{body}"
    );
    assert_eq!(info["TokensRequired"], true);
    assert_eq!(info["AuditDropped"], 0);

    // Two state-changing requests by the operator, then the log read back, newest first.
    for name in ["first", "second"] {
        let (status, body) = anon.post(&format!("/v1.47/containers/{name}/stop"), Some(&operator));
        assert_eq!(status, 404, "{body}");
    }
    assert_eq!(
        anon.get("/wharf/v1/audit", Some(&viewer)),
        (
            403,
            r#"{"message":"role viewer may not GET /wharf/v1/audit"}"#.to_owned()
        )
    );
    assert_eq!(anon.get("/wharf/v1/audit", Some(&operator)).0, 403);
    let uri = "/wharf/v1/audit?identity=token:ops&status=4xx";
    wharf_tests::eventually(std::time::Duration::from_secs(10), "audit lines", || {
        json(anon.get(uri, Some(&admin))).as_array().unwrap().len() == 2
    });
    let records = json(anon.get(uri, Some(&admin)));
    let ids: Vec<&str> = records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["second", "first"], "{records}");
    assert_eq!(records[0]["path"], "/containers/second/stop");
    assert_eq!(records[0]["role"], "operator");
    assert_eq!(records[0]["status"], 404);
    let all = json(anon.get("/wharf/v1/audit?limit=1", Some(&admin)));
    assert_eq!(all.as_array().unwrap().len(), 1, "{all}");
    let created = json(anon.get("/wharf/v1/audit?identity=unix&method=post", Some(&admin)));
    assert_eq!(
        created.as_array().unwrap().len(),
        3,
        "three tokens made: {created}"
    );
    assert_eq!(
        anon.get("/wharf/v1/audit?status=4x", Some(&admin)).0,
        400,
        "a bad filter"
    );
    let out = wharf(&wharfd, &["audit", "--identity", "token:ops", "-n", "1"]);
    assert!(out.success(), "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    assert!(lines[0].starts_with("TIME "), "{}", out.stdout);
    assert!(
        lines[1].contains("token:ops") && lines[1].contains("/containers/second/stop"),
        "{}",
        out.stdout
    );
}
