//! The `HEALTHCHECK` instruction of `docker import --change`, as dockerd's Dockerfile parser reads it:
//! `NONE`, or `[--interval=D] [--timeout=D] [--start-period=D] [--retries=N] CMD command` (shell form
//! becomes `CMD-SHELL`, a JSON array `CMD`), into the image config's `Healthcheck` with only the fields
//! given (durations in nanoseconds, as Go's `time.Duration`).

use serde_json::{json, Map, Value};

use super::changes::ChangeError;

const INSTRUCTION: &str = "HEALTHCHECK";

fn malformed(message: String) -> ChangeError {
    ChangeError::Malformed {
        instruction: INSTRUCTION.to_owned(),
        message,
    }
}

/// Go's `time.ParseDuration` for what Dockerfiles write (`30s`, `1m30s`, `1.5s`, `500ms`, `10us`):
/// nanoseconds, or `None` when malformed.
pub(crate) fn parse_go_duration(text: &str) -> Option<i64> {
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(number_end);
        let value: f64 = number.parse().ok()?;
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_end);
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += value * scale;
        rest = tail;
    }
    let nanos = total.round() as i64;
    Some(if negative { -nanos } else { nanos })
}

/// The `Healthcheck` that `HEALTHCHECK <rest>` sets.
pub(crate) fn parse(rest: &str) -> Result<Value, ChangeError> {
    let mut words = rest.trim_start();
    let mut health = Map::new();
    while let Some(flag) = words.strip_prefix("--") {
        let (flag, tail) = flag
            .split_once(char::is_whitespace)
            .map_or((flag, ""), |(f, t)| (f, t.trim_start()));
        words = tail;
        let (name, value) = flag.split_once('=').unwrap_or((flag, ""));
        let key = match name {
            "interval" => "Interval",
            "timeout" => "Timeout",
            "start-period" => "StartPeriod",
            "retries" => {
                let retries: i64 = value
                    .parse()
                    .map_err(|_| malformed(format!("invalid --retries value: {value:?}")))?;
                if retries < 0 {
                    return Err(malformed(format!(
                        "--retries cannot be negative ({retries})"
                    )));
                }
                if retries > 0 {
                    health.insert("Retries".into(), json!(retries));
                }
                continue;
            }
            other => return Err(malformed(format!("unknown flag: {other}"))),
        };
        let nanos = parse_go_duration(value)
            .ok_or_else(|| malformed(format!("time: invalid duration {value:?}")))?;
        if nanos != 0 && nanos < 1_000_000 {
            return Err(malformed(format!(
                "Interval \"{name}\" cannot be less than 1ms"
            )));
        }
        if nanos != 0 {
            health.insert(key.into(), json!(nanos));
        }
    }
    let (kind, command) = words
        .split_once(char::is_whitespace)
        .map_or((words, ""), |(k, c)| (k, c.trim()));
    let test = match kind.to_ascii_uppercase().as_str() {
        "NONE" => {
            if !command.is_empty() || !health.is_empty() {
                return Err(malformed("NONE takes no arguments".into()));
            }
            vec!["NONE".to_owned()]
        }
        "CMD" => {
            if command.is_empty() {
                return Err(malformed("Missing command after HEALTHCHECK CMD".into()));
            }
            let exec_form = command
                .starts_with('[')
                .then(|| serde_json::from_str::<Vec<String>>(command).ok())
                .flatten();
            match exec_form {
                Some(args) => std::iter::once("CMD".to_owned()).chain(args).collect(),
                None => vec!["CMD-SHELL".to_owned(), command.to_owned()],
            }
        }
        other => {
            return Err(malformed(format!(
                "Unknown type \"{other}\" in HEALTHCHECK (try CMD)"
            )))
        }
    };
    health.insert("Test".into(), json!(test));
    Ok(Value::Object(health))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse() {
        for (text, nanos) in [
            ("0", 0),
            ("1s", 1_000_000_000),
            ("500ms", 500_000_000),
            ("1m30s", 90_000_000_000),
            ("1.5s", 1_500_000_000),
            ("10us", 10_000),
            ("2h", 7_200_000_000_000),
        ] {
            assert_eq!(parse_go_duration(text), Some(nanos), "{text}");
        }
        for bad in ["", "5", "1x", "s"] {
            assert_eq!(parse_go_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn healthchecks_parse_as_dockerfiles_write_them() {
        assert_eq!(
            parse("--interval=1s --retries=2 CMD false").unwrap(),
            json!({"Test": ["CMD-SHELL", "false"], "Interval": 1_000_000_000, "Retries": 2})
        );
        assert_eq!(
            parse(r#"--timeout=500ms --start-period=1m CMD ["wget", "-q", "x"]"#).unwrap(),
            json!({"Test": ["CMD", "wget", "-q", "x"], "Timeout": 500_000_000,
                   "StartPeriod": 60_000_000_000_i64})
        );
        assert_eq!(parse("NONE").unwrap(), json!({"Test": ["NONE"]}));
        for bad in [
            "CMD",
            "NONE x",
            "--interval=1s NONE",
            "RUN x",
            "--interval=10us CMD x",
            "--retries=-1 CMD x",
            "--bogus=1 CMD x",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
