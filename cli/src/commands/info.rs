//! `wharf info`: the daemon's `/info`, laid out as `docker info` lays out its main fields.
//!
//! Decoded into a tolerant local type: every field is optional (old daemons and wharfd omit some), and
//! fields not printed here are kept whole for `--format json`.

use std::collections::BTreeMap;
use std::io::Write;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wharf_client_core::api::system;
use wharf_client_core::{Client, Transport};

use super::{write_json, CommandError};
use crate::format::bytes_size;

/// The daemon's `/info` answer: the fields `wharf info` prints (each the API field of the same name), and
/// the rest.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServerInfo {
    #[serde(rename = "ID", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containers: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containers_running: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containers_paused: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containers_stopped: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_status: Option<Vec<Vec<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging_driver: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_driver: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating_system: Option<String>,
    #[serde(rename = "OSType", default, skip_serializing_if = "Option::is_none")]
    pub os_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    #[serde(rename = "NCPU", default, skip_serializing_if = "Option::is_none")]
    pub ncpu: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_total: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_root_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experimental_build: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_restore_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
    /// Fields not printed in text, kept for `--format json`.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// The `Client:` section `docker info` starts with.
pub fn render_client(debug: bool) -> String {
    format!(
        "Client:\n Version:    {}\n Debug Mode: {debug}\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// The `Server:` section, skipping fields the daemon did not send.
pub fn render_server(info: &ServerInfo) -> String {
    let mut out = String::from("Server:\n");
    let mut line = |indent: &str, label: &str, value: Option<String>| {
        if let Some(v) = value {
            out.push_str(&format!("{indent}{label}: {v}\n"));
        }
    };
    let num = |v: Option<i64>| v.map(|n| n.to_string());
    let flag = |v: Option<bool>| v.map(|b| b.to_string());
    line(" ", "Containers", num(info.containers));
    line("  ", "Running", num(info.containers_running));
    line("  ", "Paused", num(info.containers_paused));
    line("  ", "Stopped", num(info.containers_stopped));
    line(" ", "Images", num(info.images));
    line(" ", "Server Version", info.server_version.clone());
    line(" ", "Storage Driver", info.driver.clone());
    if info.driver.is_some() {
        for pair in info.driver_status.iter().flatten() {
            if let [key, value] = pair.as_slice() {
                line("  ", key, Some(value.clone()));
            }
        }
    }
    line(" ", "Logging Driver", info.logging_driver.clone());
    line(" ", "Cgroup Driver", info.cgroup_driver.clone());
    line(" ", "Cgroup Version", info.cgroup_version.clone());
    line(" ", "Kernel Version", info.kernel_version.clone());
    line(" ", "Operating System", info.operating_system.clone());
    line(" ", "OSType", info.os_type.clone());
    line(" ", "Architecture", info.architecture.clone());
    line(" ", "CPUs", num(info.ncpu));
    line(
        " ",
        "Total Memory",
        info.mem_total
            .map(|m| bytes_size(u64::try_from(m).unwrap_or(0))),
    );
    line(" ", "Name", info.name.clone());
    line(" ", "ID", info.id.clone());
    line(" ", "Docker Root Dir", info.docker_root_dir.clone());
    line(" ", "Debug Mode", flag(info.debug));
    line(" ", "Experimental", flag(info.experimental_build));
    line(" ", "Live Restore Enabled", flag(info.live_restore_enabled));
    out
}

/// `GET /info`, decoded into [`ServerInfo`].
pub async fn fetch<T: Transport>(client: &Client<T>) -> Result<ServerInfo, CommandError> {
    let info = client.call(|f| Ok(system::info_request(f).expecting::<ServerInfo>()));
    Ok(info.await?)
}

/// Runs `wharf info`; the daemon's warnings go to `err`, as `docker info` prints them on stderr.
pub async fn run<T: Transport>(
    client: &Client<T>,
    json: bool,
    debug: bool,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<(), CommandError> {
    if json {
        return write_json(out, &fetch(client).await?);
    }
    writeln!(out, "{}", render_client(debug))?;
    let info = fetch(client).await?;
    write!(out, "{}", render_server(&info))?;
    for warning in info.warnings.iter().flatten() {
        writeln!(err, "WARNING: {warning}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_section_follows_docker_info_and_skips_absent_fields() {
        let info: ServerInfo = serde_json::from_str(
            r#"{"ID":"X:Y","Containers":3,"ContainersRunning":1,"ContainersPaused":0,"ContainersStopped":2,
                "Images":4,"Driver":"overlay2","DriverStatus":[["Backing Filesystem","extfs"],["odd"]],
                "MemTotal":25276514304,"NCPU":2,"Debug":false,"OSType":"linux","Plugins":{"Volume":["local"]}}"#,
        )
        .unwrap();
        assert_eq!(
            render_server(&info),
            "Server:\n Containers: 3\n  Running: 1\n  Paused: 0\n  Stopped: 2\n Images: 4\n \
             Storage Driver: overlay2\n  Backing Filesystem: extfs\n OSType: linux\n CPUs: 2\n \
             Total Memory: 23.54GiB\n ID: X:Y\n Debug Mode: false\n"
        );
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["Plugins"]["Volume"][0], "local");
        assert_eq!(json["NCPU"], 2);
    }

    #[test]
    fn an_empty_answer_prints_only_the_header() {
        let info: ServerInfo = serde_json::from_str("{}").unwrap();
        assert_eq!(render_server(&info), "Server:\n");
    }
}
