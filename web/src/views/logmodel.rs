//! The log viewer's model, in plain Rust: lines as they arrive (split from the daemon's frames), kept
//! compactly (one `String` per line, its stream and where its timestamp ends), the window of lines on
//! screen, an incremental search and the text of a download.
//!
//! Built for 100 000 lines and more: the page draws only the lines in view ([`window`]), search scans
//! a bounded number of lines per animation frame ([`Search::step`]) and keeps going as lines arrive,
//! and the model keeps at most [`MAX_LINES`] (the oldest go first, as a terminal's scrollback).

use std::collections::VecDeque;

use crate::views::ansi;

/// The most lines kept; past it the oldest tenth goes.
pub const MAX_LINES: usize = 500_000;
/// A line longer than this without a newline is cut: a runaway writer cannot grow one line for ever.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Which of the container's streams a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One line of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// The line as the daemon sent it (timestamp first when asked for), without its newline.
    text: String,
    /// Bytes of `text` taken by the timestamp and its space (0 without one).
    ts_len: u8,
    pub stream: Stream,
}

impl Line {
    /// `text` from `stream`; its leading RFC 3339 timestamp, when `timestamps`, recognised.
    pub fn new(text: String, stream: Stream, timestamps: bool) -> Line {
        let ts_len = if timestamps { timestamp_len(&text) } else { 0 };
        Line {
            text,
            ts_len,
            stream,
        }
    }

    /// The timestamp (`2024-01-02T03:04:05.123456789Z`), if the line has one.
    pub fn timestamp(&self) -> Option<&str> {
        match self.ts_len {
            0 => None,
            n => self.text.get(..usize::from(n) - 1),
        }
    }

    /// The line after its timestamp, escape sequences included.
    pub fn body(&self) -> &str {
        self.text.get(usize::from(self.ts_len)..).unwrap_or("")
    }
}

/// How long the timestamp at the start of `text` is, with its space (`2024-01-02T03:04:05.1Z `).
fn timestamp_len(text: &str) -> u8 {
    let Some(space) = text.get(..64).unwrap_or(text).find(' ') else {
        return 0;
    };
    let ts = &text[..space];
    let looks_right = ts.len() >= 20
        && ts.as_bytes()[..4].iter().all(u8::is_ascii_digit)
        && ts.as_bytes()[4] == b'-'
        && ts.as_bytes()[10] == b'T';
    if looks_right {
        u8::try_from(space + 1).unwrap_or(0)
    } else {
        0
    }
}

/// Bytes from the daemon cut into lines, per stream (a frame may end mid-line, or hold many lines).
#[derive(Debug, Default)]
pub struct Splitter {
    partial: [Vec<u8>; 2],
}

impl Splitter {
    /// The whole lines `bytes` completes, in order; the rest is kept for the next call.
    pub fn push(&mut self, stream: Stream, bytes: &[u8], out: &mut Vec<(Stream, String)>) {
        let partial = &mut self.partial[stream as usize];
        let mut rest = bytes;
        while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
            partial.extend_from_slice(&rest[..pos]);
            out.push((stream, take_line(partial)));
            rest = &rest[pos + 1..];
        }
        partial.extend_from_slice(rest);
        while partial.len() >= MAX_LINE_BYTES {
            let tail = partial.split_off(MAX_LINE_BYTES);
            out.push((stream, take_line(partial)));
            *partial = tail;
        }
    }

    /// What remains once the log ended (a last line without its newline).
    pub fn finish(&mut self, out: &mut Vec<(Stream, String)>) {
        for stream in [Stream::Stdout, Stream::Stderr] {
            let partial = &mut self.partial[stream as usize];
            if !partial.is_empty() {
                out.push((stream, take_line(partial)));
            }
        }
    }
}

/// The line in `partial` (emptied), UTF-8 decoded (invalid bytes replaced), its `\r` dropped.
fn take_line(partial: &mut Vec<u8>) -> String {
    let bytes = std::mem::take(partial);
    let mut text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    if text.ends_with('\r') {
        text.pop();
    }
    // A progress bar's `\r`s: what a terminal would show is the text after the last one.
    if let Some(pos) = text.rfind('\r') {
        text.drain(..=pos);
    }
    text
}

/// The lines kept.
#[derive(Debug, Default)]
pub struct LogModel {
    lines: VecDeque<Line>,
    /// Lines dropped from the front since the start (indexes held elsewhere shift by it).
    pub dropped: u64,
}

impl LogModel {
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn get(&self, index: usize) -> Option<&Line> {
        self.lines.get(index)
    }

    /// Appends `line`; returns how many old lines went to make room (0 nearly always).
    pub fn push(&mut self, line: Line) -> usize {
        self.lines.push_back(line);
        if self.lines.len() > MAX_LINES {
            let n = MAX_LINES / 10;
            self.lines.drain(..n);
            self.dropped += n as u64;
            n
        } else {
            0
        }
    }

    pub fn clear(&mut self) {
        self.lines.clear();
    }

    /// The log as a file: one line each, escape sequences dropped, with timestamps when `timestamps`.
    pub fn export(&self, timestamps: bool) -> String {
        let mut out = String::with_capacity(self.lines.iter().map(|l| l.text.len() + 1).sum());
        for line in &self.lines {
            if timestamps {
                if let Some(ts) = line.timestamp() {
                    out.push_str(ts);
                    out.push(' ');
                }
            }
            out.push_str(&ansi::plain(line.body()));
            out.push('\n');
        }
        out
    }
}

/// The lines `[start, end)` to draw for a viewport of `height` px scrolled to `scroll_top`, lines
/// `line_height` px high, `overscan` lines beyond each edge.
pub fn window(
    scroll_top: f64,
    height: f64,
    line_height: f64,
    total: usize,
    overscan: usize,
) -> (usize, usize) {
    if total == 0 || line_height <= 0.0 {
        return (0, 0);
    }
    let first = (scroll_top.max(0.0) / line_height).floor() as usize;
    let visible = (height.max(0.0) / line_height).ceil() as usize + 1;
    let start = first.saturating_sub(overscan).min(total);
    let end = first.saturating_add(visible + overscan).min(total);
    (start, end)
}

/// Whether a viewport scrolled to `scroll_top` shows the end of content `scroll_height` high (within
/// a line): new lines then keep it at the end.
pub fn at_bottom(scroll_top: f64, height: f64, scroll_height: f64, line_height: f64) -> bool {
    scroll_top + height >= scroll_height - line_height
}

/// A search through the log, case-insensitive, run a slice at a time.
#[derive(Debug, Default)]
pub struct Search {
    /// The query, lowercased; empty: no search.
    query: String,
    /// Indexes of the matching lines, ascending.
    matches: Vec<usize>,
    /// Lines scanned so far (from the first).
    scanned: usize,
    /// Which of `matches` is the current one.
    current: Option<usize>,
}

impl Search {
    pub fn new(query: &str) -> Search {
        Search {
            query: query.to_lowercase(),
            ..Search::default()
        }
    }

    pub fn query(&self) -> &str {
        &self.query
    }

    pub fn is_active(&self) -> bool {
        !self.query.is_empty()
    }

    /// Scans up to `budget` more lines of `model`; true once every line is scanned.
    pub fn step(&mut self, model: &LogModel, budget: usize) -> bool {
        if self.query.is_empty() {
            self.scanned = model.len();
            return true;
        }
        let end = model.len().min(self.scanned.saturating_add(budget));
        for index in self.scanned..end {
            if let Some(line) = model.get(index) {
                if contains_folded(&ansi::plain(line.body()), &self.query) {
                    self.matches.push(index);
                }
            }
        }
        self.scanned = end;
        if self.current.is_none() && !self.matches.is_empty() {
            self.current = Some(0);
        }
        self.scanned >= model.len()
    }

    pub fn done(&self, model: &LogModel) -> bool {
        self.scanned >= model.len()
    }

    /// The model dropped its first `n` lines: indexes move down.
    pub fn shift(&mut self, n: usize) {
        let gone = self.matches.partition_point(|&i| i < n);
        self.matches.drain(..gone);
        for i in &mut self.matches {
            *i -= n;
        }
        self.scanned = self.scanned.saturating_sub(n);
        self.current = match self.current {
            _ if self.matches.is_empty() => None,
            Some(c) => Some(c.saturating_sub(gone)),
            None => None,
        };
    }

    pub fn count(&self) -> usize {
        self.matches.len()
    }

    /// The current match's position among the matches (0-based) and its line.
    pub fn current(&self) -> Option<(usize, usize)> {
        let c = self.current?;
        Some((c, *self.matches.get(c)?))
    }

    /// Moves to the next match (wrapping); returns its line.
    pub fn next(&mut self) -> Option<usize> {
        let n = self.matches.len();
        if n == 0 {
            return None;
        }
        let c = self.current.map_or(0, |c| (c + 1) % n);
        self.current = Some(c);
        self.matches.get(c).copied()
    }

    /// Moves to the previous match (wrapping); returns its line.
    pub fn prev(&mut self) -> Option<usize> {
        let n = self.matches.len();
        if n == 0 {
            return None;
        }
        let c = self.current.map_or(n - 1, |c| (c + n - 1) % n);
        self.current = Some(c);
        self.matches.get(c).copied()
    }

    /// Whether line `index` matches.
    pub fn is_match(&self, index: usize) -> bool {
        self.matches.binary_search(&index).is_ok()
    }
}

/// Whether `hay` contains `needle` (already lowercase), ignoring case; no allocation for ASCII.
fn contains_folded(hay: &str, needle: &str) -> bool {
    if needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        if n.len() > h.len() {
            return false;
        }
        return h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    hay.to_lowercase().contains(needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(lines: &[&str]) -> LogModel {
        let mut m = LogModel::default();
        for l in lines {
            m.push(Line::new((*l).to_owned(), Stream::Stdout, false));
        }
        m
    }

    #[test]
    fn frames_are_split_into_lines_per_stream() {
        let mut s = Splitter::default();
        let mut out = Vec::new();
        s.push(Stream::Stdout, b"one\ntw", &mut out);
        s.push(Stream::Stderr, b"err\r\n", &mut out);
        s.push(Stream::Stdout, b"o\nthree\n\nfour", &mut out);
        assert_eq!(
            out,
            vec![
                (Stream::Stdout, "one".to_owned()),
                (Stream::Stderr, "err".to_owned()),
                (Stream::Stdout, "two".to_owned()),
                (Stream::Stdout, "three".to_owned()),
                (Stream::Stdout, String::new()),
            ]
        );
        out.clear();
        s.finish(&mut out);
        assert_eq!(out, vec![(Stream::Stdout, "four".to_owned())]);
    }

    #[test]
    fn split_characters_and_progress_bars() {
        let mut s = Splitter::default();
        let mut out = Vec::new();
        let euro = "€".as_bytes();
        s.push(Stream::Stdout, &euro[..1], &mut out);
        s.push(Stream::Stdout, &euro[1..], &mut out);
        s.push(Stream::Stdout, b"\n10%\r50%\r100%\n\xff\n", &mut out);
        let texts: Vec<_> = out.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(texts, vec!["€", "100%", "\u{fffd}"]);
    }

    #[test]
    fn long_lines_are_cut() {
        let mut s = Splitter::default();
        let mut out = Vec::new();
        s.push(
            Stream::Stdout,
            &vec![b'x'; MAX_LINE_BYTES * 2 + 5],
            &mut out,
        );
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|(_, t)| t.len() == MAX_LINE_BYTES));
        out.clear();
        s.finish(&mut out);
        assert_eq!(out[0].1.len(), 5);
    }

    #[test]
    fn timestamps_are_recognised() {
        let line = Line::new(
            "2024-01-02T03:04:05.123456789Z hello world".to_owned(),
            Stream::Stderr,
            true,
        );
        assert_eq!(line.timestamp(), Some("2024-01-02T03:04:05.123456789Z"));
        assert_eq!(line.body(), "hello world");
        let plain = Line::new("hello world".to_owned(), Stream::Stdout, true);
        assert_eq!((plain.timestamp(), plain.body()), (None, "hello world"));
        let not_asked = Line::new("2024-01-02T03:04:05Z x".to_owned(), Stream::Stdout, false);
        assert_eq!(not_asked.body(), "2024-01-02T03:04:05Z x");
        assert_eq!(Line::new("".to_owned(), Stream::Stdout, true).body(), "");
    }

    #[test]
    fn export_drops_escapes_and_keeps_timestamps_when_asked() {
        let mut m = LogModel::default();
        m.push(Line::new(
            "2024-01-02T03:04:05Z \x1b[31mred\x1b[0m".to_owned(),
            Stream::Stdout,
            true,
        ));
        m.push(Line::new(
            "2024-01-02T03:04:06Z b".to_owned(),
            Stream::Stderr,
            true,
        ));
        assert_eq!(m.export(false), "red\nb\n");
        assert_eq!(
            m.export(true),
            "2024-01-02T03:04:05Z red\n2024-01-02T03:04:06Z b\n"
        );
    }

    #[test]
    fn window_covers_the_viewport_and_overscan() {
        assert_eq!(window(0.0, 180.0, 18.0, 100_000, 5), (0, 16));
        assert_eq!(window(18_000.0, 180.0, 18.0, 100_000, 5), (995, 1016));
        assert_eq!(
            window(1_799_900.0, 180.0, 18.0, 100_000, 5),
            (99_989, 100_000)
        );
        assert_eq!(window(0.0, 180.0, 18.0, 3, 5), (0, 3));
        assert_eq!(window(0.0, 180.0, 18.0, 0, 5), (0, 0));
        assert!(at_bottom(820.0, 180.0, 1000.0, 18.0));
        assert!(!at_bottom(500.0, 180.0, 1000.0, 18.0));
    }

    #[test]
    fn search_runs_in_slices_and_follows_new_lines() {
        let mut m = model(&[
            "Alpha",
            "beta",
            "\x1b[1mALPHA\x1b[0m",
            "gamma",
            "x\x1b[1malp\x1b[0mha",
        ]);
        let mut s = Search::new("alpha");
        assert!(!s.step(&m, 2));
        assert_eq!(s.count(), 1);
        assert!(s.step(&m, 10));
        assert_eq!(
            s.count(),
            3,
            "case and escape sequences do not hide a match"
        );
        assert_eq!(s.current(), Some((0, 0)));
        assert_eq!(s.next(), Some(2));
        assert_eq!(s.next(), Some(4));
        assert_eq!(s.next(), Some(0), "wraps");
        assert_eq!(s.prev(), Some(4));
        assert!(s.is_match(2) && !s.is_match(1));
        m.push(Line::new("alpha again".to_owned(), Stream::Stdout, false));
        assert!(!s.done(&m));
        assert!(s.step(&m, 10));
        assert_eq!(s.count(), 4);
        s.shift(3);
        assert_eq!((s.count(), s.is_match(1), s.is_match(2)), (2, true, true));
        assert!(Search::new("").step(&m, 0));
        assert_eq!(Search::new("É").query(), "é");
        let mut unicode = Search::new("É");
        unicode.step(&model(&["café", "CAFÉ", "cafe"]), 10);
        assert_eq!(unicode.count(), 2);
    }

    #[test]
    fn the_model_is_bounded() {
        let mut m = LogModel::default();
        let mut dropped = 0;
        for i in 0..MAX_LINES + 1 {
            dropped += m.push(Line::new(i.to_string(), Stream::Stdout, false));
        }
        assert_eq!(dropped, MAX_LINES / 10);
        assert_eq!(m.len(), MAX_LINES + 1 - MAX_LINES / 10);
        assert_eq!(
            m.get(0).map(Line::body),
            Some((MAX_LINES / 10).to_string().as_str())
        );
    }
}
