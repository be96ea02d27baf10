//! The answer to `GET /containers/{id}/stats` (moby's `types.StatsJSON`), which the 1.47 swagger leaves
//! untyped, and the figures `docker stats` derives from it.
//!
//! The JSON is dockerd's to the byte: fields in its order, Go's `omitempty` where it has it (and only
//! there: `blkio_stats`' lists are `null` when the daemon has none, `[]` when the cgroup had no
//! entries), `memory_stats.stats` sorted by name as Go writes maps. Times stay the RFC 3339 strings the
//! daemon sent (`0001-01-01T00:00:00Z`, Go's zero time, when there is none), so that this crate needs no
//! calendar. Every field defaults, for daemons (Windows, old versions) that send fewer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Go's zero `time.Time` as JSON: `read` and `preread` of a sample that was never taken.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn zero_time() -> String {
    ZERO_TIME.to_owned()
}

fn is_zero<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// One sample of a container's resource usage, with the CPU figures of the sample before it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerStatsResponse {
    /// When this sample was read (RFC 3339).
    pub read: String,
    /// When the previous one was ([`ZERO_TIME`] for the first).
    pub preread: String,
    pub pids_stats: PidsStats,
    pub blkio_stats: BlkioStats,
    /// Windows only; 0 on Linux.
    pub num_procs: u32,
    /// Windows only.
    pub storage_stats: StorageStats,
    pub cpu_stats: CpuStats,
    /// `cpu_stats` of the previous sample (zero for the first): CPU % is the difference.
    pub precpu_stats: CpuStats,
    pub memory_stats: MemoryStats,
    /// The container's name, with its leading `/`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The container's full ID.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Per interface, when the container has any besides loopback.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, NetworkStats>,
}

impl Default for ContainerStatsResponse {
    fn default() -> Self {
        Self {
            read: zero_time(),
            preread: zero_time(),
            pids_stats: PidsStats::default(),
            blkio_stats: BlkioStats::default(),
            num_procs: 0,
            storage_stats: StorageStats::default(),
            cpu_stats: CpuStats::default(),
            precpu_stats: CpuStats::default(),
            memory_stats: MemoryStats::default(),
            name: String::new(),
            id: String::new(),
            networks: BTreeMap::new(),
        }
    }
}

/// `pids_stats`: the pids cgroup.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PidsStats {
    /// Processes (threads) in the container.
    #[serde(skip_serializing_if = "is_zero")]
    pub current: u64,
    /// Its limit, 0 when unlimited.
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
}

/// `blkio_stats`: the blkio cgroup's `*_recursive` files (cgroup v2 fills only the first, from `io.stat`).
/// `None` is JSON `null`: the daemon read no blkio figures at all.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BlkioStats {
    pub io_service_bytes_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_serviced_recursive: Option<Vec<BlkioStatEntry>>,
    /// Spelled so by moby (the file is `io_queued_recursive`).
    pub io_queue_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_service_time_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_wait_time_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_merged_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_time_recursive: Option<Vec<BlkioStatEntry>>,
    pub sectors_recursive: Option<Vec<BlkioStatEntry>>,
}

/// One line of a blkio file: a device and an operation (`Read`, `Write`... on v1, `read`/`write` on v2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BlkioStatEntry {
    pub major: u64,
    pub minor: u64,
    pub op: String,
    pub value: u64,
}

/// `storage_stats` (Windows).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StorageStats {
    #[serde(skip_serializing_if = "is_zero")]
    pub read_count_normalized: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub read_size_bytes: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub write_count_normalized: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub write_size_bytes: u64,
}

/// `cpu_stats` and `precpu_stats`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CpuStats {
    pub cpu_usage: CpuUsage,
    /// The host's CPU time, all CPUs, in nanoseconds (`/proc/stat`), read with the sample.
    #[serde(skip_serializing_if = "is_zero")]
    pub system_cpu_usage: u64,
    /// CPUs online on the host.
    #[serde(skip_serializing_if = "is_zero")]
    pub online_cpus: u32,
    pub throttling_data: ThrottlingData,
}

/// The container's CPU time, in nanoseconds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CpuUsage {
    pub total_usage: u64,
    /// Per CPU (cgroup v1 only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_usage: Vec<u64>,
    pub usage_in_kernelmode: u64,
    pub usage_in_usermode: u64,
}

/// CFS throttling.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ThrottlingData {
    pub periods: u64,
    pub throttled_periods: u64,
    /// Nanoseconds.
    pub throttled_time: u64,
}

/// `memory_stats`, in bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemoryStats {
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    /// cgroup v1 only.
    #[serde(skip_serializing_if = "is_zero")]
    pub max_usage: u64,
    /// `memory.stat`, by its names (which differ between cgroup v1 and v2).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub stats: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "is_zero")]
    pub failcnt: u64,
    /// The container's limit, or the host's memory when that is less.
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
    /// Windows.
    #[serde(skip_serializing_if = "is_zero")]
    pub commitbytes: u64,
    /// Windows.
    #[serde(skip_serializing_if = "is_zero")]
    pub commitpeakbytes: u64,
    /// Windows.
    #[serde(skip_serializing_if = "is_zero")]
    pub privateworkingset: u64,
}

/// One network interface's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkStats {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_dropped: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_dropped: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub endpoint_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub instance_id: String,
}

impl ContainerStatsResponse {
    /// `docker stats`' CPU %: see [`cpu_percent`].
    pub fn cpu_percent(&self) -> f64 {
        cpu_percent(&self.cpu_stats, &self.precpu_stats)
    }

    /// `docker stats`' MEM USAGE: see [`memory_usage`].
    pub fn memory_usage(&self) -> u64 {
        memory_usage(&self.memory_stats)
    }

    /// `docker stats`' MEM %: see [`memory_percent`].
    pub fn memory_percent(&self) -> f64 {
        memory_percent(&self.memory_stats)
    }

    /// `docker stats`' BLOCK I/O: bytes read and written, from `io_service_bytes_recursive`.
    pub fn block_io(&self) -> (u64, u64) {
        let entries = self
            .blkio_stats
            .io_service_bytes_recursive
            .as_deref()
            .unwrap_or_default();
        entries.iter().fold((0, 0), |(r, w), e| {
            match e.op.to_ascii_lowercase().as_str() {
                "read" => (r + e.value, w),
                "write" => (r, w + e.value),
                _ => (r, w),
            }
        })
    }

    /// `docker stats`' NET I/O: bytes received and sent, all interfaces.
    pub fn network_io(&self) -> (u64, u64) {
        self.networks
            .values()
            .fold((0, 0), |(rx, tx), n| (rx + n.rx_bytes, tx + n.tx_bytes))
    }
}

/// The part of a sample the CPU and memory figures come from, for a reader that shows only those
/// (the browser console's live chart): decoding the whole [`ContainerStatsResponse`] would put the
/// block I/O, network, PID and storage decoders into the console's wasm for nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Usage {
    pub cpu_stats: CpuStats,
    pub precpu_stats: CpuStats,
    pub memory_stats: MemoryStats,
}

impl Usage {
    /// `docker stats`' CPU %: see [`cpu_percent`].
    pub fn cpu_percent(&self) -> f64 {
        cpu_percent(&self.cpu_stats, &self.precpu_stats)
    }

    /// `docker stats`' MEM USAGE: see [`memory_usage`].
    pub fn memory_usage(&self) -> u64 {
        memory_usage(&self.memory_stats)
    }

    /// `docker stats`' MEM %: see [`memory_percent`].
    pub fn memory_percent(&self) -> f64 {
        memory_percent(&self.memory_stats)
    }
}

/// `docker stats`' CPU %: the container's share of the host's CPU time between `before`
/// (`precpu_stats`) and `now` (`cpu_stats`), times the CPUs online (so one busy CPU of four is
/// 100 %). 0 without two samples.
pub fn cpu_percent(now: &CpuStats, before: &CpuStats) -> f64 {
    let cpu = now.cpu_usage.total_usage as f64 - before.cpu_usage.total_usage as f64;
    let system = now.system_cpu_usage as f64 - before.system_cpu_usage as f64;
    let cpus = match now.online_cpus {
        0 => now.cpu_usage.percpu_usage.len() as f64,
        n => f64::from(n),
    };
    if cpu > 0.0 && system > 0.0 {
        cpu / system * cpus * 100.0
    } else {
        0.0
    }
}

/// `docker stats`' MEM USAGE: the usage without the inactive page cache (`total_inactive_file` on
/// cgroup v1, `inactive_file` on v2), which the kernel reclaims first.
pub fn memory_usage(m: &MemoryStats) -> u64 {
    let cache = m
        .stats
        .get("total_inactive_file")
        .or_else(|| m.stats.get("inactive_file"))
        .copied()
        .unwrap_or(0);
    if cache < m.usage {
        m.usage - cache
    } else {
        m.usage
    }
}

/// `docker stats`' MEM %: [`memory_usage`] of the limit; 0 without one.
pub fn memory_percent(m: &MemoryStats) -> f64 {
    match m.limit {
        0 => 0.0,
        limit => memory_usage(m) as f64 / limit as f64 * 100.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stopped container's answer from dockerd 20.10, byte for byte.
    const DOCKERD_STOPPED: &str = r#"{"read":"0001-01-01T00:00:00Z","preread":"0001-01-01T00:00:00Z","pids_stats":{},"blkio_stats":{"io_service_bytes_recursive":null,"io_serviced_recursive":null,"io_queue_recursive":null,"io_service_time_recursive":null,"io_wait_time_recursive":null,"io_merged_recursive":null,"io_time_recursive":null,"sectors_recursive":null},"num_procs":0,"storage_stats":{},"cpu_stats":{"cpu_usage":{"total_usage":0,"usage_in_kernelmode":0,"usage_in_usermode":0},"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},"precpu_stats":{"cpu_usage":{"total_usage":0,"usage_in_kernelmode":0,"usage_in_usermode":0},"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},"memory_stats":{},"name":"/stopped","id":"cbaebacacb92db14cab7e92a0bc6a9f1b0ce365637421516990a61815ef8d30d"}"#;

    /// A running container's answer from dockerd 20.10 on cgroup v1 (`stream=false`).
    const DOCKERD_RUNNING: &str = r#"{"read":"2026-12-06T07:30:11.072411Z","preread":"2026-12-06T07:30:10.070093206Z","pids_stats":{"current":3},"blkio_stats":{"io_service_bytes_recursive":[],"io_serviced_recursive":[],"io_queue_recursive":[],"io_service_time_recursive":[],"io_wait_time_recursive":[],"io_merged_recursive":[],"io_time_recursive":[],"sectors_recursive":[]},"num_procs":0,"storage_stats":{},"cpu_stats":{"cpu_usage":{"total_usage":44452894,"percpu_usage":[19833892,24619002],"usage_in_kernelmode":20000000,"usage_in_usermode":10000000},"system_cpu_usage":20292660000000,"online_cpus":2,"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},"precpu_stats":{"cpu_usage":{"total_usage":44452894,"percpu_usage":[19833892,24619002],"usage_in_kernelmode":20000000,"usage_in_usermode":10000000},"system_cpu_usage":20290650000000,"online_cpus":2,"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},"memory_stats":{"usage":32161792,"max_usage":32460800,"stats":{"active_anon":8192,"active_file":0,"cache":0,"dirty":0,"hierarchical_memory_limit":9223372036854771712,"hierarchical_memsw_limit":9223372036854771712,"inactive_anon":31600640,"inactive_file":0,"mapped_file":0,"pgfault":8922,"pgmajfault":0,"pgpgin":8544,"pgpgout":827,"rss":31608832,"rss_huge":0,"total_active_anon":8192,"total_active_file":0,"total_cache":0,"total_dirty":0,"total_inactive_anon":31600640,"total_inactive_file":0,"total_mapped_file":0,"total_pgfault":8922,"total_pgmajfault":0,"total_pgpgin":8544,"total_pgpgout":827,"total_rss":31608832,"total_rss_huge":0,"total_unevictable":0,"total_writeback":0,"unevictable":0,"writeback":0},"limit":25324953600},"name":"/mem2","id":"1d5a768db098809d0f152a88c4b947be39c9408393be447f20bae8011c611a5e"}"#;

    #[test]
    fn dockerds_answers_read_and_write_back_byte_for_byte() {
        for wire in [DOCKERD_STOPPED, DOCKERD_RUNNING] {
            let stats: ContainerStatsResponse = serde_json::from_str(wire).unwrap();
            assert_eq!(serde_json::to_string(&stats).unwrap(), wire);
        }
        let zero = ContainerStatsResponse {
            name: "/stopped".into(),
            id: "cbaebacacb92db14cab7e92a0bc6a9f1b0ce365637421516990a61815ef8d30d".into(),
            ..Default::default()
        };
        assert_eq!(serde_json::to_string(&zero).unwrap(), DOCKERD_STOPPED);
    }

    #[test]
    fn figures_as_docker_stats_shows_them() {
        let stats: ContainerStatsResponse = serde_json::from_str(DOCKERD_RUNNING).unwrap();
        assert_eq!(stats.cpu_percent(), 0.0, "no CPU time between the samples");
        assert_eq!(stats.memory_usage(), 32161792);
        assert!((stats.memory_percent() - 0.127).abs() < 0.001);
        let mut busy = stats.clone();
        // Half of one CPU's time over 2 s of two CPUs' (4e9 ns of host time): 25 % × 2 CPUs = 50 %.
        busy.cpu_stats.cpu_usage.total_usage =
            busy.precpu_stats.cpu_usage.total_usage + 1_000_000_000;
        busy.cpu_stats.system_cpu_usage = busy.precpu_stats.system_cpu_usage + 4_000_000_000;
        assert!((busy.cpu_percent() - 50.0).abs() < 1e-9);
        // cgroup v2 names the page cache `inactive_file`; v1's `total_inactive_file` wins when present.
        let mut v2 = ContainerStatsResponse::default();
        v2.memory_stats.usage = 10_000;
        v2.memory_stats.stats.insert("inactive_file".into(), 4_000);
        assert_eq!(v2.memory_usage(), 6_000);
        assert_eq!(v2.memory_percent(), 0.0);
        v2.blkio_stats.io_service_bytes_recursive = Some(vec![
            BlkioStatEntry {
                op: "read".into(),
                value: 5,
                ..Default::default()
            },
            BlkioStatEntry {
                op: "Write".into(),
                value: 7,
                ..Default::default()
            },
            BlkioStatEntry {
                op: "Total".into(),
                value: 12,
                ..Default::default()
            },
        ]);
        assert_eq!(v2.block_io(), (5, 7));
        assert_eq!(ContainerStatsResponse::default().cpu_percent(), 0.0);
    }

    #[test]
    fn the_usage_part_reads_the_same_figures() {
        let mut whole: ContainerStatsResponse = serde_json::from_str(DOCKERD_RUNNING).unwrap();
        whole.cpu_stats.cpu_usage.total_usage += 1_000_000_000;
        whole.cpu_stats.system_cpu_usage += 4_000_000_000;
        let wire = serde_json::to_string(&whole).unwrap();
        let usage: Usage = serde_json::from_str(&wire).unwrap();
        assert_eq!(usage.cpu_stats, whole.cpu_stats);
        assert_eq!(usage.precpu_stats, whole.precpu_stats);
        assert_eq!(usage.memory_stats, whole.memory_stats);
        assert!(usage.cpu_percent() > 0.0);
        assert_eq!(usage.cpu_percent(), whole.cpu_percent());
        assert_eq!(usage.memory_usage(), whole.memory_usage());
        assert_eq!(usage.memory_percent(), whole.memory_percent());
        assert_eq!(
            serde_json::from_str::<Usage>(DOCKERD_STOPPED)
                .unwrap()
                .cpu_percent(),
            0.0
        );
    }
}
