//! Blocking HTTP for the stream workloads, over a daemon's unix socket: one request on a fresh connection,
//! its response body read to its end as it arrives (chunked, `Content-Length`, up to the end of the
//! connection, or the raw stream after a `101` hand-over) and given piece by piece to a sink, in place in
//! one receive buffer. [`Demux`] undoes Docker's stdcopy frames and counts their payload, as the docker CLI
//! does with `docker logs` and `docker exec` output, without keeping the bytes: the client's own cost per
//! byte stays small and the same for both daemons, so that a throughput compares the daemons.
//!
//! `wharf_tests::http` is not used here: it keeps the whole body (100 MiB) and its requests say
//! `Connection: close`, where a hand-over needs `Connection: Upgrade`.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

/// The receive buffer: as large as what a read of a unix socket usually brings at once.
const BUF_SIZE: usize = 256 * 1024;

/// The most of a JSON answer [`json`] keeps.
const MAX_JSON: usize = 1024 * 1024;

/// How a response body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// At the end of the connection (also a hand-over's stream).
    Eof,
    /// After this many more bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`: this many bytes left in the current chunk; 0 before a size line.
    Chunked(u64),
}

/// A response whose body has not been read yet.
#[derive(Debug)]
pub struct Response {
    /// Its status code.
    pub status: u16,
    conn: UnixStream,
    buf: Box<[u8]>,
    /// The unread bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    framing: Framing,
    /// Whether a chunk's data (and so its CRLF) came last.
    after_chunk: bool,
}

/// Sends `method uri` (with `body` as JSON, if any) on a new connection to `socket`, asking for the
/// connection to be handed over when `upgrade`, and reads the response head. Reads time out after
/// `timeout` without data.
pub fn send(
    socket: &Path,
    method: &str,
    uri: &str,
    body: Option<&str>,
    upgrade: bool,
    timeout: Duration,
) -> Result<Response> {
    let mut conn = UnixStream::connect(socket)
        .with_context(|| format!("connecting to {}", socket.display()))?;
    conn.set_read_timeout(Some(timeout))?;
    conn.set_write_timeout(Some(timeout))?;
    let connection = if upgrade {
        "Connection: Upgrade\r\nUpgrade: tcp\r\n"
    } else {
        "Connection: close\r\n"
    };
    let mut request = format!("{method} {uri} HTTP/1.1\r\nHost: docker\r\n{connection}");
    if let Some(body) = body {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
    } else {
        request.push_str("\r\n");
    }
    conn.write_all(request.as_bytes())
        .with_context(|| format!("{method} {uri}: writing the request"))?;
    let mut response = Response {
        status: 0,
        conn,
        buf: vec![0; BUF_SIZE].into_boxed_slice(),
        start: 0,
        end: 0,
        framing: Framing::Eof,
        after_chunk: false,
    };
    response
        .read_head()
        .with_context(|| format!("{method} {uri}: reading the response"))?;
    Ok(response)
}

/// `method uri` answered with a 2xx JSON body (`null` when empty); another status is an error with the
/// daemon's message.
pub fn json(socket: &Path, method: &str, uri: &str, body: Option<&str>) -> Result<Value> {
    let mut response = send(socket, method, uri, body, false, Duration::from_secs(30))?;
    let status = response.status;
    let mut bytes = Vec::new();
    response.drain(|piece| {
        ensure!(bytes.len() + piece.len() <= MAX_JSON, "answer too large");
        bytes.extend_from_slice(piece);
        Ok(())
    })?;
    let value = if bytes.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{method} {uri}: {status} {}",
                String::from_utf8_lossy(&bytes).trim()
            )
        })?
    };
    if !(200..300).contains(&status) {
        let message = value.get("message").and_then(Value::as_str).unwrap_or("");
        bail!("{method} {uri}: {status} {message}");
    }
    Ok(value)
}

impl Response {
    /// Reads more into the buffer (moving what is unread to its front first); 0 at the end of the
    /// connection.
    fn fill(&mut self) -> Result<usize> {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        } else if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
        }
        ensure!(self.end < self.buf.len(), "a line longer than the buffer");
        let n = self
            .conn
            .read(&mut self.buf[self.end..])
            .context("reading")?;
        self.end += n;
        Ok(n)
    }

    /// The next line (without its CRLF), as a range of the buffer; consumed.
    fn line(&mut self) -> Result<std::ops::Range<usize>> {
        loop {
            if let Some(at) = self.buf[self.start..self.end]
                .windows(2)
                .position(|w| w == b"\r\n")
            {
                let line = self.start..self.start + at;
                self.start += at + 2;
                return Ok(line);
            }
            ensure!(
                self.fill()? > 0,
                "the connection closed in the middle of a line"
            );
        }
    }

    /// Reads the status line and the headers; skips interim responses (but a 101's stream follows it).
    fn read_head(&mut self) -> Result<()> {
        loop {
            let status_line = self.line()?;
            let status = std::str::from_utf8(&self.buf[status_line])
                .ok()
                .and_then(|line| line.split(' ').nth(1))
                .and_then(|code| code.parse::<u16>().ok())
                .context("a malformed status line")?;
            let mut framing = Framing::Eof;
            loop {
                let header = self.line()?;
                if header.is_empty() {
                    break;
                }
                let header = String::from_utf8_lossy(&self.buf[header]).into_owned();
                let (name, value) = header.split_once(':').unwrap_or((&header, ""));
                let value = value.trim();
                if name.eq_ignore_ascii_case("transfer-encoding")
                    && value.to_ascii_lowercase().ends_with("chunked")
                {
                    framing = Framing::Chunked(0);
                } else if name.eq_ignore_ascii_case("content-length") && framing == Framing::Eof {
                    framing = Framing::Length(value.parse().context("a bad Content-Length")?);
                }
            }
            if (100..200).contains(&status) && status != 101 {
                continue;
            }
            self.status = status;
            self.framing = if status == 101 { Framing::Eof } else { framing };
            return Ok(());
        }
    }

    /// Gives every piece of the body to `sink`, in order, until the body ends; the body's length.
    pub fn drain(&mut self, mut sink: impl FnMut(&[u8]) -> Result<()>) -> Result<u64> {
        let mut total = 0u64;
        loop {
            let want = match self.framing {
                Framing::Length(0) => return Ok(total),
                Framing::Length(left) => left,
                Framing::Chunked(left) if left > 0 => left,
                Framing::Chunked(_) => {
                    if self.after_chunk {
                        let crlf = self.line()?;
                        ensure!(crlf.is_empty(), "a chunk not followed by CRLF");
                    }
                    let line = self.line()?;
                    let size = self.buf[line]
                        .split(|&b| b == b';')
                        .next()
                        .and_then(|digits| std::str::from_utf8(digits).ok())
                        .and_then(|digits| u64::from_str_radix(digits.trim(), 16).ok())
                        .context("a malformed chunk size")?;
                    if size == 0 {
                        return Ok(total);
                    }
                    self.framing = Framing::Chunked(size);
                    self.after_chunk = true;
                    continue;
                }
                Framing::Eof => u64::MAX,
            };
            if self.start == self.end && self.fill()? == 0 {
                ensure!(self.framing == Framing::Eof, "the body ended early");
                return Ok(total);
            }
            let available = self.end - self.start;
            let n = usize::try_from(want).map_or(available, |want| want.min(available));
            sink(&self.buf[self.start..self.start + n])?;
            self.start += n;
            total += n as u64;
            match &mut self.framing {
                Framing::Length(left) | Framing::Chunked(left) => *left -= n as u64,
                Framing::Eof => {}
            }
        }
    }
}

/// Docker's stdcopy frames (an 8-byte header: the stream, 3 zero bytes, the payload's big-endian length)
/// taken apart as they come, counting each stream's payload.
#[derive(Debug, Default)]
pub struct Demux {
    header: [u8; 8],
    /// Header bytes seen of the current frame.
    have: usize,
    /// Payload bytes still to come in the current frame.
    left: u64,
    /// Whether the current frame is stderr's.
    stderr_frame: bool,
    /// Payload bytes on stdin's and stdout's streams (0 and 1).
    pub stdout: u64,
    /// Payload bytes on stderr's.
    pub stderr: u64,
}

impl Demux {
    /// Takes the next bytes of the stream.
    pub fn push(&mut self, mut bytes: &[u8]) -> Result<()> {
        while !bytes.is_empty() {
            if self.left == 0 {
                let n = (8 - self.have).min(bytes.len());
                self.header[self.have..self.have + n].copy_from_slice(&bytes[..n]);
                self.have += n;
                bytes = &bytes[n..];
                if self.have == 8 {
                    self.have = 0;
                    self.stderr_frame = match self.header[0] {
                        0 | 1 => false,
                        2 => true,
                        other => bail!("a stdcopy frame on stream {other}"),
                    };
                    let len = [
                        self.header[4],
                        self.header[5],
                        self.header[6],
                        self.header[7],
                    ];
                    self.left = u64::from(u32::from_be_bytes(len));
                }
            } else {
                let n =
                    usize::try_from(self.left).map_or(bytes.len(), |left| left.min(bytes.len()));
                if self.stderr_frame {
                    self.stderr += n as u64;
                } else {
                    self.stdout += n as u64;
                }
                self.left -= n as u64;
                bytes = &bytes[n..];
            }
        }
        Ok(())
    }

    /// Checks that the stream did not stop in the middle of a frame.
    pub fn finish(&self) -> Result<()> {
        ensure!(
            self.have == 0 && self.left == 0,
            "the stream ended in the middle of a stdcopy frame"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    fn frame(stream: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![stream, 0, 0, 0];
        out.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn demux_counts_each_streams_payload_across_any_split() {
        let mut stream = frame(1, &[b'o'; 300]);
        stream.extend(frame(2, b"err"));
        stream.extend(frame(1, b""));
        stream.extend(frame(1, b"x"));
        for piece in [1, 3, 7, 8, 9, 1000] {
            let mut demux = Demux::default();
            for part in stream.chunks(piece) {
                demux.push(part).unwrap();
            }
            demux.finish().unwrap();
            assert_eq!((demux.stdout, demux.stderr), (301, 3), "pieces of {piece}");
        }
        let mut cut = Demux::default();
        cut.push(&stream[..20]).unwrap();
        assert!(cut.finish().is_err());
        assert!(Demux::default().push(&frame(3, b"boom")).is_err());
    }

    /// Serves `answer` in pieces of `piece` bytes to one connection, and reads it with `send`.
    fn served(answer: &'static [u8], piece: usize) -> (u16, Vec<u8>, Result<u64>) {
        let dir = wharf_tests::TempDir::new("ww").unwrap();
        let path = dir.path().join("s.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut request = [0u8; 1024];
            let _ = conn.read(&mut request).unwrap();
            for part in answer.chunks(piece) {
                conn.write_all(part).unwrap();
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        let mut response = send(&path, "GET", "/x", None, false, Duration::from_secs(5)).unwrap();
        let mut body = Vec::new();
        let total = response.drain(|p| {
            body.extend_from_slice(p);
            Ok(())
        });
        server.join().unwrap();
        (response.status, body, total)
    }

    #[test]
    fn bodies_are_read_to_their_end_whatever_their_framing() {
        const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=1\r\n wo\r\n2\r\nrl\r\n1\r\nd\r\n0\r\n\r\n";
        const LENGTH: &[u8] = b"HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nhelloEXTRA";
        const UPGRADED: &[u8] =
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 UPGRADED\r\nContent-Length: 2\r\n\r\nraw stream";
        for piece in [1, 4, 1000] {
            let (status, body, total) = served(CHUNKED, piece);
            assert_eq!((status, body.as_slice()), (200, &b"hello world"[..]));
            assert_eq!(total.unwrap(), 11);
            let (status, body, _) = served(LENGTH, piece);
            assert_eq!((status, body.as_slice()), (404, &b"hello"[..]));
            let (status, body, _) = served(UPGRADED, piece);
            assert_eq!((status, body.as_slice()), (101, &b"raw stream"[..]));
        }
        const CUT: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel";
        assert!(served(CUT, 1000).2.is_err());
        const BAD: &[u8] =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n";
        assert!(served(BAD, 1000).2.is_err());
    }
}
