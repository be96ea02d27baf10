//! A container's record: the Docker-level config and state containerd does not hold, as stored on disk, its
//! state transitions, and its conversions to `docker inspect`'s and `docker ps`'s answers.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use wharf_client_core::models::{
    ContainerConfig, ContainerInspectResponse, ContainerState, ContainerStateStatusEnum,
    ContainerSummary, ContainerSummaryHostConfig, ContainerSummaryNetworkSettings,
    EndpointSettings, HostConfig, MountPoint, MountPointTypeEnum, NetworkSettings, Port,
    PortBinding, PortMap, PortTypeEnum,
};

use super::health::HealthState;
use crate::network::Attachment;
use crate::timefmt::{rfc3339_unix_nanos, GO_ZERO_TIME};

/// Nanoseconds since the Unix epoch.
pub(crate) type UnixNanos = u64;

/// The current time in [`UnixNanos`].
pub(crate) fn now_nanos() -> UnixNanos {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A container's run state, kept as moby's `container.State` keeps it (flags from which the status
/// follows).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct RunState {
    /// The process runs (possibly paused or between restarts).
    pub running: bool,
    /// Frozen by `docker pause`.
    pub paused: bool,
    /// Waiting to be restarted by its policy.
    pub restarting: bool,
    /// The last run ended by the OOM killer.
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    /// Removal failed half-way.
    pub dead: bool,
    /// `docker rm` is under way.
    pub removal_in_progress: bool,
    /// The main process's host PID while running, else 0.
    pub pid: i64,
    pub exit_code: i64,
    /// The last start error.
    pub error: String,
    /// When the last run started (`None`: never started).
    pub started_at: Option<UnixNanos>,
    /// When the last run ended.
    pub finished_at: Option<UnixNanos>,
    /// The health check's results, once a run with one started (`State.Health`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthState>,
}

impl RunState {
    /// dockerd's `State.Status` (moby `StateString`).
    pub(crate) fn status(&self) -> ContainerStateStatusEnum {
        use ContainerStateStatusEnum::*;
        if self.running {
            if self.paused {
                return PAUSED;
            }
            if self.restarting {
                return RESTARTING;
            }
            return RUNNING;
        }
        if self.removal_in_progress {
            return REMOVING;
        }
        if self.dead {
            return DEAD;
        }
        if self.started_at.is_none() {
            return CREATED;
        }
        EXITED
    }

    /// `docker ps`'s `Status` text at `now` (moby `State.String`).
    pub(crate) fn status_text(&self, now: UnixNanos) -> String {
        let ago = |t: Option<UnixNanos>| human_duration(now.saturating_sub(t.unwrap_or(now)));
        if self.running {
            if self.paused {
                return format!("Up {} (Paused)", ago(self.started_at));
            }
            if self.restarting {
                return format!(
                    "Restarting ({}) {} ago",
                    self.exit_code,
                    ago(self.finished_at)
                );
            }
            return match &self.health {
                Some(h) => format!("Up {} ({})", ago(self.started_at), h.status.ps_text()),
                None => format!("Up {}", ago(self.started_at)),
            };
        }
        if self.removal_in_progress {
            return "Removal In Progress".into();
        }
        if self.dead {
            return "Dead".into();
        }
        if self.started_at.is_none() {
            return "Created".into();
        }
        if self.finished_at.is_none() {
            return String::new();
        }
        format!("Exited ({}) {} ago", self.exit_code, ago(self.finished_at))
    }

    /// The process started (the health check's results stay until the run's probes begin).
    pub(crate) fn set_running(&mut self, pid: i64, now: UnixNanos) {
        *self = Self {
            running: true,
            pid,
            started_at: Some(now),
            finished_at: self.finished_at,
            health: self.health.take(),
            ..Self::default()
        };
    }

    /// `docker ps --filter health=`'s value: the status, or `none` without a health check.
    pub(crate) fn health_status(&self) -> &'static str {
        self.health.as_ref().map_or("none", |h| h.status.as_str())
    }

    /// No process runs any more (it exited, or it never started).
    fn clear_process(&mut self) {
        self.running = false;
        self.paused = false;
        self.restarting = false;
        self.pid = 0;
    }

    /// The process exited.
    pub(crate) fn set_stopped(&mut self, exit_code: i64, oom_killed: bool, now: UnixNanos) {
        self.clear_process();
        self.exit_code = exit_code;
        self.oom_killed = oom_killed;
        self.finished_at = Some(now);
    }

    /// The process exited and the restart policy will start it again.
    pub(crate) fn set_restarting(&mut self, exit_code: i64, now: UnixNanos) {
        self.set_stopped(exit_code, false, now);
        self.running = true;
        self.restarting = true;
    }

    /// A start failed: dockerd records the error and exit code 128 (or 126/127 for exec errors), and
    /// leaves the times alone (a container that never ran has not finished either).
    pub(crate) fn set_start_error(&mut self, error: String, exit_code: i64) {
        self.clear_process();
        self.error = error;
        self.exit_code = exit_code;
    }
}

/// Go's `units.HumanDuration`, which `docker ps` uses.
pub(crate) fn human_duration(nanos: u64) -> String {
    let secs = nanos / 1_000_000_000;
    let minutes = secs / 60;
    let hours = (nanos as f64 / 3.6e12).round() as u64;
    match secs {
        0 => "Less than a second".into(),
        1 => "1 second".into(),
        s if s < 60 => format!("{s} seconds"),
        _ if minutes == 1 => "About a minute".into(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".into(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", secs / 3600 / 24 / 365),
    }
}

/// One network's entry of `NetworkSettings.Networks`: its addresses while attached; every string empty
/// rather than absent, so that clients reading the raw JSON (docker-py's
/// `attrs["NetworkSettings"]["IPAddress"]`, `.ports`) find the keys dockerd always sends.
fn endpoint(a: Option<&Attachment>) -> EndpointSettings {
    let field = |f: fn(&Attachment) -> &String| Some(a.map(f).cloned().unwrap_or_default());
    EndpointSettings {
        mac_address: field(|a| &a.mac_address),
        network_id: field(|a| &a.network_id),
        endpoint_id: field(|a| &a.endpoint_id),
        gateway: field(|a| &a.gateway),
        ip_address: field(|a| &a.ip_address),
        ip_prefix_len: Some(a.map_or(0, |a| a.ip_prefix_len)),
        ipv6_gateway: Some(String::new()),
        global_ipv6_address: Some(String::new()),
        global_ipv6_prefix_len: Some(0),
        aliases: a
            .filter(|a| !a.aliases.is_empty())
            .map(|a| a.aliases.clone()),
        ..EndpointSettings::default()
    }
}

/// What Wharf keeps about a container, one JSON file per container.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct ContainerRecord {
    /// 64 hex digits.
    #[serde(rename = "ID")]
    pub id: String,
    /// The name with its leading `/`.
    pub name: String,
    pub created: UnixNanos,
    /// The image's ID (`sha256:...`).
    pub image_id: String,
    /// The image as the client named it (`Config.Image`).
    pub image_name: String,
    /// The command (first of Entrypoint+Cmd).
    pub path: String,
    pub args: Vec<String>,
    /// The image-merged container config.
    pub config: ContainerConfig,
    /// The host config, as validated at create time.
    pub host_config: HostConfig,
    pub state: RunState,
    /// Restarts by the restart policy since the last user start.
    pub restart_count: u32,
    /// Stopped by the user (`unless-stopped` then stays stopped across daemon restarts).
    pub has_been_manually_stopped: bool,
    /// The json-file log.
    pub log_path: String,
    /// The generated `/etc/hostname`.
    pub hostname_path: String,
    /// The generated `/etc/hosts`.
    pub hosts_path: String,
    /// The generated `/etc/resolv.conf`.
    pub resolv_conf_path: String,
    /// The container's mounts, for `docker inspect`'s `Mounts`.
    pub mount_points: Vec<MountPoint>,
    /// The storage driver's name for `docker inspect`.
    pub driver: String,
    /// Its place on the bridge network while it has one (from before the CNI ADD to after the DEL).
    pub network: Option<Attachment>,
    /// `NetworkingConfig.EndpointsConfig` of its create (aliases, a fixed address), by network.
    pub endpoints_config: HashMap<String, EndpointSettings>,
    /// Networks connected while it runs (`docker network connect`), released when the run ends.
    pub extra_networks: Vec<Attachment>,
    /// The volumes among `mount_points` that the container's config named no source for (`VOLUME`,
    /// `-v /path`, and those `--volumes-from` took over): `docker rm -v` removes them.
    pub anonymous_volumes: Vec<String>,
}

impl ContainerRecord {
    /// Every network attachment it holds: its network mode's, then those connected later.
    pub(crate) fn attachments(&self) -> impl Iterator<Item = &Attachment> {
        self.network.iter().chain(self.extra_networks.iter())
    }

    /// The names of the volumes the container mounts.
    pub(crate) fn volume_names(&self) -> impl Iterator<Item = &str> {
        self.mount_points
            .iter()
            .filter(|m| m.typ == Some(MountPointTypeEnum::VOLUME))
            .filter_map(|m| m.name.as_deref())
    }

    /// `Path` and `Args` from a merged config's Entrypoint and Cmd, as dockerd splits them.
    pub(crate) fn set_command(&mut self) {
        let mut all = self
            .config
            .entrypoint
            .iter()
            .flatten()
            .chain(self.config.cmd.iter().flatten())
            .cloned();
        self.path = all.next().unwrap_or_default();
        self.args = all.collect();
    }

    /// `docker ps`'s `Command`: the path and arguments, those with spaces quoted in `'`.
    pub(crate) fn command_line(&self) -> String {
        if self.args.is_empty() {
            return self.path.clone();
        }
        let args: Vec<String> = self
            .args
            .iter()
            .map(|a| {
                if a.contains(' ') {
                    format!("'{a}'")
                } else {
                    a.clone()
                }
            })
            .collect();
        format!("{} {}", self.path, args.join(" "))
    }

    fn network_mode(&self) -> String {
        match self.host_config.network_mode.as_deref() {
            None | Some("") | Some("default") => "bridge".into(),
            Some(m) => m.to_string(),
        }
    }

    /// The container's networks as dockerd reports them: the one of its network mode (`bridge` for the
    /// default), then those connected while it runs.
    fn endpoints(&self) -> HashMap<String, EndpointSettings> {
        let mut all = HashMap::from([(self.network_mode(), endpoint(self.network.as_ref()))]);
        for extra in &self.extra_networks {
            all.insert(extra.network.clone(), endpoint(Some(extra)));
        }
        all
    }

    /// `NetworkSettings.Ports` as dockerd shows them for a running container: every exposed or
    /// published port, with its host bindings or `null`; nothing when it does not run.
    fn ports(&self) -> PortMap {
        let Some(a) = self.network.as_ref().filter(|_| self.state.running) else {
            return PortMap::new();
        };
        let mut map: PortMap = self
            .config
            .exposed_ports
            .iter()
            .flatten()
            .map(|(k, _)| {
                let key = if k.contains('/') {
                    k.clone()
                } else {
                    format!("{k}/tcp")
                };
                (key, None)
            })
            .collect();
        for p in &a.ports {
            map.entry(format!("{}/{}", p.container_port, p.protocol))
                .or_insert(None)
                .get_or_insert_with(Vec::new)
                .push(PortBinding {
                    host_ip: Some(p.host_ip.clone()),
                    host_port: Some(p.host_port.to_string()),
                });
        }
        map
    }

    /// `docker ps`'s `Ports`: the published ports, then the exposed ones not published.
    fn summary_ports(&self) -> Vec<Port> {
        let typ = |p: &str| p.parse().unwrap_or(PortTypeEnum::TCP);
        let mut out = Vec::new();
        for (key, bindings) in self.ports() {
            let (port, proto) = key.split_once('/').unwrap_or((&key, "tcp"));
            let Ok(private_port) = port.parse() else {
                continue;
            };
            match bindings {
                Some(list) => out.extend(list.into_iter().map(|b| Port {
                    ip: b.host_ip,
                    private_port,
                    public_port: b.host_port.and_then(|p| p.parse().ok()),
                    typ: Some(typ(proto)),
                })),
                None => out.push(Port {
                    ip: None,
                    private_port,
                    public_port: None,
                    typ: Some(typ(proto)),
                }),
            }
        }
        out.sort_by_key(|p| (p.private_port, p.public_port));
        out
    }

    /// `NetworkSettings` of `GET /containers/{id}/json`, with dockerd's legacy top-level fields.
    pub(crate) fn network_settings(&self) -> NetworkSettings {
        let empty = || Some(String::new());
        let a = self
            .network
            .as_ref()
            .filter(|_| self.network_mode() == "bridge");
        let field = |f: fn(&Attachment) -> &String| Some(a.map(f).cloned().unwrap_or_default());
        NetworkSettings {
            bridge: empty(),
            sandbox_id: Some(
                a.map(|a| crate::network::hex_id(&["sandbox", &a.netns]))
                    .unwrap_or_default(),
            ),
            sandbox_key: field(|a| &a.netns),
            ports: Some(self.ports()),
            hairpin_mode: Some(false),
            link_local_ipv6_address: empty(),
            link_local_ipv6_prefix_len: Some(0),
            endpoint_id: field(|a| &a.endpoint_id),
            gateway: field(|a| &a.gateway),
            global_ipv6_address: empty(),
            global_ipv6_prefix_len: Some(0),
            ip_address: field(|a| &a.ip_address),
            ip_prefix_len: Some(a.map_or(0, |a| a.ip_prefix_len)),
            ipv6_gateway: empty(),
            mac_address: field(|a| &a.mac_address),
            networks: Some(self.endpoints()),
            ..NetworkSettings::default()
        }
    }

    /// The answer to `GET /containers/{id}/json` (without the graph driver's data and sizes, which the
    /// runtime fills).
    pub(crate) fn to_inspect(&self) -> ContainerInspectResponse {
        let time = |t: Option<UnixNanos>| t.map_or(GO_ZERO_TIME.to_string(), rfc3339_unix_nanos);
        let s = &self.state;
        ContainerInspectResponse {
            id: Some(self.id.clone()),
            created: Some(rfc3339_unix_nanos(self.created)),
            path: Some(self.path.clone()),
            args: Some(self.args.clone()),
            state: Some(ContainerState {
                status: Some(s.status()),
                running: Some(s.running),
                paused: Some(s.paused),
                restarting: Some(s.restarting),
                oom_killed: Some(s.oom_killed),
                dead: Some(s.dead),
                pid: Some(s.pid),
                exit_code: Some(s.exit_code),
                error: Some(s.error.clone()),
                started_at: Some(time(s.started_at)),
                finished_at: Some(time(s.finished_at)),
                health: s.health.as_ref().map(HealthState::to_model),
            }),
            image: Some(self.image_id.clone()),
            resolv_conf_path: Some(self.resolv_conf_path.clone()),
            hostname_path: Some(self.hostname_path.clone()),
            hosts_path: Some(self.hosts_path.clone()),
            log_path: Some(self.log_path.clone()),
            name: Some(self.name.clone()),
            restart_count: Some(i64::from(self.restart_count)),
            driver: Some(self.driver.clone()),
            platform: Some("linux".into()),
            mount_label: Some(String::new()),
            process_label: Some(String::new()),
            app_armor_profile: Some(String::new()),
            exec_ids: None,
            host_config: Some(self.host_config.clone()),
            mounts: Some(self.mount_points.clone()),
            config: Some(self.config.clone()),
            network_settings: Some(self.network_settings()),
            ..Default::default()
        }
    }

    /// The entry of `GET /containers/json` at `now`.
    pub(crate) fn to_summary(&self, now: UnixNanos) -> ContainerSummary {
        ContainerSummary {
            id: Some(self.id.clone()),
            names: Some(vec![self.name.clone()]),
            image: Some(self.image_name.clone()),
            image_id: Some(self.image_id.clone()),
            command: Some(self.command_line()),
            created: Some((self.created / 1_000_000_000) as i64),
            ports: Some(self.summary_ports()),
            labels: Some(self.config.labels.clone().unwrap_or_default()),
            state: Some(self.state.status().to_string()),
            status: Some(self.state.status_text(now)),
            host_config: Some(ContainerSummaryHostConfig {
                network_mode: Some(self.network_mode()),
                annotations: None,
            }),
            network_settings: Some(ContainerSummaryNetworkSettings {
                networks: Some(self.endpoints()),
            }),
            mounts: Some(self.mount_points.clone()),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;
    const T0: u64 = 1_700_000_000 * SEC;

    fn record() -> ContainerRecord {
        let mut r = ContainerRecord {
            id: "a".repeat(64),
            name: "/web".into(),
            created: T0,
            image_id: "sha256:1234".into(),
            image_name: "nginx:latest".into(),
            config: ContainerConfig {
                entrypoint: Some(vec!["/docker-entrypoint.sh".into()]),
                cmd: Some(vec!["nginx".into(), "-g".into(), "daemon off;".into()]),
                ..Default::default()
            },
            ..Default::default()
        };
        r.set_command();
        r
    }

    #[test]
    fn network_settings_carry_the_keys_dockerd_always_sends() {
        let json = serde_json::to_value(record().to_inspect()).unwrap();
        let settings = &json["NetworkSettings"];
        for key in [
            "IPAddress",
            "Gateway",
            "MacAddress",
            "EndpointID",
            "SandboxKey",
        ] {
            assert_eq!(settings[key], "", "{key}");
        }
        assert_eq!(settings["IPPrefixLen"], 0);
        assert_eq!(settings["Ports"], serde_json::json!({}));
        assert_eq!(settings["Networks"]["bridge"]["IPAddress"], "");
        assert_eq!(settings["Networks"]["bridge"]["NetworkID"], "");

        let mut host = record();
        host.host_config.network_mode = Some("host".into());
        let summary = serde_json::to_value(host.to_summary(T0)).unwrap();
        let networks = summary["NetworkSettings"]["Networks"].as_object().unwrap();
        assert_eq!(networks.keys().collect::<Vec<_>>(), ["host"]);
    }

    #[test]
    fn human_durations_match_go_units() {
        let cases = [
            (0, "Less than a second"),
            (1, "1 second"),
            (2, "2 seconds"),
            (59, "59 seconds"),
            (60, "About a minute"),
            (5 * 60, "5 minutes"),
            (3600, "About an hour"),
            (5 * 3600, "5 hours"),
            (3 * 86400, "3 days"),
            (20 * 86400, "2 weeks"),
            (90 * 86400, "3 months"),
            (800 * 86400, "2 years"),
        ];
        for (secs, text) in cases {
            assert_eq!(human_duration(secs * SEC), text, "{secs}");
        }
    }

    #[test]
    fn status_text_follows_the_state() {
        let mut s = RunState::default();
        assert_eq!(s.status_text(T0), "Created");
        assert_eq!(s.status(), ContainerStateStatusEnum::CREATED);
        s.set_running(42, T0);
        assert_eq!(s.status_text(T0 + 300 * SEC), "Up 5 minutes");
        s.paused = true;
        assert_eq!(s.status_text(T0 + 300 * SEC), "Up 5 minutes (Paused)");
        assert_eq!(s.status(), ContainerStateStatusEnum::PAUSED);
        s.set_stopped(0, false, T0 + 400 * SEC);
        assert_eq!(s.status_text(T0 + 402 * SEC), "Exited (0) 2 seconds ago");
        assert_eq!(s.status(), ContainerStateStatusEnum::EXITED);
        assert_eq!(s.pid, 0);
        s.set_restarting(3, T0 + 500 * SEC);
        assert_eq!(s.status(), ContainerStateStatusEnum::RESTARTING);
        assert_eq!(s.status_text(T0 + 501 * SEC), "Restarting (3) 1 second ago");
    }

    #[test]
    fn status_text_and_inspect_carry_the_health() {
        use crate::containers::health::{HealthState, HealthStatus};
        let mut r = record();
        r.state.set_running(7, T0);
        assert_eq!(r.state.health_status(), "none");
        r.state.health = Some(HealthState::default());
        assert_eq!(
            r.state.status_text(T0 + 3 * SEC),
            "Up 3 seconds (health: starting)"
        );
        assert_eq!(r.state.health_status(), "starting");
        r.state.health.as_mut().unwrap().status = HealthStatus::Healthy;
        assert_eq!(r.state.status_text(T0 + 3 * SEC), "Up 3 seconds (healthy)");
        r.state.set_running(8, T0 + 10 * SEC);
        assert_eq!(r.state.health_status(), "healthy", "a new run keeps it");
        let json = serde_json::to_value(r.to_inspect()).unwrap();
        assert_eq!(json["State"]["Health"]["Status"], "healthy");
        r.state.paused = true;
        assert_eq!(r.state.status_text(T0 + 13 * SEC), "Up 3 seconds (Paused)");
        r.state.set_stopped(137, false, T0 + 20 * SEC);
        assert_eq!(
            r.state.status_text(T0 + 21 * SEC),
            "Exited (137) 1 second ago"
        );
        let json = serde_json::to_value(record().to_inspect()).unwrap();
        assert!(
            json["State"]["Health"].is_null(),
            "no health check, no Health"
        );
    }

    #[test]
    fn inspect_has_dockers_shapes() {
        let r = record();
        let i = r.to_inspect();
        assert_eq!(i.path.as_deref(), Some("/docker-entrypoint.sh"));
        assert_eq!(i.args.unwrap(), ["nginx", "-g", "daemon off;"]);
        assert_eq!(i.created.as_deref(), Some("2023-11-14T22:13:20Z"));
        let state = i.state.unwrap();
        assert_eq!(state.status, Some(ContainerStateStatusEnum::CREATED));
        assert_eq!(state.started_at.as_deref(), Some("0001-01-01T00:00:00Z"));
        assert_eq!(i.name.as_deref(), Some("/web"));
        let json = serde_json::to_value(record().to_inspect()).unwrap();
        assert_eq!(json["State"]["Status"], "created");
        assert_eq!(json["State"]["OOMKilled"], false);
    }

    #[test]
    fn summary_has_ps_fields() {
        let mut r = record();
        r.state.set_running(7, T0);
        let s = r.to_summary(T0 + 10 * SEC);
        assert_eq!(s.names.unwrap(), ["/web"]);
        assert_eq!(s.image.as_deref(), Some("nginx:latest"));
        assert_eq!(
            s.command.as_deref(),
            Some("/docker-entrypoint.sh nginx -g 'daemon off;'")
        );
        assert_eq!(s.created, Some(1_700_000_000));
        assert_eq!(s.state.as_deref(), Some("running"));
        assert_eq!(s.status.as_deref(), Some("Up 10 seconds"));
        assert_eq!(
            s.host_config.unwrap().network_mode.as_deref(),
            Some("bridge")
        );
    }

    #[test]
    fn records_round_trip_through_json() {
        let mut r = record();
        r.state.set_running(7, T0);
        let text = serde_json::to_string(&r).unwrap();
        let back: ContainerRecord = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r);
    }
}
