//! Reads a json-file log back: the rotated files oldest first, then the current one; `tail` from the end
//! without decoding the history before it; `since`/`until`/stream filters; and `follow`, which polls the
//! current file every [`POLL`] for new lines, follows it through rotation (rename) and truncation
//! (`max-file` 1), and ends when the container has stopped.
//!
//! The stream is a state machine polled by its consumer, not a task: dropping it (a client going away)
//! closes every file it holds.
//!
//! `tail` counts lines as dockerd does, before the `since` and stream filters. `until` ends the stream at
//! the first line written after it. A line that does not decode (torn by a crash) is skipped. When the
//! followed file has been rotated (however many times since the last look), the files newer than it are
//! read in order; only files the writer deleted before they were read are lost (as with dockerd).

use std::collections::VecDeque;
use std::fs::File as StdFile;
use std::io::SeekFrom;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncSeekExt, BufReader};
use tokio::sync::watch;

use super::writer::rotated_path;
use super::{jsonline, LogError, Source};

/// How often a followed file is checked for new lines.
pub(crate) const POLL: Duration = Duration::from_millis(100);

/// Lines longer than this are not entries Wharf or dockerd wrote: skipped.
const MAX_ENTRY: usize = 1024 * 1024;

/// Rotated files looked for beyond `.1` (moby accepts `max-file` up to any count; this bounds the scan).
const MAX_ROTATED: u32 = 10_000;

/// What to read: the `GET /containers/{id}/logs` parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LogQuery {
    /// Lines from stdout.
    pub stdout: bool,
    /// Lines from stderr.
    pub stderr: bool,
    /// Only lines written at or after this time.
    pub since: Option<SystemTime>,
    /// Only lines written at or before this time; the stream ends at the first later one.
    pub until: Option<SystemTime>,
    /// Prefix lines with their time (used by [`super::logs_body`], not by the reader).
    pub timestamps: bool,
    /// Only the last this many lines of the history (`None`: all).
    pub tail: Option<usize>,
    /// Keep waiting for new lines until the container stops.
    pub follow: bool,
}

impl Default for LogQuery {
    fn default() -> Self {
        Self {
            stdout: true,
            stderr: true,
            since: None,
            until: None,
            timestamps: false,
            tail: None,
            follow: false,
        }
    }
}

/// One line read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LogEntry {
    /// Where it came from.
    pub source: Source,
    /// When the driver received it.
    pub time: SystemTime,
    /// Its bytes, with the trailing newline it had (none for a partial line).
    pub log: Bytes,
}

/// The entries of a log, in order.
pub(crate) type LogStream = BoxStream<'static, Result<LogEntry, LogError>>;

/// Reads the log at `path` (the current file; rotated ones are `path.1`, `path.2`...). `stopped` turns true
/// (or its sender is dropped) once the container has stopped *and its output has been copied*: a follow
/// then reads what is left and ends.
pub(crate) fn read(
    path: impl Into<PathBuf>,
    query: LogQuery,
    stopped: watch::Receiver<bool>,
) -> LogStream {
    let reader = Reader {
        path: path.into(),
        query,
        stopped,
        stop_seen: false,
        started: false,
        done: false,
        history: VecDeque::new(),
        live: None,
    };
    futures_util::stream::unfold(reader, |mut r| async move {
        r.next().await.map(|item| (item, r))
    })
    .boxed()
}

struct Cursor {
    path: PathBuf,
    reader: BufReader<tokio::fs::File>,
    ino: u64,
    pos: u64,
    buf: Vec<u8>,
    skipping: bool,
}

impl Cursor {
    async fn from_std(path: PathBuf, file: StdFile, offset: u64) -> Result<Self, LogError> {
        let ino = file.metadata().map_err(LogError::io("stat", &path))?.ino();
        let mut file = tokio::fs::File::from_std(file);
        file.seek(SeekFrom::Start(offset))
            .await
            .map_err(LogError::io("seek in", &path))?;
        Ok(Self {
            path,
            reader: BufReader::with_capacity(64 * 1024, file),
            ino,
            pos: offset,
            buf: Vec::new(),
            skipping: false,
        })
    }

    /// Opens `path` from its start; `None` if it does not exist (yet).
    async fn open(path: &Path) -> Result<Option<Self>, LogError> {
        match StdFile::open(path) {
            Ok(f) => Ok(Some(Self::from_std(path.to_owned(), f, 0).await?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(LogError::io("open", path)(e)),
        }
    }

    /// The next whole line, or `None` when only a partial line (or nothing) is left for now.
    async fn next_line(&mut self) -> Result<Option<Vec<u8>>, LogError> {
        loop {
            let avail = self
                .reader
                .fill_buf()
                .await
                .map_err(LogError::io("read", &self.path))?;
            if avail.is_empty() {
                return Ok(None);
            }
            let (used, line) = match avail.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    let line = if std::mem::take(&mut self.skipping) {
                        None
                    } else {
                        self.buf.extend_from_slice(&avail[..=i]);
                        Some(std::mem::take(&mut self.buf))
                    };
                    (i + 1, line)
                }
                None => {
                    if !self.skipping {
                        self.buf.extend_from_slice(avail);
                        if self.buf.len() > MAX_ENTRY {
                            tracing::warn!("{}: skipping an overlong line", self.path.display());
                            self.buf = Vec::new();
                            self.skipping = true;
                        }
                    }
                    (avail.len(), None)
                }
            };
            self.reader.consume(used);
            self.pos += used as u64;
            if line.is_some() {
                return Ok(line);
            }
        }
    }

    async fn rewind(&mut self) -> Result<(), LogError> {
        self.reader
            .seek(SeekFrom::Start(0))
            .await
            .map_err(LogError::io("seek in", &self.path))?;
        self.pos = 0;
        self.buf.clear();
        self.skipping = false;
        Ok(())
    }
}

/// Where the last `lines` whole lines of `file` start, and how many whole lines were found (fewer than
/// asked only when the whole file is taken). Reads backwards in blocks.
fn tail_start(file: &StdFile, lines: usize) -> std::io::Result<(u64, usize)> {
    let mut pos = file.metadata()?.len();
    let mut seen = 0usize;
    let mut block = vec![0u8; 64 * 1024];
    while pos > 0 {
        let start = pos.saturating_sub(block.len() as u64);
        let len = (pos - start) as usize;
        file.read_exact_at(&mut block[..len], start)?;
        for i in (0..len).rev() {
            if block[i] == b'\n' {
                seen += 1;
                if seen == lines + 1 {
                    return Ok((start + i as u64 + 1, lines));
                }
            }
        }
        pos = start;
    }
    Ok((0, seen))
}

/// Opens the current file and the rotated ones that exist, newest first.
fn list_files(path: &Path) -> Result<Vec<(PathBuf, StdFile)>, LogError> {
    let mut files = Vec::new();
    let open = |p: &Path| match StdFile::open(p) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LogError::io("open", p)(e)),
    };
    if let Some(f) = open(path)? {
        files.push((path.to_owned(), f));
    }
    for n in 1..=MAX_ROTATED {
        let p = rotated_path(path, n);
        match open(&p)? {
            Some(f) => files.push((p, f)),
            None => break,
        }
    }
    Ok(files)
}

/// Opens the current and rotated files (oldest first) and picks where each starts.
fn open_files(path: &Path, tail: Option<usize>) -> Result<Vec<(PathBuf, StdFile, u64)>, LogError> {
    let mut files: Vec<_> = list_files(path)?
        .into_iter()
        .map(|(p, f)| (p, f, 0))
        .collect();
    if let Some(mut remaining) = tail {
        for i in 0..files.len() {
            let (p, f, start) = &mut files[i];
            let (offset, found) = tail_start(f, remaining).map_err(LogError::io("read", p))?;
            if found >= remaining {
                *start = offset;
                files.truncate(i + 1);
                break;
            }
            remaining -= found;
        }
    }
    files.reverse();
    Ok(files)
}

/// The files newer than the one with inode `ino`, oldest first: all of them if it is gone.
fn newer_files(path: &Path, ino: u64) -> Result<Vec<(PathBuf, StdFile)>, LogError> {
    let mut files = list_files(path)?;
    let position = files
        .iter()
        .position(|(_, f)| f.metadata().is_ok_and(|m| m.ino() == ino));
    if let Some(i) = position {
        files.truncate(i);
    }
    files.reverse();
    Ok(files)
}

struct Reader {
    path: PathBuf,
    query: LogQuery,
    stopped: watch::Receiver<bool>,
    stop_seen: bool,
    started: bool,
    done: bool,
    /// Files to read through, oldest first; the last one is the current file.
    history: VecDeque<Cursor>,
    /// The followed file, once the history is read.
    live: Option<Cursor>,
}

enum Follow {
    Line(Vec<u8>),
    /// Files to read were queued in the history.
    Requeued,
    End,
}

enum Verdict {
    Emit(LogEntry),
    Skip,
    End,
}

impl Reader {
    async fn start(&mut self) -> Result<(), LogError> {
        let path = self.path.clone();
        let tail = self.query.tail;
        let files = tokio::task::spawn_blocking(move || open_files(&path, tail))
            .await
            .map_err(|e| LogError::io("read", &self.path)(std::io::Error::other(e)))??;
        for (p, f, offset) in files {
            self.history
                .push_back(Cursor::from_std(p, f, offset).await?);
        }
        Ok(())
    }

    fn judge(&self, line: &[u8]) -> Verdict {
        let Some(d) = jsonline::decode(line) else {
            return Verdict::Skip;
        };
        if self.query.until.is_some_and(|u| d.time > u) {
            return Verdict::End;
        }
        if self.query.since.is_some_and(|s| d.time < s) {
            return Verdict::Skip;
        }
        let wanted = match d.source {
            Source::Stdout => self.query.stdout,
            Source::Stderr => self.query.stderr,
        };
        if !wanted {
            return Verdict::Skip;
        }
        Verdict::Emit(LogEntry {
            source: d.source,
            time: d.time,
            log: Bytes::from(d.log),
        })
    }

    async fn next(&mut self) -> Option<Result<LogEntry, LogError>> {
        if self.done {
            return None;
        }
        let result = self.next_inner().await;
        if !matches!(result, Some(Ok(_))) {
            self.done = true;
        }
        result
    }

    async fn next_inner(&mut self) -> Option<Result<LogEntry, LogError>> {
        if !self.started {
            self.started = true;
            if let Err(e) = self.start().await {
                return Some(Err(e));
            }
        }
        loop {
            let line = if let Some(cur) = self.history.front_mut() {
                match cur.next_line().await {
                    Ok(Some(line)) => line,
                    Ok(None) => {
                        let finished = self.history.pop_front();
                        if self.history.is_empty() && self.query.follow {
                            self.live = finished;
                        }
                        continue;
                    }
                    Err(e) => return Some(Err(e)),
                }
            } else if self.query.follow {
                match self.follow_line().await {
                    Ok(Follow::Line(line)) => line,
                    Ok(Follow::Requeued) => continue,
                    Ok(Follow::End) => return None,
                    Err(e) => return Some(Err(e)),
                }
            } else {
                return None;
            };
            match self.judge(&line) {
                Verdict::Emit(entry) => return Some(Ok(entry)),
                Verdict::Skip => continue,
                Verdict::End => return None,
            }
        }
    }

    /// The next line of the followed file, waiting for it; `None` once the container has stopped and
    /// everything is read, or `until` has passed.
    async fn follow_line(&mut self) -> Result<Follow, LogError> {
        loop {
            if let Some(cur) = self.live.as_mut() {
                if let Some(line) = cur.next_line().await? {
                    return Ok(Follow::Line(line));
                }
            }
            if self.stop_seen {
                return Ok(Follow::End);
            }
            if self.query.until.is_some_and(|u| SystemTime::now() > u) {
                return Ok(Follow::End);
            }
            match tokio::fs::metadata(&self.path).await {
                Ok(meta) => match self.live.as_mut() {
                    Some(cur) if meta.ino() != cur.ino => {
                        // Rotated: the writer has left the old file; drain it once more, then read every
                        // newer file in order.
                        if let Some(line) = cur.next_line().await? {
                            return Ok(Follow::Line(line));
                        }
                        let ino = cur.ino;
                        self.live = None;
                        for (p, f) in newer_files(&self.path, ino)? {
                            self.history.push_back(Cursor::from_std(p, f, 0).await?);
                        }
                        return Ok(Follow::Requeued);
                    }
                    Some(cur) if meta.len() < cur.pos => {
                        cur.rewind().await?;
                        continue;
                    }
                    None => {
                        self.live = Cursor::open(&self.path).await?;
                        if self.live.is_some() {
                            continue;
                        }
                    }
                    Some(_) => {}
                },
                // Between a rotation's rename and the new file's creation, or not created yet.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(LogError::io("stat", &self.path)(e)),
            }
            if *self.stopped.borrow_and_update() {
                // Lines written before the stop may have landed after the last read: one more pass.
                self.stop_seen = true;
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                changed = self.stopped.changed() => if changed.is_err() {
                    self.stop_seen = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::{temp_dir, LogOptions, LogWriter};
    use std::time::UNIX_EPOCH;

    fn t(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
    }

    async fn collect(path: &Path, query: LogQuery) -> Vec<String> {
        let (_tx, rx) = watch::channel(true);
        read(path, query, rx)
            .map(|e| String::from_utf8(e.unwrap().log.to_vec()).unwrap())
            .collect()
            .await
    }

    /// Lines `0\n` .. `{n-1}\n`, at t(i), stdout for even i and stderr for odd, in files of `max_file`.
    fn write_lines(path: &Path, n: u64, options: LogOptions) {
        let mut w = LogWriter::open(path, options).unwrap();
        for i in 0..n {
            let source = if i % 2 == 0 {
                Source::Stdout
            } else {
                Source::Stderr
            };
            w.write(source, format!("{i}\n").as_bytes(), t(i)).unwrap();
        }
    }

    /// Three entries per file.
    fn rotating() -> LogOptions {
        LogOptions {
            max_size: Some(150),
            max_file: 4,
        }
    }

    fn numbers(range: std::ops::Range<u64>) -> Vec<String> {
        range.map(|i| format!("{i}\n")).collect()
    }

    #[tokio::test]
    async fn reads_across_rotated_files_in_order_with_filters() {
        let dir = temp_dir("read-all");
        let path = dir.path().join("c-json.log");
        write_lines(&path, 12, rotating());
        assert!(rotated_path(&path, 3).exists());
        assert_eq!(collect(&path, LogQuery::default()).await, numbers(0..12));
        let stdout = LogQuery {
            stderr: false,
            ..LogQuery::default()
        };
        assert_eq!(
            collect(&path, stdout).await,
            ["0\n", "2\n", "4\n", "6\n", "8\n", "10\n"]
        );
        let window = LogQuery {
            since: Some(t(3)),
            until: Some(t(7)),
            ..LogQuery::default()
        };
        assert_eq!(collect(&path, window).await, numbers(3..8));
        assert!(
            collect(&dir.path().join("none-json.log"), LogQuery::default())
                .await
                .is_empty()
        );
    }

    #[tokio::test]
    async fn tail_counts_from_the_end_across_rotated_files() {
        let dir = temp_dir("tail");
        let path = dir.path().join("c-json.log");
        write_lines(&path, 12, rotating());
        for n in [0usize, 1, 2, 3, 4, 5, 7, 11, 12, 50] {
            let q = LogQuery {
                tail: Some(n),
                ..LogQuery::default()
            };
            let from = 12u64.saturating_sub(n as u64);
            assert_eq!(collect(&path, q).await, numbers(from..12), "tail {n}");
        }
        // Tail counts lines before the stream filter, as dockerd does.
        let q = LogQuery {
            tail: Some(3),
            stderr: false,
            ..LogQuery::default()
        };
        assert_eq!(collect(&path, q).await, ["10\n"]);
        // A torn last line (a crash mid-write) is neither counted nor returned.
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"{\"log\":\"torn").unwrap();
        let q = LogQuery {
            tail: Some(2),
            ..LogQuery::default()
        };
        assert_eq!(collect(&path, q).await, numbers(10..12));
    }

    #[test]
    fn tail_start_reads_backwards_in_blocks() {
        let dir = temp_dir("tail-start");
        let path = dir.path().join("f");
        let text: String = (0..50_000).map(|i| format!("{i}\n")).collect();
        std::fs::write(&path, &text).unwrap();
        let f = StdFile::open(&path).unwrap();
        let (off, found) = tail_start(&f, 3).unwrap();
        assert_eq!(found, 3);
        assert_eq!(&text[off as usize..], "49997\n49998\n49999\n");
        assert_eq!(tail_start(&f, 60_000).unwrap(), (0, 50_000));
    }

    async fn next(s: &mut LogStream) -> Option<String> {
        tokio::time::timeout(Duration::from_secs(5), s.next())
            .await
            .expect("a line within 5 s")
            .map(|e| String::from_utf8(e.unwrap().log.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn follow_picks_up_appended_and_rotated_lines_and_ends_on_stop() {
        let dir = temp_dir("follow");
        let path = dir.path().join("c-json.log");
        let mut w = LogWriter::open(&path, rotating()).unwrap();
        w.write(Source::Stdout, b"old\n", t(0)).unwrap();
        let (tx, rx) = watch::channel(false);
        let q = LogQuery {
            follow: true,
            tail: Some(1),
            ..LogQuery::default()
        };
        let mut s = read(&path, q, rx);
        assert_eq!(next(&mut s).await.as_deref(), Some("old\n"));
        // Enough lines to rotate several times (3 entries per file), written while following.
        for i in 1..=10 {
            w.write(Source::Stdout, format!("{i}\n").as_bytes(), t(i))
                .unwrap();
            // Give the reader a chance to see each file before the next rotation.
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        for i in 1..=10 {
            assert_eq!(next(&mut s).await, Some(format!("{i}\n")));
        }
        w.write(Source::Stderr, b"last words\n", t(11)).unwrap();
        tx.send(true).unwrap();
        assert_eq!(next(&mut s).await.as_deref(), Some("last words\n"));
        assert_eq!(next(&mut s).await, None);
    }

    #[tokio::test]
    async fn follow_survives_truncation_and_waits_for_a_missing_file() {
        let dir = temp_dir("follow-trunc");
        let path = dir.path().join("c-json.log");
        let (tx, rx) = watch::channel(false);
        let q = LogQuery {
            follow: true,
            ..LogQuery::default()
        };
        let mut s = read(&path, q, rx);
        let options = LogOptions {
            max_size: Some(100),
            max_file: 1,
        };
        let writer = tokio::spawn({
            let path = path.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(150)).await;
                let mut w = LogWriter::open(&path, options).unwrap();
                for i in 0..4 {
                    w.write(Source::Stdout, format!("{i}\n").as_bytes(), t(i))
                        .unwrap();
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                tx.send(true).unwrap();
            }
        });
        let mut got = Vec::new();
        while let Some(e) = tokio::time::timeout(Duration::from_secs(10), s.next())
            .await
            .unwrap()
        {
            got.push(String::from_utf8(e.unwrap().log.to_vec()).unwrap());
        }
        writer.await.unwrap();
        assert_eq!(got, numbers(0..4));
    }

    #[tokio::test]
    async fn follow_ends_at_until_and_when_the_stop_sender_is_dropped() {
        let dir = temp_dir("follow-until");
        let path = dir.path().join("c-json.log");
        write_lines(&path, 2, LogOptions::default());
        let (_tx, rx) = watch::channel(false);
        let q = LogQuery {
            follow: true,
            until: Some(SystemTime::now() + Duration::from_millis(300)),
            ..LogQuery::default()
        };
        let got: Vec<_> = tokio::time::timeout(
            Duration::from_secs(5),
            read(&path, q, rx).collect::<Vec<_>>(),
        )
        .await
        .unwrap();
        assert_eq!(got.len(), 2);
        let (tx, rx) = watch::channel(false);
        let q = LogQuery {
            follow: true,
            ..LogQuery::default()
        };
        let mut s = read(&path, q, rx);
        assert!(s.next().await.is_some());
        assert!(s.next().await.is_some());
        drop(tx);
        assert!(tokio::time::timeout(Duration::from_secs(5), s.next())
            .await
            .unwrap()
            .is_none());
    }
}
