//! The load generator: N keep-alive connections, each looping request → full response for a warm-up
//! and then a measured window; every loop ends at its deadline, every request has a timeout.
//!
//! HTTP/1.1 is spoken by hand, wrk-style, so that the client spends as little of the shared CPU as
//! possible: one task per connection owns the stream, writes a request encoded once up front, and
//! frames exactly one response out of a reused receive buffer (status line, `Content-Length` or
//! `Transfer-Encoding: chunked`, `Connection: close`), keeping any bytes past it for the next one.
//! Headers are scanned by hand rather than with `httparse`: only three of them matter, the daemons are
//! trusted, and it keeps xtask's dependencies unchanged. The hot loop allocates nothing.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use anyhow::Result;
use tokio::time::Sleep;

use super::connect::{Conn, Transport};
use super::cpu::{CpuReading, CpuUse};
use super::stats::Latencies;

/// How hard and how long to drive a daemon.
#[derive(Debug, Clone, Copy)]
pub struct LoadConfig {
    /// Concurrent connections.
    pub connections: usize,
    /// Unmeasured time first.
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
    /// Never let the load generator's thread sleep while it waits for responses: a task that only
    /// yields keeps its runtime polling for I/O instead of blocking in `epoll_wait`. Only for a load
    /// generator with a CPU of its own (the `split` placement). A sleeping client must be woken by
    /// every response it waits for, and over loopback that wake-up (an inter-processor interrupt,
    /// a VM exit on a virtual machine) is charged to the daemon that sent it: a cost a daemon serving
    /// a client on another machine never pays, and one that varies with the host.
    pub busy_poll: bool,
}

/// What one workload achieved in the measured window.
#[derive(Debug, Clone)]
pub struct LoadResult {
    /// Completed 200 responses.
    pub ok: u64,
    /// Failed connects, non-200 answers and timeouts.
    pub errors: u64,
    /// The measured window.
    pub window: Duration,
    /// Latencies of the successful requests.
    pub latencies: Latencies,
    /// CPU the daemon and the load generator used in the window, when the daemon's pid was given.
    pub cpu: Option<CpuUse>,
}

impl LoadResult {
    /// Successful requests per second.
    pub fn rps(&self) -> f64 {
        self.ok as f64 / self.window.as_secs_f64()
    }

    /// The daemon's CPU time per successful request.
    pub fn daemon_cpu_per_request(&self) -> Option<Duration> {
        let cpu = self.cpu?;
        let ok = u32::try_from(self.ok).ok().filter(|&n| n > 0)?;
        Some(cpu.daemon / ok)
    }

    /// The share of one core the load generator used (1.0 = a whole core).
    pub fn client_cores(&self) -> Option<f64> {
        Some(self.cpu?.client.as_secs_f64() / self.window.as_secs_f64())
    }
}

const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Drives `GET path` over `transport` with `config`; with `daemon_pid`, also reads the CPU time the daemon
/// and this process used in the measured window.
pub async fn drive(
    transport: &Transport,
    path: &str,
    config: LoadConfig,
    daemon_pid: Option<u32>,
) -> Result<LoadResult> {
    let measure_from = Instant::now() + config.warmup;
    let end = measure_from + config.duration;
    let cpu = daemon_pid.map(|pid| {
        tokio::spawn(async move {
            tokio::time::sleep_until(measure_from.into()).await;
            let first = CpuReading::now(pid)?;
            tokio::time::sleep_until(end.into()).await;
            Ok::<_, anyhow::Error>(first.until(CpuReading::now(pid)?))
        })
    });
    if config.busy_poll {
        tokio::spawn(async move {
            while Instant::now() < end {
                tokio::task::yield_now().await;
            }
        });
    }
    let transport = Arc::new(transport.clone());
    let request: Arc<[u8]> = format!("GET {path} HTTP/1.1\r\nHost: docker\r\n\r\n")
        .into_bytes()
        .into();
    let workers: Vec<_> = (0..config.connections)
        .map(|_| {
            let transport = Arc::clone(&transport);
            let request = Arc::clone(&request);
            tokio::spawn(async move { worker(&transport, &request, measure_from, end).await })
        })
        .collect();
    let mut samples = Vec::new();
    let mut errors = 0;
    for handle in workers {
        let (mut worker_samples, worker_errors) = handle.await?;
        samples.append(&mut worker_samples);
        errors += worker_errors;
    }
    let cpu = match cpu {
        Some(sampler) => Some(sampler.await??),
        None => None,
    };
    Ok(LoadResult {
        ok: samples.len() as u64,
        errors,
        window: config.duration,
        latencies: Latencies::new(samples),
        cpu,
    })
}

/// One connection's loop: (latencies of the measured 200s, measured errors).
async fn worker(
    transport: &Transport,
    request: &[u8],
    measure_from: Instant,
    end: Instant,
) -> (Vec<Duration>, u64) {
    let mut samples = Vec::new();
    let mut errors = 0;
    let mut conn: Option<Conn> = None;
    let mut buf = RecvBuf::new();
    let mut now = Instant::now();
    // One timer for the whole loop, re-armed only when it fires (see `within`).
    let mut timer = pin!(tokio::time::sleep_until((now + REQUEST_TIMEOUT).into()));
    while now < end {
        let started = now;
        let measured = started >= measure_from;
        let deadline = started + REQUEST_TIMEOUT;
        let current = match conn.as_mut() {
            Some(current) => current,
            None => match within(timer.as_mut(), deadline, transport.connect()).await {
                Some(Ok(fresh)) => {
                    buf.clear();
                    conn.insert(fresh)
                }
                _ => {
                    errors += u64::from(measured);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    now = Instant::now();
                    continue;
                }
            },
        };
        let outcome = within(
            timer.as_mut(),
            deadline,
            exchange(current, request, &mut buf),
        )
        .await;
        now = Instant::now();
        match outcome {
            Some(Ok(response)) => {
                if response.status == 200 {
                    if measured {
                        samples.push(now - started);
                    }
                } else {
                    errors += u64::from(measured);
                }
                if response.close {
                    conn = None;
                }
            }
            _ => {
                errors += u64::from(measured);
                conn = None;
            }
        }
    }
    (samples, errors)
}

/// `fut`'s output, or `None` once `deadline` has passed. `timer` is shared by all the requests of a
/// connection and always set at or before the current deadline (deadlines only grow): when it fires
/// early it is re-armed at the current one. So a request costs no timer registration of its own, only
/// about one per `REQUEST_TIMEOUT` per connection, where `tokio::time::timeout` would insert into and
/// remove from the timer wheel on every request.
async fn within<F: Future>(
    mut timer: Pin<&mut Sleep>,
    deadline: Instant,
    fut: F,
) -> Option<F::Output> {
    let mut fut = pin!(fut);
    poll_fn(move |cx| {
        if let Poll::Ready(out) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        while timer.as_mut().poll(cx).is_ready() {
            if Instant::now() >= deadline {
                return Poll::Ready(None);
            }
            timer.as_mut().reset(deadline.into());
        }
        Poll::Pending
    })
    .await
}

/// Sends `request` and reads its response to the end.
async fn exchange(conn: &mut Conn, request: &[u8], buf: &mut RecvBuf) -> io::Result<Framed> {
    conn.send(request).await?;
    read_response(conn, buf).await
}

/// Reads one whole response from `buf`, then from `conn`; leaves what follows it in `buf`.
async fn read_response(conn: &mut Conn, buf: &mut RecvBuf) -> io::Result<Framed> {
    loop {
        if let Some(framed) = frame(buf.pending())? {
            buf.consume(framed.len);
            return Ok(framed);
        }
        let n = conn.recv(buf.spare()?).await?;
        if n == 0 {
            return Err(invalid_eof());
        }
        buf.filled(n);
    }
}

fn invalid_eof() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "connection closed mid-response",
    )
}

fn invalid(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

/// The largest response accepted (the receive buffer grows to it at most).
const MAX_RESPONSE: usize = 1 << 20;

/// Received bytes not yet framed: `data[start..end]`. Reused for the life of the worker.
struct RecvBuf {
    data: Vec<u8>,
    start: usize,
    end: usize,
}

impl RecvBuf {
    fn new() -> Self {
        Self {
            data: vec![0; 16 * 1024],
            start: 0,
            end: 0,
        }
    }

    fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    fn pending(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.end {
            self.clear();
        }
    }

    /// Room to read into: compacts, or grows up to `MAX_RESPONSE`, when the end is reached.
    fn spare(&mut self) -> io::Result<&mut [u8]> {
        if self.end == self.data.len() {
            if self.start > 0 {
                self.data.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else if self.data.len() < MAX_RESPONSE {
                self.data.resize(self.data.len() * 2, 0);
            } else {
                return Err(invalid("response too large"));
            }
        }
        Ok(&mut self.data[self.end..])
    }

    fn filled(&mut self, n: usize) {
        self.end += n;
    }
}

/// A complete response at the front of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Framed {
    /// Its status code.
    status: u16,
    /// Its length, head and body.
    len: usize,
    /// The server will close the connection after it.
    close: bool,
}

/// Frames the response at the front of `buf`: `None` while incomplete, an error if malformed.
fn frame(buf: &[u8]) -> io::Result<Option<Framed>> {
    let Some(head_len) = find(buf, b"\r\n\r\n").map(|at| at + 4) else {
        return Ok(None);
    };
    let head = &buf[..head_len - 2];
    // "HTTP/1.x 200 OK\r\n"
    let status_end = find(head, b"\r\n").ok_or_else(|| invalid("no status line"))?;
    let status_line = &head[..status_end];
    let code = match status_line {
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', _, b' ', a, b, c, ..]
            if [a, b, c].iter().all(|d| d.is_ascii_digit()) =>
        {
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
        }
        _ => return Err(invalid("bad status line")),
    };
    let mut content_length = None;
    let mut chunked = false;
    let mut close = status_line.starts_with(b"HTTP/1.0");
    for line in head[status_end + 2..].split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if name.eq_ignore_ascii_case(b"content-length") {
            content_length = Some(parse_decimal(value)?);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            chunked = value
                .rsplit(|&b| b == b',')
                .next()
                .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case(b"connection") {
            close = value.eq_ignore_ascii_case(b"close");
        }
    }
    let len = if chunked {
        match chunked_end(buf, head_len)? {
            Some(len) => len,
            None => return Ok(None),
        }
    } else if (100..200).contains(&code) || code == 204 || code == 304 {
        head_len
    } else {
        let body = content_length.ok_or_else(|| invalid("response without a length"))?;
        let len = head_len
            .checked_add(body)
            .filter(|&len| len <= MAX_RESPONSE)
            .ok_or_else(|| invalid("response too large"))?;
        if buf.len() < len {
            return Ok(None);
        }
        len
    };
    Ok(Some(Framed {
        status: code,
        len,
        close,
    }))
}

/// The end of a chunked body that starts at `pos`, `None` while incomplete.
fn chunked_end(buf: &[u8], mut pos: usize) -> io::Result<Option<usize>> {
    loop {
        // "<hex size>[;extensions]\r\n"
        let Some(line_len) = find(&buf[pos..], b"\r\n") else {
            return Ok(None);
        };
        let line = &buf[pos..pos + line_len];
        let size_end = line.iter().position(|&b| b == b';').unwrap_or(line.len());
        let size = parse_hex(line[..size_end].trim_ascii())?;
        pos += line_len + 2;
        if size == 0 {
            // Trailer fields, then an empty line.
            loop {
                let Some(line_len) = find(&buf[pos..], b"\r\n") else {
                    return Ok(None);
                };
                pos += line_len + 2;
                if line_len == 0 {
                    return Ok(Some(pos));
                }
            }
        }
        let data_end = pos
            .checked_add(size)
            .filter(|&end| end <= MAX_RESPONSE)
            .ok_or_else(|| invalid("chunk too large"))?;
        if buf.len() < data_end + 2 {
            return Ok(None);
        }
        if &buf[data_end..data_end + 2] != b"\r\n" {
            return Err(invalid("chunk not followed by CRLF"));
        }
        pos = data_end + 2;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn parse_decimal(digits: &[u8]) -> io::Result<usize> {
    parse_radix(digits, 10)
}

fn parse_hex(digits: &[u8]) -> io::Result<usize> {
    parse_radix(digits, 16)
}

fn parse_radix(digits: &[u8], radix: u32) -> io::Result<usize> {
    if digits.is_empty() {
        return Err(invalid("empty number"));
    }
    digits.iter().try_fold(0usize, |acc, &d| {
        let digit = char::from(d)
            .to_digit(radix)
            .ok_or_else(|| invalid("bad digit"))?;
        acc.checked_mul(radix as usize)
            .and_then(|acc| acc.checked_add(digit as usize))
            .ok_or_else(|| invalid("number too large"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::cpu::this_thread_cpu_time;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{UnixListener, UnixStream};
    use wharf_tests::{RefDockerd, TempDir};

    const LENGTH: &[u8] =
        b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nOK";
    const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n3;ext=1\r\n 1}\r\n0\r\nX-Trailer: y\r\n\r\n";

    fn framed(status: u16, len: usize) -> Framed {
        Framed {
            status,
            len,
            close: false,
        }
    }

    /// Every proper prefix of `response` is incomplete, the whole is one response.
    fn frames_only_whole(response: &[u8], status: u16) {
        for cut in 0..response.len() {
            assert_eq!(frame(&response[..cut]).unwrap(), None, "cut at {cut}");
        }
        assert_eq!(
            frame(response).unwrap(),
            Some(framed(status, response.len()))
        );
    }

    #[test]
    fn frames_content_length_and_chunked_responses() {
        frames_only_whole(LENGTH, 200);
        frames_only_whole(CHUNKED, 200);
        frames_only_whole(b"HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n", 204);
        frames_only_whole(
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 5\r\n\r\nnope\n",
            404,
        );
        let close = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
        assert!(frame(close).unwrap().unwrap().close);
    }

    #[test]
    fn rejects_malformed_responses() {
        for bad in [
            &b"HTTP/2 200 OK\r\n\r\n"[..],
            b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        ] {
            assert!(frame(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    /// A `Conn` whose other end writes `parts` with pauses in between (so that they arrive in separate
    /// reads), then closes.
    async fn served(parts: Vec<Vec<u8>>) -> Conn {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        tokio::spawn(async move {
            for part in parts {
                theirs.write_all(&part).await.unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        Conn::Unix(ours)
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn reads_a_chunked_response_split_across_reads() {
        runtime().block_on(async {
            let split = CHUNKED.len() - 20;
            let mut conn = served(vec![
                CHUNKED[..40].to_vec(),
                CHUNKED[40..split].to_vec(),
                CHUNKED[split..].to_vec(),
            ])
            .await;
            let mut buf = RecvBuf::new();
            let response = read_response(&mut conn, &mut buf).await.unwrap();
            assert_eq!(response, framed(200, CHUNKED.len()));
            assert!(buf.pending().is_empty());
        });
    }

    #[test]
    fn keeps_a_pipelined_response_for_the_next_read() {
        runtime().block_on(async {
            let mut both = CHUNKED.to_vec();
            both.extend_from_slice(LENGTH);
            let mut conn = served(vec![both]).await;
            let mut buf = RecvBuf::new();
            let first = read_response(&mut conn, &mut buf).await.unwrap();
            assert_eq!(first, framed(200, CHUNKED.len()));
            assert_eq!(buf.pending(), LENGTH);
            let second = read_response(&mut conn, &mut buf).await.unwrap();
            assert_eq!(second, framed(200, LENGTH.len()));
            assert!(buf.pending().is_empty());
        });
    }

    #[test]
    fn a_truncated_response_is_an_error() {
        runtime().block_on(async {
            for truncated in [&LENGTH[..LENGTH.len() - 1], &CHUNKED[..CHUNKED.len() - 2]] {
                let mut conn = served(vec![truncated.to_vec()]).await;
                let error = read_response(&mut conn, &mut RecvBuf::new())
                    .await
                    .unwrap_err();
                assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
            }
        });
    }

    #[test]
    fn grows_the_buffer_for_a_large_body() {
        runtime().block_on(async {
            let body = vec![b'x'; 100_000];
            let mut response =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
            response.extend_from_slice(&body);
            let total = response.len();
            let mut conn = served(vec![response]).await;
            let response = read_response(&mut conn, &mut RecvBuf::new()).await.unwrap();
            assert_eq!(response, framed(200, total));
        });
    }

    #[test]
    fn drives_the_reference_dockerd_over_its_unix_socket() {
        let Some(dockerd) = RefDockerd::builder().start_if_available().unwrap() else {
            return;
        };
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let config = LoadConfig {
            connections: 4,
            warmup: Duration::from_millis(100),
            duration: Duration::from_millis(500),
            busy_poll: false,
        };
        let transport = Transport::Unix(dockerd.socket().to_owned());
        let result = runtime
            .block_on(drive(&transport, "/_ping", config, Some(dockerd.pid())))
            .unwrap();
        assert_eq!(result.errors, 0);
        assert!(result.ok > 10, "{result:?}");
        let per_request = result.daemon_cpu_per_request().unwrap();
        assert!(per_request > Duration::ZERO, "{result:?}");
        assert!(result.client_cores().unwrap() > 0.0, "{result:?}");
        let version = runtime
            .block_on(drive(&transport, "/v1.41/version", config, None))
            .unwrap();
        assert_eq!(version.errors, 0);
        assert!(version.ok > 10, "{version:?}");
        let missing = runtime
            .block_on(drive(&transport, "/v1.41/nonexistent", config, None))
            .unwrap();
        assert_eq!(missing.ok, 0);
        assert!(missing.errors > 10, "{missing:?}");
    }

    /// A server on `path` that answers every request on every connection 20 ms late.
    async fn slow_server(path: &std::path::Path) {
        let listener = UnixListener::bind(path).unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut request = [0u8; 256];
                    while let Ok(n @ 1..) = stream.read(&mut request).await {
                        assert!(request[..n].ends_with(b"\r\n\r\n"));
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
                        if stream.write_all(answer).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
    }

    #[test]
    fn a_busy_polling_client_stays_on_its_cpu_while_it_waits_and_a_sleeping_one_does_not() {
        let dir = TempDir::new("bp").unwrap();
        let socket = dir.path().join("slow.sock");
        let runtime = runtime();
        runtime.block_on(slow_server(&socket));
        let transport = Transport::Unix(socket);
        let cpu_while_waiting = |busy_poll| {
            let config = LoadConfig {
                connections: 2,
                warmup: Duration::ZERO,
                duration: Duration::from_secs(1),
                busy_poll,
            };
            let before = this_thread_cpu_time().unwrap();
            let result = runtime
                .block_on(drive(&transport, "/_ping", config, None))
                .unwrap();
            assert!(result.ok > 10 && result.errors == 0, "{result:?}");
            this_thread_cpu_time().unwrap() - before
        };
        // Waiting ~all of the second: a few ms of work (10 ms clock ticks), against a spinning thread's
        // whole share of a core, which even a loaded machine gives well above 100 ms.
        let sleeping = cpu_while_waiting(false);
        let busy = cpu_while_waiting(true);
        assert!(sleeping <= Duration::from_millis(50), "{sleeping:?}");
        assert!(busy >= Duration::from_millis(100), "{busy:?}");
    }
}
