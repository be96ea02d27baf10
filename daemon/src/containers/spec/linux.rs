//! The `linux` section: namespaces from the network, PID, IPC and UTS modes; Docker's masked and
//! read-only paths; cgroup resources and the device allow-list; namespaced sysctls.

use std::collections::HashMap;

use oci_spec::runtime::{
    LinuxCpu, LinuxDeviceCgroup, LinuxDeviceType, LinuxMemory, LinuxNamespace, LinuxNamespaceType,
    LinuxPids, LinuxResources,
};
use wharf_client_core::models::{HostConfig, HostConfigCgroupnsModeEnum};

use crate::error::Error;

/// Docker's masked paths (moby `oci/defaults.go`).
pub(crate) const MASKED_PATHS: [&str; 11] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Docker's read-only paths (moby `oci/defaults.go`).
pub(crate) const READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// CFS period for `NanoCpus`, as moby uses.
pub(crate) const CPU_PERIOD: u64 = 100_000;

/// How the container's network is set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum NetworkMode {
    /// The default bridge network (`bridge`, `default`, or unset): a namespace wharfd makes, on the
    /// bridge through the CNI plugins.
    Bridge,
    /// A namespace of its own with only its loopback (`none`).
    None,
    /// The host's network namespace.
    Host,
    /// Another container's namespace (`container:<name or ID>`).
    Container(String),
    /// A user-defined network, by name or ID.
    User(String),
}

/// Parses `HostConfig.NetworkMode`.
pub(crate) fn network_mode(hc: &HostConfig) -> Result<NetworkMode, Error> {
    match hc.network_mode.as_deref().unwrap_or("") {
        "" | "default" | "bridge" => Ok(NetworkMode::Bridge),
        "none" => Ok(NetworkMode::None),
        "host" => Ok(NetworkMode::Host),
        m if m.starts_with("container:") => {
            let other = &m["container:".len()..];
            if other.is_empty() {
                return Err(Error::invalid(format!(
                    "invalid network mode: {m}: no container named"
                )));
            }
            Ok(NetworkMode::Container(other.to_owned()))
        }
        m => Ok(NetworkMode::User(m.to_owned())),
    }
}

/// Whether a namespace mode (`PidMode`, `IpcMode`, `UTSMode`) shares the host's; `container:` modes are
/// 400 for now.
fn shares_host(kind: &str, mode: Option<&str>) -> Result<bool, Error> {
    match mode.unwrap_or("") {
        "host" => Ok(true),
        "" | "private" | "shareable" | "none" => Ok(false),
        m if m.starts_with("container:") => Err(Error::invalid(format!(
            "{kind} mode \"{m}\" is not supported yet"
        ))),
        // dockerd checks only the IPC mode, with a capital.
        m if kind == "IPC" => Err(Error::invalid(format!("Invalid IPC mode: {m}"))),
        m => Err(Error::invalid(format!("invalid {kind} mode: {m}"))),
    }
}

/// The namespaces to create, in moby's order (mount, network, uts, pid, ipc), leaving out those shared
/// with the host; the network namespace is `netns` when given (a file wharfd made, or another
/// container's).
pub(crate) fn namespaces(
    hc: &HostConfig,
    netns: Option<&std::path::Path>,
) -> Result<Vec<LinuxNamespace>, Error> {
    let host_net = network_mode(hc)? == NetworkMode::Host;
    let host_uts = shares_host("UTS", hc.uts_mode.as_deref())?;
    let host_pid = shares_host("PID", hc.pid_mode.as_deref())?;
    let host_ipc = shares_host("IPC", hc.ipc_mode.as_deref())?;
    let mut out = Vec::new();
    for (typ, shared) in [
        (LinuxNamespaceType::Mount, false),
        (LinuxNamespaceType::Network, host_net),
        (LinuxNamespaceType::Uts, host_uts),
        (LinuxNamespaceType::Pid, host_pid),
        (LinuxNamespaceType::Ipc, host_ipc),
        // A container created before its mode was recorded, or by a client that left it empty, keeps
        // the host's, as wharfd always gave it.
        (
            LinuxNamespaceType::Cgroup,
            hc.cgroupns_mode != Some(HostConfigCgroupnsModeEnum::PRIVATE),
        ),
    ] {
        if !shared {
            let mut ns = LinuxNamespace::default();
            ns.set_typ(typ);
            if typ == LinuxNamespaceType::Network {
                ns.set_path(netns.map(std::path::Path::to_path_buf));
            }
            out.push(ns);
        }
    }
    Ok(out)
}

/// Whether the UTS namespace is the host's (then the spec sets no hostname).
pub(crate) fn host_uts(hc: &HostConfig) -> bool {
    hc.uts_mode.as_deref() == Some("host")
}

/// One device cgroup rule: allow or deny `access` to devices of `typ` (all when `None`), `major:minor`
/// (`None` for `*`).
pub(crate) fn device_rule(
    allow: bool,
    typ: Option<LinuxDeviceType>,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> LinuxDeviceCgroup {
    let mut rule = LinuxDeviceCgroup::default();
    rule.set_allow(allow);
    rule.set_typ(typ);
    rule.set_major(major);
    rule.set_minor(minor);
    rule.set_access(Some(access.to_string()));
    rule
}

/// The device cgroup rules: deny all, then Docker's default character devices (null, zero, full, random,
/// urandom, tty, console; not tun) and `mknod` of any device (`c *:* m`, `b *:* m`, as runc allows); every
/// device when privileged.
pub(crate) fn device_rules(privileged: bool) -> Vec<LinuxDeviceCgroup> {
    use LinuxDeviceType::{B, C};
    let mut rules = vec![device_rule(false, None, None, None, "rwm")];
    if privileged {
        rules.push(device_rule(true, None, None, None, "rwm"));
        return rules;
    }
    rules.push(device_rule(true, Some(C), None, None, "m"));
    rules.push(device_rule(true, Some(B), None, None, "m"));
    for (major, minor) in [(1, 5), (1, 3), (1, 9), (1, 8), (5, 0), (5, 1)] {
        rules.push(device_rule(true, Some(C), Some(major), Some(minor), "rwm"));
    }
    // No deny rule after the `*:* m` wildcards: cgroup v1 cannot punch a hole in them (runc refuses).
    rules
}

/// Memory, CPU and PIDs limits, as moby's `getMemoryResources`, `getCPUResources` and `getPidsLimit`.
pub(crate) fn resources(hc: &HostConfig, privileged: bool) -> Result<LinuxResources, Error> {
    let mut r = LinuxResources::default();
    r.set_devices(Some(device_rules(privileged)));

    let mut mem = LinuxMemory::default();
    let mut any_mem = false;
    if let Some(limit) = hc.memory.filter(|m| *m > 0) {
        mem.set_limit(Some(limit));
        any_mem = true;
    }
    if let Some(res) = hc.memory_reservation.filter(|m| *m > 0) {
        mem.set_reservation(Some(res));
        any_mem = true;
    }
    if let Some(swap) = hc.memory_swap.filter(|m| *m > 0) {
        mem.set_swap(Some(swap));
        any_mem = true;
    }
    if let Some(sw) = hc.memory_swappiness.filter(|s| *s >= 0) {
        mem.set_swappiness(Some(sw as u64));
        any_mem = true;
    }
    if let Some(disable) = hc.oom_kill_disable {
        mem.set_disable_oom_killer(Some(disable));
        any_mem = true;
    }
    if any_mem {
        r.set_memory(Some(mem));
    }

    let mut cpu = LinuxCpu::default();
    let mut any_cpu = false;
    if let Some(shares) = hc.cpu_shares.filter(|s| *s > 0) {
        cpu.set_shares(Some(shares as u64));
        any_cpu = true;
    }
    if let Some(nano) = hc.nano_cpus.filter(|n| *n > 0) {
        cpu.set_period(Some(CPU_PERIOD));
        cpu.set_quota(Some(nano.saturating_mul(CPU_PERIOD as i64) / 1_000_000_000));
        any_cpu = true;
    }
    if let Some(period) = hc.cpu_period.filter(|p| *p > 0) {
        cpu.set_period(Some(period as u64));
        any_cpu = true;
    }
    if let Some(quota) = hc.cpu_quota.filter(|q| *q != 0) {
        cpu.set_quota(Some(quota));
        any_cpu = true;
    }
    if let Some(cpus) = hc.cpuset_cpus.as_ref().filter(|s| !s.is_empty()) {
        cpu.set_cpus(Some(cpus.clone()));
        any_cpu = true;
    }
    if let Some(mems) = hc.cpuset_mems.as_ref().filter(|s| !s.is_empty()) {
        cpu.set_mems(Some(mems.clone()));
        any_cpu = true;
    }
    if any_cpu {
        r.set_cpu(Some(cpu));
    }

    if let Some(limit) = hc.pids_limit {
        let mut pids = LinuxPids::default();
        pids.set_limit(if limit <= 0 { -1 } else { limit });
        r.set_pids(Some(pids));
    }
    Ok(r)
}

/// The CPUs and memory nodes containers may use, for the checks at create.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct HostCpus {
    /// How many CPUs wharfd may run on, as Go's `runtime.NumCPU` counts them.
    pub count: u32,
    /// The CPUs of the root cpuset (`0-1`), as dockerd's `sysinfo` reads them.
    pub cpus: String,
    /// The memory nodes of the root cpuset (`0`).
    pub mems: String,
}

/// A list such as `0-2,4` as moby's `parsers.ParseUintList` reads it: its ranges, or `invalid format`.
fn uint_list(list: &str) -> Result<Vec<(u64, u64)>, String> {
    let bad = || format!("invalid format: {list}");
    let number = |n: &str| {
        n.strip_prefix('+')
            .unwrap_or(n)
            .parse::<u64>()
            .map_err(|_| bad())
    };
    if list.is_empty() {
        return Ok(Vec::new());
    }
    list.split(',')
        .map(|part| match part.split_once('-') {
            None => number(part).map(|n| (n, n)),
            Some((a, b)) => {
                let (a, b) = (number(a)?, number(b)?);
                if b < a {
                    return Err(bad());
                }
                Ok((a, b))
            }
        })
        .collect()
}

/// Checks `CpusetCpus` or `CpusetMems` (`what`: "cpus" or "mems") against what the host has, with
/// dockerd's wording.
fn check_cpuset(asked: &str, available: &str, what: &str) -> Result<(), Error> {
    let ranges = uint_list(asked)
        .map_err(|e| Error::invalid(format!("Invalid value {asked} for cpuset {what}: {e}")))?;
    let have = uint_list(available).unwrap_or_default();
    let max = have.iter().map(|(_, b)| *b).max().unwrap_or(0);
    let has = |n: u64| have.iter().any(|(a, b)| (*a..=*b).contains(&n));
    let fits = ranges.iter().all(|(a, b)| *b <= max && (*a..=*b).all(has));
    if !fits {
        let things = if what == "cpus" {
            "CPUs"
        } else {
            "memory nodes"
        };
        return Err(Error::invalid(format!(
            "Requested {things} are not available - requested {asked}, available: {available}"
        )));
    }
    Ok(())
}

/// Checks resource settings at create time with dockerd's wording, and fills `MemorySwap` as dockerd does
/// (twice `Memory` when unset).
pub(crate) fn validate_resources(hc: &mut HostConfig, host: &HostCpus) -> Result<(), Error> {
    let cpus = host.count;
    let memory = hc.memory.unwrap_or(0);
    let swap = hc.memory_swap.unwrap_or(0);
    if memory != 0 && memory < 6 * 1024 * 1024 {
        return Err(Error::invalid("Minimum memory limit allowed is 6MB"));
    }
    let reservation = hc.memory_reservation.unwrap_or(0);
    if reservation > 0 && reservation < 6 * 1024 * 1024 {
        return Err(Error::invalid("Minimum memory reservation allowed is 6MB"));
    }
    if memory > 0 && reservation > 0 && memory < reservation {
        return Err(Error::invalid(
            "Minimum memory limit can not be less than memory reservation limit, see usage",
        ));
    }
    if hc.cpu_shares.is_some_and(|shares| shares < 0) {
        // dockerd takes it and fails at start with these words; refused here at create.
        return Err(Error::invalid("shares: invalid argument"));
    }
    if hc.io_maximum_iops.unwrap_or(0) != 0 {
        return Err(Error::invalid(
            "Invalid QoS settings: linux does not support configuration of maximum IOPs",
        ));
    }
    if hc.io_maximum_bandwidth.unwrap_or(0) != 0 {
        return Err(Error::invalid(
            "Invalid QoS settings: linux does not support configuration of maximum bandwidth",
        ));
    }
    if swap > 0 && memory == 0 {
        return Err(Error::invalid(
            "You should always set the Memory limit when using Memoryswap limit",
        ));
    }
    if swap > 0 && swap < memory {
        return Err(Error::invalid(
            "Minimum memoryswap limit should be larger than memory limit, see usage",
        ));
    }
    if memory > 0 && swap == 0 {
        hc.memory_swap = Some(memory * 2);
    }
    if let Some(sw) = hc
        .memory_swappiness
        .filter(|s| *s != -1 && !(0..=100).contains(s))
    {
        return Err(Error::invalid(format!(
            "Invalid value: {sw}, valid memory swappiness range is 0-100"
        )));
    }
    if hc.nano_cpus.unwrap_or(0) > 0 && hc.cpu_period.unwrap_or(0) > 0 {
        return Err(Error::invalid(
            "Conflicting options: Nano CPUs and CPU Period cannot both be set",
        ));
    }
    if hc.nano_cpus.unwrap_or(0) > 0 && hc.cpu_quota.unwrap_or(0) > 0 {
        return Err(Error::invalid(
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set",
        ));
    }
    let nano = hc.nano_cpus.unwrap_or(0);
    if nano < 0 || nano > i64::from(cpus) * 1_000_000_000 {
        return Err(Error::invalid(format!(
            "Range of CPUs is from 0.01 to {cpus}.00, as there are only {cpus} CPUs available"
        )));
    }
    let period = hc.cpu_period.unwrap_or(0);
    if period != 0 && !(1000..=1_000_000).contains(&period) {
        return Err(Error::invalid(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        ));
    }
    if hc.cpu_quota.is_some_and(|q| q > 0 && q < 1000) {
        return Err(Error::invalid(
            "CPU cfs quota can not be less than 1ms (i.e. 1000)",
        ));
    }
    if let Some(asked) = hc.cpuset_cpus.as_deref().filter(|s| !s.is_empty()) {
        check_cpuset(asked, &host.cpus, "cpus")?;
    }
    if let Some(asked) = hc.cpuset_mems.as_deref().filter(|s| !s.is_empty()) {
        check_cpuset(asked, &host.mems, "mems")?;
    }
    if hc.shm_size.is_some_and(|s| s < 0) {
        return Err(Error::invalid("SHM size can not be less than 0"));
    }
    if let Some(adj) = hc.oom_score_adj.filter(|a| !(-1000..=1000).contains(a)) {
        return Err(Error::invalid(format!(
            "Invalid value {adj}, range for oom score adj is [-1000, 1000]"
        )));
    }
    Ok(())
}

const IPC_SYSCTLS: [&str; 8] = [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// What dockerd (20.10 and later) sets in a container's own network namespace, so that an unprivileged
/// process may bind ports below 1024 and open ICMP echo sockets (`ping` without `CAP_NET_RAW`); a
/// `--sysctl` of the same key wins. The first needs Linux 4.11.
fn network_defaults(kernel: Option<(u32, u32)>) -> Vec<(&'static str, &'static str)> {
    let mut defaults = vec![("net.ipv4.ping_group_range", "0 2147483647")];
    if kernel.is_none_or(|version| version >= (4, 11)) {
        defaults.push(("net.ipv4.ip_unprivileged_port_start", "0"));
    }
    defaults
}

/// The container's sysctls: dockerd's network defaults outside the host's network namespace, then the
/// ones asked for ([`validate_sysctls`]).
pub(crate) fn sysctls(
    hc: &HostConfig,
    kernel: Option<(u32, u32)>,
) -> Result<HashMap<String, String>, Error> {
    let asked = validate_sysctls(hc)?;
    let mut out = HashMap::new();
    if network_mode(hc)? != NetworkMode::Host {
        for (key, value) in network_defaults(kernel) {
            out.insert(key.to_owned(), value.to_owned());
        }
    }
    out.extend(asked);
    Ok(out)
}

/// Checks sysctls against the namespaced ones runc accepts (`kernel.msg*`, `kernel.sem`, `kernel.shm*`,
/// `fs.mqueue.*`, and `net.*` outside the host's network namespace), with runc's wording.
pub(crate) fn validate_sysctls(hc: &HostConfig) -> Result<HashMap<String, String>, Error> {
    let host_net = network_mode(hc)? == NetworkMode::Host;
    let mut out = HashMap::new();
    for (key, value) in hc.sysctls.iter().flatten() {
        if IPC_SYSCTLS.contains(&key.as_str()) || key.starts_with("fs.mqueue.") {
            if hc.ipc_mode.as_deref() == Some("host") {
                return Err(Error::invalid(format!(
                    "sysctl \"{key}\" not allowed in host ipc namespace"
                )));
            }
        } else if key.starts_with("net.") {
            if host_net {
                return Err(Error::invalid(format!(
                    "sysctl \"{key}\" not allowed in host network namespace"
                )));
            }
        } else {
            return Err(Error::invalid(format!(
                "sysctl \"{key}\" is not in a separate kernel namespace"
            )));
        }
        out.insert(key.clone(), value.clone());
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
