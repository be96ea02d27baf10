//! `wharf version`: this client's version and the daemon's `/version`, laid out as `docker version`.
//!
//! The daemon's answer is client-core's `SystemVersion`, which keeps fields this client does not know for
//! `--format json`.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;
use wharf_client_core::models::{ComponentVersion, SystemVersion};
use wharf_client_core::{ApiVersion, Client, Transport, MAX_API_VERSION};

use super::{aligned, write_json, CommandError};
use crate::format::ansic_date;

/// Where values start in `docker version`'s layout.
const COLUMN: usize = 20;

/// This client, as `docker version` describes its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClientVersion {
    /// The wharf crate's version.
    pub version: String,
    /// The API version requests use.
    pub api_version: String,
    /// The newest API version this client speaks.
    #[serde(rename = "DefaultAPIVersion")]
    pub default_api_version: String,
    /// The compiler that built this client.
    pub rust_version: String,
    /// Operating system.
    pub os: String,
    /// Architecture, in Go's names as the docker CLI prints them.
    pub arch: String,
}

impl ClientVersion {
    /// This client, speaking `api_version`.
    pub fn new(api_version: ApiVersion) -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            api_version: api_version.to_string(),
            default_api_version: MAX_API_VERSION.to_string(),
            rust_version: env!("WHARF_RUSTC_VERSION").to_owned(),
            os: std::env::consts::OS.to_owned(),
            arch: go_arch(std::env::consts::ARCH).to_owned(),
        }
    }
}

/// Rust's architecture names in Go's spelling (`x86_64` → `amd64`).
pub fn go_arch(rust_arch: &str) -> &str {
    match rust_arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64",
        other => other,
    }
}

/// The `Client:` section.
pub fn render_client(client: &ClientVersion) -> String {
    let mut api = client.api_version.clone();
    let lower = match (
        client.api_version.parse::<ApiVersion>(),
        client.default_api_version.parse::<ApiVersion>(),
    ) {
        (Ok(used), Ok(default)) => used < default,
        _ => false,
    };
    if lower {
        api.push_str(&format!(
            " (downgraded from {})",
            client.default_api_version
        ));
    }
    let lines = [
        aligned(" ", "Version:", &client.version, COLUMN),
        aligned(" ", "API version:", &api, COLUMN),
        aligned(" ", "Rust version:", &client.rust_version, COLUMN),
        aligned(
            " ",
            "OS/Arch:",
            &format!("{}/{}", client.os, client.arch),
            COLUMN,
        ),
    ];
    format!("Client:\n{}\n", lines.join("\n"))
}

/// The `Server:` section; an answer without components gets an `Engine` built from its top-level fields.
pub fn render_server(server: &SystemVersion) -> String {
    let mut out = String::from("Server:");
    if let Some(name) = server.platform.as_ref().map(|p| &p.name) {
        if !name.is_empty() {
            out.push(' ');
            out.push_str(name);
        }
    }
    out.push('\n');
    let engine_only = [ComponentVersion {
        name: "Engine".into(),
        version: server.version.clone().unwrap_or_default(),
        details: BTreeMap::new(),
    }];
    let components = if server.components.is_empty() {
        &engine_only[..]
    } else {
        &server.components[..]
    };
    let line = |out: &mut String, label: &str, value: &str| {
        out.push_str(&aligned("  ", label, value, COLUMN));
        out.push('\n');
    };
    for component in components {
        out.push_str(&format!(" {}:\n", component.name));
        line(&mut out, "Version:", &component.version);
        if component.name != "Engine" {
            for key in component.details.keys() {
                line(
                    &mut out,
                    &format!("{key}:"),
                    &component.detail(key).unwrap_or_default(),
                );
            }
            continue;
        }
        let pick = |key: &str, top: &Option<String>| component.detail(key).or_else(|| top.clone());
        let api = pick("ApiVersion", &server.api_version).unwrap_or_default();
        let api = match pick("MinAPIVersion", &server.min_api_version) {
            Some(min) => format!("{api} (minimum version {min})"),
            None => api,
        };
        line(&mut out, "API version:", &api);
        if let Some(go) = pick("GoVersion", &server.go_version) {
            line(&mut out, "Go version:", &go);
        }
        if let Some(rust) = component.detail("RustVersion") {
            line(&mut out, "Rust version:", &rust);
        }
        line(
            &mut out,
            "Git commit:",
            &pick("GitCommit", &server.git_commit).unwrap_or_default(),
        );
        line(
            &mut out,
            "Built:",
            &ansic_date(&pick("BuildTime", &server.build_time).unwrap_or_default()),
        );
        let os = pick("Os", &server.os).unwrap_or_default();
        let arch = pick("Arch", &server.arch).unwrap_or_default();
        line(&mut out, "OS/Arch:", &format!("{os}/{arch}"));
        let experimental = component
            .detail("Experimental")
            .or_else(|| server.experimental.map(|e| e.to_string()))
            .unwrap_or_else(|| "false".to_owned());
        line(&mut out, "Experimental:", &experimental);
    }
    out
}

/// `GET /version`.
pub async fn fetch<T: Transport>(client: &Client<T>) -> Result<SystemVersion, CommandError> {
    Ok(client.version().await?)
}

/// Runs `wharf version`: the client's part is printed even when the daemon cannot be reached.
pub async fn run<T: Transport>(
    client: &Client<T>,
    json: bool,
    out: &mut impl Write,
) -> Result<(), CommandError> {
    let server = fetch(client).await;
    let mine = ClientVersion::new(client.api_version().unwrap_or(MAX_API_VERSION));
    if json {
        #[derive(Serialize)]
        struct Both<'a> {
            #[serde(rename = "Client")]
            client: &'a ClientVersion,
            #[serde(rename = "Server")]
            server: Option<&'a SystemVersion>,
        }
        write_json(
            out,
            &Both {
                client: &mine,
                server: server.as_ref().ok(),
            },
        )?;
    } else {
        write!(out, "{}", render_client(&mine))?;
        if let Ok(s) = &server {
            write!(out, "\n{}", render_server(s))?;
        }
    }
    server.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCKERD_20_10: &str = r#"{"Platform":{"Name":""},"Components":[{"Name":"Engine","Version":"20.10.24+dfsg1","Details":{"ApiVersion":"1.41","Arch":"amd64","BuildTime":"2026-05-07T21:09:36.000000000+00:00","Experimental":"false","GitCommit":"5d6db84","GoVersion":"go1.19.8","KernelVersion":"6.18.44","MinAPIVersion":"1.12","Os":"linux"}},{"Name":"containerd","Version":"1.6.20~ds1","Details":{"GitCommit":"1.6.20~ds1-1+deb12u3"}},{"Name":"docker-init","Version":"0.19.0","Details":{"GitCommit":""}}],"Version":"20.10.24+dfsg1","ApiVersion":"1.41","MinAPIVersion":"1.12","GitCommit":"5d6db84","GoVersion":"go1.19.8","Os":"linux","Arch":"amd64","KernelVersion":"6.18.44","BuildTime":"2026-05-07T21:09:36.000000000+00:00","Future":1}"#;

    #[test]
    fn server_section_matches_docker_version() {
        let server: SystemVersion = serde_json::from_str(DOCKERD_20_10).unwrap();
        assert_eq!(
            render_server(&server),
            "Server:\n Engine:\n  Version:          20.10.24+dfsg1\n  API version:      1.41 (minimum version 1.12)\n  \
             Go version:       go1.19.8\n  Git commit:       5d6db84\n  Built:            Thu May  7 21:09:36 2026\n  \
             OS/Arch:          linux/amd64\n  Experimental:     false\n containerd:\n  Version:          1.6.20~ds1\n  \
             GitCommit:        1.6.20~ds1-1+deb12u3\n docker-init:\n  Version:          0.19.0\n  GitCommit:        \n"
        );
        // Unknown fields survive for --format json.
        assert_eq!(serde_json::to_value(&server).unwrap()["Future"], 1);
    }

    #[test]
    fn an_answer_without_components_still_shows_an_engine() {
        let server: SystemVersion =
            serde_json::from_str(r#"{"Version":"0.1.0","ApiVersion":"1.47","MinAPIVersion":"1.24","Os":"linux","Arch":"arm64"}"#)
                .unwrap();
        let text = render_server(&server);
        assert!(
            text.contains(" Engine:\n  Version:          0.1.0\n"),
            "{text}"
        );
        assert!(
            text.contains("  API version:      1.47 (minimum version 1.24)\n"),
            "{text}"
        );
        assert!(text.contains("  OS/Arch:          linux/arm64\n"), "{text}");
        assert!(!text.contains("Go version"), "{text}");
    }

    #[test]
    fn client_section_says_when_it_downgraded() {
        let c = ClientVersion::new(ApiVersion::new(1, 41));
        let text = render_client(&c);
        assert!(text.starts_with("Client:\n Version:           "), "{text}");
        assert!(
            text.contains(" API version:       1.41 (downgraded from 1.47)\n"),
            "{text}"
        );
        let text = render_client(&ClientVersion::new(MAX_API_VERSION));
        assert!(text.contains(" API version:       1.47\n"), "{text}");
        assert_eq!(go_arch("x86_64"), "amd64");
        assert_eq!(go_arch("riscv64"), "riscv64");
    }
}
