//! The json-file writer: splits what a container writes into lines as moby's log copier does, writes each
//! line with its own write(2) (so a `kill -9` of the daemon loses no line that was written) and rotates by
//! size.
//!
//! Line splitting (moby's `daemon/logger/copier.go`): each `\n`-terminated line is one entry; bytes without
//! a newline wait for the rest of their line, up to [`MAX_LINE`] bytes, past which they are written as a
//! *partial* entry (no trailing `\n` in `log`); a partial line left at the end of a stream is written as is
//! by [`LogWriter::flush_partial`]. The pieces of one long line share the first piece's time, as in moby.
//! Bytes waiting for their newline live in memory: like dockerd, a crash loses at most that unfinished
//! line.
//!
//! Rotation (moby's `loggerutils.LogFile`): before a line is written, a file that has reached `max-size` is
//! renamed `<path>.1`, `.1` becomes `.2` and so on, the oldest beyond `max-file` is overwritten; with
//! `max-file` 1 the file is truncated instead.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::{jsonline, LogError, LogOptions, Source};

/// The longest line kept whole; longer ones are split into partial entries (moby's copier buffer).
pub(crate) const MAX_LINE: usize = 16 * 1024;

/// A writer shared by a run's stdout and stderr copies (and whoever closes it); the lock is held for one
/// chunk's line writes.
pub(crate) type SharedLogWriter = std::sync::Arc<std::sync::Mutex<LogWriter>>;

/// A container's json-file log, open for appending.
#[derive(Debug)]
pub(crate) struct LogWriter {
    path: PathBuf,
    file: File,
    size: u64,
    options: LogOptions,
    /// Per source: bytes waiting for their newline, and the time of the first partial entry written for
    /// the line in progress.
    pending: [Vec<u8>; 2],
    partial_time: [Option<SystemTime>; 2],
    line: Vec<u8>,
}

fn open_append(path: &Path, truncate: bool) -> Result<File, LogError> {
    OpenOptions::new()
        .create(true)
        .append(!truncate)
        .write(true)
        .truncate(truncate)
        .mode(0o640)
        .open(path)
        .map_err(LogError::io("open", path))
}

/// `<path>.<n>`, the name of the `n`-th rotated file.
pub(crate) fn rotated_path(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

impl LogWriter {
    /// Opens (or creates, mode 0640) the log at `path` for appending. The directory must exist.
    pub(crate) fn open(path: impl Into<PathBuf>, options: LogOptions) -> Result<Self, LogError> {
        let path = path.into();
        let file = open_append(&path, false)?;
        let size = file.metadata().map_err(LogError::io("stat", &path))?.len();
        Ok(Self {
            path,
            file,
            size,
            options,
            pending: [Vec::new(), Vec::new()],
            partial_time: [None, None],
            line: Vec::with_capacity(256),
        })
    }

    /// Adds bytes a container wrote to `source`, received at `time`; writes every line they complete.
    pub(crate) fn write(
        &mut self,
        source: Source,
        bytes: &[u8],
        time: SystemTime,
    ) -> Result<(), LogError> {
        let i = source.index();
        let mut pending = std::mem::take(&mut self.pending[i]);
        pending.extend_from_slice(bytes);
        let mut start = 0;
        let mut result = Ok(());
        while result.is_ok() {
            let rest = &pending[start..];
            if let Some(nl) = rest.iter().position(|&b| b == b'\n') {
                let t = self.partial_time[i].take().unwrap_or(time);
                result = self.write_entry(source, &rest[..=nl], t);
                start += nl + 1;
            } else if rest.len() >= MAX_LINE {
                let t = *self.partial_time[i].get_or_insert(time);
                result = self.write_entry(source, &rest[..MAX_LINE], t);
                start += MAX_LINE;
            } else {
                break;
            }
        }
        pending.drain(..start);
        self.pending[i] = pending;
        result
    }

    /// Writes what `source` left without a newline (at the end of its stream), as a partial entry.
    pub(crate) fn flush_partial(
        &mut self,
        source: Source,
        time: SystemTime,
    ) -> Result<(), LogError> {
        let i = source.index();
        let pending = std::mem::take(&mut self.pending[i]);
        let result = if pending.is_empty() {
            Ok(())
        } else {
            let t = self.partial_time[i].take().unwrap_or(time);
            self.write_entry(source, &pending, t)
        };
        self.partial_time[i] = None;
        result
    }

    /// Flushes both sources' partial lines and closes the file.
    #[cfg(test)]
    pub(crate) fn close(mut self) -> Result<(), LogError> {
        let now = SystemTime::now();
        let out = self.flush_partial(Source::Stdout, now);
        let err = self.flush_partial(Source::Stderr, now);
        out.and(err)
    }

    fn write_entry(
        &mut self,
        source: Source,
        log: &[u8],
        time: SystemTime,
    ) -> Result<(), LogError> {
        if let Some(cap) = self.options.max_size {
            if self.size >= cap {
                self.rotate()?;
            }
        }
        self.line.clear();
        jsonline::encode_into(&mut self.line, log, source, time);
        self.file
            .write_all(&self.line)
            .map_err(LogError::io("write", &self.path))?;
        self.size += self.line.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> Result<(), LogError> {
        let keep = self.options.max_file;
        if keep < 2 {
            self.file = open_append(&self.path, true)?;
            // Reopen for appending, so that writes go to the end even if someone else appends.
            self.file = open_append(&self.path, false)?;
            self.size = 0;
            return Ok(());
        }
        for n in (2..keep).rev() {
            let from = rotated_path(&self.path, n - 1);
            let to = rotated_path(&self.path, n);
            match std::fs::rename(&from, &to) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(LogError::io("rotate", &from)(e))
                }
                _ => {}
            }
        }
        std::fs::rename(&self.path, rotated_path(&self.path, 1))
            .map_err(LogError::io("rotate", &self.path))?;
        self.file = open_append(&self.path, true)?;
        self.size = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    use crate::logs::temp_dir;

    fn t(n: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(1_795_843_633, n)
    }

    fn lines(path: &Path) -> Vec<jsonline::Decoded> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| jsonline::decode(l.as_bytes()).unwrap())
            .collect()
    }

    #[test]
    fn splits_chunks_into_lines_as_moby_does() {
        let dir = temp_dir("split");
        let path = dir.path().join("c-json.log");
        let mut w = LogWriter::open(&path, LogOptions::default()).unwrap();
        w.write(Source::Stdout, b"a\nc", t(1)).unwrap();
        w.write(Source::Stderr, b"b\n", t(2)).unwrap();
        w.write(Source::Stdout, b"\nx\r\ny", t(3)).unwrap();
        w.close().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            concat!(
                "{\"log\":\"a\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-28T05:27:13.000000001Z\"}\n",
                "{\"log\":\"b\\n\",\"stream\":\"stderr\",\"time\":\"2026-11-28T05:27:13.000000002Z\"}\n",
                "{\"log\":\"c\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-28T05:27:13.000000003Z\"}\n",
                "{\"log\":\"x\\r\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-28T05:27:13.000000003Z\"}\n",
            )
            .to_owned()
                + "{\"log\":\"y\",\"stream\":\"stdout\",\"time\":\""
                + &crate::timefmt::rfc3339_nano(lines(&path)[4].time)
                + "\"}\n"
        );
        // Appending after reopening keeps what was there.
        let mut w = LogWriter::open(&path, LogOptions::default()).unwrap();
        w.write(Source::Stdout, b"more\n", t(4)).unwrap();
        assert_eq!(lines(&path).len(), 6);
    }

    #[test]
    fn long_lines_become_16k_partials_sharing_the_first_time() {
        let dir = temp_dir("partial");
        let path = dir.path().join("c-json.log");
        let mut w = LogWriter::open(&path, LogOptions::default()).unwrap();
        let long = vec![b'x'; 20_000];
        for chunk in long.chunks(3000) {
            w.write(Source::Stdout, chunk, t(5)).unwrap();
        }
        w.write(Source::Stdout, b"\n", t(9)).unwrap();
        let got = lines(&path);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].log.len(), MAX_LINE);
        assert_eq!(got[1].log.len(), 20_000 - MAX_LINE + 1);
        assert!(got[1].log.ends_with(b"x\n"));
        assert_eq!((got[0].time, got[1].time), (t(5), t(5)));
    }

    #[test]
    fn rotates_by_size_keeping_max_file_files() {
        let dir = temp_dir("rotate");
        let path = dir.path().join("c-json.log");
        let options = LogOptions {
            max_size: Some(200),
            max_file: 3,
        };
        let mut w = LogWriter::open(&path, options).unwrap();
        for i in 0..20 {
            w.write(Source::Stdout, format!("line {i}\n").as_bytes(), t(i))
                .unwrap();
        }
        // Each entry is 74 bytes: three fit in a file before it reaches 200.
        let texts: Vec<String> = [path.clone(), rotated_path(&path, 1), rotated_path(&path, 2)]
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        assert!(!rotated_path(&path, 3).exists());
        assert!(texts[0].contains("line 18") && texts[0].contains("line 19"));
        assert!(texts[1].contains("line 15") && texts[1].contains("line 17"));
        assert!(texts[2].contains("line 12") && texts[2].contains("line 14"));
        assert!(texts.iter().all(|t| t.len() < 300));

        let single = dir.path().join("s-json.log");
        let mut w = LogWriter::open(
            &single,
            LogOptions {
                max_size: Some(100),
                max_file: 1,
            },
        )
        .unwrap();
        for i in 0..5 {
            w.write(Source::Stderr, format!("l{i}\n").as_bytes(), t(i))
                .unwrap();
        }
        let text = std::fs::read_to_string(&single).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains("l4"));
        assert!(!rotated_path(&single, 1).exists());
    }
}
