//! Signal names and numbers as moby's `signal.ParseSignal` takes them: `9`, `KILL`, `SIGKILL` (any case).

use crate::error::Error;

/// Linux's signals by name, without `SIG`.
const SIGNALS: &[(&str, u32)] = &[
    ("ABRT", 6),
    ("ALRM", 14),
    ("BUS", 7),
    ("CHLD", 17),
    ("CLD", 17),
    ("CONT", 18),
    ("FPE", 8),
    ("HUP", 1),
    ("ILL", 4),
    ("INT", 2),
    ("IO", 29),
    ("IOT", 6),
    ("KILL", 9),
    ("PIPE", 13),
    ("POLL", 29),
    ("PROF", 27),
    ("PWR", 30),
    ("QUIT", 3),
    ("SEGV", 11),
    ("STKFLT", 16),
    ("STOP", 19),
    ("SYS", 31),
    ("TERM", 15),
    ("TRAP", 5),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("USR1", 10),
    ("USR2", 12),
    ("VTALRM", 26),
    ("WINCH", 28),
    ("XCPU", 24),
    ("XFSZ", 25),
];

/// The highest real-time signal.
const SIGRTMAX: u32 = 64;

/// A signal's number, 1 to 64: what a name or number parsed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Signal(u32);

impl Signal {
    /// SIGKILL.
    pub(crate) const KILL: Self = Self(9);
    /// SIGTERM, the default stop signal.
    pub(crate) const TERM: Self = Self(15);

    /// The number the kernel knows it by.
    pub(crate) fn number(self) -> u32 {
        self.0
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Parses a signal; an invalid parameter with dockerd's wording when it is not one.
pub(crate) fn parse(s: &str) -> Result<Signal, Error> {
    if let Ok(n) = s.parse::<u32>() {
        if n == 0 || n > SIGRTMAX {
            return Err(Error::invalid(format!("Invalid signal: {s}")));
        }
        return Ok(Signal(n));
    }
    let upper = s.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(&(_, n)) = SIGNALS.iter().find(|(k, _)| *k == name) {
        return Ok(Signal(n));
    }
    // RTMIN, RTMIN+n, RTMAX-n.
    let rt = |base: u32, rest: &str, sign: i64| -> Option<u32> {
        let off: i64 = if rest.is_empty() {
            0
        } else {
            rest.parse().ok()?
        };
        u32::try_from(i64::from(base) + sign * off)
            .ok()
            .filter(|n| (34..=SIGRTMAX).contains(n))
    };
    let parsed = if let Some(rest) = name.strip_prefix("RTMIN") {
        rt(34, rest.trim_start_matches('+'), 1)
    } else if let Some(rest) = name.strip_prefix("RTMAX") {
        rt(SIGRTMAX, rest.trim_start_matches('-'), -1)
    } else {
        None
    };
    parsed
        .map(Signal)
        .ok_or_else(|| Error::invalid(format!("Invalid signal: {s}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_parse_as_moby_parses_them() {
        for (s, n) in [
            ("9", 9),
            ("KILL", 9),
            ("SIGKILL", 9),
            ("sigusr1", 10),
            ("term", 15),
            ("RTMIN+2", 36),
            ("SIGRTMAX", 64),
        ] {
            assert_eq!(parse(s).unwrap().number(), n, "{s}");
        }
        for bad in ["0", "65", "NOPE", "SIG", "", "RTMIN+99"] {
            assert_eq!(
                parse(bad).unwrap_err().to_string(),
                format!("Invalid signal: {bad}")
            );
        }
    }
}
