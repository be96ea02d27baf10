//! Bodies for hyper's own answers. A request hyper cannot parse (a garbage request line, a raw non-ASCII
//! byte in the path, headers too large, a URI too long) never reaches the service: hyper answers it
//! itself with an empty 400, 431 or 414 and closes. Every other error from wharfd has a JSON
//! `{"message": ...}` body, and a client prints that message; so the connection's stream is wrapped in
//! [`JsonErrors`], which recognises hyper's answer among the bytes written and writes it again with a
//! JSON body. The message is Go's text for the status ("400 Bad Request"), the body dockerd's HTTP server
//! sends in plain text for the same bytes, so a client prints the same words for either daemon.
//!
//! hyper writes that answer as one buffer holding only a status line and its `connection`,
//! `content-length: 0` and `date` headers; wharfd's own responses always carry more headers (`Server`,
//! `Api-Version`...) so they never match. What any write costs in the common case is a length and prefix
//! check.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// hyper's status lines for a request it could not parse, and Go's text for each.
const ANSWERS: [(&[u8], &str); 3] = [
    (b"HTTP/1.1 400 Bad Request\r\n", "400 Bad Request"),
    (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
        "431 Request Header Fields Too Large",
    ),
    (b"HTTP/1.1 414 URI Too Long\r\n", "414 URI Too Long"),
];

/// Longer than any answer hyper writes itself.
const MAX_HYPER_ANSWER: usize = 256;

/// A connection's stream whose writes pass through, except hyper's own bodiless error answer, which is
/// written with a JSON body instead.
pub(crate) struct JsonErrors<T> {
    inner: T,
    /// The replacement answer, and how much of it is written.
    pending: Option<(Vec<u8>, usize)>,
}

impl<T> JsonErrors<T> {
    pub(crate) fn new(inner: T) -> Self {
        Self {
            inner,
            pending: None,
        }
    }
}

/// The answer to write instead of `head` when `head` is hyper's own bodiless error answer.
fn replacement(head: &[u8]) -> Option<Vec<u8>> {
    if head.len() > MAX_HYPER_ANSWER || !head.starts_with(b"HTTP/1.1 4") {
        return None;
    }
    let (line, text) = ANSWERS.iter().find(|(line, _)| head.starts_with(line))?;
    let headers = head[line.len()..].strip_suffix(b"\r\n\r\n")?;
    let mut kept = Vec::new();
    let mut bodiless = false;
    for header in headers.split(|b| *b == b'\n') {
        let header = header.strip_suffix(b"\r").unwrap_or(header);
        let lower = header.to_ascii_lowercase();
        if lower == b"content-length: 0" {
            bodiless = true;
        } else if lower.starts_with(b"connection: ") || lower.starts_with(b"date: ") {
            kept.push(header);
        } else {
            // Any other header: one of wharfd's own responses.
            return None;
        }
    }
    if !bodiless {
        return None;
    }
    let body = serde_json::json!({ "message": text }).to_string();
    let mut out = line.to_vec();
    out.extend_from_slice(b"content-type: application/json\r\n");
    for header in kept {
        out.extend_from_slice(header);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body.as_bytes());
    Some(out)
}

impl<T: AsyncWrite + Unpin> JsonErrors<T> {
    /// Writes what is left of the replacement answer.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((out, written)) = &mut self.pending {
            if *written >= out.len() {
                self.pending = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &out[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }

    /// Takes `head` over when it is hyper's own answer: it counts as written, the replacement goes out
    /// instead.
    fn take_over(&mut self, head: &[u8]) -> bool {
        match replacement(head) {
            Some(out) => {
                tracing::debug!("answering a request hyper could not parse with a JSON body");
                self.pending = Some((out, 0));
                true
            }
            None => false,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for JsonErrors<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for JsonErrors<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        if this.take_over(buf) {
            // Counted as written now: a retry would take it over twice. What is left goes out at the
            // next write, flush or shutdown.
            if let Poll::Ready(Err(e)) = this.poll_pending(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        let mut filled = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(only), None) = (filled.next(), filled.next()) {
            if this.take_over(only) {
                // Counted as written now: a retry would take it over twice. What is left goes out at the
                // next write, flush or shutdown.
                if let Poll::Ready(Err(e)) = this.poll_pending(cx) {
                    return Poll::Ready(Err(e));
                }
                return Poll::Ready(Ok(only.len()));
            }
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const DATE: &str = "date: Sun, 06 Dec 2026 07:33:50 GMT";

    #[test]
    fn hypers_own_answers_get_a_json_body() {
        for (status, text) in [
            ("400 Bad Request", "400 Bad Request"),
            (
                "431 Request Header Fields Too Large",
                "431 Request Header Fields Too Large",
            ),
            ("414 URI Too Long", "414 URI Too Long"),
        ] {
            let head = format!(
                "HTTP/1.1 {status}\r\nconnection: close\r\ncontent-length: 0\r\n{DATE}\r\n\r\n"
            );
            let out = String::from_utf8(replacement(head.as_bytes()).unwrap()).unwrap();
            let body = format!(r#"{{"message":"{text}"}}"#);
            assert_eq!(
                out,
                format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\nconnection: close\r\n\
                     {DATE}\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                )
            );
        }
    }

    #[test]
    fn wharfds_own_responses_pass_untouched() {
        for head in [
            // A 400 of wharfd's: more headers than hyper's.
            format!("HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 0\r\n{DATE}\r\n\r\n"),
            // With a body.
            format!("HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n{DATE}\r\n\r\n{{}}"),
            // Another status.
            format!("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n{DATE}\r\n\r\n"),
            format!("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n{DATE}\r\n\r\n"),
        ] {
            assert_eq!(replacement(head.as_bytes()), None, "{head}");
        }
    }

    #[tokio::test]
    async fn the_stream_writes_the_replacement_and_passes_the_rest() {
        let (client, server) = tokio::io::duplex(8);
        let mut wrapped = JsonErrors::new(server);
        let head = format!("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n{DATE}\r\n\r\n");
        let reader = tokio::spawn(async move {
            let mut client = client;
            let mut all = String::new();
            client.read_to_string(&mut all).await.unwrap();
            all
        });
        // Through a small pipe, so that the replacement goes out in many writes.
        wrapped.write_all(head.as_bytes()).await.unwrap();
        wrapped.write_all(b"and then").await.unwrap();
        wrapped.shutdown().await.unwrap();
        drop(wrapped);
        let all = reader.await.unwrap();
        assert!(
            all.ends_with(r#"{"message":"400 Bad Request"}and then"#),
            "{all}"
        );
        assert!(all.contains("content-type: application/json\r\n"), "{all}");
    }
}
