//! `wharf whoami` and `wharf audit`: who the daemon takes this client for (its identity and role, which
//! decide what it may do), and the daemon's audit log (admin only), newest first, as a table.

use std::io::Write;

use wharf_client_core::api::wharf::{AuditQuery, AuditRecord};
use wharf_client_core::{Client, Transport};

use super::{aligned, write_json, CommandError};

/// Runs `wharf whoami`.
pub async fn whoami<T: Transport>(
    client: &Client<T>,
    json: bool,
    out: &mut impl Write,
) -> Result<(), CommandError> {
    let me = client.whoami().await?;
    if json {
        return write_json(out, &me);
    }
    for (label, value) in [
        ("Identity:", &me.identity),
        ("Role:", &me.role),
        ("Kind:", &me.kind),
    ] {
        writeln!(out, "{}", aligned("", label, value, 10))?;
    }
    Ok(())
}

/// Runs `wharf audit`.
pub async fn audit<T: Transport>(
    client: &Client<T>,
    query: &AuditQuery,
    json: bool,
    out: &mut impl Write,
) -> Result<(), CommandError> {
    let records = client.audit(query).await?;
    if json {
        return write_json(out, &records);
    }
    write_table(out, &records)
}

/// The records as a table, columns three spaces apart as `wharf token ls` prints.
fn write_table(out: &mut impl Write, records: &[AuditRecord]) -> Result<(), CommandError> {
    let header = ["TIME", "IDENTITY", "ROLE", "METHOD", "PATH", "STATUS"].map(str::to_owned);
    let rows: Vec<[String; 6]> = records
        .iter()
        .map(|r| {
            [
                r.time.clone(),
                r.identity.clone(),
                r.role.clone().unwrap_or_else(|| "-".to_owned()),
                r.method.clone(),
                r.path.clone(),
                r.status.to_string(),
            ]
        })
        .collect();
    let mut widths = [0usize; 6];
    for row in [&header].into_iter().chain(rows.iter()) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in [&header].into_iter().chain(rows.iter()) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}   "));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_aligns_columns_and_marks_a_missing_role() {
        let record = |identity: &str, role: Option<&str>, path: &str, status| AuditRecord {
            time: "2026-12-06T07:00:00Z".into(),
            identity: identity.into(),
            role: role.map(Into::into),
            method: "POST".into(),
            path: path.into(),
            id: None,
            status,
        };
        let mut out = Vec::new();
        write_table(
            &mut out,
            &[
                record("token:ci", Some("operator"), "/containers/web/stop", 204),
                record("anonymous", None, "/containers/create", 401),
            ],
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "TIME                   IDENTITY    ROLE       METHOD   PATH                   STATUS\n\
             2026-12-06T07:00:00Z   token:ci    operator   POST     /containers/web/stop   204\n\
             2026-12-06T07:00:00Z   anonymous   -          POST     /containers/create     401\n"
        );
    }
}
