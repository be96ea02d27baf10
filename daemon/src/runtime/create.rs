//! `POST /containers/create`: checks the request as dockerd does, merges the image's config, stores the
//! record and prepares the writable layer.

use std::collections::HashMap;

use serde::Deserialize;
use wharf_client_core::models::{
    ContainerConfig, HostConfig, HostConfigCgroupnsModeEnum, HostConfigIsolationEnum,
    HostConfigLogConfig,
};
use wharf_client_core::ErrorKind;

use super::{Runtime, GC_ROOT};
use crate::containers::config::merge_image_config;
use crate::containers::etcfiles::{default_hostname, EtcPaths};
use crate::containers::record::{now_nanos, ContainerRecord};
use crate::containers::spec::mounts::DEFAULT_SHM_SIZE;
use crate::containers::spec::{self, linux, network_mode, HostCpus};
use crate::error::Error;
use crate::images::oci::chain_ids;
use crate::logs::LogOptions;

/// The body of `POST /containers/create`: the container config with `HostConfig` and `NetworkingConfig`
/// beside its fields.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CreateRequest {
    /// Everything but the two below.
    #[serde(flatten)]
    pub config: ContainerConfig,
    #[serde(default)]
    pub host_config: Option<HostConfig>,
    /// The network endpoints' settings (`--ip`, `--network-alias`).
    #[serde(default)]
    pub networking_config: Option<wharf_client_core::models::NetworkingConfig>,
}

const JSON_FILE: &str = "json-file";
/// The driver that keeps no log: output only reaches attached clients.
pub(super) const NO_LOG: &str = "none";

/// Records what a setting left empty means, as dockerd records it at create (so that inspect shows
/// `ShmSize` 67108864, `IpcMode` private, `CgroupnsMode` host or private, `Runtime` runc, and for a
/// container that is not privileged the default `MaskedPaths` and `ReadonlyPaths` unless given, even
/// empty), and drops the "unlimited" spellings dockerd stores as null (`PidsLimit` 0 or -1,
/// `MemorySwappiness` -1).
fn fill_defaults(hc: &mut HostConfig, cgroup_v2: bool) {
    let unset = |value: &Option<String>| value.as_deref().is_none_or(str::is_empty);
    if hc.shm_size.is_none_or(|size| size == 0) {
        hc.shm_size = Some(DEFAULT_SHM_SIZE);
    }
    if unset(&hc.ipc_mode) {
        hc.ipc_mode = Some("private".into());
    }
    if matches!(
        hc.cgroupns_mode,
        None | Some(HostConfigCgroupnsModeEnum::EMPTY)
    ) {
        hc.cgroupns_mode = Some(if cgroup_v2 {
            HostConfigCgroupnsModeEnum::PRIVATE
        } else {
            HostConfigCgroupnsModeEnum::HOST
        });
    }
    if unset(&hc.runtime) {
        hc.runtime = Some(RUNC.into());
    }
    if hc.pids_limit.is_some_and(|limit| limit <= 0) {
        hc.pids_limit = None;
    }
    if hc.memory_swappiness == Some(-1) {
        hc.memory_swappiness = None;
    }
    if !hc.privileged.unwrap_or(false) {
        let owned = |paths: &[&str]| paths.iter().map(|p| p.to_string()).collect();
        hc.masked_paths
            .get_or_insert_with(|| owned(&linux::MASKED_PATHS));
        hc.readonly_paths
            .get_or_insert_with(|| owned(&linux::READONLY_PATHS));
    }
}

/// Checks `LogConfig` (json-file or none) and fills its type, as dockerd does.
fn log_config(hc: &mut HostConfig) -> Result<(), Error> {
    let lc = hc
        .log_config
        .get_or_insert_with(HostConfigLogConfig::default);
    match lc.typ.as_deref() {
        None | Some("") => lc.typ = Some(JSON_FILE.to_owned()),
        Some(JSON_FILE) => {}
        Some(NO_LOG) => {
            if let Some(key) = lc.config.iter().flat_map(|c| c.keys()).next() {
                return Err(Error::invalid(format!(
                    "unknown log opt '{key}' for {NO_LOG} log driver"
                )));
            }
            return Ok(());
        }
        Some(other) => {
            return Err(Error::invalid(format!(
                "logger: no log driver named '{other}' is registered"
            )))
        }
    }
    let config = lc.config.get_or_insert_with(HashMap::new);
    LogOptions::from_config(config.iter()).map_err(|e| Error::invalid(e.to_string()))?;
    Ok(())
}

/// The one runtime wharfd runs containers with.
const RUNC: &str = "runc";

/// The longest host or domain name Linux takes (`HOST_NAME_MAX`, `__NEW_UTS_LEN`).
const MAX_UTS_NAME: usize = 64;

/// Checks what dockerd's `verifyContainerSettings` checks in the container config, with its wording: the
/// stop signal and the health check's durations; and the host and domain names, which runc would refuse
/// at start.
fn validate_config(config: &ContainerConfig) -> Result<(), Error> {
    for (field, name) in [
        ("Hostname", &config.hostname),
        ("Domainname", &config.domainname),
    ] {
        let len = name.as_deref().map_or(0, str::len);
        if len > MAX_UTS_NAME {
            return Err(Error::invalid(format!(
                "invalid {field}: {len} bytes long, Linux takes at most {MAX_UTS_NAME}"
            )));
        }
    }
    if let Some(sig) = config.stop_signal.as_deref().filter(|s| !s.is_empty()) {
        super::signal::parse(sig)?;
    }
    if let Some(health) = &config.healthcheck {
        const MS: i64 = 1_000_000;
        for (name, value) in [
            ("Interval", health.interval),
            ("Timeout", health.timeout),
            ("StartPeriod", health.start_period),
        ] {
            if value.is_some_and(|v| v != 0 && v < MS) {
                return Err(Error::invalid(format!(
                    "{name} in Healthcheck cannot be less than 1ms"
                )));
            }
        }
        if health.retries.is_some_and(|r| r < 0) {
            return Err(Error::invalid("Retries in Healthcheck cannot be negative"));
        }
    }
    Ok(())
}

/// A port or port range (`80`, `8000-8080`) as Go's `nat.ParsePortRange` takes it; empty is none.
fn valid_port_range(spec: &str) -> bool {
    match spec.split_once('-') {
        _ if spec.is_empty() => true,
        None => valid_port(spec),
        Some((a, b)) => {
            valid_port(a) && valid_port(b) && a.parse::<u16>().ok() <= b.parse::<u16>().ok()
        }
    }
}

/// One port number, decimal digits only, 0 to 65535.
fn valid_port(p: &str) -> bool {
    !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok()
}

/// Checks the host config fields dockerd checks itself (the rest is [`spec::validate_for_create`]): the
/// runtime (wharfd has runc only), the isolation, and the ports of `PortBindings`, with dockerd's wording.
fn validate_host_config(hc: &HostConfig) -> Result<(), Error> {
    match hc.runtime.as_deref() {
        None | Some("") | Some(RUNC) => {}
        Some(other) => return Err(Error::invalid(format!("Unknown runtime specified {other}"))),
    }
    let isolation = match hc.isolation {
        None | Some(HostConfigIsolationEnum::EMPTY | HostConfigIsolationEnum::DEFAULT) => None,
        Some(HostConfigIsolationEnum::PROCESS) => Some("process"),
        Some(HostConfigIsolationEnum::HYPERV) => Some("hyperv"),
    };
    if let Some(isolation) = isolation {
        return Err(Error::invalid(format!(
            "Invalid isolation: \"{isolation}\" - linux only supports 'default'"
        )));
    }
    for (port, bindings) in hc.port_bindings.iter().flatten() {
        let number = port.split_once('/').map_or(port.as_str(), |(n, _)| n);
        if !number.is_empty() && !valid_port(number) {
            return Err(Error::invalid(format!(
                "invalid port specification: {number:?}"
            )));
        }
        for binding in bindings.iter().flatten() {
            let host = binding.host_port.as_deref().unwrap_or("");
            let host_number = host.split_once('/').map_or(host, |(n, _)| n);
            if !valid_port_range(host_number) {
                return Err(Error::invalid(format!(
                    "invalid port specification: {host:?}"
                )));
            }
        }
    }
    Ok(())
}

/// The CPUs and memory nodes of the host's root cpuset, read once (as dockerd's `sysinfo` at start-up)
/// rather than on every create.
pub(super) fn host_cpus() -> &'static HostCpus {
    static HOST: std::sync::OnceLock<HostCpus> = std::sync::OnceLock::new();
    HOST.get_or_init(read_host_cpus)
}

/// The CPUs and memory nodes of the host's root cpuset, as dockerd's `sysinfo` reads them.
fn read_host_cpus() -> HostCpus {
    let read = |paths: &[&str]| {
        paths
            .iter()
            .find_map(|p| std::fs::read_to_string(p).ok())
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };
    HostCpus {
        count: available_cpus(),
        cpus: read(&[
            "/sys/fs/cgroup/cpuset/cpuset.cpus",
            "/sys/fs/cgroup/cpuset.cpus.effective",
            "/sys/devices/system/cpu/online",
        ]),
        mems: read(&[
            "/sys/fs/cgroup/cpuset/cpuset.mems",
            "/sys/fs/cgroup/cpuset.mems.effective",
            "/sys/devices/system/node/online",
        ]),
    }
}

/// Refuses settings wharfd does not implement rather than dropping them: a 400 naming the field and its
/// flag. Values that mean "unset" (empty, zero, `local`, `host`) pass.
fn refuse_unsupported(hc: &HostConfig) -> Result<(), Error> {
    let set = |v: &Option<String>, unset: &[&str]| {
        v.as_deref()
            .is_some_and(|v| !v.is_empty() && !unset.contains(&v))
    };
    let blkio = hc.blkio_weight.unwrap_or(0) > 0
        || hc
            .blkio_weight_device
            .as_ref()
            .is_some_and(|v| !v.is_empty())
        || [
            &hc.blkio_device_read_bps,
            &hc.blkio_device_write_bps,
            &hc.blkio_device_read_iops,
            &hc.blkio_device_write_iops,
        ]
        .iter()
        .any(|v| v.as_ref().is_some_and(|v| !v.is_empty()));
    let refused = [
        (
            hc.storage_opt.as_ref().is_some_and(|o| !o.is_empty()),
            "StorageOpt (--storage-opt)",
        ),
        (
            set(&hc.volume_driver, &["local"]),
            "VolumeDriver (--volume-driver)",
        ),
        (set(&hc.userns_mode, &["host"]), "UsernsMode (--userns)"),
        (set(&hc.cgroup, &[]), "Cgroup"),
        (
            blkio,
            "BlkioWeight and the Blkio device limits (--blkio-weight, --device-read-bps ...)",
        ),
        (
            hc.cpu_realtime_period.unwrap_or(0) != 0 || hc.cpu_realtime_runtime.unwrap_or(0) != 0,
            "CpuRealtimePeriod and CpuRealtimeRuntime (--cpu-rt-period, --cpu-rt-runtime)",
        ),
    ];
    match refused.iter().find(|(refuse, _)| *refuse) {
        Some((_, what)) => Err(Error::invalid(format!("{what} is not supported yet"))),
        None => Ok(()),
    }
}

/// The warnings dockerd answers a create with, in its words and order, for settings wharfd takes as it
/// does: the OOM killer disabled with no memory limit, ports published on the host's network (which
/// publishes nothing).
fn warnings(hc: &HostConfig) -> Vec<String> {
    let mut warnings = Vec::new();
    if hc.oom_kill_disable == Some(true) && hc.memory.unwrap_or(0) == 0 {
        warnings.push(
            "OOM killer is disabled for the container, but no memory limit is set, this can result in \
             the system running out of resources."
                .to_owned(),
        );
    }
    let host_network = hc.network_mode.as_deref() == Some("host");
    if host_network && hc.port_bindings.as_ref().is_some_and(|p| !p.is_empty()) {
        warnings.push("Published ports are discarded when using host network mode".to_owned());
    }
    warnings
}

/// How many CPUs wharfd may run on, as Go's `runtime.NumCPU` counts them (the affinity mask).
fn available_cpus() -> u32 {
    let Ok(set) = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)) else {
        return std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    };
    (0..nix::sched::CpuSet::count())
        .filter(|&i| set.is_set(i).unwrap_or(false))
        .count() as u32
}

impl Runtime {
    /// Creates a container named `name` (generated when `None`); answers its ID and warnings.
    pub(crate) async fn create(
        &self,
        name: Option<&str>,
        request: CreateRequest,
    ) -> Result<(String, Vec<String>), Error> {
        let CreateRequest {
            mut config,
            host_config,
            networking_config,
        } = request;
        let image_name = config.image.clone().unwrap_or_default();
        if image_name.is_empty() {
            return Err(Error::invalid(
                "Config cannot be empty in order to create a container",
            ));
        }
        let mut hc = host_config.unwrap_or_default();
        validate_config(&config)?;
        validate_host_config(&hc)?;
        spec::validate_for_create(&mut hc, host_cpus())?;
        refuse_unsupported(&hc)?;
        if !hc.privileged.unwrap_or(false) {
            super::devices::mapped_devices(&hc)?;
        }
        log_config(&mut hc)?;
        let warnings = warnings(&hc);
        fill_defaults(&mut hc, self.inner.cgroup_v2);
        let network = network_mode(&hc)?;
        let endpoints_config = networking_config
            .and_then(|n| n.endpoints_config)
            .unwrap_or_default();
        self.check_network(&network, &endpoints_config)?;
        self.check_links(&network, hc.links.as_deref().unwrap_or(&[]))?;
        let image = self.inner.images.resolve(&image_name).await?;
        let run = image.meta.config.config.clone().unwrap_or_default();
        let image_run = serde_json::to_value(&run)
            .and_then(serde_json::from_value)
            .map_err(Error::system)?;
        merge_image_config(&mut config, &image_run);
        if config.cmd.as_ref().is_none_or(|c| c.is_empty())
            && config.entrypoint.as_ref().is_none_or(|e| e.is_empty())
        {
            return Err(Error::invalid("No command specified"));
        }
        let volumes = self.create_volumes(&config, &hc).await?;
        let anonymous = volumes.anonymous.clone();
        let copy_up = volumes.copy_up;
        let parent = chain_ids(&image.meta.config.rootfs.diff_ids)
            .pop()
            .unwrap_or_default();

        let store = self.inner.store.clone();
        let driver = self.inner.snapshotter.to_owned();
        let host_hostname = self.inner.host_hostname.clone();
        let image_id = image.id.clone();
        let name = name.map(str::to_owned);
        let keeps_log = hc.log_config.as_ref().and_then(|l| l.typ.as_deref()) != Some(NO_LOG);
        let record = tokio::task::spawn_blocking(move || {
            store.create(name.as_deref(), |id, name, dir| {
                // As dockerd keeps them: `/<target>:/<name>/<alias>`.
                if let Some(links) = hc.links.as_mut() {
                    for l in links.iter_mut() {
                        let (target, alias) = l.split_once(':').unwrap_or((l.as_str(), l.as_str()));
                        let target = target.trim_start_matches('/').to_owned();
                        let alias = alias.rsplit('/').next().unwrap_or(alias).to_owned();
                        *l = format!("/{target}:{name}/{alias}");
                    }
                }
                let hostname = default_hostname(&config, id, &network, &host_hostname);
                config.hostname = Some(hostname);
                let etc = EtcPaths::in_dir(dir);
                let mut record = ContainerRecord {
                    created: now_nanos(),
                    image_id,
                    image_name,
                    config,
                    host_config: hc,
                    log_path: if keeps_log {
                        dir.join(format!("{id}-json.log")).display().to_string()
                    } else {
                        String::new()
                    },
                    hostname_path: etc.hostname.display().to_string(),
                    hosts_path: etc.hosts.display().to_string(),
                    resolv_conf_path: etc.resolv_conf.display().to_string(),
                    mount_points: volumes.points,
                    anonymous_volumes: volumes.anonymous,
                    driver,
                    endpoints_config,
                    ..ContainerRecord::default()
                };
                record.set_command();
                Ok(record)
            })
        })
        .await
        .map_err(Error::system)
        .and_then(|r| r);
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                self.remove_volumes_named(anonymous).await;
                return Err(e);
            }
        };

        let labels = HashMap::from([(GC_ROOT.to_owned(), now_nanos().to_string())]);
        let rootfs = match self
            .inner
            .cd
            .snapshot_prepare(self.inner.snapshotter, &record.id, &parent, labels)
            .await
        {
            Ok(rootfs) => rootfs,
            Err(e) => {
                let _ = self.inner.store.remove(&record.id);
                self.remove_anonymous_volumes(&record).await;
                return Err(Error::new(
                    ErrorKind::System,
                    format!("cannot prepare the container's file system: {e}"),
                ));
            }
        };
        if let Err(e) = self.populate_volumes(&record, copy_up, rootfs).await {
            let _ = self
                .inner
                .cd
                .snapshot_remove(self.inner.snapshotter, &record.id)
                .await;
            let _ = self.inner.store.remove(&record.id);
            self.remove_anonymous_volumes(&record).await;
            return Err(e);
        }
        self.emit(&record, "create", &[]);
        Ok((record.id, warnings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_create_body_keeps_config_and_host_config_apart() {
        let body = r#"{"Image":"busybox","Cmd":["true"],"Labels":{"a":"b"},
            "HostConfig":{"AutoRemove":true,"Memory":1048576},
            "NetworkingConfig":{"EndpointsConfig":{}}}"#;
        let r: CreateRequest = serde_json::from_str(body).unwrap();
        assert_eq!(r.config.image.as_deref(), Some("busybox"));
        assert_eq!(r.config.cmd, Some(vec!["true".to_owned()]));
        let hc = r.host_config.unwrap();
        assert_eq!((hc.auto_remove, hc.memory), (Some(true), Some(1048576)));
    }

    #[test]
    fn config_and_host_config_are_checked_as_dockerd_checks_them() {
        let config = |json: &str| -> ContainerConfig { serde_json::from_str(json).unwrap() };
        let hc = |json: &str| -> HostConfig { serde_json::from_str(json).unwrap() };
        for (json, message) in [
            (r#"{"StopSignal":"SIGBOGUS"}"#, "Invalid signal: SIGBOGUS"),
            (
                &format!(r#"{{"Hostname":"{}"}}"#, "a".repeat(65)),
                "invalid Hostname: 65 bytes long, Linux takes at most 64",
            ),
            (
                r#"{"Healthcheck":{"Interval":-1}}"#,
                "Interval in Healthcheck cannot be less than 1ms",
            ),
            (
                r#"{"Healthcheck":{"Timeout":5}}"#,
                "Timeout in Healthcheck cannot be less than 1ms",
            ),
            (
                r#"{"Healthcheck":{"Retries":-1}}"#,
                "Retries in Healthcheck cannot be negative",
            ),
        ] {
            assert_eq!(validate_config(&config(json)).unwrap_err().message, message);
        }
        validate_config(&config(
            r#"{"StopSignal":"SIGUSR1","Healthcheck":{"Interval":1000000}}"#,
        ))
        .unwrap();
        for (json, message) in [
            (
                r#"{"Runtime":"nosuch"}"#,
                "Unknown runtime specified nosuch",
            ),
            (
                r#"{"Isolation":"hyperv"}"#,
                "Invalid isolation: \"hyperv\" - linux only supports 'default'",
            ),
            (
                r#"{"PortBindings":{"99999/tcp":[{}]}}"#,
                "invalid port specification: \"99999\"",
            ),
            (
                r#"{"PortBindings":{"80/tcp":[{"HostPort":"70000"}]}}"#,
                "invalid port specification: \"70000\"",
            ),
            (
                r#"{"PortBindings":{"80/tcp":[{"HostPort":"90-80"}]}}"#,
                "invalid port specification: \"90-80\"",
            ),
        ] {
            assert_eq!(
                validate_host_config(&hc(json)).unwrap_err().message,
                message
            );
        }
        validate_host_config(&hc(
            r#"{"Runtime":"runc","Isolation":"default","PortBindings":{"80/tcp":[{"HostPort":"8000-8080"},{}]}}"#,
        ))
        .unwrap();
        for (json, field) in [
            (r#"{"UsernsMode":"private"}"#, "UsernsMode (--userns)"),
            (r#"{"BlkioWeight":500}"#, "BlkioWeight"),
        ] {
            let message = refuse_unsupported(&hc(json)).unwrap_err().message;
            assert!(message.starts_with(field), "{message}");
            assert!(message.ends_with(" is not supported yet"), "{message}");
        }
        refuse_unsupported(&hc(
            r#"{"Links":[],"BlkioWeight":0,"VolumeDriver":"local","UsernsMode":"host",
                "PortBindings":{"80/tcp":[]},"NetworkMode":"none"}"#,
        ))
        .unwrap();
        refuse_unsupported(&hc(
            r#"{"NetworkMode":"host","PortBindings":{"80/tcp":[{"HostPort":"8080"}]}}"#,
        ))
        .unwrap();
        let host = host_cpus();
        assert!(host.count >= 1);
        assert!(!host.cpus.is_empty() && !host.mems.is_empty(), "{host:?}");
    }

    #[test]
    fn empty_settings_are_recorded_as_dockerd_records_them() {
        let mut hc = HostConfig {
            pids_limit: Some(0),
            memory_swappiness: Some(-1),
            ..HostConfig::default()
        };
        fill_defaults(&mut hc, false);
        assert_eq!(hc.shm_size, Some(DEFAULT_SHM_SIZE));
        assert_eq!(hc.ipc_mode.as_deref(), Some("private"));
        assert_eq!(hc.cgroupns_mode, Some(HostConfigCgroupnsModeEnum::HOST));
        assert_eq!(hc.runtime.as_deref(), Some("runc"));
        assert_eq!((hc.pids_limit, hc.memory_swappiness), (None, None));

        let mut v2 = HostConfig::default();
        fill_defaults(&mut v2, true);
        assert_eq!(v2.cgroupns_mode, Some(HostConfigCgroupnsModeEnum::PRIVATE));
        assert_eq!(
            hc.masked_paths.as_deref().map(<[_]>::len),
            Some(linux::MASKED_PATHS.len())
        );
        assert_eq!(hc.readonly_paths.unwrap()[0], linux::READONLY_PATHS[0]);

        let mut asked = HostConfig {
            shm_size: Some(1 << 20),
            ipc_mode: Some("host".into()),
            cgroupns_mode: Some(HostConfigCgroupnsModeEnum::PRIVATE),
            pids_limit: Some(10),
            memory_swappiness: Some(0),
            masked_paths: Some(Vec::new()),
            ..HostConfig::default()
        };
        fill_defaults(&mut asked, false);
        assert_eq!(
            asked.masked_paths,
            Some(Vec::new()),
            "an empty list is kept"
        );
        let mut privileged = HostConfig {
            privileged: Some(true),
            ..HostConfig::default()
        };
        fill_defaults(&mut privileged, false);
        assert_eq!(
            (privileged.masked_paths, privileged.readonly_paths),
            (None, None)
        );
        assert_eq!(asked.shm_size, Some(1 << 20));
        assert_eq!(asked.ipc_mode.as_deref(), Some("host"));
        assert_eq!(
            asked.cgroupns_mode,
            Some(HostConfigCgroupnsModeEnum::PRIVATE)
        );
        assert_eq!(
            (asked.pids_limit, asked.memory_swappiness),
            (Some(10), Some(0))
        );
    }

    #[test]
    fn log_config_takes_json_file_only_and_checks_its_options() {
        let mut hc = HostConfig::default();
        log_config(&mut hc).unwrap();
        assert_eq!(hc.log_config.unwrap().typ.as_deref(), Some("json-file"));
        let mut hc = HostConfig {
            log_config: Some(HostConfigLogConfig {
                typ: Some("syslog".into()),
                config: None,
            }),
            ..HostConfig::default()
        };
        assert_eq!(
            log_config(&mut hc).unwrap_err().to_string(),
            "logger: no log driver named 'syslog' is registered"
        );
        let mut hc = HostConfig {
            log_config: Some(HostConfigLogConfig {
                typ: None,
                config: Some(HashMap::from([("max-size".into(), "0".into())])),
            }),
            ..HostConfig::default()
        };
        assert!(log_config(&mut hc).is_err());
        let none = |config: Option<HashMap<String, String>>| HostConfig {
            log_config: Some(HostConfigLogConfig {
                typ: Some("none".into()),
                config,
            }),
            ..HostConfig::default()
        };
        log_config(&mut none(None)).unwrap();
        assert_eq!(
            log_config(&mut none(Some(HashMap::from([(
                "max-size".into(),
                "1m".into()
            )]))))
            .unwrap_err()
            .to_string(),
            "unknown log opt 'max-size' for none log driver"
        );
    }
}
