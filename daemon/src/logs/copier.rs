//! Copies a container's stdout and stderr (its FIFOs or pipes) into its [`LogWriter`] until both end.
//!
//! Reads are of at most 2 KiB, as moby's copier reads. Nothing here times out: a container may stay
//! silent for days; the copy ends at EOF (the container's end) or when the task is dropped. A write error
//! (a full disk) is logged and the output still drained, so that the container never blocks on a full
//! pipe — dockerd drops such lines the same way. The writer is shared behind a mutex held only for one
//! chunk's line writes.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use tokio::io::{AsyncRead, AsyncReadExt};

use super::{LogWriter, Source};

/// A writer shared by the two copies (and by whoever closes it).
pub type SharedLogWriter = Arc<Mutex<LogWriter>>;

/// moby's `readSize`.
const READ_SIZE: usize = 2 * 1024;

/// Copies `stdout` and `stderr` (either may be absent) into `writer` until both reach EOF, then flushes
/// their unfinished lines.
pub async fn copy_streams<O, E>(writer: SharedLogWriter, stdout: Option<O>, stderr: Option<E>)
where
    O: AsyncRead + Unpin,
    E: AsyncRead + Unpin,
{
    let out = async {
        if let Some(r) = stdout {
            copy_one(&writer, Source::Stdout, r).await;
        }
    };
    let err = async {
        if let Some(r) = stderr {
            copy_one(&writer, Source::Stderr, r).await;
        }
    };
    tokio::join!(out, err);
}

async fn copy_one<R: AsyncRead + Unpin>(writer: &SharedLogWriter, source: Source, mut reader: R) {
    let mut buf = vec![0u8; READ_SIZE];
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!("reading the container's {}: {e}", source.as_str());
                0
            }
        };
        let mut w = writer.lock().unwrap_or_else(PoisonError::into_inner);
        let result = if n == 0 {
            w.flush_partial(source, SystemTime::now())
        } else {
            w.write(source, &buf[..n], SystemTime::now())
        };
        if let Err(e) = result {
            tracing::warn!("json-file log: {e}");
        }
        if n == 0 {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::LogOptions;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn copies_both_streams_until_eof_and_flushes_partials() {
        let dir = crate::logs::temp_dir("copier");
        let path = dir.join("c-json.log");
        let writer = Arc::new(Mutex::new(
            LogWriter::open(&path, LogOptions::default()).unwrap(),
        ));
        let (mut out_w, out_r) = tokio::io::duplex(64);
        let (mut err_w, err_r) = tokio::io::duplex(64);
        let task = tokio::spawn(copy_streams(writer.clone(), Some(out_r), Some(err_r)));
        out_w.write_all(b"one\ntw").await.unwrap();
        err_w.write_all(b"oops\n").await.unwrap();
        out_w.write_all(b"o\nend").await.unwrap();
        drop(out_w);
        drop(err_w);
        task.await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let logs: Vec<(String, String)> = text
            .lines()
            .map(|l| {
                let d = crate::logs::jsonline::decode(l.as_bytes()).unwrap();
                (
                    d.source.as_str().to_owned(),
                    String::from_utf8(d.log).unwrap(),
                )
            })
            .collect();
        let stdout: Vec<&str> = logs
            .iter()
            .filter(|(s, _)| s == "stdout")
            .map(|(_, l)| l.as_str())
            .collect();
        assert_eq!(stdout, ["one\n", "two\n", "end"]);
        assert!(logs.contains(&("stderr".to_owned(), "oops\n".to_owned())));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
