//! The stream workloads: what a terminal user waits for, each daemon on a fresh start of its own with
//! the busybox image. `docker logs` of a container that wrote `--stream-mib` MiB of 100-byte lines
//! (10485 to a MiB; json-file on both daemons: lines matter, since each is a log entry) and exited; an
//! exec writing as much to its attached stdout, the hijacked `POST /exec/{id}/start` stream read to its end; the round
//! trip of `docker exec c true` (create, start attached, read to the end, inspect the exit code); and
//! one keystroke echoed by `cat` over Wharf's WebSocket exec (wharfd only: dockerd has no such route).
//! Output is taken as the docker CLI takes it (chunked encoding and stdcopy frames undone, `wire.rs`)
//! and checked to the byte, so a daemon that loses output fails rather than looks fast. A workload that
//! fails on a daemon gets its error in its cell; the others go on.
//!
//! CPUs: with the `split` placement (`--cpus split` or `both`, two CPUs or more) each daemon starts on
//! one half of the CPUs as in the HTTP workloads, so its containerd, shims and containers inherit that
//! half, and the client runs on the other: the bytes are then produced, logged and served by the daemon
//! side alone, as for a client on another machine, and the client's own copying is not charged to
//! either daemon.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use rustls::pki_types::ServerName;
use serde_json::Value;
use tungstenite::client::IntoClientRequest;
use tungstenite::Message;
use wharf_tests::{Binaries, DevCerts, TempDir};

use super::api::Api;
use super::connect;
use super::containers::{Outcome, IMAGE};
use super::daemons::Kind;
use super::pin::CpuSplit;
use super::stats::{self, Latencies};
use super::wire::{self, Demux};
use super::{report, rootfs};

/// Bytes per line of output, its newline included.
const LINE_LEN: u64 = 100;

/// A line's text before its newline: 99 printable bytes that need no quoting in `sh -c`.
const LINE: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyzA";

/// Lines in a block of output: the whole ones in a MiB (the block is 1,048,500 bytes).
const BLOCK_LINES: u64 = 1024 * 1024 / LINE_LEN;

/// Where the writer keeps its block, in the container's own filesystem.
const BLOCK_PATH: &str = "/block";

/// How long a stream may stay silent before its read fails.
const STREAM_TIMEOUT: Duration = Duration::from_secs(120);

/// Untimed `exec true` round trips and keystrokes before the timed ones.
const WARMUP: usize = 5;

/// How much of each workload; 0 skips it.
#[derive(Debug, Clone, Copy)]
pub struct StreamConfig {
    /// MiB of output (blocks of 1,048,500 bytes) for the log and exec-output workloads (0 skips both).
    pub mib: u64,
    /// Timed reads of the log, and timed execs of the output, each (the median counts).
    pub rounds: usize,
    /// `exec true` round trips.
    pub exec_trips: usize,
    /// Keystrokes echoed over the WebSocket exec.
    pub keystrokes: usize,
}

impl StreamConfig {
    /// Bytes of output: `mib` blocks.
    pub fn bytes(&self) -> u64 {
        self.mib * BLOCK_LINES * LINE_LEN
    }

    /// The shell command writing the output: a block of lines made once (`yes | head`), then `cat`
    /// `mib` times. `yes | head` all the way costs about five times the CPU per byte, and on the
    /// daemon's CPUs that would be charged to the daemon's throughput.
    fn writer(&self) -> String {
        format!(
            "[ -f {BLOCK_PATH} ] || yes {LINE} | head -n {BLOCK_LINES} > {BLOCK_PATH}; i=0; while [ $i -lt {} ]; do cat {BLOCK_PATH}; i=$((i+1)); done",
            self.mib
        )
    }
}

/// What the stream workloads run with.
#[derive(Debug)]
pub struct StreamSetup<'a> {
    pub bins: &'a Binaries,
    pub certs: &'a DevCerts,
    /// The busybox rootfs tar.
    pub image: &'a [u8],
    pub config: StreamConfig,
    /// The CPUs to start the daemon on, and the client's (the calling thread is on them already).
    pub split: Option<&'a CpuSplit>,
}

/// The same output read `rounds` times.
#[derive(Debug)]
pub struct Throughput {
    /// Payload bytes per read.
    pub bytes: u64,
    /// Each read's time.
    pub times: Vec<Duration>,
}

impl Throughput {
    /// MiB/s of the median read.
    pub fn mib_per_s(&self) -> Option<f64> {
        let median = stats::median(&self.times)?;
        Some(self.bytes as f64 / (1024.0 * 1024.0) / median.as_secs_f64())
    }
}

/// What one daemon did; `None` for a workload skipped.
#[derive(Debug)]
pub struct StreamResults {
    pub logs: Option<Outcome<Throughput>>,
    pub exec_output: Option<Outcome<Throughput>>,
    pub exec_true: Option<Outcome<Latencies>>,
    /// Over the unix socket; `None` also for dockerd, which has no WebSocket exec.
    pub keystrokes: Option<Outcome<Latencies>>,
    /// The same over mutual TLS on 127.0.0.1.
    pub keystrokes_tls: Option<Outcome<Latencies>>,
}

/// The daemon's TLS listener and a client configuration for it.
type TlsTarget = (SocketAddr, Arc<rustls::ClientConfig>);

impl StreamResults {
    fn failed(kind: Kind, config: StreamConfig, why: &str) -> Self {
        fn failed<T>(count: u64, why: &str) -> Option<Outcome<T>> {
            (count > 0).then(|| Err(why.to_owned()))
        }
        Self {
            logs: failed(config.mib, why),
            exec_output: failed(config.mib, why),
            exec_true: failed(config.exec_trips as u64, why),
            keystrokes: failed(keystrokes_for(kind, config) as u64, why),
            keystrokes_tls: failed(keystrokes_for(kind, config) as u64, why),
        }
    }
}

/// Keystrokes to measure on `kind`: none on dockerd.
fn keystrokes_for(kind: Kind, config: StreamConfig) -> usize {
    match kind {
        Kind::Wharfd => config.keystrokes,
        Kind::Dockerd => 0,
    }
}

/// Starts `kind`, imports the image, drives every workload, stops it.
pub fn measure(kind: Kind, setup: &StreamSetup<'_>) -> StreamResults {
    let (name, config) = (kind.name(), setup.config);
    println!("xtask bench: starting {name} for the stream workloads");
    let started = match setup.split {
        Some(split) => split.on_daemon_cpus(|| kind.start(setup.bins, setup.certs)),
        None => kind.start(setup.bins, setup.certs),
    };
    let mut daemon = match started {
        Ok(daemon) => daemon,
        Err(err) => return StreamResults::failed(kind, config, &format!("starting: {err:#}")),
    };
    let socket = daemon.endpoints().socket().to_owned();
    let api = Api::new(&socket);
    let tls = daemon
        .endpoints()
        .tcp
        .context("the daemon has no TCP listener")
        .and_then(|addr| Ok((addr, connect::client_config(setup.certs)?)))
        .map_err(|err| format!("{err:#}"));
    let results = match api.import(setup.image, IMAGE.0, IMAGE.1) {
        Ok(()) => drive(kind, &api, &socket, tls, config),
        Err(err) => StreamResults::failed(kind, config, &format!("importing the image: {err:#}")),
    };
    if let Err(err) = daemon.stop() {
        println!("xtask bench: stopping {name}: {err:#}");
    }
    results
}

fn drive(
    kind: Kind,
    api: &Api,
    socket: &Path,
    tls: Result<TlsTarget, String>,
    config: StreamConfig,
) -> StreamResults {
    let name = kind.name();
    let logs = (config.mib > 0).then(|| {
        println!(
            "xtask bench: {name}: docker logs of {} MiB of output, {} reads",
            config.mib, config.rounds
        );
        logs(api, socket, config).map_err(|err| format!("{err:#}"))
    });
    let keystrokes = keystrokes_for(kind, config);
    let execs = config.mib > 0 || config.exec_trips > 0 || keystrokes > 0;
    let container = execs.then(|| {
        let config = container_config(&["sleep", "1000000"]);
        let id = api.create(&config)?;
        api.start(&id)?;
        Ok::<_, anyhow::Error>(id)
    });
    let mut results = StreamResults {
        logs,
        exec_output: None,
        exec_true: None,
        keystrokes: None,
        keystrokes_tls: None,
    };
    let id = match container {
        None => return results,
        Some(Ok(id)) => id,
        Some(Err(err)) => {
            let why = format!("starting the container to exec in: {err:#}");
            let StreamResults {
                exec_output,
                exec_true,
                keystrokes,
                keystrokes_tls,
                ..
            } = StreamResults::failed(kind, config, &why);
            return StreamResults {
                exec_output,
                exec_true,
                keystrokes,
                keystrokes_tls,
                ..results
            };
        }
    };
    results.exec_output = (config.mib > 0).then(|| {
        println!(
            "xtask bench: {name}: an exec writing {} MiB, attached, {} times",
            config.mib, config.rounds
        );
        exec_output(socket, &id, config).map_err(|err| format!("{err:#}"))
    });
    results.exec_true = (config.exec_trips > 0).then(|| {
        println!(
            "xtask bench: {name}: {} round trips of `exec true`",
            config.exec_trips
        );
        exec_true(socket, &id, config.exec_trips).map_err(|err| format!("{err:#}"))
    });
    results.keystrokes = (keystrokes > 0).then(|| {
        println!(
            "xtask bench: {name}: {keystrokes} keystrokes echoed by `cat` over the WebSocket exec"
        );
        echoes_unix(socket, &id, keystrokes).map_err(|err| format!("{err:#}"))
    });
    results.keystrokes_tls = (keystrokes > 0).then(|| {
        println!("xtask bench: {name}: the same over mutual TLS on 127.0.0.1");
        let (addr, client) = tls?;
        echoes_tls(socket, &id, addr, client, keystrokes).map_err(|err| format!("{err:#}"))
    });
    if let Err(err) = api.remove(&id, true) {
        println!("xtask bench: {name}: removing the exec container: {err:#}");
    }
    results
}

/// A container of the bench image running `cmd`, networked as the container workloads' are.
fn container_config(cmd: &[&str]) -> String {
    serde_json::json!({
        "Image": format!("{}:{}", IMAGE.0, IMAGE.1),
        "Cmd": cmd,
        "HostConfig": {"NetworkMode": "default"},
    })
    .to_string()
}

/// Runs the writer in a container to its end, then reads its log `rounds` times.
fn logs(api: &Api, socket: &Path, config: StreamConfig) -> Result<Throughput> {
    let id = api.create(&container_config(&["sh", "-c", &config.writer()]))?;
    let read = api.start(&id).and_then(|()| {
        let uri = format!("/v1.41/containers/{id}/wait");
        let mut response = wire::send(socket, "POST", &uri, None, false, STREAM_TIMEOUT)?;
        let mut answer = Vec::new();
        response.drain(|piece| {
            answer.extend_from_slice(piece);
            Ok(())
        })?;
        let answer: Value = serde_json::from_slice(&answer)
            .with_context(|| format!("POST {uri}: {}", String::from_utf8_lossy(&answer)))?;
        ensure!(
            answer["StatusCode"] == 0,
            "the writer exited with {}",
            answer["StatusCode"]
        );
        let uri = format!("/v1.41/containers/{id}/logs?stdout=1&stderr=1");
        let mut times = Vec::new();
        for _ in 0..config.rounds {
            let started = Instant::now();
            let mut response = wire::send(socket, "GET", &uri, None, false, STREAM_TIMEOUT)?;
            ensure!(response.status == 200, "GET {uri}: {}", response.status);
            let demux = demuxed(&mut response)?;
            times.push(started.elapsed());
            check_output(&demux, config.bytes())?;
        }
        Ok(Throughput {
            bytes: config.bytes(),
            times,
        })
    });
    if let Err(err) = api.remove(&id, true) {
        println!("xtask bench: removing the log container: {err:#}");
    }
    read
}

/// The stdcopy stream of `response` read to its end.
fn demuxed(response: &mut wire::Response) -> Result<Demux> {
    let mut demux = Demux::default();
    response.drain(|piece| demux.push(piece))?;
    demux.finish()?;
    Ok(demux)
}

/// Exactly `bytes` on stdout, nothing on stderr.
fn check_output(demux: &Demux, bytes: u64) -> Result<()> {
    ensure!(
        demux.stdout == bytes && demux.stderr == 0,
        "{} bytes on stdout and {} on stderr, where {bytes} were written to stdout",
        demux.stdout,
        demux.stderr
    );
    Ok(())
}

/// `POST /containers/{container}/exec` of `cmd` attached to stdout and stderr (and stdin when
/// `stdin`), as `docker exec` creates it: the exec's ID.
fn exec_create(socket: &Path, container: &str, cmd: &[&str], stdin: bool) -> Result<String> {
    let config = serde_json::json!({
        "AttachStdin": stdin, "AttachStdout": true, "AttachStderr": true, "Tty": false, "Cmd": cmd,
    });
    let answer = wire::json(
        socket,
        "POST",
        &format!("/v1.41/containers/{container}/exec"),
        Some(&config.to_string()),
    )?;
    answer["Id"]
        .as_str()
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .with_context(|| format!("no Id in {answer}"))
}

/// Starts exec `id` attached as the docker CLI does (asking for the connection) and reads its output to
/// the end.
fn exec_start(socket: &Path, id: &str) -> Result<Demux> {
    let uri = format!("/v1.41/exec/{id}/start");
    let body = r#"{"Detach":false,"Tty":false}"#;
    let mut response = wire::send(socket, "POST", &uri, Some(body), true, STREAM_TIMEOUT)?;
    ensure!(
        matches!(response.status, 101 | 200),
        "POST {uri}: {}",
        response.status
    );
    demuxed(&mut response)
}

/// `GET /exec/{id}/json` until the exec is no longer running: its exit code.
fn exec_exit_code(socket: &Path, id: &str) -> Result<i64> {
    let uri = format!("/v1.41/exec/{id}/json");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = wire::json(socket, "GET", &uri, None)?;
        if answer["Running"] == false {
            return answer["ExitCode"]
                .as_i64()
                .with_context(|| format!("GET {uri}: no ExitCode in {answer}"));
        }
        ensure!(Instant::now() < deadline, "GET {uri}: still running");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Execs of the writer, each timed from its start to the end of its output.
fn exec_output(socket: &Path, container: &str, config: StreamConfig) -> Result<Throughput> {
    let writer = config.writer();
    let mut times = Vec::new();
    for _ in 0..config.rounds {
        let id = exec_create(socket, container, &["sh", "-c", &writer], false)?;
        let started = Instant::now();
        let demux = exec_start(socket, &id)?;
        times.push(started.elapsed());
        check_output(&demux, config.bytes())?;
        let code = exec_exit_code(socket, &id)?;
        ensure!(code == 0, "the writer exited with {code}");
    }
    Ok(Throughput {
        bytes: config.bytes(),
        times,
    })
}

/// `docker exec c true`'s calls, each round trip timed whole.
fn exec_true(socket: &Path, container: &str, trips: usize) -> Result<Latencies> {
    let mut samples = Vec::new();
    for trip in 0..WARMUP + trips {
        let started = Instant::now();
        let id = exec_create(socket, container, &["true"], false)?;
        let demux = exec_start(socket, &id)?;
        let code = exec_exit_code(socket, &id)?;
        let elapsed = started.elapsed();
        check_output(&demux, 0)?;
        ensure!(code == 0, "`true` exited with {code}");
        if trip >= WARMUP {
            samples.push(elapsed);
        }
    }
    Ok(Latencies::new(samples))
}

/// [`echoes`] over the unix socket (admin, no ticket).
fn echoes_unix(socket: &Path, container: &str, keystrokes: usize) -> Result<Latencies> {
    let id = exec_create(socket, container, &["cat"], true)?;
    let stream = UnixStream::connect(socket)
        .with_context(|| format!("connecting to {}", socket.display()))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    echoes(stream, &id, keystrokes)
}

/// [`echoes`] over mutual TLS to `addr` (the development client certificate: admin, no ticket), as a
/// browser's terminal would come over TCP and TLS; the exec is created over the unix socket.
fn echoes_tls(
    socket: &Path,
    container: &str,
    addr: SocketAddr,
    client: Arc<rustls::ClientConfig>,
    keystrokes: usize,
) -> Result<Latencies> {
    let id = exec_create(socket, container, &["cat"], true)?;
    let tcp = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
    tcp.set_nodelay(true)?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    let name = ServerName::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST).into());
    let tls = rustls::ClientConnection::new(client, name)?;
    echoes(rustls::StreamOwned::new(tls, tcp), &id, keystrokes)
}

/// `cat` (exec `id`) over `GET /exec/{id}/start/ws` on `stream`: each keystroke a binary frame, timed
/// until its echo comes back on stdout.
fn echoes<S: Read + Write>(stream: S, id: &str, keystrokes: usize) -> Result<Latencies> {
    let request = format!("ws://docker/v1.41/exec/{id}/start/ws").into_client_request()?;
    let (mut ws, _) = tungstenite::client::client(request, stream)
        .map_err(|err| anyhow::anyhow!("the WebSocket handshake: {err}"))?;
    let mut samples = Vec::new();
    for stroke in 0..WARMUP + keystrokes {
        let key = b'a' + (stroke % 26) as u8;
        let started = Instant::now();
        ws.send(Message::binary(vec![key]))?;
        loop {
            match ws.read()? {
                // Without a TTY, each output frame's first byte is its stream: 1 stdout.
                Message::Binary(frame) if frame.as_ref() == [1, key] => break,
                Message::Binary(frame) => bail!("echoed {frame:?} for {key}"),
                Message::Text(text) => bail!("the server sent {text} before the echo"),
                Message::Close(frame) => bail!("closed before the echo: {frame:?}"),
                _ => {}
            }
        }
        if stroke >= WARMUP {
            samples.push(started.elapsed());
        }
    }
    // Closing kills `cat`; its exit code and the close are not waited for.
    let _ = ws.close(None);
    let _ = ws.flush();
    Ok(Latencies::new(samples))
}

/// Builds the busybox image and measures each daemon in turn, the client pinned to its half when
/// `split`; `None` (after saying why) when the image cannot be built.
pub fn run(
    kinds: &[Kind],
    bins: &Binaries,
    certs: &DevCerts,
    config: StreamConfig,
    split: Option<&CpuSplit>,
) -> Result<Option<Vec<StreamResults>>> {
    let image_dir = TempDir::new("ws")?;
    let image = match rootfs::busybox_tar(image_dir.path()) {
        Ok(image) => image,
        Err(err) => {
            println!("xtask bench: no stream workloads: {err:#}");
            return Ok(None);
        }
    };
    let setup = StreamSetup {
        bins,
        certs,
        image: &image,
        config,
        split,
    };
    if let Some(split) = split {
        split.pin_client()?;
    }
    let sides = kinds.iter().map(|&kind| measure(kind, &setup)).collect();
    if let Some(split) = split {
        split.unpin()?;
    }
    Ok(Some(sides))
}

/// Prints the stream table.
pub fn print(sides: &[StreamResults], config: StreamConfig, split: Option<&CpuSplit>) {
    let Some(wharfd) = sides.first() else {
        return;
    };
    let placement = split.map_or_else(
        || "daemon, containers and client sharing all CPUs".to_owned(),
        |split| format!("{} (its containers on the daemon's)", split.describe()),
    );
    report::print_streams(
        wharfd,
        sides.get(1),
        &format!(
            "streams: {} MiB of {LINE_LEN}-byte lines (median of {} reads), {} `exec true` round trips, {} keystrokes; {placement}; one fresh daemon each, driven one after the other, over unix (keystrokes also over mTLS)",
            config.mib, config.rounds, config.exec_trips, config.keystrokes
        ),
    );
}
