//! Reading the audit log back for `GET /wharf/v1/audit`: the three files the writer keeps (`audit.log.2`,
//! `.1`, then `audit.log`, oldest first), filtered, the newest `limit` records answered newest first.
//!
//! Why it is shaped so: the files hold up to 30 MiB and an admin may ask often, so nothing is read whole.
//! Lines are streamed through a bounded reader (a line longer than [`MAX_LINE`] is skipped without being
//! held), and only the last `limit` matches are kept, in a ring. Lines that do not parse are skipped and
//! counted, so a torn line (a crash mid-write) or a hand-edited file never hides the rest. The files are
//! opened newest first and a file seen twice (the writer rotated in between) is read once: a rotation
//! while reading neither repeats records nor loses any but the newest. Records still queued for the
//! writer are not there yet; that is fine.

use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::timefmt;

/// Records answered when no `limit` is given.
pub(crate) const DEFAULT_LIMIT: usize = 500;

/// Records answered at most.
pub(crate) const MAX_LIMIT: usize = 5000;

/// The longest line read: the writer's lines are far shorter (path and ID are capped at 256 bytes, some
/// 1.5 KiB each once JSON-escaped at worst), so a longer one is not the writer's and is skipped. With
/// [`MAX_LIMIT`], it bounds what one answer holds (5000 records of under 8 KiB).
pub(crate) const MAX_LINE: usize = 8 << 10;

/// One record as the writer wrote it ([`super::audit::Record`]), read back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub time: String,
    pub identity: String,
    pub role: Option<String>,
    pub method: String,
    pub path: String,
    pub id: Option<String>,
    pub status: u16,
}

/// Which statuses a query wants: `404`, or a class such as `4xx`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StatusFilter {
    Exact(u16),
    /// The hundreds digit.
    Class(u16),
}

impl StatusFilter {
    /// `404` or `4xx` (`4XX` too).
    pub(crate) fn parse(s: &str) -> Result<Self, Error> {
        let bad = || {
            Error::invalid(format!(
                "invalid status {s:?}: use a code such as 404 or a class such as 4xx"
            ))
        };
        let b = s.as_bytes();
        if b.len() != 3 || !(b'1'..=b'5').contains(&b[0]) {
            return Err(bad());
        }
        let first = u16::from(b[0] - b'0');
        if b[1..].eq_ignore_ascii_case(b"xx") {
            return Ok(Self::Class(first));
        }
        s.parse().map(Self::Exact).map_err(|_| bad())
    }

    fn matches(self, status: u16) -> bool {
        match self {
            Self::Exact(code) => status == code,
            Self::Class(hundreds) => status / 100 == hundreds,
        }
    }
}

/// What to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Query {
    /// The identity exactly (`token:ci`, `cert:client`, `unix`, `anonymous`).
    pub identity: Option<String>,
    /// The method, in any case.
    pub method: Option<String>,
    /// A part of the path.
    pub path: Option<String>,
    pub status: Option<StatusFilter>,
    /// Records at or after.
    pub since: Option<SystemTime>,
    /// Records at or before.
    pub until: Option<SystemTime>,
    /// Records answered at most, 1 to [`MAX_LIMIT`].
    pub limit: usize,
}

impl Default for Query {
    fn default() -> Self {
        Self {
            identity: None,
            method: None,
            path: None,
            status: None,
            since: None,
            until: None,
            limit: DEFAULT_LIMIT,
        }
    }
}

impl Query {
    fn matches(&self, e: &Entry) -> bool {
        if self.identity.as_ref().is_some_and(|i| *i != e.identity)
            || self
                .method
                .as_ref()
                .is_some_and(|m| !m.eq_ignore_ascii_case(&e.method))
            || self
                .path
                .as_ref()
                .is_some_and(|p| !e.path.contains(p.as_str()))
            || self.status.is_some_and(|s| !s.matches(e.status))
        {
            return false;
        }
        if self.since.is_none() && self.until.is_none() {
            return true;
        }
        let Some(t) = timefmt::parse_rfc3339(&e.time) else {
            return false;
        };
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t <= u)
    }
}

/// The answer: matching records, newest first, and how many lines could not be read.
#[derive(Debug, Default)]
pub(crate) struct Page {
    pub records: Vec<Entry>,
    pub skipped: u64,
}

/// The files of the log at `path`, newest first.
fn files(path: &Path) -> [PathBuf; 3] {
    let numbered = |n: usize| PathBuf::from(format!("{}.{n}", path.display()));
    [path.to_owned(), numbered(1), numbered(2)]
}

/// Reads the log at `path` (and its rotated files) for `query`. Blocking: call it off the async threads.
pub(crate) fn read(path: &Path, query: &Query) -> Result<Page, Error> {
    let limit = query.limit.clamp(1, MAX_LIMIT);
    // Opened newest first: a rotation between two opens makes the next name the file already open.
    let mut seen = HashSet::new();
    let mut opened = Vec::new();
    for name in files(path) {
        let file = match File::open(&name) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(Error::system(format!(
                    "cannot read the audit log {}: {e}",
                    name.display()
                )))
            }
        };
        let meta = file.metadata().map_err(Error::system)?;
        if seen.insert((meta.dev(), meta.ino())) {
            opened.push(file);
        }
    }
    let mut kept: VecDeque<Entry> = VecDeque::with_capacity(limit.min(1024));
    let mut page = Page::default();
    let mut line = Vec::new();
    for file in opened.into_iter().rev() {
        let mut reader = BufReader::new(file);
        loop {
            match next_line(&mut reader, &mut line).map_err(Error::system)? {
                Line::End => break,
                Line::TooLong => page.skipped += 1,
                Line::Read => {
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let Ok(entry) = serde_json::from_slice::<Entry>(&line) else {
                        page.skipped += 1;
                        continue;
                    };
                    if query.matches(&entry) {
                        if kept.len() == limit {
                            kept.pop_front();
                        }
                        kept.push_back(entry);
                    }
                }
            }
        }
    }
    page.records = kept.into_iter().rev().collect();
    Ok(page)
}

/// What [`next_line`] found.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    Read,
    /// Longer than [`MAX_LINE`]: consumed, not kept.
    TooLong,
    End,
}

/// Reads the next line into `line` (without its `\n`), holding at most [`MAX_LINE`] bytes of it.
fn next_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<Line> {
    line.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(match (any, too_long) {
                (false, _) => Line::End,
                (true, true) => Line::TooLong,
                (true, false) => Line::Read,
            });
        }
        any = true;
        let (chunk, used, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], i + 1, true),
            None => (buf, buf.len(), false),
        };
        if !too_long {
            if line.len() + chunk.len() > MAX_LINE {
                too_long = true;
                line.clear();
            } else {
                line.extend_from_slice(chunk);
            }
        }
        reader.consume(used);
        if done {
            return Ok(if too_long { Line::TooLong } else { Line::Read });
        }
    }
}

#[cfg(test)]
mod tests;
