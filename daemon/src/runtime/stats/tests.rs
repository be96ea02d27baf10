use super::*;
use prost::Message;
use wharf_client_core::stats::ZERO_TIME;

/// `io.containerd.cgroups.v1.Metrics` as this machine's containerd (1.6, cgroup v1) answered it for a
/// busybox container holding 30 MiB (`dd if=/dev/zero bs=30M count=1 | sleep 1000`), captured from
/// `Tasks.Metrics`. wharfd answered that sample with: total_usage 39684228, percpu [670665, 39013563],
/// kernel and user 10 ms each, usage 32206848, max_usage 32366592, rss 31608832, 3 pids.
const V1_CAPTURED: &[u8] = include_bytes!("v1-metrics.bin");

const GIB: u64 = 1 << 30;

fn v1_any() -> prost_types::Any {
    prost_types::Any {
        type_url: crate::containerd::cgroups::V1_TYPE_URL.into(),
        value: V1_CAPTURED.to_vec(),
    }
}

#[test]
fn captured_v1_metrics_give_dockers_figures() {
    let metrics = Metrics::decode(&v1_any()).unwrap();
    let s = sample(&metrics, 24 * GIB);
    let cpu = &s.cpu_stats.cpu_usage;
    assert_eq!(cpu.total_usage, 39_684_228);
    assert_eq!(cpu.percpu_usage, vec![670_665, 39_013_563]);
    assert_eq!(cpu.percpu_usage.iter().sum::<u64>(), cpu.total_usage);
    assert_eq!(
        (cpu.usage_in_kernelmode, cpu.usage_in_usermode),
        (10_000_000, 10_000_000)
    );
    assert_eq!(s.pids_stats.current, 3);
    let m = &s.memory_stats;
    assert_eq!(
        (m.usage, m.max_usage, m.failcnt),
        (32_206_848, 32_366_592, 0)
    );
    assert_eq!(m.stats["rss"], 31_608_832);
    assert_eq!(m.stats["total_rss"], 31_608_832);
    assert_eq!(m.stats["pgfault"], 9016);
    assert_eq!(
        m.stats["hierarchical_memory_limit"],
        9_223_372_036_854_771_712
    );
    assert_eq!(
        m.stats.len(),
        32,
        "every memory.stat counter dockerd reports"
    );
    // Unlimited: the cgroup's limit is the page-rounded i64::MAX, reported as the host's memory.
    assert_eq!(m.limit, 24 * GIB);
    assert_eq!(
        sample(&metrics, 0).memory_stats.limit,
        9_223_372_036_854_771_712
    );
    // The blkio files were read and empty: `[]`, not `null`.
    assert_eq!(s.blkio_stats.io_service_bytes_recursive, Some(Vec::new()));
    assert_eq!(s.blkio_stats.sectors_recursive, Some(Vec::new()));
    // What `docker stats` shows of it: MEM USAGE is the usage less the inactive page cache (none here).
    assert_eq!(s.memory_usage(), 32_206_848);
    assert_eq!(s.block_io(), (0, 0));
}

/// `io.containerd.cgroups.v2.Metrics` written out by hand from `cgroup2/stats/metrics.proto`'s tags, so
/// that a wrong tag in our declarations shows.
fn v2_bytes() -> Vec<u8> {
    let mut b = Vec::new();
    // pids (1): current 4, limit 100.
    b.extend([0x0a, 4, 0x08, 4, 0x10, 100]);
    // cpu (2): usage_usec 2500 (0xc4 0x13), user_usec 2000 (0xd0 0x0f), system_usec 500 (0xf4 0x03),
    // nr_periods 7, nr_throttled 1, throttled_usec 3.
    b.extend([
        0x12, 15, 0x08, 0xc4, 0x13, 0x10, 0xd0, 0x0f, 0x18, 0xf4, 0x03, 0x20, 7, 0x28, 1, 0x30, 3,
    ]);
    // memory (4): anon 1000 (0xe8 0x07), inactive_file (13) 300 (0xac 0x02), usage (32) 5000
    // (0x88 0x27), usage_limit (33) 64 GiB (0x80 0x80 0x80 0x80 0x80 0x02).
    b.extend([
        0x22, 18, 0x08, 0xe8, 0x07, 0x68, 0xac, 0x02, 0x80, 0x02, 0x88, 0x27, 0x88, 0x02, 0x80,
        0x80, 0x80, 0x80, 0x80, 0x02,
    ]);
    // io (6): one device 8:1, rbytes 10, wbytes 20.
    b.extend([0x32, 10, 0x0a, 8, 0x08, 8, 0x10, 1, 0x18, 10, 0x20, 20]);
    // memory_events (8): oom (4) 2.
    b.extend([0x42, 2, 0x20, 2]);
    b
}

#[test]
fn v2_metrics_give_dockers_figures() {
    let any = prost_types::Any {
        type_url: crate::containerd::cgroups::V2_TYPE_URL.into(),
        value: v2_bytes(),
    };
    let metrics = Metrics::decode(&any).unwrap();
    let s = sample(&metrics, 16 * GIB);
    assert_eq!((s.pids_stats.current, s.pids_stats.limit), (4, 100));
    let cpu = &s.cpu_stats;
    assert_eq!(
        cpu.cpu_usage.total_usage, 2_500_000,
        "microseconds become nanoseconds"
    );
    assert_eq!(cpu.cpu_usage.usage_in_usermode, 2_000_000);
    assert_eq!(cpu.cpu_usage.usage_in_kernelmode, 500_000);
    assert!(cpu.cpu_usage.percpu_usage.is_empty());
    assert_eq!(cpu.throttling_data.periods, 7);
    assert_eq!(cpu.throttling_data.throttled_periods, 1);
    assert_eq!(cpu.throttling_data.throttled_time, 3000);
    let m = &s.memory_stats;
    assert_eq!((m.usage, m.max_usage), (5000, 0));
    assert_eq!(m.limit, 16 * GIB, "capped at the host's memory");
    assert_eq!(m.failcnt, 2, "memory.events' oom");
    assert_eq!((m.stats["anon"], m.stats["inactive_file"]), (1000, 300));
    assert_eq!(m.stats.len(), 31);
    assert!(!m.stats.contains_key("total_rss"), "v2 has its own names");
    let io = s.blkio_stats.io_service_bytes_recursive.clone().unwrap();
    assert_eq!(io.len(), 2);
    assert_eq!(
        (io[0].major, io[0].minor, io[0].op.as_str(), io[0].value),
        (8, 1, "read", 10)
    );
    assert_eq!((io[1].op.as_str(), io[1].value), ("write", 20));
    assert_eq!(s.blkio_stats.io_serviced_recursive, None);
    // `docker stats`: usage less inactive_file; block I/O from io.stat.
    assert_eq!(s.memory_usage(), 4700);
    assert_eq!(s.block_io(), (10, 20));
    // The same message through our declarations encodes as written by hand.
    match metrics {
        Metrics::V2(m) => assert_eq!(m.encode_to_vec(), v2_bytes()),
        Metrics::V1(_) => panic!("v2 expected"),
    }
}

#[test]
fn proc_stat_gives_the_hosts_cpu_time_and_cpus() {
    let text = "cpu  1151236 260936 209327 476161 19495 0 4000 2132 0 0\n\
                cpu0 577092 130491 105085 236382 10168 0 1323 1047 0 0\n\
                cpu1 574143 130444 104241 239778 9326 0 2677 1085 0 0\n\
                intr 27941060 0 0\nctxt 1\nbtime 1\nprocesses 1\n";
    let host = parse_proc_stat(text).unwrap();
    // user..softirq (steal and guests left out), in USER_HZ ticks of 10 ms.
    let ticks: u64 = 1_151_236 + 260_936 + 209_327 + 476_161 + 19_495 + 4000;
    assert_eq!(host.system_usage, ticks * 10_000_000);
    assert_eq!(host.online_cpus, 2);
    assert_eq!(parse_proc_stat("cpu  1 2 3\ncpu0 1\n"), None);
    assert_eq!(parse_proc_stat("cpu  1 2 x 4 5 6 7\n"), None);
    assert_eq!(parse_proc_stat("intr 1\n"), None);
}

#[test]
fn chained_samples_carry_the_previous_cpu_figures_and_give_cpu_percent() {
    let metrics = Metrics::decode(&v1_any()).unwrap();
    let mut first = sample(&metrics, 0);
    first.read = "2026-12-06T07:37:47.883237615Z".into();
    first.cpu_stats.system_cpu_usage = 21_204_790_000_000;
    first.cpu_stats.online_cpus = 2;
    let mut second = first.clone();
    second.read = "2026-12-06T07:37:48.889573331Z".into();
    // Half a CPU-second more for the container, two CPU-seconds more for the host (1 s of 2 CPUs).
    second.cpu_stats.cpu_usage.total_usage += 500_000_000;
    second.cpu_stats.system_cpu_usage += 2_000_000_000;

    let mut chain = StatsChain::default();
    let first = chain.link(first);
    assert_eq!(first.preread, ZERO_TIME);
    assert_eq!(first.precpu_stats, CpuStats::default());
    let second = chain.link(second);
    assert_eq!(second.preread, "2026-12-06T07:37:47.883237615Z");
    assert_eq!(second.precpu_stats, first.cpu_stats);
    // 0.5 s of 2 s of host time, on 2 CPUs: 50 % of one CPU.
    assert!(
        (second.cpu_percent() - 50.0).abs() < 1e-9,
        "{}",
        second.cpu_percent()
    );
}
