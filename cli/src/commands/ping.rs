//! `wharf ping`: whether the daemon answers `/_ping`, with the API version and OS it announces.

use std::io::Write;

use serde::Serialize;
use wharf_client_core::negotiate::Ping;
use wharf_client_core::{Client, Transport};

use super::{write_json, CommandError};

/// What `--format json` prints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PingReport {
    /// Always `OK`: a failed ping is an error, not a report.
    pub status: &'static str,
    /// The newest API version the daemon speaks.
    pub api_version: Option<String>,
    /// `linux` or `windows`.
    #[serde(rename = "OSType")]
    pub os_type: Option<String>,
    /// Whether experimental features are on.
    pub experimental: bool,
    /// The default builder, when announced.
    pub builder_version: Option<String>,
    /// The swarm state, when announced.
    pub swarm: Option<String>,
}

impl From<&Ping> for PingReport {
    fn from(p: &Ping) -> Self {
        Self {
            status: "OK",
            api_version: p.api_version.map(|v| v.to_string()),
            os_type: p.os_type.clone(),
            experimental: p.experimental,
            builder_version: p.builder_version.clone(),
            swarm: p.swarm.clone(),
        }
    }
}

/// `OK (API 1.47, linux)`, leaving out what the daemon did not say.
pub fn render(report: &PingReport) -> String {
    let details: Vec<String> = report
        .api_version
        .iter()
        .map(|v| format!("API {v}"))
        .chain(report.os_type.iter().cloned())
        .collect();
    if details.is_empty() {
        report.status.to_owned()
    } else {
        format!("{} ({})", report.status, details.join(", "))
    }
}

/// Runs `wharf ping`.
pub async fn run<T: Transport>(
    client: &Client<T>,
    json: bool,
    out: &mut impl Write,
) -> Result<(), CommandError> {
    let report = PingReport::from(&client.ping().await?);
    if json {
        write_json(out, &report)
    } else {
        writeln!(out, "{}", render(&report))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_client_core::ApiVersion;

    #[test]
    fn renders_what_the_daemon_announced() {
        let ping = Ping {
            api_version: Some(ApiVersion::new(1, 41)),
            os_type: Some("linux".into()),
            ..Ping::default()
        };
        assert_eq!(render(&PingReport::from(&ping)), "OK (API 1.41, linux)");
        assert_eq!(render(&PingReport::from(&Ping::default())), "OK");
        let json = serde_json::to_value(PingReport::from(&ping)).unwrap();
        assert_eq!(json["ApiVersion"], "1.41");
        assert_eq!(json["OSType"], "linux");
    }
}
