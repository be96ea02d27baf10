//! Raw HTTP/1.1 over a unix socket: write exactly the bytes given, read back one whole response
//! (framed by `Content-Length`, chunked encoding, or end of stream). For error-case tests that need
//! malformed requests, and for readiness pings.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// How long a read or write may stall before the exchange fails.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// One HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// Header fields in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body as text, lossily decoded.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `request` verbatim over the unix socket at `socket` and reads one response.
pub fn exchange(socket: &Path, request: &[u8]) -> Result<RawResponse> {
    let mut stream = UnixStream::connect(socket)
        .with_context(|| format!("connecting to {}", socket.display()))?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    stream.write_all(request).context("writing the request")?;
    let head_request = request.starts_with(b"HEAD ");
    read_response(&mut stream, head_request)
}

/// `method uri` with `Host: docker`, `Connection: close`, extra `headers` and an optional body.
pub fn request(
    socket: &Path,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Result<RawResponse> {
    exchange(socket, &build_request(method, uri, headers, body))
}

/// `GET uri`.
pub fn get(socket: &Path, uri: &str) -> Result<RawResponse> {
    request(socket, "GET", uri, &[], None)
}

/// The bytes of a well-formed HTTP/1.1 request.
pub fn build_request(
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = format!("{method} {uri} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body.unwrap_or_default());
    out
}

/// Reads one response from `reader`, skipping `1xx` interim responses. `head_request` means no body.
pub fn read_response(reader: &mut impl Read, head_request: bool) -> Result<RawResponse> {
    let mut input = Input {
        reader,
        buf: Vec::new(),
        eof: false,
    };
    loop {
        let head = input.take_until(b"\r\n\r\n")?.context(
            "the connection closed before a complete response head (no response, or a truncated one)",
        )?;
        let (status, reason, headers) = parse_head(&head)?;
        if (100..200).contains(&status) && status != 101 {
            continue;
        }
        let mut response = RawResponse {
            status,
            reason,
            headers,
            body: Vec::new(),
        };
        let no_body = head_request || status == 101 || status == 204 || status == 304;
        if no_body {
            return Ok(response);
        }
        let chunked = response
            .header("transfer-encoding")
            .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
        if chunked {
            response.body = input.read_chunked()?;
        } else if let Some(length) = response.header("content-length") {
            let length: usize = length
                .trim()
                .parse()
                .with_context(|| format!("bad Content-Length {length:?}"))?;
            response.body = input.take_exact(length)?;
        } else {
            response.body = input.take_rest()?;
        }
        return Ok(response);
    }
}

type Head = (u16, String, Vec<(String, String)>);

fn parse_head(head: &[u8]) -> Result<Head> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        bail!("not an HTTP/1.x status line: {status_line:?}");
    }
    let status = parts
        .next()
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("bad status line {status_line:?}"))?;
    let reason = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    for line in lines.filter(|line| !line.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .with_context(|| format!("bad header line {line:?}"))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    Ok((status, reason, headers))
}

struct Input<'a, R> {
    reader: &'a mut R,
    buf: Vec<u8>,
    eof: bool,
}

impl<R: Read> Input<'_, R> {
    fn fill(&mut self) -> Result<()> {
        let mut chunk = [0u8; 8192];
        loop {
            match self.reader.read(&mut chunk) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(());
                }
                Err(err) if err.kind() == ErrorKind::Interrupted => continue,
                Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    bail!("no data from the server for {IO_TIMEOUT:?}")
                }
                Err(err) => return Err(err).context("reading the response"),
            }
        }
    }

    /// The bytes before `delimiter` (consumed with it), or `None` at end of stream.
    fn take_until(&mut self, delimiter: &[u8]) -> Result<Option<Vec<u8>>> {
        loop {
            if let Some(at) = find(&self.buf, delimiter) {
                let taken = self.buf[..at].to_vec();
                self.buf.drain(..at + delimiter.len());
                return Ok(Some(taken));
            }
            if self.eof {
                return Ok(None);
            }
            self.fill()?;
        }
    }

    fn take_exact(&mut self, n: usize) -> Result<Vec<u8>> {
        while self.buf.len() < n {
            if self.eof {
                bail!(
                    "the body ended after {} of {n} bytes: {:?}",
                    self.buf.len(),
                    String::from_utf8_lossy(&self.buf)
                );
            }
            self.fill()?;
        }
        Ok(self.buf.drain(..n).collect())
    }

    fn take_rest(&mut self) -> Result<Vec<u8>> {
        while !self.eof {
            self.fill()?;
        }
        Ok(std::mem::take(&mut self.buf))
    }

    fn read_chunked(&mut self) -> Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line = self
                .take_until(b"\r\n")?
                .context("the chunked body ended before its last chunk")?;
            let line = String::from_utf8_lossy(&line);
            let size = line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size, 16)
                .with_context(|| format!("bad chunk size line {line:?}"))?;
            if size == 0 {
                // Trailers, then the blank line.
                while self
                    .take_until(b"\r\n")?
                    .is_some_and(|trailer| !trailer.is_empty())
                {}
                return Ok(body);
            }
            body.extend(self.take_exact(size)?);
            let crlf = self.take_exact(2)?;
            if crlf != b"\r\n" {
                bail!("a chunk is not followed by CRLF");
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// `POST /containers/{container}/exec` with `config` (JSON) over `socket`, asserting a 201: the exec's ID.
pub fn exec_create(socket: &Path, container: &str, config: &str) -> Result<String> {
    let r = request(
        socket,
        "POST",
        &format!("/v1.47/containers/{container}/exec"),
        &[("Content-Type", "application/json")],
        Some(config.as_bytes()),
    )?;
    anyhow::ensure!(
        r.status == 201,
        "exec create: {} {}",
        r.status,
        r.body_text()
    );
    let v: serde_json::Value = serde_json::from_slice(&r.body)?;
    v["Id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("exec create: no Id in {v}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Result<RawResponse> {
        read_response(&mut &bytes[..], false)
    }

    #[test]
    fn content_length_framing_ignores_what_follows() {
        let r = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nApi-Version: 1.47\r\n\r\nOKextra")
            .unwrap();
        assert_eq!((r.status, r.reason.as_str()), (200, "OK"));
        assert_eq!(r.body, b"OK");
        assert_eq!(r.header("api-version"), Some("1.47"));
    }

    #[test]
    fn chunked_bodies_are_joined() {
        let r = parse(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: v\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.body_text(), "abcde");
    }

    #[test]
    fn unframed_bodies_run_to_eof_and_interim_responses_are_skipped() {
        let r = parse(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 400 Bad Request\r\n\r\nbad").unwrap();
        assert_eq!(r.status, 400);
        assert_eq!(r.body, b"bad");
    }

    #[test]
    fn truncated_responses_are_errors() {
        assert!(parse(b"").is_err());
        assert!(parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab").is_err());
        assert!(parse(b"SSH-2.0\r\n\r\n").is_err());
        let no_body = read_response(
            &mut &b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"[..],
            true,
        );
        assert_eq!(no_body.unwrap().body, b"");
    }

    #[test]
    fn built_requests_carry_host_and_length() {
        let req = build_request("POST", "/x", &[("A", "b")], Some(b"{}"));
        assert_eq!(
            String::from_utf8(req).unwrap(),
            "POST /x HTTP/1.1\r\nHost: docker\r\nConnection: close\r\nA: b\r\nContent-Length: 2\r\n\r\n{}"
        );
    }
}
