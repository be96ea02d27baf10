//! A pull's or a push's progress as the docker CLI draws it (moby's `jsonmessage`): one line per layer
//! (`a3ed95caeb02: Downloading [=====>    ]  1.2MB/3.4MB`), rewritten in place as its messages come,
//! and the other messages (`latest: Pulling from library/busybox`, `Digest: ...`) as lines of their own.
//!
//! [`Board`] is pure: it takes messages and says which line changed ([`Change`]), so the CLI can move a
//! terminal's cursor to it and the browser console can redraw one element. As in the docker CLI, a line
//! is updatable while only progress messages follow it; a message without progress (or without an
//! `id`) starts afresh, so a layer named again after it gets a new line.

use std::collections::HashMap;

use crate::api::registry::ProgressMessage;
use crate::models::ProgressDetail;

/// The width of the bar between `[` and `]`, as the docker CLI draws it (50 steps and the head).
const BAR_STEPS: i64 = 50;

/// What a message changed on the board.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A new line at the bottom.
    Append(String),
    /// The line `up` lines above the bottom one (0 = the bottom one) now reads `text`.
    Rewrite {
        /// How many lines above the last it is.
        up: usize,
        /// Its new text.
        text: String,
    },
}

/// The lines of a pull or a push so far.
#[derive(Debug, Default)]
pub struct Board {
    lines: Vec<String>,
    /// The lines that may still be rewritten, by the `id` they show.
    live: HashMap<String, usize>,
    /// Draw bars; without, a line shows the counts only (as the docker CLI does below 110 columns).
    bars: bool,
}

impl Board {
    /// An empty board; `bars` draws `[===>   ]` before the counts.
    pub fn new(bars: bool) -> Self {
        Self {
            bars,
            ..Self::default()
        }
    }

    /// Every line, top to bottom.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// Applies `message`; `None` when it shows nothing (a message with neither status nor id).
    pub fn apply(&mut self, message: &ProgressMessage) -> Option<Change> {
        let status = message.status.as_deref().unwrap_or_default();
        let id = message.id.as_deref().filter(|id| !id.is_empty());
        let has_progress = message.progress_detail.is_some() || message.progress.is_some();
        if status.is_empty() && id.is_none() {
            return None;
        }
        let text = line(id, status, message.progress_detail.as_ref(), self.bars);
        match id {
            Some(id) if has_progress => {
                if let Some(&index) = self.live.get(id) {
                    if let Some(slot) = self.lines.get_mut(index) {
                        *slot = text.clone();
                    }
                    let up = self.lines.len().saturating_sub(index + 1);
                    return Some(Change::Rewrite { up, text });
                }
                self.live.insert(id.to_owned(), self.lines.len());
            }
            _ => self.live.clear(),
        }
        self.lines.push(text.clone());
        Some(Change::Append(text))
    }
}

/// One line: `id: status progress`, the progress drawn from `detail`.
pub fn line(id: Option<&str>, status: &str, detail: Option<&ProgressDetail>, bars: bool) -> String {
    let mut text = String::new();
    if let Some(id) = id {
        text.push_str(id);
        text.push_str(": ");
    }
    text.push_str(status);
    let progress = detail.map(|d| progress(d, bars)).unwrap_or_default();
    if !progress.is_empty() {
        text.push(' ');
        text.push_str(&progress);
    }
    text
}

/// `[====>     ]  1.2MB/3.4MB`, or only `  1.2MB` when the total is unknown: moby's
/// `JSONProgress.String` without the time left.
pub fn progress(detail: &ProgressDetail, bars: bool) -> String {
    let current = detail.current.unwrap_or(0);
    let total = detail.total.unwrap_or(0);
    if current <= 0 && total <= 0 {
        return String::new();
    }
    if total <= 0 {
        return format!("{:>8}", human_size(current));
    }
    let mut out = String::new();
    if bars {
        let filled = (current.saturating_mul(100) / total / 2).clamp(0, BAR_STEPS);
        let filled = usize::try_from(filled).unwrap_or(0);
        let empty = usize::try_from(BAR_STEPS).unwrap_or(0) - filled;
        out.push('[');
        out.push_str(&"=".repeat(filled));
        out.push('>');
        out.push_str(&" ".repeat(empty));
        out.push_str("] ");
    }
    if current > total {
        out.push_str(&format!("{:>8}", human_size(current)));
    } else {
        out.push_str(&format!("{:>8}/{}", human_size(current), human_size(total)));
    }
    out
}

/// go-units' `HumanSize`: decimal units, four significant digits (`%.4g`), `1.235MB`.
pub fn human_size(size: i64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut value = size.max(0) as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    let int_digits = if value < 1.0 {
        1
    } else {
        (value.log10().floor() as i32) + 1
    };
    let decimals = usize::try_from((4 - int_digits).max(0)).unwrap_or(0);
    let mut text = format!("{value:.decimals$}");
    if text.contains('.') {
        text = text.trim_end_matches('0').trim_end_matches('.').to_owned();
    }
    format!("{text}{}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: Option<&str>, status: &str, detail: Option<(i64, i64)>) -> ProgressMessage {
        ProgressMessage {
            id: id.map(str::to_owned),
            status: Some(status.to_owned()),
            progress_detail: detail.map(|(current, total)| ProgressDetail {
                current: (current != 0).then_some(current),
                total: (total != 0).then_some(total),
            }),
            ..ProgressMessage::default()
        }
    }

    #[test]
    fn sizes_read_as_go_units_writes_them() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(1234), "1.234kB");
        assert_eq!(human_size(1_234_567), "1.235MB");
        assert_eq!(human_size(3_000_000), "3MB");
        assert_eq!(human_size(123_400_000), "123.4MB");
    }

    #[test]
    fn the_bar_fills_with_the_counts() {
        let half = ProgressDetail {
            current: Some(1_000_000),
            total: Some(2_000_000),
        };
        assert_eq!(
            progress(&half, true),
            format!("[{}>{}]      1MB/2MB", "=".repeat(25), " ".repeat(25))
        );
        assert_eq!(progress(&half, false), "     1MB/2MB");
        let unknown = ProgressDetail {
            current: Some(512),
            total: None,
        };
        assert_eq!(progress(&unknown, true), "    512B");
        assert_eq!(progress(&ProgressDetail::default(), true), "");
    }

    #[test]
    fn a_layer_keeps_its_line_until_something_else_is_said() {
        let mut b = Board::new(false);
        let c = b.apply(&msg(Some("latest"), "Pulling from library/x", None));
        assert_eq!(
            c,
            Some(Change::Append("latest: Pulling from library/x".into()))
        );
        b.apply(&msg(Some("aa"), "Pulling fs layer", Some((0, 0))));
        b.apply(&msg(Some("bb"), "Pulling fs layer", Some((0, 0))));
        let c = b.apply(&msg(Some("aa"), "Downloading", Some((500, 1000))));
        assert_eq!(
            c,
            Some(Change::Rewrite {
                up: 1,
                text: "aa: Downloading     500B/1kB".into()
            })
        );
        let c = b.apply(&msg(Some("bb"), "Pull complete", Some((0, 0))));
        assert_eq!(
            c,
            Some(Change::Rewrite {
                up: 0,
                text: "bb: Pull complete".into()
            })
        );
        b.apply(&msg(None, "Digest: sha256:ab", None));
        // After a line of its own, a layer named again starts a new line.
        let c = b.apply(&msg(Some("aa"), "Pull complete", Some((0, 0))));
        assert_eq!(c, Some(Change::Append("aa: Pull complete".into())));
        assert_eq!(
            b.lines(),
            [
                "latest: Pulling from library/x",
                "aa: Downloading     500B/1kB",
                "bb: Pull complete",
                "Digest: sha256:ab",
                "aa: Pull complete"
            ]
        );
        assert_eq!(b.apply(&ProgressMessage::default()), None);
    }
}
