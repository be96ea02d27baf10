//! `docker import --change` and `docker commit --change`: the Dockerfile instructions that may change an
//! image's config (CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL, VOLUME, STOPSIGNAL, HEALTHCHECK,
//! ONBUILD), applied in order, with dockerd's wording for the refused ones.

use std::collections::BTreeMap;

use serde_json::Value;

use super::oci::RunConfig;

/// A change that is not one of the instructions allowed, or is malformed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ChangeError {
    /// Not an allowed instruction.
    #[error("{0} is not a valid change command")]
    NotAllowed(String),
    /// Refused with a message of its own.
    #[error("{0}")]
    Other(String),
    /// Allowed but malformed.
    #[error("{instruction} {message}")]
    Malformed {
        instruction: String,
        /// What is wrong.
        message: String,
    },
}

fn malformed(instruction: &str, message: &str) -> ChangeError {
    ChangeError::Malformed {
        instruction: instruction.to_owned(),
        message: message.to_owned(),
    }
}

/// A JSON array of strings (exec form), or `None` when `rest` is not one.
fn json_form(rest: &str) -> Option<Vec<String>> {
    rest.trim_start()
        .starts_with('[')
        .then(|| serde_json::from_str::<Vec<String>>(rest).ok())
        .flatten()
}

/// Exec form, or shell form wrapped in `/bin/sh -c`.
fn command(rest: &str) -> Vec<String> {
    json_form(rest).unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into(), rest.to_owned()])
}

fn unquote(s: &str) -> String {
    let t = s.trim();
    if t.len() >= 2
        && (t.starts_with('"') && t.ends_with('"') || t.starts_with('\'') && t.ends_with('\''))
    {
        t[1..t.len() - 1].replace("\\\"", "\"")
    } else {
        t.to_owned()
    }
}

/// Splits on whitespace outside double or single quotes.
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                cur.push(c);
            }
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            (_, c) => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `k=v k2="v 2"`, or the legacy `k v` form when `legacy` allows it.
fn pairs(
    instruction: &str,
    rest: &str,
    legacy: bool,
) -> Result<Vec<(String, String)>, ChangeError> {
    let ws = words(rest);
    if ws.is_empty() {
        return Err(malformed(instruction, "requires at least one argument"));
    }
    if legacy && !ws[0].contains('=') {
        let (k, v) = rest
            .trim()
            .split_once(char::is_whitespace)
            .unwrap_or((rest.trim(), ""));
        return Ok(vec![(k.to_owned(), unquote(v))]);
    }
    ws.iter()
        .map(|w| {
            w.split_once('=')
                .map(|(k, v)| (unquote(k), unquote(v)))
                .ok_or_else(|| {
                    malformed(
                        instruction,
                        &format!("names can not be blank or missing '=': {w}"),
                    )
                })
        })
        .collect()
}

/// Applies each change to `config`.
pub(crate) fn apply(config: &mut RunConfig, changes: &[String]) -> Result<(), ChangeError> {
    for change in changes {
        let change = change.trim();
        if change.is_empty() {
            continue;
        }
        let (word, rest) = change
            .split_once(char::is_whitespace)
            .map_or((change, ""), |(w, r)| (w, r.trim()));
        let instruction = word.to_ascii_uppercase();
        match instruction.as_str() {
            "CMD" => config.cmd = Some(command(rest)),
            "ENTRYPOINT" => config.entrypoint = Some(command(rest)),
            "ENV" => {
                let env = config.env.get_or_insert_with(Vec::new);
                for (k, v) in pairs(&instruction, rest, true)? {
                    env.retain(|e| e.split_once('=').map_or(e.as_str(), |(ek, _)| ek) != k);
                    env.push(format!("{k}={v}"));
                }
            }
            "LABEL" => {
                let labels = config.labels.get_or_insert_with(BTreeMap::new);
                labels.extend(pairs(&instruction, rest, false)?);
            }
            "WORKDIR" => {
                if rest.is_empty() {
                    return Err(malformed(&instruction, "requires exactly one argument"));
                }
                config.working_dir = unquote(rest);
            }
            "USER" => {
                if rest.is_empty() {
                    return Err(malformed(&instruction, "requires exactly one argument"));
                }
                config.user = unquote(rest);
            }
            "STOPSIGNAL" => config.stop_signal = Some(unquote(rest)),
            "HEALTHCHECK" => config.healthcheck = Some(super::healthcheck::parse(rest)?),
            "EXPOSE" => {
                let ports = config.exposed_ports.get_or_insert_with(BTreeMap::new);
                for p in words(rest) {
                    let (port, proto) = p.split_once('/').unwrap_or((&p, "tcp"));
                    let valid = !port.is_empty()
                        && port.split('-').all(|n| n.parse::<u16>().is_ok())
                        && matches!(proto.to_ascii_lowercase().as_str(), "tcp" | "udp" | "sctp");
                    if !valid {
                        return Err(malformed(&instruction, &format!("invalid port: {p}")));
                    }
                    ports.insert(
                        format!("{port}/{}", proto.to_ascii_lowercase()),
                        Value::Object(Default::default()),
                    );
                }
            }
            "VOLUME" => {
                let list = json_form(rest).unwrap_or_else(|| words(rest));
                if list.is_empty() {
                    return Err(malformed(&instruction, "requires at least one argument"));
                }
                let volumes = config.volumes.get_or_insert_with(BTreeMap::new);
                for v in list {
                    volumes.insert(v, Value::Object(Default::default()));
                }
            }
            "ONBUILD" => {
                let trigger = rest.split_whitespace().next().unwrap_or("");
                match trigger.to_ascii_uppercase().as_str() {
                    "" => return Err(malformed(&instruction, "requires at least one argument")),
                    "ONBUILD" => {
                        return Err(ChangeError::Other(
                            "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".to_owned(),
                        ))
                    }
                    t @ ("FROM" | "MAINTAINER") => {
                        return Err(ChangeError::Other(format!(
                            "{t} isn't allowed as an ONBUILD trigger"
                        )))
                    }
                    _ => config
                        .on_build
                        .get_or_insert_with(Vec::new)
                        .push(rest.to_owned()),
                }
            }
            // dockerd names the instruction in lower case here.
            _ => return Err(ChangeError::NotAllowed(word.to_ascii_lowercase())),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(changes: &[&str]) -> RunConfig {
        let mut c = RunConfig::default();
        apply(
            &mut c,
            &changes.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
        .unwrap();
        c
    }

    #[test]
    fn instructions_change_the_config() {
        let c = applied(&[
            r#"CMD ["sh", "-c", "echo hi"]"#,
            "ENTRYPOINT /bin/init --x",
            "ENV A=b C=\"d e\"",
            "ENV F g h",
            "env A=z",
            "WORKDIR /srv",
            "USER nobody",
            "EXPOSE 80 53/udp",
            "LABEL a=b \"c d\"=e",
            "VOLUME [\"/data\"]",
            "VOLUME /x /y",
        ]);
        assert_eq!(
            c.cmd,
            Some(vec!["sh".into(), "-c".into(), "echo hi".into()])
        );
        assert_eq!(
            c.entrypoint,
            Some(vec!["/bin/sh".into(), "-c".into(), "/bin/init --x".into()])
        );
        assert_eq!(
            c.env,
            Some(vec!["C=d e".into(), "F=g h".into(), "A=z".into()])
        );
        assert_eq!(c.working_dir, "/srv");
        assert_eq!(c.user, "nobody");
        let ports: Vec<_> = c.exposed_ports.unwrap().into_keys().collect();
        assert_eq!(ports, ["53/udp", "80/tcp"]);
        let labels = c.labels.unwrap();
        assert_eq!(labels["a"], "b");
        assert_eq!(labels["c d"], "e");
        let vols: Vec<_> = c.volumes.unwrap().into_keys().collect();
        assert_eq!(vols, ["/data", "/x", "/y"]);
    }

    #[test]
    fn onbuild_triggers_are_kept_as_written() {
        let c = applied(&["onbuild run  echo a", "ONBUILD RUN echo b"]);
        assert_eq!(c.on_build.unwrap(), ["run  echo a", "RUN echo b"]);
    }

    #[test]
    fn other_instructions_and_bad_arguments_are_refused() {
        let mut c = RunConfig::default();
        let e = apply(&mut c, &["RUN rm -rf /".into()]).unwrap_err();
        assert_eq!(e.to_string(), "run is not a valid change command");
        let e = apply(&mut c, &["ONBUILD".into()]).unwrap_err();
        assert_eq!(e.to_string(), "ONBUILD requires at least one argument");
        let e = apply(&mut c, &["ONBUILD ONBUILD RUN x".into()]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"
        );
        let e = apply(&mut c, &["onbuild from x".into()]).unwrap_err();
        assert_eq!(e.to_string(), "FROM isn't allowed as an ONBUILD trigger");
        assert!(apply(&mut c, &["EXPOSE http".into()]).is_err());
        assert!(apply(&mut c, &["LABEL novalue".into()]).is_err());
        assert!(apply(&mut c, &["WORKDIR".into()]).is_err());
    }
}
