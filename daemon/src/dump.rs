//! SIGUSR1's state dump: a JSON file under the exec root with the configuration, listeners, uptime and
//! request counters, for looking into a running daemon without a debugger.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use serde::Serialize;

use crate::config::Config;
use crate::state::AppState;

#[derive(Debug, Serialize)]
pub(crate) struct StateDump {
    pub pid: u32,
    pub version: &'static str,
    /// Seconds since start.
    pub uptime_seconds: f64,
    /// When the dump was written.
    pub time: String,
    /// Listeners as `kind address`.
    pub listeners: Vec<String>,
    /// Requests answered, in flight, 4xx and 5xx.
    pub requests: Counters,
    /// Audit records dropped because the audit writer fell behind.
    pub audit_dropped: u64,
    /// Whether debug is on now.
    pub debug: bool,
    /// The configuration, as settled.
    pub config: ConfigView,
}

#[derive(Debug, Serialize)]
pub(crate) struct Counters {
    /// Answered.
    pub total: u64,
    /// Being answered.
    pub in_flight: u64,
    /// 4xx.
    pub client_errors: u64,
    /// 5xx.
    pub server_errors: u64,
    /// Streamed answers still alive.
    pub open_streams: u64,
}

/// The configuration's serializable view.
#[derive(Debug, Serialize)]
pub(crate) struct ConfigView {
    pub hosts: Vec<String>,
    pub tls_mode: String,
    pub data_root: PathBuf,
    pub exec_root: PathBuf,
    pub pidfile: PathBuf,
    pub log_level: crate::logging::LogLevel,
    /// Shutdown timeout, seconds.
    pub shutdown_timeout: u64,
    /// The configuration file read.
    pub config_file: Option<PathBuf>,
}

pub(crate) fn collect(state: &AppState, config: &Config, listeners: &[String]) -> StateDump {
    let c = state.counters();
    StateDump {
        pid: std::process::id(),
        version: crate::buildinfo::VERSION,
        uptime_seconds: state.uptime().as_secs_f64(),
        time: crate::timefmt::now_rfc3339_nanos(),
        listeners: listeners.to_vec(),
        requests: Counters {
            total: c.requests.load(Ordering::Relaxed),
            in_flight: c.in_flight.load(Ordering::Relaxed),
            client_errors: c.client_errors.load(Ordering::Relaxed),
            server_errors: c.server_errors.load(Ordering::Relaxed),
            open_streams: c.open_streams.load(Ordering::Relaxed),
        },
        audit_dropped: state.auth().audit.dropped(),
        debug: state.debug(),
        config: ConfigView {
            hosts: config.hosts.iter().map(ToString::to_string).collect(),
            tls_mode: format!("{:?}", config.tls_mode),
            data_root: config.data_root.clone(),
            exec_root: config.exec_root.clone(),
            pidfile: config.pidfile.clone(),
            log_level: config.log_level,
            shutdown_timeout: config.shutdown_timeout.as_secs(),
            config_file: config.config_file.clone(),
        },
    }
}

/// Writes `dump` to `<exec_root>/wharfd-state-<unix seconds>.json` (0600) and returns the path.
pub(crate) fn write(exec_root: &Path, dump: &StateDump) -> std::io::Result<PathBuf> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let path = exec_root.join(format!("wharfd-state-{secs}.json"));
    let bytes = serde_json::to_vec_pretty(dump).map_err(std::io::Error::other)?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)?;
    file.write_all(&bytes)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dump_is_json_with_counters_and_config() {
        let defaults = crate::config::Defaults::compute(true, 0, |_| None);
        let config =
            crate::config::merge(&crate::cli::DaemonFlags::default(), None, &defaults).unwrap();
        let state = AppState::for_tests();
        state.counters().requests.fetch_add(3, Ordering::Relaxed);
        let dump = collect(&state, &config, &["unix /run/wharf/wharf.sock".into()]);
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), &dump).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(v["requests"]["total"], 3);
        assert_eq!(v["config"]["hosts"][0], "unix:///run/wharf/wharf.sock");
        assert_eq!(v["config"]["log_level"], "info");
        assert_eq!(v["listeners"][0], "unix /run/wharf/wharf.sock");
    }
}
