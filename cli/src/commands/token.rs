//! `wharf token create|ls|rm`: the daemon's bearer tokens, for clients that cannot present a client
//! certificate (browsers). Only an admin may manage them (the unix socket is admin).
//!
//! `create` prints the token alone on stdout, once — the daemon keeps only its hash — so that a script
//! can capture it, and what it is to stderr.

use std::io::Write;

use wharf_client_core::api::wharf::CreateToken;
use wharf_client_core::{Client, Transport};

use super::{write_json, CommandError};

/// `--expires` as seconds: a number with `s`, `m`, `h` or `d` (`30d`), or plain seconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => text.split_at(at),
        None => (text, "s"),
    };
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "invalid duration {text:?}: use a number with s, m, h or d, such as 30d"
            ))
        }
    };
    let n: u64 = number.parse().map_err(|_| {
        format!("invalid duration {text:?}: use a number with s, m, h or d, such as 30d")
    })?;
    match n.checked_mul(scale) {
        Some(0) => Err("the duration must be positive".to_owned()),
        Some(secs) => Ok(secs),
        None => Err(format!("duration {text:?} is too long")),
    }
}

/// Runs `wharf token create`.
pub async fn create<T: Transport>(
    client: &Client<T>,
    body: &CreateToken,
    json: bool,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<(), CommandError> {
    let created = client.create_token(body).await?;
    if json {
        return write_json(out, &created);
    }
    writeln!(out, "{}", created.token)?;
    let expires = created
        .expires
        .as_deref()
        .map_or_else(|| "never expires".to_owned(), |e| format!("expires {e}"));
    writeln!(
        err,
        "Token {:?} (role {}, {expires}): store it now, it is not shown again.",
        created.name, created.role
    )?;
    Ok(())
}

/// Runs `wharf token ls`.
pub async fn list<T: Transport>(
    client: &Client<T>,
    json: bool,
    out: &mut impl Write,
) -> Result<(), CommandError> {
    let tokens = client.list_tokens().await?;
    if json {
        return write_json(out, &tokens);
    }
    let rows: Vec<[String; 4]> = tokens
        .into_iter()
        .map(|t| {
            [
                t.name,
                t.role,
                t.created,
                t.expires.unwrap_or_else(|| "never".to_owned()),
            ]
        })
        .collect();
    let header = ["NAME", "ROLE", "CREATED", "EXPIRES"].map(str::to_owned);
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            rows.iter()
                .chain([&header])
                .map(|r| r[i].len())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in [&header].into_iter().chain(rows.iter()) {
        let line = format!(
            "{:<w0$}   {:<w1$}   {:<w2$}   {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
        );
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Runs `wharf token rm`, printing each name removed as `docker rm` does.
pub async fn remove<T: Transport>(
    client: &Client<T>,
    names: &[String],
    out: &mut impl Write,
) -> Result<(), CommandError> {
    for name in names {
        client.remove_token(name).await?;
        writeln!(out, "{name}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units_or_seconds() {
        assert_eq!(parse_duration("30d"), Ok(30 * 86_400));
        assert_eq!(parse_duration("12h"), Ok(12 * 3600));
        assert_eq!(parse_duration("5m"), Ok(300));
        assert_eq!(parse_duration("1s"), Ok(1));
        assert_eq!(parse_duration("90"), Ok(90));
        for bad in ["", "d", "1w", "-1d", "0d", "1.5h", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
