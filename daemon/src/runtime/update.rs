//! `docker update` (`POST /containers/{id}/update`): new memory, CPU and pids limits and a new restart
//! policy, as dockerd's `ContainerUpdate`.
//!
//! The request is checked as a create's resources are (dockerd's words, 400), then merged into the
//! record's host config field by field (what is 0 or absent stays), with dockerd's conflicts (409,
//! `Cannot update container <id>: ...`). A running container (paused too, not one waiting to restart)
//! gets the request's limits at once through containerd's task update (`runc update`: its cgroup);
//! if that fails the record goes back to what it was. A stopped one gets them at its next start, from
//! the record. Either way an `update` event follows.

use wharf_client_core::api::containers::UpdateBody;
use wharf_client_core::models::{HostConfig, RestartPolicyNameEnum};
use wharf_client_core::ErrorKind;

use super::Runtime;
use crate::containers::restart;
use crate::containers::spec::{linux, HostCpus};
use crate::error::Error;

/// dockerd's warning for a block I/O weight the host cannot apply (it then drops the weight).
const NO_BLKIO_WEIGHT: &str =
    "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.";

/// `Cannot update container <id>: <why>`, dockerd's wrapping of the reasons an update fails.
fn cannot_update(id: &str, kind: ErrorKind, why: &str) -> Error {
    Error::new(kind, format!("Cannot update container {id}: {why}"))
}

/// Whether the host's cgroups can weigh block I/O (v1 `blkio.weight` or BFQ's; v2 `io.weight`).
fn host_has_blkio_weight() -> bool {
    [
        "/sys/fs/cgroup/blkio/blkio.weight",
        "/sys/fs/cgroup/blkio/blkio.bfq.weight",
        "/sys/fs/cgroup/wharf/io.weight",
        "/sys/fs/cgroup/wharf/io.bfq.weight",
    ]
    .iter()
    .any(|p| std::path::Path::new(p).exists())
}

/// The part of the request dockerd's update reads, as a host config: the limits and the policy.
fn requested(body: UpdateBody) -> HostConfig {
    let r = body.resources;
    HostConfig {
        blkio_weight: r.blkio_weight,
        cpu_shares: r.cpu_shares,
        nano_cpus: r.nano_cpus,
        cpu_period: r.cpu_period,
        cpu_quota: r.cpu_quota,
        cpu_realtime_period: r.cpu_realtime_period,
        cpu_realtime_runtime: r.cpu_realtime_runtime,
        cpuset_cpus: r.cpuset_cpus,
        cpuset_mems: r.cpuset_mems,
        memory: r.memory,
        memory_swap: r.memory_swap,
        memory_reservation: r.memory_reservation,
        pids_limit: r.pids_limit,
        restart_policy: body.restart_policy,
        ..HostConfig::default()
    }
}

/// Checks the request as dockerd's `verifyContainerSettings` does for an update (a create's resource
/// rules, except that a swap limit alone is fine and no swap is filled in); answers the warnings.
/// `blkio_weight` says whether the host can weigh block I/O: without it the weight is dropped with
/// dockerd's warning; with it, it is refused, as at create (the spec does not set it yet).
fn validate(
    request: &mut HostConfig,
    host: &HostCpus,
    blkio_weight: bool,
) -> Result<Vec<String>, Error> {
    let mut warnings = Vec::new();
    if request.blkio_weight.unwrap_or(0) > 0 {
        if blkio_weight {
            return Err(Error::invalid(
                "BlkioWeight (--blkio-weight) is not supported yet",
            ));
        }
        warnings.push(NO_BLKIO_WEIGHT.to_owned());
        request.blkio_weight = None;
    }
    if request.cpu_realtime_period.unwrap_or(0) != 0
        || request.cpu_realtime_runtime.unwrap_or(0) != 0
    {
        return Err(Error::invalid(
            "CpuRealtimePeriod and CpuRealtimeRuntime (--cpu-rt-period, --cpu-rt-runtime) is not supported yet",
        ));
    }
    let mut checked = request.clone();
    if checked.memory.unwrap_or(0) == 0 {
        checked.memory_swap = None;
    }
    linux::validate_resources(&mut checked, host)?;
    restart::policy_of(request)?;
    Ok(warnings)
}

/// Merges the request into a container's host config as dockerd's `UpdateContainer`; the reason (for
/// `Cannot update container`) when it conflicts with what is set.
fn merge(hc: &mut HostConfig, request: &HostConfig) -> Result<(), String> {
    let set = |v: Option<i64>| v.unwrap_or(0) > 0;
    let conflicts = [
        (
            set(request.nano_cpus) && set(hc.cpu_period),
            "Nano CPUs cannot be updated as CPU Period has already been set",
        ),
        (
            set(request.nano_cpus) && set(hc.cpu_quota),
            "Nano CPUs cannot be updated as CPU Quota has already been set",
        ),
        (
            set(request.cpu_period) && set(hc.nano_cpus),
            "CPU Period cannot be updated as NanoCPUs has already been set",
        ),
        (
            set(request.cpu_quota) && set(hc.nano_cpus),
            "CPU Quota cannot be updated as NanoCPUs has already been set",
        ),
    ];
    if let Some((_, why)) = conflicts.iter().find(|(c, _)| *c) {
        return Err(format!("Conflicting options: {why}"));
    }
    let nonzero = |v: Option<i64>| v.filter(|v| *v != 0);
    let nonempty = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
    if let Some(v) = request.blkio_weight.filter(|w| *w != 0) {
        hc.blkio_weight = Some(v);
    }
    for (field, value) in [
        (&mut hc.cpu_shares, request.cpu_shares),
        (&mut hc.nano_cpus, request.nano_cpus),
        (&mut hc.cpu_period, request.cpu_period),
        (&mut hc.cpu_quota, request.cpu_quota),
    ] {
        if let Some(v) = nonzero(value) {
            *field = Some(v);
        }
    }
    if let Some(v) = nonempty(&request.cpuset_cpus) {
        hc.cpuset_cpus = Some(v);
    }
    if let Some(v) = nonempty(&request.cpuset_mems) {
        hc.cpuset_mems = Some(v);
    }
    if let Some(memory) = nonzero(request.memory) {
        if memory > hc.memory_swap.unwrap_or(0) && nonzero(request.memory_swap).is_none() {
            return Err(
                "Memory limit should be smaller than already set memoryswap limit, update \
                        the memoryswap at the same time"
                    .into(),
            );
        }
        hc.memory = Some(memory);
    }
    if let Some(v) = nonzero(request.memory_swap) {
        hc.memory_swap = Some(v);
    }
    if let Some(v) = nonzero(request.memory_reservation) {
        hc.memory_reservation = Some(v);
    }
    if let Some(limit) = request.pids_limit {
        // As at create: 0 and -1 both mean unlimited, stored as null.
        hc.pids_limit = (limit > 0).then_some(limit);
    }
    if let Some(policy) = request
        .restart_policy
        .as_ref()
        .filter(|p| p.name.is_some_and(|n| n != RestartPolicyNameEnum::EMPTY))
    {
        let none = policy.name == Some(RestartPolicyNameEnum::NO);
        if hc.auto_remove.unwrap_or(false) && !none {
            return Err(
                "Restart policy cannot be updated because AutoRemove is enabled for the container"
                    .into(),
            );
        }
        hc.restart_policy = Some(policy.clone());
    }
    Ok(())
}

/// The OCI resources `runc update` gets for the request: its limits only (what is absent stays).
fn update_resources(request: &HostConfig) -> Result<Vec<u8>, Error> {
    let mut resources = linux::resources(request, false)?;
    resources.set_devices(None);
    serde_json::to_vec(&resources).map_err(Error::system)
}

impl Runtime {
    /// `POST /containers/{id}/update`: the warnings.
    pub(crate) async fn update_container(
        &self,
        id_or_name: &str,
        body: UpdateBody,
    ) -> Result<Vec<String>, Error> {
        let (record, handle) = self.lookup(id_or_name)?;
        let mut request = requested(body);
        let warnings = validate(
            &mut request,
            super::create::host_cpus(),
            host_has_blkio_weight(),
        )?;
        let _op = handle.op.lock().await;
        let id = record.id.clone();
        let merged = request.clone();
        let (before, record) = self
            .update(&id, move |r| {
                if r.state.removal_in_progress || r.state.dead {
                    return Err(cannot_update(
                        &r.id,
                        ErrorKind::Conflict,
                        "container is marked for removal and cannot be \"update\"",
                    ));
                }
                let before = r.host_config.clone();
                merge(&mut r.host_config, &merged)
                    .map_err(|why| cannot_update(&r.id, ErrorKind::Conflict, &why))?;
                Ok(before)
            })
            .await?;
        if record.state.running && !record.state.restarting {
            let applied = match update_resources(&request) {
                Ok(resources) => self
                    .inner
                    .cd
                    .task_update(&id, resources)
                    .await
                    .map_err(|e| cannot_update(&id, ErrorKind::System, &e.message())),
                Err(e) => Err(e),
            };
            if let Err(e) = applied {
                let _ = self
                    .update(&id, move |r| {
                        r.host_config = before;
                        Ok(())
                    })
                    .await;
                return Err(e);
            }
        }
        self.emit(&record, "update", &[]);
        Ok(warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hc(json: &str) -> HostConfig {
        serde_json::from_str(json).unwrap()
    }

    fn host() -> HostCpus {
        HostCpus {
            count: 2,
            cpus: "0-1".into(),
            mems: "0".into(),
        }
    }

    #[test]
    fn the_body_is_read_as_the_docker_cli_sends_it() {
        let body: UpdateBody = serde_json::from_str(
            r#"{"BlkioWeight":0,"CpuShares":0,"Memory":67108864,"MemorySwap":134217728,
                "NanoCpus":500000000,"PidsLimit":50,"KernelMemory":0,
                "RestartPolicy":{"Name":"","MaximumRetryCount":0}}"#,
        )
        .unwrap();
        let r = requested(body);
        assert_eq!(
            (r.memory, r.memory_swap, r.nano_cpus, r.pids_limit),
            (Some(67108864), Some(134217728), Some(500000000), Some(50))
        );
        let mut current = hc(r#"{"RestartPolicy":{"Name":"always"}}"#);
        merge(&mut current, &r).unwrap();
        assert_eq!(
            current.restart_policy.unwrap().name,
            Some(RestartPolicyNameEnum::ALWAYS),
            "an empty policy name keeps the current one"
        );
    }

    #[test]
    fn requests_are_checked_with_dockerd_words() {
        for (json, message) in [
            (r#"{"Memory":1000}"#, "Minimum memory limit allowed is 6MB"),
            (
                r#"{"Memory":100000000,"MemorySwap":50000000}"#,
                "Minimum memoryswap limit should be larger than memory limit, see usage",
            ),
            (
                r#"{"CpusetCpus":"7-9"}"#,
                "Requested CPUs are not available - requested 7-9, available: 0-1",
            ),
            (
                r#"{"NanoCpus":100000000000}"#,
                "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available",
            ),
        ] {
            let err = validate(&mut hc(json), &host(), false).unwrap_err();
            assert_eq!(err.message, message, "{json}");
            assert_eq!(err.kind, ErrorKind::InvalidParameter);
        }
        let mut swap_only = hc(r#"{"MemorySwap":200000000}"#);
        validate(&mut swap_only, &host(), false).unwrap();
        assert_eq!(swap_only.memory_swap, Some(200000000), "not filled in");
        let mut weighed = hc(r#"{"BlkioWeight":500}"#);
        assert_eq!(
            validate(&mut weighed, &host(), false).unwrap(),
            [NO_BLKIO_WEIGHT]
        );
        assert_eq!(weighed.blkio_weight, None, "discarded");
        assert!(validate(&mut hc(r#"{"BlkioWeight":500}"#), &host(), true).is_err());
    }

    #[test]
    fn merges_keep_what_is_not_asked_and_refuse_dockerd_conflicts() {
        let mut current = hc(r#"{"Memory":67108864,"MemorySwap":134217728,"CpuShares":512}"#);
        merge(
            &mut current,
            &hc(r#"{"Memory":100663296,"PidsLimit":50,"CpusetCpus":"0"}"#),
        )
        .unwrap();
        assert_eq!(
            (
                current.memory,
                current.memory_swap,
                current.cpu_shares,
                current.pids_limit
            ),
            (Some(100663296), Some(134217728), Some(512), Some(50))
        );
        assert_eq!(current.cpuset_cpus.as_deref(), Some("0"));
        merge(&mut current, &hc(r#"{"PidsLimit":-1}"#)).unwrap();
        assert_eq!(current.pids_limit, None, "unlimited");

        for (now, asked, why) in [
            (
                "{}",
                r#"{"Memory":67108864}"#,
                "Memory limit should be smaller than already set memoryswap limit, update the \
                 memoryswap at the same time",
            ),
            (
                r#"{"NanoCpus":500000000}"#,
                r#"{"CpuPeriod":50000}"#,
                "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set",
            ),
            (
                r#"{"CpuQuota":50000}"#,
                r#"{"NanoCpus":500000000}"#,
                "Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set",
            ),
            (
                r#"{"AutoRemove":true}"#,
                r#"{"RestartPolicy":{"Name":"always"}}"#,
                "Restart policy cannot be updated because AutoRemove is enabled for the container",
            ),
        ] {
            let mut current = hc(now);
            assert_eq!(merge(&mut current, &hc(asked)).unwrap_err(), why, "{asked}");
        }
        let mut auto = hc(r#"{"AutoRemove":true}"#);
        merge(&mut auto, &hc(r#"{"RestartPolicy":{"Name":"no"}}"#)).unwrap();
    }

    #[test]
    fn runc_gets_only_the_limits_asked_for() {
        let json: serde_json::Value = serde_json::from_slice(
            &update_resources(&hc(
                r#"{"Memory":67108864,"MemorySwap":134217728,"NanoCpus":500000000,"PidsLimit":50}"#,
            ))
            .unwrap(),
        )
        .unwrap();
        assert_eq!(json["memory"]["limit"], 67108864);
        assert_eq!(json["memory"]["swap"], 134217728);
        assert_eq!(json["cpu"]["quota"], 50000);
        assert_eq!(json["cpu"]["period"], 100000);
        assert_eq!(json["pids"]["limit"], 50);
        assert!(json.get("devices").is_none(), "{json}");
        let json: serde_json::Value =
            serde_json::from_slice(&update_resources(&hc(r#"{"CpuShares":512}"#)).unwrap())
                .unwrap();
        assert!(json.get("memory").is_none(), "{json}");
        assert_eq!(json["cpu"]["shares"], 512);
    }
}
