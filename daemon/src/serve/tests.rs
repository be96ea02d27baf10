use super::*;
use rustls_pki_types::pem::PemObject;
use tokio::io::AsyncReadExt;

fn acceptor(name: &str) -> TlsAcceptor {
    let (_dir, files) = crate::tls::test_files(&format!("serve-{name}"));
    let config = crate::tls::server_config(crate::tls::TlsMode::Server, &files)
        .unwrap()
        .unwrap();
    TlsAcceptor::from(config)
}

fn ip(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, last])
}

fn pushed_out(p: &mut Pending) -> bool {
    matches!(
        p.cancelled.try_recv(),
        Err(oneshot::error::TryRecvError::Closed)
    )
}

#[test]
fn a_newcomer_over_its_address_bound_pushes_out_that_address_oldest() {
    let pool = Arc::new(Handshakes::new(10, 2));
    let mut a1 = pool.admit(ip(1));
    let mut b1 = pool.admit(ip(2));
    let mut a2 = pool.admit(ip(1));
    let mut a3 = pool.admit(ip(1));
    assert!(pushed_out(&mut a1), "the oldest from 127.0.0.1");
    assert!(!pushed_out(&mut b1), "another address keeps its place");
    assert!(!pushed_out(&mut a2));
    assert!(!pushed_out(&mut a3));
    assert_eq!(pool.len(), 3);
    // The pushed-out one leaving later does not free a place twice.
    drop(a1);
    let mut a4 = pool.admit(ip(1));
    assert!(pushed_out(&mut a2));
    assert!(!pushed_out(&mut a3) && !pushed_out(&mut a4));
    // An IPv4-mapped IPv6 peer counts as its IPv4 address.
    let _a5 = pool.admit("::ffff:127.0.0.1".parse().unwrap());
    assert!(pushed_out(&mut a3));
}

#[test]
fn a_full_pool_pushes_out_its_oldest_silent_handshake_first() {
    let pool = Arc::new(Handshakes::new(3, 3));
    let mut x = pool.admit(ip(1));
    let mut y = pool.admit(ip(2));
    let mut z = pool.admit(ip(3));
    x.started.store(true, Ordering::Relaxed);
    let mut w = pool.admit(ip(4));
    assert!(
        !pushed_out(&mut x),
        "a started handshake outlives silent ones"
    );
    assert!(pushed_out(&mut y), "the oldest silent one goes");
    y.started.store(true, Ordering::Relaxed);
    z.started.store(true, Ordering::Relaxed);
    w.started.store(true, Ordering::Relaxed);
    let mut v = pool.admit(ip(5));
    assert!(pushed_out(&mut x), "all started: the oldest goes");
    assert!(!pushed_out(&mut z) && !pushed_out(&mut w) && !pushed_out(&mut v));
}

#[test]
fn a_finished_handshake_frees_its_place() {
    let pool = Arc::new(Handshakes::new(2, 1));
    drop(pool.admit(ip(1)));
    let mut a = pool.admit(ip(1));
    let mut b = pool.admit(ip(2));
    assert!(!pushed_out(&mut a) && !pushed_out(&mut b));
    assert_eq!(pool.len(), 2);
    drop((a, b));
    assert_eq!(pool.len(), 0);
    assert!(pool.state().per_ip.is_empty());
}

#[tokio::test]
async fn a_pushed_out_handshake_stops_at_once() {
    let pool = Arc::new(Handshakes::new(1, 1));
    let first = pool.admit(ip(1));
    let waiting = tokio::spawn(first.run(std::future::pending::<Option<()>>()));
    let _second = pool.admit(ip(1));
    let ended = tokio::time::timeout(Duration::from_secs(5), waiting).await;
    assert_eq!(ended.unwrap().unwrap(), None);
    assert_eq!(pool.len(), 1);
}

/// Silent sockets beyond every bound (handshakes from one address, connection slots) do not keep a
/// TLS client out: the handshakes push them out, and a slot is only taken once a handshake is through.
#[tokio::test]
async fn a_peer_that_already_sent_bytes_is_seen_at_accept() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let _silent = TcpStream::connect(addr).await.unwrap();
    let (silent, _) = listener.accept().await.unwrap();
    assert!(!has_bytes(silent.as_raw_fd()));
    let mut speaking = TcpStream::connect(addr).await.unwrap();
    speaking.write_all(&[TLS_HANDSHAKE]).await.unwrap();
    let (spoke, _) = listener.accept().await.unwrap();
    // Loopback delivers the byte before accept returns once it is in the queue; poll briefly anyway.
    let seen = async {
        while !has_bytes(spoke.as_raw_fd()) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), seen)
        .await
        .unwrap();
    assert!(
        has_bytes(spoke.as_raw_fd()),
        "peeking leaves the byte for the handshake"
    );
}

/// The flood test's failure: a client's ClientHello had arrived, but its task had not run its peek yet when
/// enough newcomers came to make it the oldest "silent" handshake, and it was pushed out (a reset).
#[tokio::test]
async fn a_peer_that_spoke_after_admission_is_not_pushed_out_as_silent() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let pool = Arc::new(Handshakes::new(10, 2));
    let mut speaking = TcpStream::connect(addr).await.unwrap();
    let (first, _) = listener.accept().await.unwrap();
    let mut spoke = pool.admit_socket(ip(1), &first);
    assert!(!spoke.started.load(Ordering::Relaxed), "nothing sent yet");
    let _quiet = TcpStream::connect(addr).await.unwrap();
    let (second, _) = listener.accept().await.unwrap();
    let mut silent = pool.admit_socket(ip(1), &second);
    // The first peer speaks now; no task of its own ever looks.
    speaking.write_all(&[TLS_HANDSHAKE]).await.unwrap();
    let arrived = async {
        while !has_bytes(first.as_raw_fd()) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), arrived)
        .await
        .unwrap();
    let _third = TcpStream::connect(addr).await.unwrap();
    let (third, _) = listener.accept().await.unwrap();
    let _newcomer = pool.admit_socket(ip(1), &third);
    assert!(
        !pushed_out(&mut spoke),
        "the peer that spoke keeps its place"
    );
    assert!(pushed_out(&mut silent), "the silent one goes, though newer");
    assert!(spoke.started.load(Ordering::Relaxed));
}

#[tokio::test]
async fn silent_sockets_do_not_keep_a_tls_client_out() {
    let (_dir, files) = crate::tls::test_files("serve-flood");
    let config = crate::tls::server_config(crate::tls::TlsMode::Server, &files)
        .unwrap()
        .unwrap();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let listener = Listener::Tcp {
        listener: tcp,
        tls: Some(config),
        display: addr.to_string(),
    };
    let options = ServeOptions {
        max_connections: 2,
        max_handshakes: 8,
        max_handshakes_per_ip: 4,
        tls_handshake_timeout: Duration::from_secs(60),
        ..ServeOptions::default()
    };
    let app = crate::api::router(crate::state::AppState::for_tests());
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(serve(listener, app, rx, Duration::from_secs(2), options));
    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(TcpStream::connect(addr).await.unwrap());
    }
    let mut roots = rustls::RootCertStore::empty();
    let ca = std::fs::read(&files.ca).unwrap();
    for cert in rustls_pki_types::CertificateDer::pem_slice_iter(&ca) {
        roots.add(cert.unwrap()).unwrap();
    }
    let client = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let exchange = async {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
        let mut tls = connector.connect(name, tcp).await.unwrap();
        tls.write_all(b"GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        let _ = tls.read_to_end(&mut answer).await;
        String::from_utf8_lossy(&answer).into_owned()
    };
    let answer = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .expect("answered while silent sockets fill every bound");
    // Answered: with a 401, since this client brings neither a certificate nor a token.
    assert!(answer.starts_with("HTTP/1.1 401 "), "{answer}");
    tx.send(true).unwrap();
    drop(silent);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn plain_http_on_a_tls_port_gets_gos_answer() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = acceptor("plain");
    let server = tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        tls_accept(
            s,
            &acceptor,
            Duration::from_secs(5),
            &AtomicBool::new(false),
        )
        .await
        .is_some()
    });
    let mut client = TcpStream::connect(addr).await.unwrap();
    client
        .write_all(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    client.read_to_end(&mut answer).await.unwrap();
    assert_eq!(answer, PLAIN_HTTP_ON_TLS);
    assert!(!server.await.unwrap());
}

#[tokio::test]
async fn a_silent_client_is_dropped_at_the_handshake_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = acceptor("silent");
    let _client = TcpStream::connect(addr).await.unwrap();
    let (s, _) = listener.accept().await.unwrap();
    let started = std::time::Instant::now();
    assert!(tls_accept(
        s,
        &acceptor,
        Duration::from_millis(200),
        &AtomicBool::new(false)
    )
    .await
    .is_none());
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn serves_http_on_a_unix_socket_and_drains_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sock");
    let listener = Listener::Unix {
        listener: tokio::net::UnixListener::bind(&path).unwrap(),
        path: Some(path.clone()),
        display: path.display().to_string(),
    };
    let app = crate::api::router(crate::state::AppState::for_tests());
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(serve(
        listener,
        app,
        rx,
        Duration::from_secs(2),
        ServeOptions::default(),
    ));
    let mut client = tokio::net::UnixStream::connect(&path).await.unwrap();
    client
        .write_all(b"GET /v1.47/_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    client.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.contains("api-version: 1.47"), "{answer}");
    assert!(answer.ends_with("OK"));
    tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}

/// A rustls client trusting the test CA, presenting the test client certificate if `cert`.
fn tls_client(dir: &std::path::Path, cert: bool) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    let ca = std::fs::read(dir.join("ca.pem")).unwrap();
    for c in rustls_pki_types::CertificateDer::pem_slice_iter(&ca) {
        roots.add(c.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
    let config = if cert {
        let pem = std::fs::read(dir.join("cert.pem")).unwrap();
        let chain = rustls_pki_types::CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = rustls_pki_types::PrivateKeyDer::from_pem_file(dir.join("key.pem")).unwrap();
        builder.with_client_auth_cert(chain, key).unwrap()
    } else {
        builder.with_no_client_auth()
    };
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// Sends a keep-alive ping on a new connection; the connection and the answer's first bytes (empty if
/// the server closed it unanswered).
async fn ping(
    addr: std::net::SocketAddr,
    connector: &tokio_rustls::TlsConnector,
) -> (tokio_rustls::client::TlsStream<TcpStream>, String) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    let _ = tls
        .write_all(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let mut buf = vec![0u8; 64];
    let n = tls.read(&mut buf).await.unwrap_or(0);
    (tls, String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[tokio::test]
async fn clients_without_a_certificate_hold_at_most_half_the_slots() {
    let (dir, files) = crate::tls::test_files("serve-anon");
    let config = crate::tls::server_config(crate::tls::TlsMode::Mutual, &files)
        .unwrap()
        .unwrap();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let listener = Listener::Tcp {
        listener: tcp,
        tls: Some(config),
        display: addr.to_string(),
    };
    let options = ServeOptions {
        max_connections: 4,
        ..ServeOptions::default()
    };
    let app = crate::api::router(crate::state::AppState::for_tests());
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(serve(listener, app, rx, Duration::from_secs(2), options));
    let anonymous = tls_client(dir.path(), false);
    let with_cert = tls_client(dir.path(), true);
    let run = async {
        let (a1, answer) = ping(addr, &anonymous).await;
        assert!(answer.starts_with("HTTP/1.1 401 "), "{answer}");
        let (a2, answer) = ping(addr, &anonymous).await;
        assert!(answer.starts_with("HTTP/1.1 401 "), "{answer}");
        let (_a3, answer) = ping(addr, &anonymous).await;
        assert_eq!(
            answer, "",
            "a third anonymous connection is closed unanswered"
        );
        let (_c, answer) = ping(addr, &with_cert).await;
        assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
        drop((a1, a2));
    };
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .unwrap();
    tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}
