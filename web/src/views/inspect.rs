//! A container's inspect made readable, in plain Rust: the sections the page shows (state, config,
//! limits, network and ports, mounts, labels, env) as label/value rows, and which actions its state
//! allows. Read from the daemon's JSON as it came (`serde_json::Value`), so that the raw view shows
//! every field and a field a daemon leaves out is a missing row, not an error.

use serde_json::Value;

use crate::views::format;

/// A titled list of rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub title: &'static str,
    pub rows: Vec<(String, String)>,
}

/// The container's name, without its leading `/`.
pub fn name(v: &Value) -> String {
    let name = str_at(v, "/Name");
    match name.strip_prefix('/') {
        Some(n) => n.to_owned(),
        None if name.is_empty() => format::short_id(&str_at(v, "/Id")).to_owned(),
        None => name,
    }
}

/// `State.Status`: `created`, `running`, `paused`, `restarting`, `removing`, `exited`, `dead`.
pub fn status(v: &Value) -> String {
    str_at(v, "/State/Status")
}

/// The image the container was created from, as the user named it.
pub fn image(v: &Value) -> String {
    str_at(v, "/Config/Image")
}

pub fn tty(v: &Value) -> bool {
    v.pointer("/Config/Tty")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The actions the page offers in `status`, in the order of its buttons.
pub fn actions(status: &str) -> &'static [&'static str] {
    match status {
        "running" => &["stop", "restart", "kill", "pause", "remove"],
        "paused" => &["unpause", "stop", "kill", "remove"],
        "restarting" => &["stop", "kill", "remove"],
        "created" | "exited" => &["start", "remove"],
        _ => &["remove"],
    }
}

fn str_at(v: &Value, pointer: &str) -> String {
    match v.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

fn i64_at(v: &Value, pointer: &str) -> i64 {
    v.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

/// An array of strings as a command line, arguments with spaces quoted.
fn words(v: Option<&Value>) -> String {
    let Some(Value::Array(items)) = v else {
        return String::new();
    };
    items
        .iter()
        .filter_map(Value::as_str)
        .map(|w| {
            if w.is_empty() || w.contains(|c: char| c.is_whitespace() || c == '"') {
                format!("{w:?}")
            } else {
                w.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Rows with a value; an empty value is left out.
fn rows(pairs: Vec<(&str, String)>) -> Vec<(String, String)> {
    pairs
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

/// A zero time (`0001-01-01T00:00:00Z`) is no time.
fn time(v: &Value, pointer: &str) -> String {
    let t = str_at(v, pointer);
    if t.starts_with("0001-") {
        String::new()
    } else {
        t
    }
}

/// The page's sections for the inspect `v`.
pub fn sections(v: &Value) -> Vec<Section> {
    let running = v.pointer("/State/Running").and_then(Value::as_bool) == Some(true);
    let exit = if running || status(v) == "created" {
        String::new()
    } else {
        i64_at(v, "/State/ExitCode").to_string()
    };
    let state = rows(vec![
        ("Status", status(v)),
        ("Started", time(v, "/State/StartedAt")),
        (
            "Finished",
            if running {
                String::new()
            } else {
                time(v, "/State/FinishedAt")
            },
        ),
        (
            "PID",
            if running {
                i64_at(v, "/State/Pid").to_string()
            } else {
                String::new()
            },
        ),
        ("Exit code", exit),
        ("Error", str_at(v, "/State/Error")),
        (
            "OOM killed",
            if v.pointer("/State/OOMKilled") == Some(&Value::Bool(true)) {
                "yes".into()
            } else {
                String::new()
            },
        ),
        (
            "Restarts",
            match i64_at(v, "/RestartCount") {
                0 => String::new(),
                n => n.to_string(),
            },
        ),
        ("Health", str_at(v, "/State/Health/Status")),
    ]);
    let restart = match str_at(v, "/HostConfig/RestartPolicy/Name").as_str() {
        "" | "no" => String::new(),
        "on-failure" => match i64_at(v, "/HostConfig/RestartPolicy/MaximumRetryCount") {
            0 => "on-failure".to_owned(),
            n => format!("on-failure:{n}"),
        },
        other => other.to_owned(),
    };
    let command = {
        let path = str_at(v, "/Path");
        let args = words(v.pointer("/Args"));
        [path, args]
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let config = rows(vec![
        ("ID", str_at(v, "/Id")),
        ("Created", str_at(v, "/Created")),
        ("Image", image(v)),
        (
            "Image ID",
            format::short_id(&str_at(v, "/Image")).to_owned(),
        ),
        ("Command", command),
        ("Entrypoint", words(v.pointer("/Config/Entrypoint"))),
        ("Working dir", str_at(v, "/Config/WorkingDir")),
        ("User", str_at(v, "/Config/User")),
        ("Hostname", str_at(v, "/Config/Hostname")),
        ("TTY", if tty(v) { "yes".into() } else { "no".into() }),
        ("Restart policy", restart),
        (
            "Auto-remove",
            if v.pointer("/HostConfig/AutoRemove") == Some(&Value::Bool(true)) {
                "yes".into()
            } else {
                String::new()
            },
        ),
    ]);
    let memory = i64_at(v, "/HostConfig/Memory");
    let nano_cpus = i64_at(v, "/HostConfig/NanoCpus");
    let limits = rows(vec![
        (
            "Memory",
            if memory > 0 {
                format::mebibytes(memory as u64)
            } else {
                "unlimited".into()
            },
        ),
        (
            "Memory + swap",
            match i64_at(v, "/HostConfig/MemorySwap") {
                n if n > 0 => format::mebibytes(n as u64),
                _ => String::new(),
            },
        ),
        (
            "CPUs",
            if nano_cpus > 0 {
                trim_float(nano_cpus as f64 / 1e9)
            } else {
                "unlimited".into()
            },
        ),
        (
            "CPU shares",
            match i64_at(v, "/HostConfig/CpuShares") {
                0 => String::new(),
                n => n.to_string(),
            },
        ),
        (
            "PIDs limit",
            match i64_at(v, "/HostConfig/PidsLimit") {
                n if n > 0 => n.to_string(),
                _ => String::new(),
            },
        ),
        (
            "Privileged",
            if v.pointer("/HostConfig/Privileged") == Some(&Value::Bool(true)) {
                "yes".into()
            } else {
                String::new()
            },
        ),
        (
            "Read-only root",
            if v.pointer("/HostConfig/ReadonlyRootfs") == Some(&Value::Bool(true)) {
                "yes".into()
            } else {
                String::new()
            },
        ),
    ]);
    let mut network = rows(vec![
        ("Mode", str_at(v, "/HostConfig/NetworkMode")),
        ("IP address", str_at(v, "/NetworkSettings/IPAddress")),
        ("Gateway", str_at(v, "/NetworkSettings/Gateway")),
        ("MAC address", str_at(v, "/NetworkSettings/MacAddress")),
    ]);
    if let Some(Value::Object(nets)) = v.pointer("/NetworkSettings/Networks") {
        for (name, net) in nets {
            let ip = str_at(net, "/IPAddress");
            network.push((
                format!("Network {name}"),
                if ip.is_empty() { "—".into() } else { ip },
            ));
        }
    }
    network.extend(ports(v));
    let mut mounts = Vec::new();
    if let Some(Value::Array(list)) = v.pointer("/Mounts") {
        for m in list {
            let rw = if m.pointer("/RW") == Some(&Value::Bool(false)) {
                " (read-only)"
            } else {
                ""
            };
            let source = match str_at(m, "/Name") {
                name if !name.is_empty() && str_at(m, "/Type") == "volume" => name,
                _ => str_at(m, "/Source"),
            };
            mounts.push((
                str_at(m, "/Destination"),
                format!("{} {source}{rw}", str_at(m, "/Type")),
            ));
        }
    }
    let mut labels = Vec::new();
    if let Some(Value::Object(map)) = v.pointer("/Config/Labels") {
        for (k, val) in map {
            labels.push((k.clone(), val.as_str().unwrap_or_default().to_owned()));
        }
    }
    let mut env = Vec::new();
    if let Some(Value::Array(list)) = v.pointer("/Config/Env") {
        for e in list.iter().filter_map(Value::as_str) {
            let (k, val) = e.split_once('=').unwrap_or((e, ""));
            env.push((k.to_owned(), val.to_owned()));
        }
    }
    vec![
        Section {
            title: "State",
            rows: state,
        },
        Section {
            title: "Config",
            rows: config,
        },
        Section {
            title: "Limits",
            rows: limits,
        },
        Section {
            title: "Network",
            rows: network,
        },
        Section {
            title: "Mounts",
            rows: mounts,
        },
        Section {
            title: "Labels",
            rows: labels,
        },
        Section {
            title: "Environment",
            rows: env,
        },
    ]
}

/// Published ports as the docker CLI's `docker port` writes them: `80/tcp → 0.0.0.0:8080`.
fn ports(v: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Some(Value::Object(map)) = v.pointer("/NetworkSettings/Ports") else {
        return out;
    };
    for (port, bindings) in map {
        let targets = match bindings {
            Value::Array(list) if !list.is_empty() => list
                .iter()
                .map(|b| format!("{}:{}", str_at(b, "/HostIp"), str_at(b, "/HostPort")))
                .collect::<Vec<_>>()
                .join(", "),
            _ => "not published".to_owned(),
        };
        out.push((format!("Port {port}"), targets));
    }
    out
}

fn trim_float(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "Id": "0123456789abcdef0123", "Name": "/web", "Created": "2024-01-02T03:04:05Z",
            "Path": "sh", "Args": ["-c", "echo hi"], "Image": "sha256:fedcba9876543210",
            "State": {"Status": "running", "Running": true, "Pid": 42, "ExitCode": 0,
                      "StartedAt": "2024-01-02T03:04:06Z", "FinishedAt": "0001-01-01T00:00:00Z"},
            "Config": {"Image": "busybox", "Tty": true, "Env": ["PATH=/bin", "EMPTY="],
                       "Labels": {"app": "web"}},
            "HostConfig": {"Memory": 67108864, "NanoCpus": 1500000000, "NetworkMode": "bridge",
                           "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}},
            "NetworkSettings": {"IPAddress": "172.17.0.2",
                                "Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], "53/udp": null},
                                "Networks": {"bridge": {"IPAddress": "172.17.0.2"}}},
            "Mounts": [{"Type": "bind", "Source": "/srv", "Destination": "/data", "RW": false}]
        })
    }

    fn row<'a>(sections: &'a [Section], title: &str, label: &str) -> Option<&'a str> {
        sections
            .iter()
            .find(|s| s.title == title)?
            .rows
            .iter()
            .find(|(k, _)| k == label)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn readable_rows() {
        let v = sample();
        assert_eq!(
            (name(&v), status(&v), image(&v), tty(&v)),
            ("web".into(), "running".into(), "busybox".into(), true)
        );
        let s = sections(&v);
        assert_eq!(row(&s, "State", "PID"), Some("42"));
        assert_eq!(
            row(&s, "State", "Finished"),
            None,
            "a zero time is left out"
        );
        assert_eq!(
            row(&s, "State", "Exit code"),
            None,
            "no exit code while running"
        );
        assert_eq!(row(&s, "Config", "Command"), Some("sh -c \"echo hi\""));
        assert_eq!(row(&s, "Config", "Image ID"), Some("fedcba987654"));
        assert_eq!(row(&s, "Config", "Restart policy"), Some("on-failure:3"));
        assert_eq!(row(&s, "Limits", "Memory"), Some("64.00MiB"));
        assert_eq!(row(&s, "Limits", "CPUs"), Some("1.5"));
        assert_eq!(row(&s, "Network", "Port 80/tcp"), Some("0.0.0.0:8080"));
        assert_eq!(row(&s, "Network", "Port 53/udp"), Some("not published"));
        assert_eq!(row(&s, "Network", "Network bridge"), Some("172.17.0.2"));
        assert_eq!(row(&s, "Mounts", "/data"), Some("bind /srv (read-only)"));
        assert_eq!(row(&s, "Labels", "app"), Some("web"));
        assert_eq!(row(&s, "Environment", "EMPTY"), Some(""));
    }

    #[test]
    fn missing_fields_are_missing_rows() {
        let s = sections(
            &json!({"Id": "abcdef0123456789", "State": {"Status": "exited", "ExitCode": 137}}),
        );
        assert_eq!(row(&s, "State", "Exit code"), Some("137"));
        assert_eq!(row(&s, "Limits", "Memory"), Some("unlimited"));
        assert!(s
            .iter()
            .find(|x| x.title == "Mounts")
            .is_some_and(|m| m.rows.is_empty()));
        assert_eq!(name(&json!({"Id": "abcdef0123456789"})), "abcdef012345");
    }

    #[test]
    fn actions_follow_the_state() {
        assert_eq!(
            actions("running"),
            &["stop", "restart", "kill", "pause", "remove"]
        );
        assert_eq!(actions("paused")[0], "unpause");
        assert_eq!(actions("exited"), &["start", "remove"]);
        assert_eq!(actions("dead"), &["remove"]);
    }
}
