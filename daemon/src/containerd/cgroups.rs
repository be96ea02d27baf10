//! The cgroup metrics containerd's `Tasks.Metrics` answers, as a typed `Any`: `io.containerd.cgroups.v1.Metrics`
//! on a cgroup v1 host, `io.containerd.cgroups.v2.Metrics` on a unified (v2) one. containerd-client does not
//! compile these messages (they live in containerd's `cgroups` module), so the fields `docker stats` needs
//! are declared here with the tags of `cgroups/stats/v1/metrics.proto` and `cgroup2/stats/metrics.proto`;
//! prost skips the others.

use prost::Message;

/// The type URL of cgroup v1 metrics.
pub(crate) const V1_TYPE_URL: &str = "io.containerd.cgroups.v1.Metrics";
/// The type URL of cgroup v2 metrics.
pub(crate) const V2_TYPE_URL: &str = "io.containerd.cgroups.v2.Metrics";

/// One task's metrics, of either hierarchy.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Metrics {
    /// cgroup v1.
    V1(v1::Metrics),
    /// cgroup v2 (unified).
    V2(v2::Metrics),
}

impl Metrics {
    /// Decodes the `Any` of a `containerd.types.Metric` by its type URL (with or without a
    /// `types.googleapis.com/` style prefix); the error says what was wrong.
    pub(crate) fn decode(any: &prost_types::Any) -> Result<Self, String> {
        let name = any.type_url.rsplit('/').next().unwrap_or_default();
        let invalid = |e: prost::DecodeError| format!("task metrics of type {name}: {e}");
        match name {
            V1_TYPE_URL => v1::Metrics::decode(any.value.as_slice())
                .map(Self::V1)
                .map_err(invalid),
            V2_TYPE_URL => v2::Metrics::decode(any.value.as_slice())
                .map(Self::V2)
                .map_err(invalid),
            other => Err(format!("unexpected type of task metrics: {other:?}")),
        }
    }
}

/// `io.containerd.cgroups.v1`, the fields Docker reports.
pub(crate) mod v1 {
    use prost::Message;

    /// `Metrics`.
    #[derive(Clone, PartialEq, Message)]
    pub(crate) struct Metrics {
        #[prost(message, optional, tag = "2")]
        pub pids: Option<PidsStat>,
        #[prost(message, optional, tag = "3")]
        pub cpu: Option<CpuStat>,
        #[prost(message, optional, tag = "4")]
        pub memory: Option<MemoryStat>,
        #[prost(message, optional, tag = "5")]
        pub blkio: Option<BlkIoStat>,
    }

    /// `PidsStat`.
    #[derive(Clone, PartialEq, Message)]
    pub(crate) struct PidsStat {
        #[prost(uint64, tag = "1")]
        pub current: u64,
        #[prost(uint64, tag = "2")]
        pub limit: u64,
    }

    /// `CPUStat`.
    #[derive(Clone, PartialEq, Message)]
    pub(crate) struct CpuStat {
        #[prost(message, optional, tag = "1")]
        pub usage: Option<CpuUsage>,
        #[prost(message, optional, tag = "2")]
        pub throttling: Option<Throttle>,
    }

    /// `CPUUsage`, in nanoseconds.
    #[derive(Clone, PartialEq, Message)]
    pub(crate) struct CpuUsage {
        #[prost(uint64, tag = "1")]
        pub total: u64,
        #[prost(uint64, tag = "2")]
        pub kernel: u64,
        #[prost(uint64, tag = "3")]
        pub user: u64,
        #[prost(uint64, repeated, tag = "4")]
        pub per_cpu: Vec<u64>,
    }

    /// `Throttle`.
    #[derive(Clone, PartialEq, Message)]
    pub(crate) struct Throttle {
        #[prost(uint64, tag = "1")]
        pub periods: u64,
        #[prost(uint64, tag = "2")]
        pub throttled_periods: u64,
        #[prost(uint64, tag = "3")]
        pub throttled_time: u64,
    }

    /// `MemoryStat`: `memory.stat`'s counters (tags 1 to 32, in the file's order) and the usage entry.
    #[derive(Clone, PartialEq, Message)]
    pub(crate) struct MemoryStat {
        #[prost(uint64, tag = "1")]
        pub cache: u64,
        #[prost(uint64, tag = "2")]
        pub rss: u64,
        #[prost(uint64, tag = "3")]
        pub rss_huge: u64,
        #[prost(uint64, tag = "4")]
        pub mapped_file: u64,
        #[prost(uint64, tag = "5")]
        pub dirty: u64,
        #[prost(uint64, tag = "6")]
        pub writeback: u64,
        #[prost(uint64, tag = "7")]
        pub pg_pg_in: u64,
        #[prost(uint64, tag = "8")]
        pub pg_pg_out: u64,
        #[prost(uint64, tag = "9")]
        pub pg_fault: u64,
        #[prost(uint64, tag = "10")]
        pub pg_maj_fault: u64,
        #[prost(uint64, tag = "11")]
        pub inactive_anon: u64,
        #[prost(uint64, tag = "12")]
        pub active_anon: u64,
        #[prost(uint64, tag = "13")]
        pub inactive_file: u64,
        #[prost(uint64, tag = "14")]
        pub active_file: u64,
        #[prost(uint64, tag = "15")]
        pub unevictable: u64,
        #[prost(uint64, tag = "16")]
        pub hierarchical_memory_limit: u64,
        #[prost(uint64, tag = "17")]
        pub hierarchical_swap_limit: u64,
        #[prost(uint64, tag = "18")]
        pub total_cache: u64,
        #[prost(uint64, tag = "19")]
        pub total_rss: u64,
        #[prost(uint64, tag = "20")]
        pub total_rss_huge: u64,
        #[prost(uint64, tag = "21")]
        pub total_mapped_file: u64,
        #[prost(uint64, tag = "22")]
        pub total_dirty: u64,
        #[prost(uint64, tag = "23")]
        pub total_writeback: u64,
        #[prost(uint64, tag = "24")]
        pub total_pg_pg_in: u64,
        #[prost(uint64, tag = "25")]
        pub total_pg_pg_out: u64,
        #[prost(uint64, tag = "26")]
        pub total_pg_fault: u64,
        #[prost(uint64, tag = "27")]
        pub total_pg_maj_fault: u64,
        #[prost(uint64, tag = "28")]
        pub total_inactive_anon: u64,
        #[prost(uint64, tag = "29")]
        pub total_active_anon: u64,
        #[prost(uint64, tag = "30")]
        pub total_inactive_file: u64,
        #[prost(uint64, tag = "31")]
        pub total_active_file: u64,
        #[prost(uint64, tag = "32")]
        pub total_unevictable: u64,
        /// `memory.usage_in_bytes`, `max_usage_in_bytes`, `limit_in_bytes`, `failcnt`.
        #[prost(message, optional, tag = "33")]
        pub usage: Option<MemoryEntry>,
    }

    /// `MemoryEntry`.
    #[derive(Clone, PartialEq, Message)]
    pub(crate) struct MemoryEntry {
        #[prost(uint64, tag = "1")]
        pub limit: u64,
        #[prost(uint64, tag = "2")]
        pub usage: u64,
        #[prost(uint64, tag = "3")]
        pub max: u64,
        #[prost(uint64, tag = "4")]
        pub failcnt: u64,
    }

    /// `BlkIOStat`: the `blkio.*_recursive` files.
    #[derive(Clone, PartialEq, Message)]
    pub(crate) struct BlkIoStat {
        #[prost(message, repeated, tag = "1")]
        pub io_service_bytes_recursive: Vec<BlkIoEntry>,
        #[prost(message, repeated, tag = "2")]
        pub io_serviced_recursive: Vec<BlkIoEntry>,
        #[prost(message, repeated, tag = "3")]
        pub io_queued_recursive: Vec<BlkIoEntry>,
        #[prost(message, repeated, tag = "4")]
        pub io_service_time_recursive: Vec<BlkIoEntry>,
        #[prost(message, repeated, tag = "5")]
        pub io_wait_time_recursive: Vec<BlkIoEntry>,
        #[prost(message, repeated, tag = "6")]
        pub io_merged_recursive: Vec<BlkIoEntry>,
        #[prost(message, repeated, tag = "7")]
        pub io_time_recursive: Vec<BlkIoEntry>,
        #[prost(message, repeated, tag = "8")]
        pub sectors_recursive: Vec<BlkIoEntry>,
    }

    /// `BlkIOEntry`.
    #[derive(Clone, PartialEq, Message)]
    pub(crate) struct BlkIoEntry {
        #[prost(string, tag = "1")]
        pub op: String,
        #[prost(uint64, tag = "3")]
        pub major: u64,
        #[prost(uint64, tag = "4")]
        pub minor: u64,
        #[prost(uint64, tag = "5")]
        pub value: u64,
    }
}

/// `io.containerd.cgroups.v2`, the fields Docker reports.
pub(crate) mod v2 {
    use prost::Message;

    /// `Metrics`.
    #[derive(Clone, PartialEq, Message)]
    pub(crate) struct Metrics {
        #[prost(message, optional, tag = "1")]
        pub pids: Option<super::v1::PidsStat>,
        #[prost(message, optional, tag = "2")]
        pub cpu: Option<CpuStat>,
        #[prost(message, optional, tag = "4")]
        pub memory: Option<MemoryStat>,
        #[prost(message, optional, tag = "6")]
        pub io: Option<IoStat>,
        #[prost(message, optional, tag = "8")]
        pub memory_events: Option<MemoryEvents>,
    }

    /// `CPUStat`, in microseconds.
    #[derive(Clone, PartialEq, Message)]
    pub(crate) struct CpuStat {
        #[prost(uint64, tag = "1")]
        pub usage_usec: u64,
        #[prost(uint64, tag = "2")]
        pub user_usec: u64,
        #[prost(uint64, tag = "3")]
        pub system_usec: u64,
        #[prost(uint64, tag = "4")]
        pub nr_periods: u64,
        #[prost(uint64, tag = "5")]
        pub nr_throttled: u64,
        #[prost(uint64, tag = "6")]
        pub throttled_usec: u64,
    }

    /// `MemoryStat`: `memory.stat`'s counters (tags 1 to 31, in the file's order) and `memory.current`
    /// and `memory.max` (32, 33).
    #[derive(Clone, PartialEq, Message)]
    pub(crate) struct MemoryStat {
        #[prost(uint64, tag = "1")]
        pub anon: u64,
        #[prost(uint64, tag = "2")]
        pub file: u64,
        #[prost(uint64, tag = "3")]
        pub kernel_stack: u64,
        #[prost(uint64, tag = "4")]
        pub slab: u64,
        #[prost(uint64, tag = "5")]
        pub sock: u64,
        #[prost(uint64, tag = "6")]
        pub shmem: u64,
        #[prost(uint64, tag = "7")]
        pub file_mapped: u64,
        #[prost(uint64, tag = "8")]
        pub file_dirty: u64,
        #[prost(uint64, tag = "9")]
        pub file_writeback: u64,
        #[prost(uint64, tag = "10")]
        pub anon_thp: u64,
        #[prost(uint64, tag = "11")]
        pub inactive_anon: u64,
        #[prost(uint64, tag = "12")]
        pub active_anon: u64,
        #[prost(uint64, tag = "13")]
        pub inactive_file: u64,
        #[prost(uint64, tag = "14")]
        pub active_file: u64,
        #[prost(uint64, tag = "15")]
        pub unevictable: u64,
        #[prost(uint64, tag = "16")]
        pub slab_reclaimable: u64,
        #[prost(uint64, tag = "17")]
        pub slab_unreclaimable: u64,
        #[prost(uint64, tag = "18")]
        pub pgfault: u64,
        #[prost(uint64, tag = "19")]
        pub pgmajfault: u64,
        #[prost(uint64, tag = "20")]
        pub workingset_refault: u64,
        #[prost(uint64, tag = "21")]
        pub workingset_activate: u64,
        #[prost(uint64, tag = "22")]
        pub workingset_nodereclaim: u64,
        #[prost(uint64, tag = "23")]
        pub pgrefill: u64,
        #[prost(uint64, tag = "24")]
        pub pgscan: u64,
        #[prost(uint64, tag = "25")]
        pub pgsteal: u64,
        #[prost(uint64, tag = "26")]
        pub pgactivate: u64,
        #[prost(uint64, tag = "27")]
        pub pgdeactivate: u64,
        #[prost(uint64, tag = "28")]
        pub pglazyfree: u64,
        #[prost(uint64, tag = "29")]
        pub pglazyfreed: u64,
        #[prost(uint64, tag = "30")]
        pub thp_fault_alloc: u64,
        #[prost(uint64, tag = "31")]
        pub thp_collapse_alloc: u64,
        /// `memory.current`.
        #[prost(uint64, tag = "32")]
        pub usage: u64,
        /// `memory.max` (the host's memory when unlimited).
        #[prost(uint64, tag = "33")]
        pub usage_limit: u64,
    }

    /// `MemoryEvents`: `memory.events`.
    #[derive(Clone, PartialEq, Message)]
    pub(crate) struct MemoryEvents {
        #[prost(uint64, tag = "4")]
        pub oom: u64,
    }

    /// `IOStat`: `io.stat`.
    #[derive(Clone, PartialEq, Message)]
    pub(crate) struct IoStat {
        #[prost(message, repeated, tag = "1")]
        pub usage: Vec<IoEntry>,
    }

    /// `IOEntry`: one device's line of `io.stat`.
    #[derive(Clone, PartialEq, Message)]
    pub(crate) struct IoEntry {
        #[prost(uint64, tag = "1")]
        pub major: u64,
        #[prost(uint64, tag = "2")]
        pub minor: u64,
        #[prost(uint64, tag = "3")]
        pub rbytes: u64,
        #[prost(uint64, tag = "4")]
        pub wbytes: u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_decode_by_type_url_and_refuse_others() {
        let v2 = v2::Metrics {
            cpu: Some(v2::CpuStat {
                usage_usec: 7,
                ..Default::default()
            }),
            ..Default::default()
        };
        let any = prost_types::Any {
            type_url: V2_TYPE_URL.into(),
            value: v2.encode_to_vec(),
        };
        assert_eq!(Metrics::decode(&any).unwrap(), Metrics::V2(v2.clone()));
        let prefixed = prost_types::Any {
            type_url: format!("types.googleapis.com/{V2_TYPE_URL}"),
            value: v2.encode_to_vec(),
        };
        assert!(matches!(Metrics::decode(&prefixed), Ok(Metrics::V2(_))));
        let other = prost_types::Any {
            type_url: "io.containerd.windows.Stats".into(),
            value: Vec::new(),
        };
        assert!(Metrics::decode(&other)
            .unwrap_err()
            .contains("unexpected type of task metrics"));
        let broken = prost_types::Any {
            type_url: V1_TYPE_URL.into(),
            value: vec![0x1a, 0x05, 0x01],
        };
        assert!(Metrics::decode(&broken).is_err());
    }
}
