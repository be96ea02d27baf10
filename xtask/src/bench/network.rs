//! The network workloads, on the bridge network of each daemon (one fresh start each, driven one after
//! the other):
//!
//! - TCP throughput through a published port from the host's loopback: the bench connects to
//!   `127.0.0.1:<published port>`, writes [`BYTES`], half-closes and waits for the end of the
//!   connection. In the container busybox `nc -ll -e` hands each connection to `dd` reading whole
//!   blocks of [`BLOCK`] bytes, which logs its count (stderr): exactly `BYTES / BLOCK` whole blocks and
//!   no partial one is exactly `BYTES`. The connection ends only once `dd` has read everything, so the
//!   figure is of bytes that reached the container. (`wc -c` would count bytes directly, but busybox's
//!   reads a byte at a time and caps near 380 MB/s, below what is measured.)
//!   wharfd's path is the kernel's (portmap's DNAT, SNAT for loopback); dockerd's, for 127.0.0.1,
//!   is its userland proxy (`docker-proxy`), which is why the issue sets a target on it.
//! - The start of a container on the bridge network: `POST /containers/{id}/start` of `true` with
//!   `NetworkMode: bridge` (the network namespace, the veth pair and the bridge's address), timed alone,
//!   the create before it and the wait and remove after it untimed.
//!
//! dockerd must run here with its default networking (the bench's other dockerd has `--bridge=none
//! --iptables=false`): a later `--bridge= --iptables=true` (empty: the default docker0, which `--bip` requires) overrides the fixture's flags. It gets
//! its own subnet ([`DOCKER_BIP`]); what it leaves behind (docker0, its iptables chains and the rules
//! that jump to them, a changed FORWARD policy) is removed after it stops, so that nothing is left for
//! the tests that run on this host. wharfd removes its own bridge and rules.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use wharf_tests::{docker, Binaries, DevCerts, RefDockerd, RunCommand, TempDir};

use super::api::Api;
use super::daemons::{Daemon, Kind};
use super::report::{fmt_ms, fmt_ratio, Target};
use super::{rootfs, stats};

/// Bytes sent per throughput round (several seconds through either daemon on the 2-core VM).
const BYTES: u64 = 10_000_000_000;
/// The sink's block size: [`BYTES`] and the warm-up's bytes are multiples of it.
const BLOCK: u64 = 1_000_000;
/// Throughput rounds; the median is reported.
const ROUNDS: usize = 5;
/// Timed starts; the median is reported.
const STARTS: usize = 30;
/// The port the sink listens on in its container.
const SINK_PORT: u16 = 5000;
/// The image both daemons import.
const IMAGE: &str = "wharf-bench-net:1";
/// wharfd's MB/s against dockerd's.
const THROUGHPUT_TARGET: Target = Target::AtLeast(1.5);
/// wharfd's start time against dockerd's.
const START_TARGET: Target = Target::AtMost(0.7);
/// The reference dockerd's bridge address, away from wharfd's test subnets (10.64.0.0/10) and the
/// usual 172.17.0.0/16.
const DOCKER_BIP: &str = "172.31.250.1/24";
/// The container timed in the start workload.
const STARTED: &str =
    r#"{"Image":"wharf-bench-net:1","Cmd":["true"],"HostConfig":{"NetworkMode":"bridge"}}"#;
/// I/O timeout of the throughput client.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// What one daemon did.
#[derive(Debug, Default)]
pub struct NetworkResults {
    /// Median MB/s.
    pub throughput: Option<f64>,
    /// Median `POST /containers/{id}/start`.
    pub start: Option<Duration>,
    pub errors: Vec<String>,
}

/// Measures each daemon.
pub fn run(kinds: &[Kind], bins: &Binaries, certs: &DevCerts) -> Result<Vec<NetworkResults>> {
    let image_dir = TempDir::new("bni")?;
    let image = rootfs::busybox_tar(image_dir.path())?;
    let mut sides = Vec::new();
    for &kind in kinds {
        let mut results = NetworkResults::default();
        let leftovers = (kind == Kind::Dockerd).then(HostNetwork::snapshot);
        match start(kind, bins, certs) {
            Ok(mut daemon) => {
                if let Err(e) = measure(kind, &daemon, &image, &mut results) {
                    results.errors.push(format!("{e:#}"));
                }
                if let Err(e) = daemon.stop() {
                    results.errors.push(format!("stopping: {e:#}"));
                }
            }
            Err(e) => results.errors.push(format!("starting: {e:#}")),
        }
        if let Some(before) = leftovers {
            if let Err(e) = before.and_then(|b| b.remove_dockerd_leftovers()) {
                results.errors.push(format!("cleaning up: {e:#}"));
            }
        }
        sides.push(results);
    }
    Ok(sides)
}

/// wharfd as everywhere else (its bridge is its default); dockerd with its bridge and iptables.
fn start(kind: Kind, bins: &Binaries, certs: &DevCerts) -> Result<Daemon> {
    match kind {
        Kind::Wharfd => kind.start(bins, certs),
        Kind::Dockerd => Ok(Daemon::Dockerd(
            RefDockerd::builder()
                .tls(certs.clone())
                .args([
                    "--bridge=",
                    "--iptables=true",
                    &format!("--bip={DOCKER_BIP}"),
                ])
                .start()?,
        )),
    }
}

fn ok(env: &[(String, String)], args: &[&str]) -> Result<String> {
    let out = docker(env, args)?;
    if !out.success() {
        bail!("docker {args:?}: {}", out.stderr.trim());
    }
    Ok(out.stdout)
}

fn measure(kind: Kind, daemon: &Daemon, image: &[u8], out: &mut NetworkResults) -> Result<()> {
    let name = kind.name();
    let api = Api::new(daemon.endpoints().socket());
    let (repo, tag) = IMAGE.split_once(':').context("image name")?;
    api.import(image, repo, tag)?;
    println!("xtask bench: {name}: {STARTS} starts of `true` on the bridge network");
    out.start = Some(starts(&api)?);
    println!(
        "xtask bench: {name}: {ROUNDS} × {BYTES} bytes through a published port from 127.0.0.1"
    );
    let env = daemon.endpoints().docker_env_unix();
    let port = free_port()?;
    let publish = format!("{port}:{SINK_PORT}");
    let listen = SINK_PORT.to_string();
    let block = format!("bs={BLOCK}");
    ok(
        &env,
        &[
            "run",
            "-d",
            "--name",
            "sink",
            "-p",
            &publish,
            IMAGE,
            "/bin/busybox",
            "nc",
            "-ll",
            "-p",
            &listen,
            "-e",
            "/bin/busybox",
            "dd",
            "of=/dev/null",
            &block,
            "iflag=fullblock",
        ],
    )?;
    let measured = throughput(&env, port);
    let _ = ok(&env, &["rm", "-f", "sink"]);
    out.throughput = Some(measured?);
    Ok(())
}

/// The median start time of [`STARTS`] containers.
fn starts(api: &Api) -> Result<Duration> {
    let mut times = Vec::new();
    for _ in 0..STARTS {
        let id = api.create(STARTED)?;
        let began = Instant::now();
        let started = api.start(&id);
        let took = began.elapsed();
        let ran = started.and_then(|()| api.wait(&id)).and_then(|code| {
            anyhow::ensure!(code == 0, "`true` exited with {code}");
            Ok(())
        });
        let removed = api.remove(&id, ran.is_err());
        ran?;
        removed?;
        times.push(took);
    }
    stats::median(&times).context("no starts")
}

/// A port nothing listens on now.
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// Waits for the sink (a small round until one is counted), then the timed rounds: the median MB/s.
fn throughput(env: &[(String, String)], port: u16) -> Result<f64> {
    let mut counted = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        // Through docker-proxy a connection is accepted before the container listens; only a count
        // in the logs says the sink took it.
        let _ = send(port, BLOCK);
        let counts = logged_counts(env)?;
        if counts.len() > counted {
            anyhow::ensure!(
                counts.last() == Some(&BLOCK),
                "the sink counted {counts:?} of {BLOCK} bytes"
            );
            counted = counts.len();
            break;
        }
        if Instant::now() > deadline {
            bail!("the sink never counted a connection");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut times = Vec::new();
    for _ in 0..ROUNDS {
        let took = send(port, BYTES)?;
        let counts = logged_counts(env)?;
        anyhow::ensure!(
            counts.len() == counted + 1 && counts.last() == Some(&BYTES),
            "the sink counted {:?} of {BYTES} bytes",
            counts.get(counted..)
        );
        counted = counts.len();
        times.push(took);
    }
    let median = stats::median(&times).context("no rounds")?;
    Ok(BYTES as f64 / 1e6 / median.as_secs_f64())
}

/// Connects, writes `bytes`, half-closes, reads to the end: the time from connect to the end.
fn send(port: u16, bytes: u64) -> Result<Duration> {
    let buf = vec![0u8; 1 << 20];
    let began = Instant::now();
    let mut stream = TcpStream::connect(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    let mut left = bytes;
    while left > 0 {
        let n = usize::try_from(left).map_or(buf.len(), |l| l.min(buf.len()));
        stream.write_all(&buf[..n])?;
        left -= n as u64;
    }
    stream.shutdown(std::net::Shutdown::Write)?;
    let mut rest = [0u8; 64];
    while stream.read(&mut rest)? > 0 {}
    Ok(began.elapsed())
}

/// The sink's counts so far, one per connection, from its logs: `dd`'s `F+P records in` (on stderr)
/// is `F` whole blocks and `P` partial ones. A partial block is read as a count no round sent.
fn logged_counts(env: &[(String, String)]) -> Result<Vec<u64>> {
    let out = docker(env, &["logs", "sink"])?;
    if !out.success() {
        bail!("docker logs sink: {}", out.stderr.trim());
    }
    out.stderr
        .lines()
        .chain(out.stdout.lines())
        .filter_map(|l| l.trim().strip_suffix(" records in"))
        .map(|records| {
            let (whole, partial) = records.split_once('+').context("dd's records")?;
            let (whole, partial): (u64, u64) = (whole.parse()?, partial.parse()?);
            Ok(whole * BLOCK + partial)
        })
        .collect()
}

/// What the host's network had before dockerd started: whether docker0 existed and the FORWARD policy.
struct HostNetwork {
    had_docker0: bool,
    forward_policy: Option<String>,
}

/// The iptables chains dockerd 20.10 creates, per table.
const DOCKER_CHAINS: &[(&str, &[&str])] = &[
    (
        "filter",
        &[
            "DOCKER",
            "DOCKER-USER",
            "DOCKER-ISOLATION-STAGE-1",
            "DOCKER-ISOLATION-STAGE-2",
        ],
    ),
    ("nat", &["DOCKER"]),
];

/// The built-in chains where dockerd adds rules.
const BUILT_IN: &[(&str, &[&str])] = &[
    ("filter", &["FORWARD"]),
    ("nat", &["PREROUTING", "OUTPUT", "POSTROUTING"]),
];

fn iptables(args: &[&str]) -> Result<String> {
    let out = RunCommand::new("iptables").args(args).run()?;
    if !out.success() {
        bail!("iptables {args:?}: {}", out.stderr.trim());
    }
    Ok(out.stdout)
}

impl HostNetwork {
    fn snapshot() -> Result<Self> {
        let forward = iptables(&["-S", "FORWARD"])?;
        Ok(Self {
            had_docker0: std::path::Path::new("/sys/class/net/docker0").exists(),
            forward_policy: forward
                .lines()
                .find_map(|l| l.strip_prefix("-P FORWARD "))
                .map(|p| p.trim().to_owned()),
        })
    }

    /// Deletes the rules that mention docker0, dockerd's subnet or its chains, then the chains, then
    /// docker0 if dockerd made it; restores the FORWARD policy.
    fn remove_dockerd_leftovers(self) -> Result<()> {
        let subnet = DOCKER_BIP
            .rsplit_once('.')
            .map_or(DOCKER_BIP, |(net, _)| net);
        for (table, chains) in BUILT_IN {
            for chain in *chains {
                for rule in iptables(&["-t", table, "-S", chain])?.lines() {
                    let Some(spec) = rule.strip_prefix(&format!("-A {chain} ")) else {
                        continue;
                    };
                    if spec.contains("DOCKER") || spec.contains("docker0") || spec.contains(subnet)
                    {
                        let mut args = vec!["-t", table, "-D", chain];
                        args.extend(spec.split_whitespace());
                        iptables(&args)?;
                    }
                }
            }
        }
        for (table, chains) in DOCKER_CHAINS {
            for chain in *chains {
                if iptables(&["-t", table, "-S", chain]).is_ok() {
                    iptables(&["-t", table, "-F", chain])?;
                    iptables(&["-t", table, "-X", chain])?;
                }
            }
        }
        if let Some(policy) = &self.forward_policy {
            iptables(&["-P", "FORWARD", policy])?;
        }
        if !self.had_docker0 && std::path::Path::new("/sys/class/net/docker0").exists() {
            let out = RunCommand::new("ip")
                .args(["link", "del", "docker0"])
                .run()?;
            if !out.success() {
                bail!("ip link del docker0: {}", out.stderr.trim());
            }
        }
        Ok(())
    }
}

/// Prints the table.
pub fn print(sides: &[NetworkResults]) {
    let Some(wharfd) = sides.first() else {
        return;
    };
    let dockerd = sides.get(1);
    println!(
        "\nnetwork: each daemon on its bridge network (dockerd with iptables and docker-proxy), one fresh daemon each"
    );
    println!(
        "{:<56} {:>12} {:>12} {:>8} {:<14}",
        "workload", "wharfd", "dockerd", "ratio", "target"
    );
    let (w, d) = (wharfd.throughput, dockerd.and_then(|d| d.throughput));
    let ratio = match (w, d) {
        (Some(w), Some(d)) if d > 0.0 => Some(w / d),
        _ => None,
    };
    let mb = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.0} MB/s"));
    println!(
        "{:<56} {:>12} {:>12} {:>8} {:<14}",
        format!(
            "TCP from 127.0.0.1 to a published port, {} GB, median of {ROUNDS}",
            BYTES / 1_000_000_000
        ),
        mb(w),
        mb(d),
        fmt_ratio(ratio),
        THROUGHPUT_TARGET.verdict(ratio)
    );
    let (w, d) = (wharfd.start, dockerd.and_then(|d| d.start));
    let ratio = match (w, d) {
        (Some(w), Some(d)) if !d.is_zero() => Some(w.as_secs_f64() / d.as_secs_f64()),
        _ => None,
    };
    let ms = |v: Option<Duration>| v.map_or("n/a".into(), fmt_ms);
    println!(
        "{:<56} {:>12} {:>12} {:>8} {:<14}",
        format!("POST /containers/{{id}}/start of `true` on the bridge, median of {STARTS}"),
        ms(w),
        ms(d),
        fmt_ratio(ratio),
        START_TARGET.verdict(ratio)
    );
    for (name, side) in ["wharfd", "dockerd"].iter().zip(sides) {
        for e in &side.errors {
            println!("  {name}: {e}");
        }
    }
}
