//! Real registries for the registry client's tests: Debian's `docker-registry` (distribution 2.8) on
//! a free port, with filesystem storage in a temporary directory, TLS from a CA made here and htpasswd
//! basic auth (bcrypt, made by `htpasswd -B`), or plain HTTP; and a fault proxy in front of one that
//! answers 500 or cuts answers short, to see retries and resumed downloads.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub(super) const USER: &str = "user";
pub(super) const PASSWORD: &str = "pass";

const REGISTRY: &str = "/usr/bin/docker-registry";

/// Whether `docker-registry` and `htpasswd` are here; prints why not (or panics under CI).
pub(super) fn can_run(test: &str) -> bool {
    let missing = [REGISTRY, "/usr/bin/htpasswd"]
        .into_iter()
        .find(|p| !Path::new(p).exists());
    match missing {
        None => true,
        Some(p) if std::env::var_os("CI").is_some() => panic!("{test}: {p} is not installed"),
        Some(p) => {
            eprintln!("skipping {test}: {p} is not installed (apt-get install docker-registry apache2-utils)");
            false
        }
    }
}

/// This host's address other hosts would see (not loopback, so not insecure by default), if any.
pub(super) fn outward_ip() -> Option<IpAddr> {
    ["192.0.2.1:9", "10.255.255.1:9", "8.8.8.8:9"]
        .into_iter()
        .find_map(|target| {
            let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
            s.connect(target).ok()?;
            let ip = s.local_addr().ok()?.ip();
            (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
        })
}

fn free_port(ip: IpAddr) -> u16 {
    std::net::TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `docker-registry`, stopped and removed on drop.
pub(super) struct Registry {
    child: Child,
    pub dir: tempfile::TempDir,
    pub addr: SocketAddr,
    /// The CA that signed its certificate (TLS registries).
    pub ca_pem: Option<String>,
}

impl Registry {
    /// A registry on `ip`, with TLS and basic auth when `secure`, else plain HTTP without auth.
    pub(super) fn start(ip: IpAddr, secure: bool) -> Self {
        Self::start_with(ip, |root| {
            if !secure {
                return (String::new(), None);
            }
            crate::certs::generate(&crate::certs::CertRequest {
                dir: root.join("tls"),
                names: Vec::new(),
                ips: vec![ip],
                force: false,
            })
            .unwrap();
            let ca_pem = Some(std::fs::read_to_string(root.join("tls/ca.pem")).unwrap());
            let out = Command::new("htpasswd")
                .args(["-Bbn", USER, PASSWORD])
                .output()
                .unwrap();
            assert!(out.status.success());
            std::fs::write(root.join("htpasswd"), out.stdout).unwrap();
            let extra = format!(
                "  tls:\n    certificate: {0}/tls/server-cert.pem\n    key: {0}/tls/server-key.pem\nauth:\n  htpasswd:\n    realm: basic-realm\n    path: {0}/htpasswd\n",
                root.display()
            );
            (extra, ca_pem)
        })
    }

    /// A registry on `ip` whose configuration ends with what `extra` writes (given its directory),
    /// with the CA that signed its certificate, if any.
    pub(super) fn start_with(
        ip: IpAddr,
        extra: impl FnOnce(&Path) -> (String, Option<String>),
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let root = root.as_path();
        let port = free_port(ip);
        let addr = SocketAddr::new(ip, port);
        let (extra, ca_pem) = extra(root);
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}/data\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n{extra}",
            root.display()
        );
        std::fs::write(root.join("config.yml"), config).unwrap();
        let log = std::fs::File::create(root.join("registry.log")).unwrap();
        let child = Command::new(REGISTRY)
            .arg("serve")
            .arg(root.join("config.yml"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let registry = Self {
            child,
            dir,
            addr,
            ca_pem,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "docker-registry did not listen on {addr}: {}",
                std::fs::read_to_string(root.join("registry.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        registry
    }

    /// `host:port`, as references and `certs.d` name it.
    pub(super) fn host(&self) -> String {
        self.addr.to_string()
    }

    /// A `certs.d` directory holding this registry's CA (or nothing, when `trust` is false).
    pub(super) fn certs_dir(&self, trust: bool) -> PathBuf {
        let dir = self
            .dir
            .path()
            .join(if trust { "certs.d" } else { "empty.d" });
        let host_dir = dir.join(self.host());
        std::fs::create_dir_all(&host_dir).unwrap();
        if let (true, Some(ca)) = (trust, &self.ca_pem) {
            std::fs::write(host_dir.join("ca.crt"), ca).unwrap();
        }
        dir
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the fault proxy does with a request whose request line contains its pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fault {
    /// Answers `500 Internal Server Error` this many times, then passes.
    Fail(u32),
    /// Answers 500 every time.
    AlwaysFail,
    /// Passes the request, but cuts the first answer after this many bytes.
    CutOnce(usize),
}

/// A plain-HTTP proxy in front of a registry: one request per connection (it asks the registry to
/// close after answering), TLS attempts refused, faults injected on requests matching a pattern.
pub(super) struct FaultProxy {
    pub addr: SocketAddr,
    /// Faults injected so far.
    pub injected: Arc<AtomicU32>,
    /// Every request line seen, with its `Range` header if any.
    pub seen: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    pub(super) async fn start(upstream: SocketAddr, pattern: &'static str, fault: Fault) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let injected = Arc::new(AtomicU32::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (inj, log) = (injected.clone(), seen.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (inj, log) = (inj.clone(), log.clone());
                tokio::spawn(async move {
                    let _ = serve(client, upstream, pattern, fault, inj, log).await;
                });
            }
        });
        Self {
            addr,
            injected,
            seen,
            task,
        }
    }
}

async fn serve(
    mut client: TcpStream,
    upstream: SocketAddr,
    pattern: &str,
    fault: Fault,
    injected: Arc<AtomicU32>,
    seen: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    let end = loop {
        let n = client.read(&mut buf).await?;
        if n == 0 || (head.is_empty() && buf[0] == 0x16) {
            return Ok(()); // closed, or a TLS handshake: refused
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let text = String::from_utf8_lossy(&head[..end]).to_string();
    let line = text.lines().next().unwrap_or_default().to_owned();
    let range = text
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("range:"))
        .map(|l| format!(" [{}]", l.trim()))
        .unwrap_or_default();
    seen.lock().unwrap().push(format!("{line}{range}"));
    let matches = line.contains(pattern);
    let count = injected.load(Ordering::SeqCst);
    let fail = matches
        && match fault {
            Fault::Fail(n) => count < n,
            Fault::AlwaysFail => true,
            Fault::CutOnce(_) => false,
        };
    if fail {
        injected.fetch_add(1, Ordering::SeqCst);
        client
            .write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .await?;
        return client.shutdown().await;
    }
    let mut up = TcpStream::connect(upstream).await?;
    // One request per connection, so that every request is seen here.
    let first_line_end = text.find("\r\n").unwrap_or(0) + 2;
    let mut forwarded = head[..first_line_end].to_vec();
    forwarded.extend_from_slice(b"Connection: close\r\n");
    forwarded.extend_from_slice(&head[first_line_end..]);
    up.write_all(&forwarded).await?;
    let cut = match fault {
        Fault::CutOnce(n) if matches && count == 0 => {
            injected.fetch_add(1, Ordering::SeqCst);
            Some(n)
        }
        _ => None,
    };
    match cut {
        None => {
            tokio::io::copy_bidirectional(&mut client, &mut up).await?;
        }
        Some(limit) => {
            let mut sent = 0;
            while sent < limit {
                let n = up.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                let n = n.min(limit - sent);
                client.write_all(&buf[..n]).await?;
                sent += n;
            }
            // Dropping both ends breaks the answer mid-body.
        }
    }
    Ok(())
}
