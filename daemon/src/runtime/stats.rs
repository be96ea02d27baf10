//! `GET /containers/{id}/stats`'s samples: containerd's cgroup metrics of the container's task (v1 or
//! v2), put in Docker's shape as dockerd 20.10 does, with the host's CPU time from `/proc/stat` read
//! right after (CPU % is the container's share of it between two samples).
//!
//! A container that does not run, or whose task is gone, samples as zeros with its name and ID, as with
//! dockerd (`docker stats` shows it at 0 %). The cadence and the chaining of samples (`precpu_stats` is
//! the previous sample's `cpu_stats`) are the API's; see [`StatsChain`].

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wharf_client_core::stats::{
    BlkioStatEntry, BlkioStats, ContainerStatsResponse, CpuStats, CpuUsage, MemoryStats, PidsStats,
    ThrottlingData,
};
use wharf_client_core::ErrorKind;

use super::Runtime;
use crate::containerd::cgroups::{v1, v2, Metrics};
use crate::error::Error;
use crate::timefmt::rfc3339_nano;

/// `/proc/stat` counts in USER_HZ, 100 a second on every architecture Linux containers run on.
const CLOCK_TICKS_PER_SECOND: u64 = 100;

/// The host's side of a sample.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct HostCpu {
    /// CPU time of all CPUs since boot (user, nice, system, idle, iowait, irq, softirq), nanoseconds.
    pub system_usage: u64,
    /// CPUs online (`cpuN` lines).
    pub online_cpus: u32,
}

/// Reads `/proc/stat`'s text as dockerd does; `None` when its `cpu` line is missing or malformed.
pub(crate) fn parse_proc_stat(text: &str) -> Option<HostCpu> {
    let mut host = HostCpu::default();
    let mut seen = false;
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        match fields.next() {
            Some("cpu") => {
                let ticks: Vec<u64> = fields
                    .take(7)
                    .map(str::parse)
                    .collect::<Result<_, _>>()
                    .ok()?;
                if ticks.len() < 7 {
                    return None;
                }
                let total: u64 = ticks.iter().sum();
                host.system_usage = total.saturating_mul(1_000_000_000 / CLOCK_TICKS_PER_SECOND);
                seen = true;
            }
            Some(name) if name.len() > 3 && name.starts_with("cpu") => host.online_cpus += 1,
            _ => {}
        }
    }
    seen.then_some(host)
}

/// A sample's container figures from decoded metrics; `machine_memory` caps the memory limit (an
/// unlimited cgroup reports a huge one), as dockerd caps it.
pub(crate) fn sample(metrics: &Metrics, machine_memory: u64) -> ContainerStatsResponse {
    let mut s = match metrics {
        Metrics::V1(m) => from_v1(m),
        Metrics::V2(m) => from_v2(m),
    };
    if machine_memory > 0 && s.memory_stats.limit > machine_memory {
        s.memory_stats.limit = machine_memory;
    }
    s
}

fn blkio_entries(entries: &[v1::BlkIoEntry]) -> Option<Vec<BlkioStatEntry>> {
    Some(
        entries
            .iter()
            .map(|e| BlkioStatEntry {
                major: e.major,
                minor: e.minor,
                op: e.op.clone(),
                value: e.value,
            })
            .collect(),
    )
}

fn pids(p: Option<&v1::PidsStat>) -> PidsStats {
    p.map(|p| PidsStats {
        current: p.current,
        limit: p.limit,
    })
    .unwrap_or_default()
}

fn from_v1(m: &v1::Metrics) -> ContainerStatsResponse {
    let mut s = ContainerStatsResponse {
        pids_stats: pids(m.pids.as_ref()),
        ..Default::default()
    };
    if let Some(b) = &m.blkio {
        s.blkio_stats = BlkioStats {
            io_service_bytes_recursive: blkio_entries(&b.io_service_bytes_recursive),
            io_serviced_recursive: blkio_entries(&b.io_serviced_recursive),
            io_queue_recursive: blkio_entries(&b.io_queued_recursive),
            io_service_time_recursive: blkio_entries(&b.io_service_time_recursive),
            io_wait_time_recursive: blkio_entries(&b.io_wait_time_recursive),
            io_merged_recursive: blkio_entries(&b.io_merged_recursive),
            io_time_recursive: blkio_entries(&b.io_time_recursive),
            sectors_recursive: blkio_entries(&b.sectors_recursive),
        };
    }
    if let Some(cpu) = &m.cpu {
        let usage = cpu.usage.clone().unwrap_or_default();
        let throttle = cpu.throttling.clone().unwrap_or_default();
        s.cpu_stats = CpuStats {
            cpu_usage: CpuUsage {
                total_usage: usage.total,
                percpu_usage: usage.per_cpu,
                usage_in_kernelmode: usage.kernel,
                usage_in_usermode: usage.user,
            },
            throttling_data: ThrottlingData {
                periods: throttle.periods,
                throttled_periods: throttle.throttled_periods,
                throttled_time: throttle.throttled_time,
            },
            ..Default::default()
        };
    }
    if let Some(mem) = &m.memory {
        let usage = mem.usage.clone().unwrap_or_default();
        s.memory_stats = MemoryStats {
            usage: usage.usage,
            max_usage: usage.max,
            stats: v1_memory_stat(mem),
            failcnt: usage.failcnt,
            limit: usage.limit,
            ..Default::default()
        };
    }
    s
}

/// `memory.stat` of cgroup v1 under the names dockerd gives it.
fn v1_memory_stat(m: &v1::MemoryStat) -> BTreeMap<String, u64> {
    [
        ("cache", m.cache),
        ("rss", m.rss),
        ("rss_huge", m.rss_huge),
        ("mapped_file", m.mapped_file),
        ("dirty", m.dirty),
        ("writeback", m.writeback),
        ("pgpgin", m.pg_pg_in),
        ("pgpgout", m.pg_pg_out),
        ("pgfault", m.pg_fault),
        ("pgmajfault", m.pg_maj_fault),
        ("inactive_anon", m.inactive_anon),
        ("active_anon", m.active_anon),
        ("inactive_file", m.inactive_file),
        ("active_file", m.active_file),
        ("unevictable", m.unevictable),
        ("hierarchical_memory_limit", m.hierarchical_memory_limit),
        ("hierarchical_memsw_limit", m.hierarchical_swap_limit),
        ("total_cache", m.total_cache),
        ("total_rss", m.total_rss),
        ("total_rss_huge", m.total_rss_huge),
        ("total_mapped_file", m.total_mapped_file),
        ("total_dirty", m.total_dirty),
        ("total_writeback", m.total_writeback),
        ("total_pgpgin", m.total_pg_pg_in),
        ("total_pgpgout", m.total_pg_pg_out),
        ("total_pgfault", m.total_pg_fault),
        ("total_pgmajfault", m.total_pg_maj_fault),
        ("total_inactive_anon", m.total_inactive_anon),
        ("total_active_anon", m.total_active_anon),
        ("total_inactive_file", m.total_inactive_file),
        ("total_active_file", m.total_active_file),
        ("total_unevictable", m.total_unevictable),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn from_v2(m: &v2::Metrics) -> ContainerStatsResponse {
    let mut s = ContainerStatsResponse {
        pids_stats: pids(m.pids.as_ref()),
        ..Default::default()
    };
    if let Some(io) = &m.io {
        let entries = io
            .usage
            .iter()
            .flat_map(|e| {
                [("read", e.rbytes), ("write", e.wbytes)].map(|(op, value)| BlkioStatEntry {
                    major: e.major,
                    minor: e.minor,
                    op: op.to_owned(),
                    value,
                })
            })
            .collect();
        s.blkio_stats.io_service_bytes_recursive = Some(entries);
    }
    if let Some(cpu) = &m.cpu {
        s.cpu_stats = CpuStats {
            cpu_usage: CpuUsage {
                total_usage: cpu.usage_usec.saturating_mul(1000),
                percpu_usage: Vec::new(),
                usage_in_kernelmode: cpu.system_usec.saturating_mul(1000),
                usage_in_usermode: cpu.user_usec.saturating_mul(1000),
            },
            throttling_data: ThrottlingData {
                periods: cpu.nr_periods,
                throttled_periods: cpu.nr_throttled,
                throttled_time: cpu.throttled_usec.saturating_mul(1000),
            },
            ..Default::default()
        };
    }
    if let Some(mem) = &m.memory {
        s.memory_stats = MemoryStats {
            usage: mem.usage,
            stats: v2_memory_stat(mem),
            limit: mem.usage_limit,
            // cgroup v2 has no failure counter; dockerd reports `memory.events`' oom there.
            failcnt: m.memory_events.as_ref().map_or(0, |e| e.oom),
            ..Default::default()
        };
    }
    s
}

/// `memory.stat` of cgroup v2 under its own names (they are not v1's).
fn v2_memory_stat(m: &v2::MemoryStat) -> BTreeMap<String, u64> {
    [
        ("anon", m.anon),
        ("file", m.file),
        ("kernel_stack", m.kernel_stack),
        ("slab", m.slab),
        ("sock", m.sock),
        ("shmem", m.shmem),
        ("file_mapped", m.file_mapped),
        ("file_dirty", m.file_dirty),
        ("file_writeback", m.file_writeback),
        ("anon_thp", m.anon_thp),
        ("inactive_anon", m.inactive_anon),
        ("active_anon", m.active_anon),
        ("inactive_file", m.inactive_file),
        ("active_file", m.active_file),
        ("unevictable", m.unevictable),
        ("slab_reclaimable", m.slab_reclaimable),
        ("slab_unreclaimable", m.slab_unreclaimable),
        ("pgfault", m.pgfault),
        ("pgmajfault", m.pgmajfault),
        ("workingset_refault", m.workingset_refault),
        ("workingset_activate", m.workingset_activate),
        ("workingset_nodereclaim", m.workingset_nodereclaim),
        ("pgrefill", m.pgrefill),
        ("pgscan", m.pgscan),
        ("pgsteal", m.pgsteal),
        ("pgactivate", m.pgactivate),
        ("pgdeactivate", m.pgdeactivate),
        ("pglazyfree", m.pglazyfree),
        ("pglazyfreed", m.pglazyfreed),
        ("thp_fault_alloc", m.thp_fault_alloc),
        ("thp_collapse_alloc", m.thp_collapse_alloc),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Chains samples as dockerd does: each carries the `cpu_stats` and `read` of the one before it (zero
/// for the first).
#[derive(Debug, Default)]
pub(crate) struct StatsChain {
    previous: Option<(CpuStats, String)>,
}

impl StatsChain {
    /// `sample` with the previous sample's CPU figures and time; remembers its own for the next.
    pub(crate) fn link(&mut self, mut sample: ContainerStatsResponse) -> ContainerStatsResponse {
        let now = (sample.cpu_stats.clone(), sample.read.clone());
        if let Some((cpu, read)) = self.previous.replace(now) {
            sample.precpu_stats = cpu;
            sample.preread = read;
        }
        sample
    }
}

fn timestamp(t: Option<&prost_types::Timestamp>) -> SystemTime {
    t.and_then(|t| {
        let secs = u64::try_from(t.seconds).ok()?;
        let nanos = u32::try_from(t.nanos).ok()?;
        Some(UNIX_EPOCH + Duration::new(secs, nanos))
    })
    .unwrap_or_else(SystemTime::now)
}

impl Runtime {
    /// Whether `id_or_name` runs now (404 when there is no such container).
    pub(crate) fn stats_running(&self, id_or_name: &str) -> Result<bool, Error> {
        let record = self.store().get(id_or_name)?;
        Ok(record.state.running && !record.state.restarting)
    }

    /// One sample of `id_or_name`'s resource usage, not chained (see [`StatsChain`]): zeros with its name
    /// and ID when it does not run, or when its metrics cannot be read (logged), as with dockerd. 404
    /// when there is no such container (it was removed).
    pub(crate) async fn stats_sample(
        &self,
        id_or_name: &str,
    ) -> Result<ContainerStatsResponse, Error> {
        let record = self.store().get(id_or_name)?;
        let mut s = if record.state.running {
            match self.task_sample(&record.id).await {
                Ok(Some(s)) => s,
                Ok(None) => ContainerStatsResponse::default(),
                Err(e) => {
                    tracing::warn!(container = %record.id, "collecting stats: {e}");
                    ContainerStatsResponse::default()
                }
            }
        } else {
            ContainerStatsResponse::default()
        };
        s.name = record.name;
        s.id = record.id;
        Ok(s)
    }

    /// The container figures and host CPU time of a running task; `None` when it has no task.
    async fn task_sample(&self, id: &str) -> Result<Option<ContainerStatsResponse>, Error> {
        let metric = match self.inner.cd.task_metrics(id).await {
            Ok(Some(metric)) => metric,
            Ok(None) => return Ok(None),
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let Some(data) = metric.data.as_ref() else {
            return Ok(None);
        };
        let metrics = Metrics::decode(data).map_err(|e| Error::new(ErrorKind::System, e))?;
        // The host's CPU time right after the container's, so that the two cover the same interval.
        let host = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|text| parse_proc_stat(&text))
            .unwrap_or_default();
        let mut s = sample(&metrics, self.inner.machine_memory);
        s.read = rfc3339_nano(timestamp(metric.timestamp.as_ref()));
        s.cpu_stats.system_cpu_usage = host.system_usage;
        s.cpu_stats.online_cpus = host.online_cpus;
        Ok(Some(s))
    }
}

#[cfg(test)]
mod tests;
