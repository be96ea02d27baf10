//! The browser console as a browser meets it: wharfd started with `--console-dir` on a directory made here,
//! fetched over its mutual-TLS listener with no client certificate and no token, by curl over HTTP/2 (what
//! browsers speak to it, since it offers `h2`) and HTTP/1.1. The files are public and carry their security
//! and caching headers; the API still needs a token; the console's own origin may POST over HTTP/2 and
//! another may not.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::path::{Path, PathBuf};

use wharf_tests::{Binaries, RunCommand, TempDir, Wharfd};

const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const INDEX: &[u8] = b"<!doctype html><script type=module src=/console/app.js></script>";
const WASM: &[u8] = b"\0asm\x01\0\0\0";
const WASM_GZ: &[u8] = b"\x1f\x8b pretend gzip";

/// A console build: index.html, a script, a module and its precompressed form.
fn console_dir(root: &Path) -> PathBuf {
    let dir = root.join("dist");
    std::fs::create_dir_all(dir.join("fonts")).unwrap();
    std::fs::write(dir.join("index.html"), INDEX).unwrap();
    std::fs::write(dir.join("app.js"), "import './x.js';").unwrap();
    std::fs::write(dir.join("app.wasm"), WASM).unwrap();
    std::fs::write(dir.join("app.wasm.gz"), WASM_GZ).unwrap();
    std::fs::write(dir.join("fonts/mono.woff2"), "wOF2").unwrap();
    dir
}

/// One answer as curl saw it.
#[derive(Debug)]
struct Answer {
    status: u16,
    /// `2` or `1.1`.
    version: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// curl against the daemon's TLS listener, trusting its CA, presenting no client certificate.
struct Browser {
    base: String,
    ca: PathBuf,
    scratch: TempDir,
    http2: bool,
}

impl Browser {
    fn new(wharfd: &Wharfd, http2: bool) -> Self {
        let tcp = wharfd.tcp_host().unwrap();
        Self {
            base: tcp.replacen("tcp://", "https://", 1),
            ca: wharfd.certs().unwrap().ca(),
            scratch: TempDir::new("console-curl").unwrap(),
            http2,
        }
    }

    fn origin(&self) -> &str {
        &self.base
    }

    /// `method path` (sent as is, no `..` folded) with `headers`.
    fn send(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
        let head_file = self.scratch.path().join("head");
        let body_file = self.scratch.path().join("body");
        // curl writes no file for an answer without a body: none must be left from the last one.
        let _ = std::fs::remove_file(&body_file);
        let mut cmd = RunCommand::new("curl")
            .args(["-sS", "--path-as-is", "--cacert"])
            .arg(&self.ca)
            .arg(if self.http2 { "--http2" } else { "--http1.1" })
            .arg("-D")
            .arg(&head_file)
            .arg("-o")
            .arg(&body_file)
            .args(["-w", "%{http_code} %{http_version}"]);
        cmd = if method == "HEAD" {
            cmd.arg("--head")
        } else {
            cmd.args(["-X", method])
        };
        for (k, v) in headers {
            cmd = cmd.arg("-H").arg(format!("{k}: {v}"));
        }
        let out = cmd.arg(format!("{}{path}", self.base)).run().unwrap();
        assert!(out.success(), "curl {method} {path}: {}", out.stderr);
        let (status, version) = out.stdout.trim().split_once(' ').unwrap();
        let head = std::fs::read_to_string(&head_file).unwrap();
        let headers = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let body = if method == "HEAD" {
            Vec::new()
        } else {
            std::fs::read(&body_file).unwrap_or_default()
        };
        Answer {
            status: status.parse().unwrap(),
            version: version.to_owned(),
            headers,
            body,
        }
    }

    fn get(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        self.send("GET", path, headers)
    }
}

fn token(wharfd: &Wharfd, role: &str) -> String {
    let out = RunCommand::new(Binaries::locate().unwrap().wharf().unwrap())
        .env("DOCKER_HOST", wharfd.unix_host())
        .args(["token", "create", "--name", role, "--role", role])
        .run()
        .unwrap();
    assert!(out.success(), "{}", out.stderr);
    out.stdout.trim().to_owned()
}

fn start(dir: &Path) -> Wharfd {
    Wharfd::builder()
        .tcp(true)
        .arg("--console-dir")
        .arg(dir)
        .start()
        .unwrap()
}

#[test]
fn the_console_is_public_over_tls_without_a_certificate_and_the_api_is_not() {
    let root = TempDir::new("console").unwrap();
    let wharfd = start(&console_dir(root.path()));
    for http2 in [true, false] {
        let b = Browser::new(&wharfd, http2);
        let want_version = if http2 { "2" } else { "1.1" };

        for path in ["/", "/index.html"] {
            let page = b.get(path, &[]);
            assert_eq!(page.status, 200, "{path}: {page:?}");
            assert_eq!(page.version, want_version);
            assert_eq!(page.body, INDEX);
            assert_eq!(
                page.header("content-type"),
                Some("text/html; charset=utf-8")
            );
            assert_eq!(page.header("content-security-policy"), Some(CSP));
            assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
            assert_eq!(page.header("x-frame-options"), Some("DENY"));
            assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
            assert_eq!(page.header("cache-control"), Some("no-cache"));
        }
        let js = b.get("/console/app.js", &[]);
        assert_eq!(
            js.header("content-type"),
            Some("text/javascript; charset=utf-8")
        );
        let font = b.get("/console/fonts/mono.woff2", &[]);
        assert_eq!(
            (font.status, font.header("content-type")),
            (200, Some("font/woff2"))
        );

        // The module, plain unless gzip is accepted (raw header: curl decodes nothing).
        let plain = b.get("/console/app.wasm", &[]);
        assert_eq!(plain.status, 200);
        assert_eq!(plain.header("content-type"), Some("application/wasm"));
        assert_eq!(plain.header("content-encoding"), None);
        assert_eq!(plain.header("vary"), Some("Accept-Encoding"));
        assert_eq!(plain.body, WASM);
        let gz = b.get(
            "/console/app.wasm",
            &[("accept-encoding", "gzip, deflate, br")],
        );
        assert_eq!(gz.header("content-encoding"), Some("gzip"));
        assert_eq!(gz.header("content-type"), Some("application/wasm"));
        assert_eq!(gz.body, WASM_GZ);
        let br_only = b.get("/console/app.wasm", &[("accept-encoding", "br")]);
        assert_eq!(br_only.body, WASM);

        // Revalidation: the ETag gets a 304 with no body; a stale one the file.
        let etag = plain.header("etag").unwrap().to_owned();
        assert!(etag.starts_with('"'), "a strong validator: {etag}");
        let same = b.get("/console/app.wasm", &[("if-none-match", &etag)]);
        assert_eq!((same.status, same.body.len()), (304, 0));
        assert_eq!(same.header("etag"), Some(etag.as_str()));
        let stale = b.get("/console/app.wasm", &[("if-none-match", "\"stale\"")]);
        assert_eq!(stale.status, 200);
        assert_ne!(gz.header("etag"), Some(etag.as_str()));

        let head = b.send("HEAD", "/console/app.wasm", &[]);
        assert_eq!(head.status, 200);
        assert_eq!(head.header("content-length"), Some("8"));
        assert_eq!(head.header("content-type"), Some("application/wasm"));

        for path in [
            "/console/../index.html",
            "/console/%2e%2e/index.html",
            "/console/%2E%2E/%2E%2E/etc/passwd",
            "/console/..%2f..%2fetc%2fpasswd",
            "/console/..%5cindex.html",
            "/console//etc/passwd",
            "/console/fonts/../app.js",
            "/console/%2fetc%2fpasswd",
        ] {
            let r = b.get(path, &[]);
            assert_eq!(r.status, 404, "{path}: {r:?}");
            assert_eq!(r.body, br#"{"message":"page not found"}"#, "{path}");
        }
        for method in ["POST", "PUT", "DELETE"] {
            let r = b.send(method, "/", &[]);
            assert_eq!(r.status, 405, "{method}");
            assert_eq!(r.header("allow"), Some("GET, HEAD"));
        }

        // The API, on the same listener, still wants a token: the ping, a list, the version-prefixed root.
        for path in [
            "/_ping",
            "/v1.47/containers/json",
            "/v1.47/",
            "/v1.47/index.html",
        ] {
            assert_eq!(b.get(path, &[]).status, 401, "{path}");
        }
    }
    let viewer = token(&wharfd, "viewer");
    let b = Browser::new(&wharfd, true);
    let bearer = format!("Bearer {viewer}");
    let listed = b.get("/v1.47/containers/json", &[("authorization", &bearer)]);
    assert_eq!((listed.status, listed.body.as_slice()), (200, &b"[]"[..]));
}

#[test]
fn the_consoles_own_origin_may_post_over_http2_and_another_may_not() {
    let root = TempDir::new("console-origin").unwrap();
    let wharfd = start(&console_dir(root.path()));
    let viewer = token(&wharfd, "viewer");
    let bearer = format!("Bearer {viewer}");
    for http2 in [true, false] {
        let b = Browser::new(&wharfd, http2);
        let own = b.origin().to_owned();
        // A ticket is what the console POSTs before opening an exec WebSocket.
        let ticket = b.send(
            "POST",
            "/wharf/v1/ws-ticket",
            &[("authorization", &bearer), ("origin", &own)],
        );
        assert_eq!(ticket.version, if http2 { "2" } else { "1.1" });
        assert_eq!(ticket.status, 201, "http2={http2}: {ticket:?}");
        let foreign = b.send(
            "POST",
            "/wharf/v1/ws-ticket",
            &[
                ("authorization", &bearer),
                ("origin", "https://evil.example"),
            ],
        );
        assert_eq!(foreign.status, 403, "http2={http2}");
        let body = String::from_utf8(foreign.body).unwrap();
        assert!(
            body.contains("origin https://evil.example may not"),
            "{body}"
        );
        let other_port = b.send(
            "POST",
            "/wharf/v1/ws-ticket",
            &[
                ("authorization", &bearer),
                ("origin", "https://127.0.0.1:1"),
            ],
        );
        assert_eq!(other_port.status, 403, "http2={http2}");
    }
}

#[test]
fn a_console_dir_without_index_stops_the_start_up_and_off_gives_the_paths_back() {
    let root = TempDir::new("console-bad").unwrap();
    let empty = root.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let failed = Wharfd::builder()
        .arg("--console-dir")
        .arg(&empty)
        .start_expect_failure()
        .unwrap();
    assert!(!failed.status.success());
    assert!(
        failed.stderr.contains("no index.html at its root"),
        "{}",
        failed.stderr
    );

    let dir = console_dir(root.path());
    let off = Wharfd::builder()
        .arg("--console=false")
        .arg("--console-dir")
        .arg(&dir)
        .start()
        .unwrap();
    let r = wharf_tests::http::get(off.socket(), "/").unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(r.body_text(), r#"{"message":"page not found"}"#);
    assert_eq!(r.header("content-security-policy"), None);
}
