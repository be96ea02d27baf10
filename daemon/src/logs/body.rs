//! The bytes of `GET /containers/{id}/logs`, as a stream the handler sends as the body: for a container
//! without a TTY, stdcopy frames (stream 1 or 2) built by client-core's encoder; with a TTY, the raw bytes. With `timestamps`, each line is prefixed
//! with its time in Docker's fixed nine-digit RFC 3339 and a space, as dockerd does.
//!
//! A read error ends the body early and is logged; the client sees the stream end.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use wharf_client_core::stdcopy;

use super::{LogEntry, LogStream};
use crate::timefmt;

/// Streams `entries` as the logs endpoint answers them.
pub(crate) fn logs_body(
    entries: LogStream,
    timestamps: bool,
    tty: bool,
) -> impl Stream<Item = Bytes> + Send + 'static {
    entries
        .take_while(|item| {
            if let Err(e) = item {
                tracing::warn!("reading logs: {e}");
            }
            std::future::ready(item.is_ok())
        })
        .filter_map(move |item| std::future::ready(item.ok().map(|e| encode(&e, timestamps, tty))))
}

fn encode(entry: &LogEntry, timestamps: bool, tty: bool) -> Bytes {
    let payload: Bytes = if timestamps {
        let mut line = timefmt::rfc3339_nano_fixed(entry.time).into_bytes();
        line.push(b' ');
        line.extend_from_slice(&entry.log);
        line.into()
    } else {
        entry.log.clone()
    };
    if tty {
        payload
    } else {
        stdcopy::encode(entry.source.std_stream(), &payload).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::{read, LogOptions, LogQuery, LogWriter, Source};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};
    use wharf_client_core::stdcopy::{StdStream, StdcopyDecoder};

    fn t(nanos: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(1_795_843_633, nanos)
    }

    async fn body_bytes(path: &std::path::Path, timestamps: bool, tty: bool) -> Bytes {
        let (_tx, rx) = tokio::sync::watch::channel(true);
        let entries = read(path, LogQuery::default(), rx);
        let chunks: Vec<Bytes> = logs_body(entries, timestamps, tty).collect().await;
        chunks.concat().into()
    }

    fn sample(dir: &std::path::Path) -> std::path::PathBuf {
        let path = dir.join("c-json.log");
        let mut w = LogWriter::open(&path, LogOptions::default()).unwrap();
        w.write(Source::Stdout, b"a\n", t(544_374_988)).unwrap();
        w.write(Source::Stderr, b"b\n", t(544_425_274)).unwrap();
        w.write(Source::Stdout, b"y", t(681_503_800)).unwrap();
        w.close().unwrap();
        path
    }

    #[tokio::test]
    async fn non_tty_is_stdcopy_framed_with_docker_s_timestamp_prefix() {
        let dir = crate::logs::temp_dir("body");
        let path = sample(dir.path());
        let wire = body_bytes(&path, true, false).await;
        // What a reference dockerd 20.10 sent for the same lines (the partial `y` flushed at close keeps
        // the time it was written with, so only its frame header and prefix shape are compared).
        let mut expected = Vec::new();
        expected.extend_from_slice(b"\x01\0\0\0\0\0\0\x21");
        expected.extend_from_slice(b"2026-11-28T05:27:13.544374988Z a\n");
        expected.extend_from_slice(b"\x02\0\0\0\0\0\0\x21");
        expected.extend_from_slice(b"2026-11-28T05:27:13.544425274Z b\n");
        assert_eq!(&wire[..expected.len()], &expected[..]);
        let mut d = StdcopyDecoder::default();
        d.push(&wire);
        let mut frames = Vec::new();
        while let Some(f) = d.next_frame().unwrap() {
            frames.push(f);
        }
        d.finish().unwrap();
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[2].stream, StdStream::Stdout);
        assert!(frames[2].payload.ends_with(b"Z y"));
        assert_eq!(frames[2].payload.len(), 32);

        let plain = body_bytes(&path, false, false).await;
        assert_eq!(
            &plain[..],
            b"\x01\0\0\0\0\0\0\x02a\n\x02\0\0\0\0\0\0\x02b\n\x01\0\0\0\0\0\0\x01y"
        );
    }

    #[tokio::test]
    async fn tty_is_raw_bytes() {
        let dir = crate::logs::temp_dir("body-tty");
        let path = sample(dir.path());
        assert_eq!(&body_bytes(&path, false, true).await[..], b"a\nb\ny");
        let stamped = body_bytes(&path, true, true).await;
        assert!(stamped
            .starts_with(b"2026-11-28T05:27:13.544374988Z a\n2026-11-28T05:27:13.544425274Z b\n"));
    }
}
