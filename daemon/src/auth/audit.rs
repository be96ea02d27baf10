//! The audit log: one JSON line per state-changing request and per exec or attach session, in
//! `<data-root>/auth/audit.log` (0600), rotated at [`MAX_FILE_BYTES`] into `audit.log.1` and
//! `audit.log.2` (three files at most).
//!
//! A request never waits for the log and never fails because of it: records go through a bounded queue
//! to a writer thread, and when the queue is full (the disk is slow or gone) the record is dropped and
//! counted. Lines hold the path but never the query, where a WebSocket ticket may travel, and no header.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};

use serde::Serialize;

/// A file is rotated once it would grow past this: 10 MiB.
pub(crate) const MAX_FILE_BYTES: u64 = 10 << 20;

/// Files kept: `audit.log` and this many rotated ones, minus one.
const FILES: usize = 3;

/// Records waiting for the writer at most.
const QUEUE: usize = 4096;

/// One audited request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Record {
    /// RFC 3339.
    pub time: String,
    /// `unix`, `cert:<CN>`, `token:<name>`, or `anonymous` for a refused request.
    pub identity: String,
    /// The identity's role, if it has one.
    pub role: Option<&'static str>,
    pub method: String,
    pub path: String,
    /// The container, exec, image or token the path names.
    pub id: Option<String>,
    pub status: u16,
}

/// The most of a path or an object ID a line keeps.
const MAX_FIELD: usize = 256;

/// Cuts `text` to [`MAX_FIELD`] bytes, on a character boundary, marking the cut with `…`.
fn cap(text: &mut String) {
    if text.len() > MAX_FIELD {
        let mut end = MAX_FIELD;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
}

/// The log's sending end.
#[derive(Debug)]
pub(crate) struct AuditLog {
    tx: Option<SyncSender<Record>>,
    dropped: AtomicU64,
    /// The live file, which `audit_read` reads back; `None` when nothing is audited.
    path: Option<PathBuf>,
}

impl AuditLog {
    /// Starts the writer thread appending to `path`.
    pub(crate) fn start(path: PathBuf) -> Self {
        let (tx, rx) = sync_channel(QUEUE);
        let written = path.clone();
        let spawned = std::thread::Builder::new()
            .name("wharf-audit".into())
            .spawn(move || write_all(&written, &rx));
        if let Err(e) = spawned {
            tracing::error!("cannot start the audit writer: {e}; nothing will be audited");
            return Self::disabled();
        }
        Self {
            tx: Some(tx),
            dropped: AtomicU64::new(0),
            path: Some(path),
        }
    }

    /// A log that records nothing.
    pub(crate) fn disabled() -> Self {
        Self {
            tx: None,
            dropped: AtomicU64::new(0),
            path: None,
        }
    }

    /// Queues `record`, or counts it dropped when the queue is full.
    pub(crate) fn record(&self, mut record: Record) {
        let Some(tx) = &self.tx else { return };
        // A line stays small however long the request's path: the queue and the log stay bounded.
        cap(&mut record.path);
        if let Some(id) = record.id.as_mut() {
            cap(id);
        }
        match tx.try_send(record) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                let before = self.dropped.fetch_add(1, Ordering::Relaxed);
                if before.is_power_of_two() || before == 0 {
                    tracing::warn!("audit log queue full: {} records dropped", before + 1);
                }
            }
        }
    }

    /// Records dropped so far.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The live file, if anything is audited.
    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

/// The writer: appends each record as a line, rotating as it goes, until every sender is gone.
fn write_all(path: &Path, rx: &Receiver<Record>) {
    let mut out = Output::new(path);
    while let Ok(record) = rx.recv() {
        let Ok(mut line) = serde_json::to_vec(&record) else {
            continue;
        };
        line.push(b'\n');
        if let Err(e) = out.append(&line) {
            tracing::warn!("cannot write the audit log {}: {e}", path.display());
            out.file = None;
        }
    }
}

/// The open file and its size.
struct Output<'a> {
    path: &'a Path,
    file: Option<File>,
    size: u64,
}

impl<'a> Output<'a> {
    fn new(path: &'a Path) -> Self {
        Self {
            path,
            file: None,
            size: 0,
        }
    }

    fn open(&mut self) -> std::io::Result<&mut File> {
        if self.file.is_none() {
            let file = OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o600)
                .open(self.path)?;
            self.size = file.metadata()?.len();
            self.file = Some(file);
        }
        self.file
            .as_mut()
            .ok_or_else(|| std::io::Error::other("audit log not open"))
    }

    fn append(&mut self, line: &[u8]) -> std::io::Result<()> {
        self.open()?;
        if self.size > 0 && self.size + line.len() as u64 > MAX_FILE_BYTES {
            self.file = None;
            rotate(self.path)?;
        }
        let file = self.open()?;
        file.write_all(line)?;
        self.size += line.len() as u64;
        Ok(())
    }
}

/// `audit.log.1` → `.2` and so on, the oldest dropped, then `audit.log` → `audit.log.1`.
fn rotate(path: &Path) -> std::io::Result<()> {
    let numbered = |n: usize| PathBuf::from(format!("{}.{n}", path.display()));
    for n in (1..FILES).rev() {
        let from = if n == 1 {
            path.to_owned()
        } else {
            numbered(n - 1)
        };
        match std::fs::rename(&from, numbered(n)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_fields_are_cut_on_a_character_boundary() {
        let mut long = "é".repeat(200);
        cap(&mut long);
        assert!(long.len() <= MAX_FIELD + '…'.len_utf8(), "{}", long.len());
        assert!(long.ends_with('…'));
        let mut short = "/containers/x/stop".to_owned();
        cap(&mut short);
        assert_eq!(short, "/containers/x/stop");
    }

    use super::*;

    fn record(i: usize) -> Record {
        Record {
            time: "2026-12-06T07:00:00Z".into(),
            identity: "token:ci".into(),
            role: Some("operator"),
            method: "POST".into(),
            path: format!("/containers/c{i}/stop"),
            id: Some(format!("c{i}")),
            status: 204,
        }
    }

    #[test]
    fn lines_are_json_and_files_rotate_keeping_three() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let mut out = Output::new(&path);
        let line = {
            let mut l = serde_json::to_vec(&record(0)).unwrap();
            l.push(b'\n');
            l
        };
        let per_file = (MAX_FILE_BYTES / line.len() as u64) as usize;
        for _ in 0..(per_file * 3 + 5) {
            out.append(&line).unwrap();
        }
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["audit.log", "audit.log.1", "audit.log.2"]);
        for name in &names {
            let size = std::fs::metadata(dir.path().join(name)).unwrap().len();
            assert!(size <= MAX_FILE_BYTES, "{name}: {size}");
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["identity"], "token:ci");
        assert_eq!(first["status"], 204);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_blocking() {
        let (tx, _rx) = sync_channel(2);
        let log = AuditLog {
            tx: Some(tx),
            dropped: AtomicU64::new(0),
            path: None,
        };
        for i in 0..5 {
            log.record(record(i));
        }
        assert_eq!(log.dropped(), 3);
    }

    #[test]
    fn the_writer_thread_appends_what_is_queued() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let log = AuditLog::start(path.clone());
        log.record(record(1));
        drop(log);
        let mut text = String::new();
        for _ in 0..200 {
            text = std::fs::read_to_string(&path).unwrap_or_default();
            if !text.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(text.contains("\"path\":\"/containers/c1/stop\""), "{text}");
    }
}
