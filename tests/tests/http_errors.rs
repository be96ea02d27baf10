//! The daemon's answers to bad requests, bad clients and unsafe listeners, checked on the wire: raw HTTP
//! over the unix socket, raw TCP to the TLS port, rustls clients with the wrong certificates, and
//! start-up refusals.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use wharf_cli::{NativeTransport, TransportOptions};
use wharf_client_core::host::{Side, TlsSettings};
use wharf_client_core::{DockerHost, Query, RequestFactory, TransportErrorKind};
use wharf_tests::http::request;
use wharf_tests::{Binaries, RawResponse, RunCommand, Wharfd};

fn json_message(r: &RawResponse) -> String {
    assert_eq!(r.header("content-type"), Some("application/json"), "{r:?}");
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    v["message"].as_str().unwrap().to_owned()
}

fn assert_docker_headers(r: &RawResponse) {
    assert_eq!(r.header("api-version"), Some("1.47"), "{r:?}");
    assert_eq!(r.header("ostype"), Some("linux"), "{r:?}");
    assert_eq!(r.header("docker-experimental"), Some("false"), "{r:?}");
    assert!(
        r.header("server").is_some_and(|s| s.starts_with("Wharf/")),
        "{r:?}"
    );
}

#[test]
fn api_versions_out_of_range_are_400_in_dockerd_words() {
    let wharfd = Wharfd::start().unwrap();
    let r = request(wharfd.socket(), "GET", "/v1.10/version", &[], None).unwrap();
    assert_eq!(r.status, 400);
    assert_docker_headers(&r);
    assert_eq!(
        json_message(&r),
        "client version 1.10 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"
    );
    let r = request(wharfd.socket(), "GET", "/v1.48/info", &[], None).unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(
        json_message(&r),
        "client version 1.48 is too new. Maximum supported API version is 1.47"
    );
    for ok in ["/v1.24/version", "/v1.47/version", "/version"] {
        assert_eq!(
            request(wharfd.socket(), "GET", ok, &[], None)
                .unwrap()
                .status,
            200,
            "{ok}"
        );
    }
}

#[test]
fn unknown_routes_and_methods_are_page_not_found() {
    let wharfd = Wharfd::start().unwrap();
    for (method, path) in [
        ("GET", "/nope"),
        ("GET", "/v1.47/containers/nope/nope"),
        ("DELETE", "/_ping"),
        ("PUT", "/v1.41/info"),
    ] {
        let r = request(wharfd.socket(), method, path, &[], None).unwrap();
        assert_eq!(r.status, 404, "{method} {path}");
        assert_eq!(json_message(&r), "page not found");
        assert_docker_headers(&r);
    }
}

#[test]
fn a_path_escaping_invalid_utf8_is_looked_up_as_dockerd_looks_it_up() {
    let wharfd = Wharfd::start().unwrap();
    for (uri, message) in [
        ("/v1.41/containers/%ff/json", "No such container: \u{fffd}"),
        (
            "/v1.41/containers/a%ff%fe/json",
            "No such container: a\u{fffd}\u{fffd}",
        ),
    ] {
        let r = request(wharfd.socket(), "GET", uri, &[], None).unwrap();
        assert_eq!(r.status, 404, "{uri}: {r:?}");
        assert_eq!(json_message(&r), message, "{uri}");
    }
}

#[test]
fn json_bodies_are_checked_for_type_syntax_and_size() {
    let wharfd = Wharfd::start().unwrap();
    let json = [("Content-Type", "application/json")];
    let r = request(
        wharfd.socket(),
        "POST",
        "/v1.47/auth",
        &json,
        Some(b"{\"username\": "),
    )
    .unwrap();
    assert_eq!(r.status, 400);
    assert!(json_message(&r).starts_with("invalid JSON"), "{r:?}");

    let r = request(
        wharfd.socket(),
        "POST",
        "/v1.47/auth",
        &[("Content-Type", "text/plain")],
        Some(b"{}"),
    )
    .unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(
        json_message(&r),
        "Content-Type specified (text/plain) must be 'application/json'"
    );

    // Declared too large: refused before the body is read.
    let big = format!("{{\"username\":\"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let head = format!(
        "POST /v1.47/auth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        big.len()
    );
    let r = send_while_writing(wharfd.socket(), head.into_bytes(), big.clone().into_bytes());
    assert_eq!(r.status, 413);
    assert!(json_message(&r).contains("request body too large"), "{r:?}");
    // Chunked, so no length is declared: refused once the limit is crossed.
    let head = "POST /v1.47/auth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    let mut chunked = Vec::new();
    for chunk in big.as_bytes().chunks(64 * 1024) {
        chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend_from_slice(chunk);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let r = send_while_writing(wharfd.socket(), head.as_bytes().to_vec(), chunked);
    assert_eq!(r.status, 413);
    assert_eq!(
        wharfd.endpoints().ping().unwrap().status,
        200,
        "still serving"
    );

    // A well-formed login goes to its registry; one that is not there is dockerd's 500 and wording.
    let r = request(
        wharfd.socket(),
        "POST",
        "/v1.47/auth",
        &json,
        Some(b"{\"username\":\"u\",\"password\":\"p\",\"serveraddress\":\"127.0.0.1:1\"}"),
    )
    .unwrap();
    assert_eq!(r.status, 500, "{r:?}");
    assert!(json_message(&r).contains("connection refused"), "{r:?}");
}

/// Writes `head` then `body` from another thread (the daemon may answer and close before the body is all
/// sent, which is the point) and reads the answer.
fn send_while_writing(socket: &std::path::Path, head: Vec<u8>, body: Vec<u8>) -> RawResponse {
    let mut stream = std::os::unix::net::UnixStream::connect(socket).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let _ = writer
            .write_all(&head)
            .and_then(|()| writer.write_all(&body));
    });
    let response = wharf_tests::http::read_response(&mut stream, false).unwrap();
    drop(stream);
    sender.join().unwrap();
    response
}

#[test]
fn ping_answers_with_dockerd_headers_to_get_and_head() {
    let wharfd = Wharfd::start().unwrap();
    for method in ["GET", "HEAD"] {
        let r = request(wharfd.socket(), method, "/_ping", &[], None).unwrap();
        assert_eq!(r.status, 200);
        assert_docker_headers(&r);
        assert_eq!(
            r.header("cache-control"),
            Some("no-cache, no-store, must-revalidate")
        );
        assert_eq!(r.header("pragma"), Some("no-cache"));
        assert_eq!(r.header("swarm"), Some("inactive"));
        assert_eq!(
            r.body,
            if method == "GET" {
                b"OK".to_vec()
            } else {
                Vec::new()
            }
        );
    }
}

/// What hyper answers itself, before any handler (a request it cannot parse, headers or a URI over its
/// limits), has a JSON body like every other error, with the text dockerd's Go server sends.
#[test]
fn requests_hyper_cannot_parse_get_a_json_message() {
    let wharfd = Wharfd::start().unwrap();
    let big = format!(
        "GET /_ping HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(1024 * 1024)
    );
    let long = format!(
        "GET /_ping?{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(70_000)
    );
    for (what, bytes, status, message) in [
        (
            "garbage",
            b"\x00\x01garbage\r\n\r\n".to_vec(),
            400,
            "400 Bad Request",
        ),
        (
            "a raw invalid UTF-8 byte in the path",
            b"GET /v1.41/containers/\xff/json HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            400,
            "400 Bad Request",
        ),
        (
            "a header name with a space",
            b"GET /_ping HTTP/1.1\r\nHost: x\r\nBad Header: v\r\n\r\n".to_vec(),
            400,
            "400 Bad Request",
        ),
        (
            "headers too large",
            big.into_bytes(),
            431,
            "431 Request Header Fields Too Large",
        ),
        ("a URI too long", long.into_bytes(), 414, "414 URI Too Long"),
    ] {
        let r = send_while_writing(wharfd.socket(), bytes, Vec::new());
        assert_eq!(r.status, status, "{what}: {r:?}");
        assert_eq!(json_message(&r), message, "{what}");
    }
    assert_eq!(
        wharfd.endpoints().ping().unwrap().status,
        200,
        "still serving"
    );
}

#[test]
fn plain_http_to_the_tls_port_gets_go_s_400() {
    let wharfd = Wharfd::start_with_tls().unwrap();
    let addr = wharfd.endpoints().tcp.unwrap();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.0 400 Bad Request\r\n"),
        "{answer:?}"
    );
    assert!(
        answer.ends_with("\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"),
        "{answer:?}"
    );
}

fn tls_ping(host: &str, settings: TlsSettings) -> Result<u16, TransportErrorKind> {
    let host = DockerHost::parse(host, true, Side::Client).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let transport = NativeTransport::new(&host, Some(&settings), TransportOptions::default())
            .map_err(|e| e.kind)?;
        let factory = RequestFactory::new(&host.host_header(), "").unwrap();
        let request = factory.build(http::Method::GET, "/_ping", &Query::new());
        use wharf_client_core::Transport;
        transport
            .send(request)
            .await
            .map(|r| r.status)
            .map_err(|e| e.kind)
    })
}

#[test]
fn mutual_tls_refuses_clients_without_a_certificate_or_token_or_with_one_from_another_ca() {
    let wharfd = Wharfd::start_with_tls().unwrap();
    let host = wharfd.tcp_host().unwrap();
    let certs = wharfd.certs().unwrap();
    let path = |p: std::path::PathBuf| p.display().to_string();
    let good = TlsSettings {
        verify: true,
        ca: path(certs.ca()),
        cert: path(certs.client_cert()),
        key: path(certs.client_key()),
        explicit: true,
    };
    assert_eq!(
        tls_ping(&host, good.clone()),
        Ok(200),
        "the right certificate gets in"
    );

    let missing = wharfd.dir().join("absent.pem").display().to_string();
    let no_cert = TlsSettings {
        cert: missing.clone(),
        key: missing,
        explicit: false,
        ..good.clone()
    };
    assert_eq!(
        tls_ping(&host, no_cert),
        Ok(401),
        "no client certificate: the handshake is admitted (for token clients), the request is not"
    );

    let other = wharfd.dir().join("other-ca");
    let made = RunCommand::new(Binaries::locate().unwrap().wharfd().unwrap())
        .args(["certs", "--dir"])
        .arg(&other)
        .run()
        .unwrap();
    assert!(made.success(), "{}", made.stderr);
    let foreign = TlsSettings {
        cert: path(other.join("cert.pem")),
        key: path(other.join("key.pem")),
        ..good.clone()
    };
    assert_eq!(
        tls_ping(&host, foreign),
        Err(TransportErrorKind::Tls),
        "a certificate from another CA"
    );
    assert_eq!(
        tls_ping(&host, good),
        Ok(200),
        "the daemon still serves after refusing"
    );
}

#[test]
fn a_plain_tcp_listener_is_refused_unless_loopback_and_asked_for_by_name() {
    // Not loopback: refused at start-up, naming the address.
    let failed = Wharfd::builder()
        .args(["-H", "tcp://0.0.0.0:23755", "--tls=false"])
        .start_expect_failure()
        .unwrap();
    assert!(!failed.status.success());
    assert!(failed.stderr.contains("0.0.0.0:23755"), "{}", failed.stderr);

    // Loopback, but TLS not switched off by name: TLS is required, and without certificates it cannot start.
    let missing = "/nonexistent/wharf-e2e";
    let failed = Wharfd::builder()
        .args(["-H", "tcp://127.0.0.1:23756"])
        .env("DOCKER_CERT_PATH", missing)
        .env("HOME", missing)
        .start_expect_failure()
        .unwrap();
    assert!(!failed.status.success());
    assert!(
        failed.stderr.contains(missing),
        "names the missing certificate file: {}",
        failed.stderr
    );

    // Loopback with --tls=false: it serves, and says loudly that it is unsafe.
    let wharfd = Wharfd::builder().plain_tcp().start().unwrap();
    let port = wharfd.endpoints().tcp.unwrap().port();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(
        wharfd.logs().contains("WARN"),
        "a loud warning: {}",
        wharfd.logs()
    );
}
