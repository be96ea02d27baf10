//! ANSI escape sequences in a log line, made safe to show: SGR codes (`ESC[1;31m`) become spans with
//! classes (`fg-1 bold`) that style.css colours; every other escape sequence (cursor moves, window
//! titles, OSC hyperlinks) and control character is dropped. The text itself is set with
//! `textContent`, so nothing a container prints can become markup or a style string.
//!
//! Each line starts from the default style: container logs nearly always reset at line ends, and it
//! lets the log viewer draw any window of lines without parsing those above it.
//!
//! 256-colour and true-colour codes are mapped onto the 16 basic colours (classes `fg-0`..`fg-15`),
//! so the stylesheet keeps a fixed, small palette that works in light and dark.

/// How a run of text looks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Style {
    /// Foreground colour, 0..=15.
    pub fg: Option<u8>,
    /// Background colour, 0..=15.
    pub bg: Option<u8>,
    pub bold: bool,
    pub dim: bool,
    pub italic: bool,
    pub underline: bool,
}

impl Style {
    /// The classes of this style (`"fg-1 bold"`); empty for the default.
    pub fn classes(&self) -> String {
        let mut out = Vec::new();
        if let Some(fg) = self.fg {
            out.push(format!("fg-{fg}"));
        }
        if let Some(bg) = self.bg {
            out.push(format!("bg-{bg}"));
        }
        for (on, name) in [
            (self.bold, "bold"),
            (self.dim, "dim"),
            (self.italic, "italic"),
            (self.underline, "underline"),
        ] {
            if on {
                out.push(name.to_owned());
            }
        }
        out.join(" ")
    }

    pub fn is_plain(&self) -> bool {
        *self == Style::default()
    }

    /// Applies the SGR parameters `params` (`"1;31"`, `""` = reset).
    fn apply(&mut self, params: &str) {
        let codes: Vec<u32> = if params.is_empty() {
            vec![0]
        } else {
            // A sub-parameter separator (`38:5:1`) is read like `;`; an unparsable code is ignored.
            params
                .split([';', ':'])
                .map(|p| {
                    if p.is_empty() {
                        0
                    } else {
                        p.parse().unwrap_or(u32::MAX)
                    }
                })
                .collect()
        };
        let mut i = 0;
        while i < codes.len() {
            match codes[i] {
                0 => *self = Style::default(),
                1 => self.bold = true,
                2 => self.dim = true,
                3 => self.italic = true,
                4 => self.underline = true,
                22 => {
                    self.bold = false;
                    self.dim = false;
                }
                23 => self.italic = false,
                24 => self.underline = false,
                c @ 30..=37 => self.fg = Some((c - 30) as u8),
                39 => self.fg = None,
                c @ 40..=47 => self.bg = Some((c - 40) as u8),
                49 => self.bg = None,
                c @ 90..=97 => self.fg = Some((c - 90 + 8) as u8),
                c @ 100..=107 => self.bg = Some((c - 100 + 8) as u8),
                c @ (38 | 48) => {
                    let (colour, used) = extended(&codes[i + 1..]);
                    if c == 38 {
                        self.fg = colour.or(self.fg);
                    } else {
                        self.bg = colour.or(self.bg);
                    }
                    i += used;
                }
                _ => {}
            }
            i += 1;
        }
    }
}

/// An extended colour (`5;N` or `2;R;G;B` after 38/48) as a basic one, and how many codes it took.
fn extended(rest: &[u32]) -> (Option<u8>, usize) {
    match rest {
        [5, n, ..] => (u8::try_from(*n).ok().map(from_256), 2),
        [2, r, g, b, ..] => {
            let c = |v: u32| v.min(255) as u8;
            (Some(nearest(c(*r), c(*g), c(*b))), 4)
        }
        _ => (None, rest.len()),
    }
}

/// The basic colour closest to xterm's 256-colour `n`.
fn from_256(n: u8) -> u8 {
    match n {
        0..=15 => n,
        16..=231 => {
            let n = n - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            nearest(level(n / 36), level((n / 6) % 6), level(n % 6))
        }
        _ => {
            let grey = 8 + (n - 232) * 10;
            nearest(grey, grey, grey)
        }
    }
}

/// The basic colour (xterm's default palette) nearest to `(r, g, b)`.
fn nearest(r: u8, g: u8, b: u8) -> u8 {
    const PALETTE: [(u8, u8, u8); 16] = [
        (0, 0, 0),
        (205, 0, 0),
        (0, 205, 0),
        (205, 205, 0),
        (0, 0, 238),
        (205, 0, 205),
        (0, 205, 205),
        (229, 229, 229),
        (127, 127, 127),
        (255, 0, 0),
        (0, 255, 0),
        (255, 255, 0),
        (92, 92, 255),
        (255, 0, 255),
        (0, 255, 255),
        (255, 255, 255),
    ];
    let distance = |(pr, pg, pb): (u8, u8, u8)| {
        let d = |a: u8, b: u8| (i32::from(a) - i32::from(b)).pow(2);
        d(r, pr) + d(g, pg) + d(b, pb)
    };
    (0..16u8)
        .min_by_key(|&i| distance(PALETTE[usize::from(i)]))
        .unwrap_or(7)
}

/// A run of text in one style.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub text: String,
    pub style: Style,
}

/// The styled runs of `line`, escape sequences interpreted or dropped; runs of the same style merged.
pub fn spans(line: &str) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    let mut style = Style::default();
    let mut push = |text: &str, style: Style| {
        if text.is_empty() {
            return;
        }
        match out.last_mut() {
            Some(last) if last.style == style => last.text.push_str(text),
            _ => out.push(Span {
                text: text.to_owned(),
                style,
            }),
        }
    };
    let mut rest = line;
    while let Some(pos) = rest.find(|c: char| c.is_control() && c != '\t') {
        push(&rest[..pos], style);
        let tail = &rest[pos..];
        let (consumed, sgr) = escape(tail);
        if let Some(params) = sgr {
            style.apply(params);
        }
        rest = &tail[consumed..];
    }
    push(rest, style);
    out
}

/// The text of `line` without escape sequences or control characters (what search and download see).
/// Borrowed when there is nothing to drop, which is the common case.
pub fn plain(line: &str) -> std::borrow::Cow<'_, str> {
    if !line.contains(|c: char| c.is_control() && c != '\t') {
        return std::borrow::Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(pos) = rest.find(|c: char| c.is_control() && c != '\t') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        rest = &tail[escape(tail).0..];
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// At a control character: how many bytes the escape sequence (or lone character) there takes, and
/// its parameters when it is an SGR sequence.
fn escape(tail: &str) -> (usize, Option<&str>) {
    let bytes = tail.as_bytes();
    let first = tail.chars().next().map_or(1, char::len_utf8);
    if bytes.first() != Some(&0x1b) {
        // A C0/C1 control character other than ESC: dropped.
        return (first, None);
    }
    match bytes.get(1) {
        // CSI: parameters and intermediates (0x20..=0x3f), then a final byte (0x40..=0x7e).
        Some(b'[') => {
            let mut i = 2;
            while i < bytes.len() && (0x20..=0x3f).contains(&bytes[i]) {
                i += 1;
            }
            match bytes.get(i) {
                Some(&f) if (0x40..=0x7e).contains(&f) => {
                    let params = &tail[2..i];
                    let sgr = f == b'm'
                        && params
                            .bytes()
                            .all(|b| b.is_ascii_digit() || b == b';' || b == b':');
                    (i + 1, sgr.then_some(params))
                }
                // Unterminated or broken: drop up to where it stopped.
                _ => (i, None),
            }
        }
        // OSC, DCS, APC, PM, SOS: a string ended by BEL or ST (`ESC \`), or the line's end.
        Some(b']' | b'P' | b'_' | b'^' | b'X') => {
            let mut i = 2;
            while i < bytes.len() {
                if bytes[i] == 0x07 {
                    return (i + 1, None);
                }
                if bytes[i] == 0x1b && bytes.get(i + 1) == Some(&b'\\') {
                    return (i + 2, None);
                }
                i += 1;
            }
            (bytes.len(), None)
        }
        // Two-byte sequences (`ESC c`, `ESC 7`...), with one intermediate for charset ones (`ESC ( B`).
        Some(&b) if (0x20..=0x2f).contains(&b) => (3.min(bytes.len()), None),
        Some(&b) if b.is_ascii() => (2, None),
        _ => (1, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn styled(text: &str, f: impl FnOnce(&mut Style)) -> Span {
        let mut style = Style::default();
        f(&mut style);
        Span {
            text: text.to_owned(),
            style,
        }
    }

    #[test]
    fn sgr_codes_become_styles() {
        let got = spans("a\x1b[1;31mred\x1b[0m b \x1b[42mgreen bg\x1b[49m\x1b[94mbright\x1b[m");
        assert_eq!(
            got,
            vec![
                styled("a", |_| {}),
                styled("red", |s| {
                    s.bold = true;
                    s.fg = Some(1);
                }),
                styled(" b ", |_| {}),
                styled("green bg", |s| s.bg = Some(2)),
                styled("bright", |s| s.fg = Some(12)),
            ]
        );
        assert_eq!(got[1].style.classes(), "fg-1 bold");
        assert_eq!(got[3].style.classes(), "bg-2");
        assert_eq!(got[0].style.classes(), "");
    }

    #[test]
    fn extended_colours_map_to_basic_ones() {
        let got = spans("\x1b[38;5;196mx\x1b[38;2;0;0;250my\x1b[38;5;9;4mz");
        assert_eq!(got[0].style.fg, Some(9), "256-colour red");
        assert_eq!(got[1].style.fg, Some(4), "true-colour blue");
        assert_eq!(got[2].style.fg, Some(9));
        assert!(
            got[2].style.underline,
            "codes after an extended colour still count"
        );
        // Greys of the 256 palette.
        assert_eq!(from_256(232), 0);
        assert_eq!(from_256(255), 7);
        // A broken extended colour leaves the colour as it was.
        assert_eq!(spans("\x1b[31;38mq")[0].style.fg, Some(1));
    }

    #[test]
    fn other_escapes_and_controls_are_dropped() {
        let line =
            "\x1b]0;title\x07a\x1b[2Kb\x1b[10;20Hc\x1b(Bd\x1b]8;;http://x\x1b\\e\x08f\x1b[?25lg\tt";
        assert_eq!(plain(line), "abcdefg\tt");
        let got = spans(line);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].text, "abcdefg\tt");
        assert!(got[0].style.is_plain());
        // A truncated sequence at the end does not panic or leak.
        assert_eq!(plain("x\x1b["), "x");
        assert_eq!(plain("x\x1b"), "x");
        assert_eq!(plain("x\x1b]unterminated"), "x");
        // Multi-byte text around escapes stays whole.
        assert_eq!(plain("é\x1b[1mü\x1b[0m€"), "éü€");
        assert!(matches!(plain("plain"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn markup_is_only_text() {
        // Spans carry text that the view sets with textContent: `<b>` stays literal.
        let got = spans("<b>\x1b[1mx</b>");
        assert_eq!(got[0].text, "<b>");
        assert_eq!(got[1].text, "x</b>");
    }
}
