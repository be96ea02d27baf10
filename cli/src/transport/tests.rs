//! Transport tests against tiny in-process servers on temporary unix sockets and loopback ports.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener};
use tokio_rustls::TlsAcceptor;
use wharf_client_core::request::DUMMY_HOST;
use wharf_client_core::{Client, ClientConfig, DockerHost, RequestFactory};

use super::*;

/// A fresh directory, removed when dropped.
fn temp_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("wharf-cli-{name}-"))
        .tempdir()
        .unwrap()
}

fn get(path: &str) -> Request {
    RequestFactory::new(DUMMY_HOST, "")
        .unwrap()
        .build_unversioned(Method::GET, path)
}

/// Answers `/big` with 2 KiB, `/error` with a 500 and a body beyond the error limit, `/slow` never,
/// anything else with `OK` and ping headers.
async fn serve<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(stream: S) {
    let service = service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
        let path = req.uri().path().to_owned();
        let mut builder = hyper::Response::builder()
            .header("Api-Version", "1.41")
            .header("Ostype", "linux");
        let body = match path.as_str() {
            "/big" => Bytes::from(vec![b'x'; 2048]),
            "/error" => {
                builder = builder.status(500);
                Bytes::from(vec![b'e'; MAX_ERROR_BODY + 100])
            }
            "/slow" => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Bytes::new()
            }
            _ => Bytes::from_static(b"OK"),
        };
        Ok::<_, Infallible>(builder.body(Full::new(body)).unwrap())
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

fn spawn_unix(path: &PathBuf) -> Arc<AtomicUsize> {
    let listener = UnixListener::bind(path).unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(serve(stream));
        }
    });
    accepted
}

async fn spawn_tcp(tls: Option<TlsAcceptor>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            match &tls {
                None => {
                    tokio::spawn(serve(stream));
                }
                Some(acceptor) => {
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        if let Ok(tls) = acceptor.accept(stream).await {
                            serve(tls).await;
                        }
                    });
                }
            }
        }
    });
    port
}

fn unix_transport(path: &std::path::Path, options: TransportOptions) -> NativeTransport {
    let host = DockerHost::Unix {
        path: path.to_string_lossy().into_owned(),
    };
    NativeTransport::new(&host, None, options).unwrap()
}

fn tcp_host(port: u16) -> DockerHost {
    DockerHost::Tcp {
        host: "127.0.0.1".into(),
        port,
        base_path: String::new(),
    }
}

#[tokio::test]
async fn keep_alive_reuses_one_connection() {
    let dir = temp_dir("keepalive");
    let sock = dir.path().join("d.sock");
    let accepted = spawn_unix(&sock);
    let transport = unix_transport(&sock, TransportOptions::default());
    for _ in 0..3 {
        let r = transport.send(get("/_ping")).await.unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(&r.body[..], b"OK");
        assert_eq!(r.header("api-version"), Some("1.41"));
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_client_negotiates_down_over_the_transport() {
    let dir = temp_dir("negotiate");
    let sock = dir.path().join("d.sock");
    spawn_unix(&sock);
    let config = ClientConfig {
        host_header: DUMMY_HOST.into(),
        base_path: String::new(),
        pinned_version: None,
    };
    let client = Client::new(unix_transport(&sock, TransportOptions::default()), config).unwrap();
    assert_eq!(
        client.negotiate().await.unwrap(),
        wharf_client_core::ApiVersion::new(1, 41)
    );
}

#[tokio::test]
async fn nothing_listening_is_a_connect_error() {
    let dir = temp_dir("refused");
    let missing = unix_transport(&dir.path().join("none.sock"), TransportOptions::default());
    let err = missing.send(get("/_ping")).await.unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let refused = NativeTransport::new(&tcp_host(port), None, TransportOptions::default()).unwrap();
    let err = refused.send(get("/_ping")).await.unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");
}

#[tokio::test]
async fn bodies_are_bounded() {
    let dir = temp_dir("bounds");
    let sock = dir.path().join("d.sock");
    spawn_unix(&sock);
    let small = TransportOptions {
        max_body: 1024,
        ..TransportOptions::default()
    };
    let transport = unix_transport(&sock, small);
    let err = transport.send(get("/big")).await.unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Io);
    assert!(err.message.contains("larger than"), "{err}");
    let r = transport.send(get("/error")).await.unwrap();
    assert_eq!(r.status, 500);
    assert_eq!(r.body.len(), MAX_ERROR_BODY);
}

#[tokio::test]
async fn a_silent_daemon_times_out() {
    let dir = temp_dir("timeout");
    let sock = dir.path().join("d.sock");
    spawn_unix(&sock);
    let quick = TransportOptions {
        response_timeout: Duration::from_millis(200),
        ..TransportOptions::default()
    };
    let err = unix_transport(&sock, quick)
        .send(get("/slow"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Timeout, "{err}");
}

/// A CA, and certificates it signed for `localhost`/`127.0.0.1` (server) and a client, as PEM files.
struct Pki {
    ca: Certificate,
    ca_key: KeyPair,
    dir: tempfile::TempDir,
}

impl Pki {
    fn new(name: &str) -> Self {
        let ca_key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} CA"));
        let ca = params.self_signed(&ca_key).unwrap();
        let dir = temp_dir(&format!("pki-{name}"));
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        let pki = Self { ca, ca_key, dir };
        let (cert, key) = pki.issue(&["client"], ExtendedKeyUsagePurpose::ClientAuth);
        std::fs::write(pki.dir.path().join("cert.pem"), cert.pem()).unwrap();
        std::fs::write(pki.dir.path().join("key.pem"), key.serialize_pem()).unwrap();
        pki
    }

    fn issue(&self, names: &[&str], usage: ExtendedKeyUsagePurpose) -> (Certificate, KeyPair) {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .unwrap();
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        (cert, key)
    }

    fn settings(&self, verify: bool) -> TlsSettings {
        let p = |f: &str| self.dir.path().join(f).to_string_lossy().into_owned();
        TlsSettings {
            verify,
            ca: p("ca.pem"),
            cert: p("cert.pem"),
            key: p("key.pem"),
            explicit: false,
        }
    }

    /// A server presenting a certificate from this CA and requiring a client certificate from it.
    fn acceptor(&self) -> TlsAcceptor {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        roots.add(self.ca.der().clone()).unwrap();
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .unwrap();
        let (cert, key) = self.issue(
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let chain: Vec<CertificateDer<'static>> = vec![cert.der().clone()];
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .unwrap();
        TlsAcceptor::from(Arc::new(config))
    }
}

#[tokio::test]
async fn tls_with_client_certificates_round_trips() {
    let pki = Pki::new("good");
    let port = spawn_tcp(Some(pki.acceptor())).await;
    for verify in [true, false] {
        let settings = pki.settings(verify);
        let t = NativeTransport::new(
            &tcp_host(port),
            Some(&settings),
            TransportOptions::default(),
        )
        .unwrap();
        assert!(t.uses_tls());
        let r = t.send(get("/_ping")).await.unwrap();
        assert_eq!((r.status, &r.body[..]), (200, &b"OK"[..]));
    }
}

#[tokio::test]
async fn a_client_certificate_from_another_ca_is_a_tls_error() {
    let server = Pki::new("server-side");
    let other = Pki::new("other");
    let port = spawn_tcp(Some(server.acceptor())).await;
    // Trust the server, but present a client certificate it does not trust.
    let settings = TlsSettings {
        ca: server.settings(true).ca,
        ..other.settings(true)
    };
    let t = NativeTransport::new(
        &tcp_host(port),
        Some(&settings),
        TransportOptions::default(),
    )
    .unwrap();
    let err = t.send(get("/_ping")).await.unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Tls, "{err}");
}

#[tokio::test]
async fn an_unknown_server_ca_is_a_tls_error() {
    let server = Pki::new("unknown-server");
    let other = Pki::new("client-trusts");
    let port = spawn_tcp(Some(server.acceptor())).await;
    let t = NativeTransport::new(
        &tcp_host(port),
        Some(&other.settings(true)),
        TransportOptions::default(),
    )
    .unwrap();
    let err = t.send(get("/_ping")).await.unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Tls, "{err}");
    assert!(err.message.contains("certificate"), "{err}");
}

#[tokio::test]
async fn tls_to_a_plain_server_is_a_protocol_mismatch() {
    let pki = Pki::new("to-plain");
    let port = spawn_tcp(None).await;
    let t = NativeTransport::new(
        &tcp_host(port),
        Some(&pki.settings(false)),
        TransportOptions::default(),
    )
    .unwrap();
    let err = t.send(get("/_ping")).await.unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::ProtocolMismatch, "{err}");
}

#[tokio::test]
async fn plain_to_a_rustls_server_is_a_protocol_mismatch() {
    let pki = Pki::new("rustls-server");
    let port = spawn_tcp(Some(pki.acceptor())).await;
    let t = NativeTransport::new(&tcp_host(port), None, TransportOptions::default()).unwrap();
    let err = t.send(get("/_ping")).await.unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::ProtocolMismatch, "{err}");
}

#[tokio::test]
async fn plain_to_a_go_tls_server_is_a_protocol_mismatch() {
    // What Go's crypto/tls server answers a plain HTTP request with.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf).await;
            let _ = stream
                .write_all(
                    b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n",
                )
                .await;
        }
    });
    let t = NativeTransport::new(&tcp_host(port), None, TransportOptions::default()).unwrap();
    let err = t.send(get("/_ping")).await.unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::ProtocolMismatch, "{err}");
}

#[test]
fn fd_hosts_are_refused() {
    let err = NativeTransport::new(
        &DockerHost::Fd {
            spec: String::new(),
        },
        None,
        TransportOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Config);
}
