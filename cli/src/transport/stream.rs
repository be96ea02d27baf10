//! The byte stream under one HTTP connection — a unix socket, a TCP socket, or TLS over TCP — and the
//! adapter hyper-util's pool needs around it.
//!
//! Plain streams watch the first byte the daemon sends: a TLS record there (alert or handshake) means the
//! daemon expects TLS, which turns hyper's "invalid HTTP" into a clear protocol-mismatch error.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};
use tokio_rustls::client::TlsStream;

/// TLS record content types a TLS server may open with: alert (21) and handshake (22).
const TLS_RECORD_TYPES: [u8; 2] = [0x15, 0x16];

/// Whether `first` looks like the first byte of a TLS record rather than of `HTTP/1.1 ...`.
pub fn looks_like_tls(first: u8) -> bool {
    TLS_RECORD_TYPES.contains(&first)
}

/// One connection's bytes.
#[derive(Debug)]
pub enum Stream {
    /// `unix://`.
    Unix(UnixStream),
    /// `tcp://` without TLS.
    Tcp(TcpStream),
    /// `tcp://` with TLS.
    Tls(Box<TlsStream<TcpStream>>),
}

/// A [`Stream`] that notes, for plain streams, whether the daemon's first byte opened a TLS record.
#[derive(Debug)]
pub struct SniffedStream {
    stream: Stream,
    first_seen: bool,
    tls_answer: Arc<AtomicBool>,
}

impl SniffedStream {
    /// Wraps `stream`; `tls_answer` is set when a plain stream receives a TLS record first.
    pub fn new(stream: Stream, tls_answer: Arc<AtomicBool>) -> Self {
        let first_seen = matches!(stream, Stream::Tls(_));
        Self {
            stream,
            first_seen,
            tls_answer,
        }
    }
}

impl AsyncRead for SniffedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = match &mut this.stream {
            Stream::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        };
        if !this.first_seen {
            if let Some(&first) = buf.filled().get(before) {
                this.first_seen = true;
                if looks_like_tls(first) {
                    this.tls_answer.store(true, Ordering::Relaxed);
                }
            }
        }
        result
    }
}

impl AsyncWrite for SniffedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().stream {
            Stream::Unix(s) => Pin::new(s).poll_write(cx, data),
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, data),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, data),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().stream {
            Stream::Unix(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.stream {
            Stream::Unix(s) => s.is_write_vectored(),
            Stream::Tcp(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Unix(s) => Pin::new(s).poll_flush(cx),
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// What the pool holds: hyper's I/O traits over a [`SniffedStream`].
#[derive(Debug)]
pub struct Conn(TokioIo<SniffedStream>);

impl Conn {
    /// Wraps a connected stream.
    pub fn new(stream: SniffedStream) -> Self {
        Self(TokioIo::new(stream))
    }
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl hyper::rt::Read for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn tls_records_are_told_from_http() {
        assert!(looks_like_tls(0x15));
        assert!(looks_like_tls(0x16));
        assert!(!looks_like_tls(b'H'));
    }

    #[tokio::test]
    async fn a_plain_stream_flags_a_tls_first_byte_only() {
        for (first, expected) in [(0x15u8, true), (b'H', false)] {
            let (mut a, b) = UnixStream::pair().unwrap();
            let flag = Arc::new(AtomicBool::new(false));
            let mut sniffed = SniffedStream::new(Stream::Unix(b), flag.clone());
            a.write_all(&[first, 0x03, 0x03]).await.unwrap();
            let mut buf = [0u8; 3];
            sniffed.read_exact(&mut buf).await.unwrap();
            assert_eq!(
                flag.load(Ordering::Relaxed),
                expected,
                "first byte {first:#x}"
            );
        }
    }
}
