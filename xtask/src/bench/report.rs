//! The bench report: one table of throughput and latency per workload and transport, one of idle
//! memory and start-up time, one of container lifecycle times, each ratio next to the target
//! with PASS or MISS. A container workload that failed on a daemon shows `error` in its column and the
//! error on a line below the table.

use std::time::Duration;

use super::containers::{ContainerResults, Lifecycles, Listed, Memory, Outcome};
use super::load::LoadResult;
use super::procs::TreeRss;
use super::stats::Latencies;
use super::streams::{StreamResults, Throughput};
use super::Workload;

/// A goal for a wharfd/dockerd ratio.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// The ratio must be at least this.
    AtLeast(f64),
    /// The ratio must be at most this.
    AtMost(f64),
}

impl Target {
    fn shown(self) -> String {
        match self {
            Self::AtLeast(x) => format!(">={x}x"),
            Self::AtMost(x) if (1.0 / x - (1.0 / x).round()).abs() < 1e-9 => {
                format!("<=1/{:.0}", 1.0 / x)
            }
            Self::AtMost(x) => format!("<={x}x"),
        }
    }

    /// `PASS`/`MISS` with the target, or `n/a` without a ratio.
    pub fn verdict(self, ratio: Option<f64>) -> String {
        let Some(ratio) = ratio else {
            return format!("{} n/a", self.shown());
        };
        let pass = match self {
            Self::AtLeast(x) => ratio >= x,
            Self::AtMost(x) => ratio <= x,
        };
        format!("{} {}", self.shown(), if pass { "PASS" } else { "MISS" })
    }
}

/// One workload's results on both daemons.
#[derive(Debug)]
pub struct LoadRow<'a> {
    pub workload: &'a Workload,
    /// wharfd's result.
    pub wharfd: &'a LoadResult,
    /// dockerd's result, when it ran.
    pub dockerd: Option<&'a LoadResult>,
}

/// Idle memory and start-up time of both daemons.
#[derive(Debug)]
pub struct Resources {
    /// wharfd's idle VmRSS in KiB.
    pub wharfd_rss_kib: u64,
    /// dockerd's idle VmRSS in KiB (its own process, not containerd).
    pub dockerd_rss_kib: Option<u64>,
    /// Median start-up time of wharfd.
    pub wharfd_start: Duration,
    /// Median start-up time of dockerd.
    pub dockerd_start: Option<Duration>,
    /// Starts per daemon behind each median.
    pub starts: usize,
}

/// Idle RSS target: at most a quarter of dockerd's.
pub const RSS_TARGET: Target = Target::AtMost(0.25);
/// Start time target: at most a fifth of dockerd's.
pub const START_TARGET: Target = Target::AtMost(0.2);
/// Container lifecycle time target: at most 0.7 of dockerd's.
pub const LIFECYCLE_TARGET: Target = Target::AtMost(0.7);
/// `GET /containers/json` throughput target: at least 3 times dockerd's.
pub const LIST_TARGET: Target = Target::AtLeast(3.0);
/// Log and exec output throughput target: at least 1.5 times dockerd's.
pub const STREAM_TARGET: Target = Target::AtLeast(1.5);
/// `exec true` round trip target (p50): at most 0.7 of dockerd's.
pub const EXEC_TRIP_TARGET: Target = Target::AtMost(0.7);
/// The WebSocket keystroke echo's p50 goal (wharfd only).
pub const KEYSTROKE_P50: Duration = Duration::from_millis(1);
/// Memory growth between the two samples that still counts as none: 1 MiB, or 5% if that is more.
pub const GROWTH_LIMIT_KIB: u64 = 1024;
/// See [`GROWTH_LIMIT_KIB`].
pub const GROWTH_LIMIT_FRACTION: f64 = 0.05;

/// A container workload's outcome on both daemons (`dockerd` is `None` when it did not run).
#[derive(Debug)]
pub struct Pair<'a, T> {
    /// What the report calls the workload.
    pub label: String,
    /// wharfd's outcome.
    pub wharfd: &'a Outcome<T>,
    /// dockerd's outcome, when it ran.
    pub dockerd: Option<&'a Outcome<T>>,
}

impl<T> Pair<'_, T> {
    /// `f` of both results, when both succeeded.
    fn both<R>(&self, f: impl Fn(&T) -> R) -> Option<(R, R)> {
        match (self.wharfd, self.dockerd) {
            (Ok(w), Some(Ok(d))) => Some((f(w), f(d))),
            _ => None,
        }
    }

    /// A cell for each daemon: `f` of its result, `error`, or `n/a`.
    fn cells(&self, f: impl Fn(&T) -> String) -> (String, String) {
        let cell = |outcome: Option<&Outcome<T>>| match outcome {
            Some(Ok(result)) => f(result),
            Some(Err(_)) => "error".to_owned(),
            None => "n/a".to_owned(),
        };
        (cell(Some(self.wharfd)), cell(self.dockerd))
    }

    /// Prints `  <daemon>: <label>: <error>` for each daemon that failed.
    fn print_errors(&self) {
        for (name, outcome) in [("wharfd", Some(self.wharfd)), ("dockerd", self.dockerd)] {
            if let Some(Err(err)) = outcome {
                println!("  {name}: {}: {err}", self.label);
            }
        }
    }
}

/// Prints the container lifecycle table: wall time for all, its ratio, and each lifecycle's mean/p99.
pub fn print_lifecycles(rows: &[Pair<'_, Lifecycles>], heading: &str) {
    println!("\n{heading}");
    println!(
        "{:<28} {:>12} {:>12} {:>8} {:<12} {:>17} {:>17}",
        "workload",
        "wharfd wall",
        "dockerd wall",
        "ratio",
        "target",
        "wharfd mean/p99",
        "dockerd mean/p99"
    );
    for row in rows {
        let ratio = row.both(|l| l.wall.as_secs_f64()).map(|(w, d)| w / d);
        let (wharfd_wall, dockerd_wall) = row.cells(|l| fmt_wall(l.wall));
        let (wharfd_each, dockerd_each) = row.cells(mean_p99);
        println!(
            "{:<28} {:>12} {:>12} {:>8} {:<12} {:>17} {:>17}",
            row.label,
            wharfd_wall,
            dockerd_wall,
            fmt_ratio(ratio),
            LIFECYCLE_TARGET.verdict(ratio),
            wharfd_each,
            dockerd_each,
        );
    }
    for row in rows {
        row.print_errors();
    }
}

/// Prints what the default seccomp filter costs a lifecycle, one at a time: the median lifecycle with it
/// less the median without (runc compiles the filter for every container).
pub fn print_filter_cost(
    filtered: &Option<Outcome<Lifecycles>>,
    unconfined: &Option<Outcome<Lifecycles>>,
    dockerd: Option<&ContainerResults>,
) {
    let cost = |filtered: &Option<Outcome<Lifecycles>>,
                unconfined: &Option<Outcome<Lifecycles>>| {
        let median =
            |l: &Option<Outcome<Lifecycles>>| l.as_ref()?.as_ref().ok()?.latencies.percentile(50.0);
        let (with, without) = (median(filtered)?, median(unconfined)?);
        Some(format!(
            "{:.1} ms ({:.1} with, {:.1} without)",
            (with.as_secs_f64() - without.as_secs_f64()) * 1e3,
            with.as_secs_f64() * 1e3,
            without.as_secs_f64() * 1e3
        ))
    };
    let na = || "n/a".to_owned();
    let wharfd = cost(filtered, unconfined).unwrap_or_else(na);
    let dockerd = dockerd
        .and_then(|d| cost(&d.sequential, &d.unconfined))
        .unwrap_or_else(na);
    println!("default seccomp filter, per lifecycle (median): wharfd {wharfd}; dockerd {dockerd}");
}

/// Prints the throughput table.
pub fn print_loads(rows: &[LoadRow<'_>], heading: &str) {
    println!("\n{heading}");
    println!(
        "{:<20} {:<9} {:>12} {:>13} {:>8} {:<12} {:>17} {:>17} {:>9} {:<12}",
        "workload",
        "transport",
        "wharfd req/s",
        "dockerd req/s",
        "ratio",
        "target",
        "wharfd p50/p99",
        "dockerd p50/p99",
        "p99 ratio",
        "target"
    );
    for row in rows {
        let w = row.workload;
        let ratio = row.dockerd.map(|d| row.wharfd.rps() / d.rps());
        let p99 = |r: &LoadResult| r.latencies.percentile(99.0);
        let p99_ratio = row
            .dockerd
            .and_then(|d| Some(p99(row.wharfd)?.as_secs_f64() / p99(d)?.as_secs_f64()));
        println!(
            "{:<20} {:<9} {:>12.0} {:>13} {:>8} {:<12} {:>17} {:>17} {:>9} {:<12}",
            w.label,
            w.transport_name(),
            row.wharfd.rps(),
            row.dockerd
                .map_or("n/a".into(), |d| format!("{:.0}", d.rps())),
            fmt_ratio(ratio),
            w.rps_target.verdict(ratio),
            p50_p99(row.wharfd),
            row.dockerd.map_or("n/a".into(), p50_p99),
            w.p99_target.map_or(String::new(), |_| fmt_ratio(p99_ratio)),
            w.p99_target
                .map_or(String::new(), |target| target.verdict(p99_ratio)),
        );
    }
    print_cpu(rows);
    for row in rows {
        for (name, result) in [("wharfd", Some(row.wharfd)), ("dockerd", row.dockerd)] {
            if let Some(result) = result.filter(|r| r.errors > 0) {
                println!(
                    "  note: {name} {} over {}: {} failed requests",
                    row.workload.label,
                    row.workload.transport_name(),
                    result.errors
                );
            }
        }
    }
}

/// Prints where the CPU went in each workload: the daemon's own CPU time per request (what a request
/// costs it, whatever the load generator's speed) and the load generator's share of a core (near 1.0, it
/// and not the daemon was the limit).
fn print_cpu(rows: &[LoadRow<'_>]) {
    if rows.iter().all(|row| row.wharfd.cpu.is_none()) {
        return;
    }
    println!(
        "\n{:<20} {:<9} {:>16} {:>17} {:>8} {:>15} {:>16}",
        "CPU per request",
        "transport",
        "wharfd us/req",
        "dockerd us/req",
        "ratio",
        "client (wharfd)",
        "client (dockerd)"
    );
    let per_request = |r: &LoadResult| r.daemon_cpu_per_request().map(|d| d.as_secs_f64() * 1e6);
    let micros = |us: Option<f64>| us.map_or("n/a".to_owned(), |us| format!("{us:.1}"));
    let cores = |r: Option<&LoadResult>| {
        r.and_then(LoadResult::client_cores)
            .map_or("n/a".to_owned(), |c| format!("{c:.2} core"))
    };
    for row in rows {
        let wharfd = per_request(row.wharfd);
        let dockerd = row.dockerd.and_then(per_request);
        let ratio = wharfd.zip(dockerd).map(|(w, d)| w / d);
        println!(
            "{:<20} {:<9} {:>16} {:>17} {:>8} {:>15} {:>16}",
            row.workload.label,
            row.workload.transport_name(),
            micros(wharfd),
            micros(dockerd),
            fmt_ratio(ratio),
            cores(Some(row.wharfd)),
            cores(row.dockerd),
        );
    }
}

/// Prints the memory and start-up table.
pub fn print_resources(r: &Resources) {
    println!();
    println!(
        "{:<44} {:>10} {:>10} {:>8} {:<12}",
        "measure", "wharfd", "dockerd", "ratio", "target"
    );
    let rss_ratio = r
        .dockerd_rss_kib
        .map(|d| r.wharfd_rss_kib as f64 / d as f64);
    println!(
        "{:<44} {:>10} {:>10} {:>8} {:<12}",
        "idle RSS (dockerd: its own process only)",
        fmt_mib(r.wharfd_rss_kib),
        r.dockerd_rss_kib.map_or("n/a".into(), fmt_mib),
        fmt_ratio(rss_ratio),
        RSS_TARGET.verdict(rss_ratio),
    );
    let start_ratio = r
        .dockerd_start
        .map(|d| r.wharfd_start.as_secs_f64() / d.as_secs_f64());
    println!(
        "{:<44} {:>10} {:>10} {:>8} {:<12}",
        format!("spawn to first /_ping 200 (median of {})", r.starts),
        fmt_ms(r.wharfd_start),
        r.dockerd_start.map_or("n/a".into(), fmt_ms),
        fmt_ratio(start_ratio),
        START_TARGET.verdict(start_ratio),
    );
}

fn p50_p99(result: &LoadResult) -> String {
    match (
        result.latencies.percentile(50.0),
        result.latencies.percentile(99.0),
    ) {
        (Some(p50), Some(p99)) => format!("{}/{}", fmt_ms(p50), fmt_ms(p99)),
        _ => "no samples".into(),
    }
}

/// Prints the container list's throughput and latency, with failed requests and clean-up failures
/// under it.
pub fn print_list(row: &Pair<'_, Listed>, heading: &str) {
    println!("\n{} {heading}", row.label);
    println!(
        "{:>12} {:>13} {:>8} {:<12} {:>17} {:>17}",
        "wharfd req/s", "dockerd req/s", "ratio", "target", "wharfd p50/p99", "dockerd p50/p99"
    );
    let ratio = row.both(|l| l.load.rps()).map(|(w, d)| w / d);
    let (wharfd_rps, dockerd_rps) = row.cells(|l| format!("{:.0}", l.load.rps()));
    let (wharfd_latency, dockerd_latency) = row.cells(|l| p50_p99(&l.load));
    println!(
        "{:>12} {:>13} {:>8} {:<12} {:>17} {:>17}",
        wharfd_rps,
        dockerd_rps,
        fmt_ratio(ratio),
        LIST_TARGET.verdict(ratio),
        wharfd_latency,
        dockerd_latency,
    );
    row.print_errors();
    for (name, outcome) in [("wharfd", Some(row.wharfd)), ("dockerd", row.dockerd)] {
        if let Some(Ok(listed)) = outcome {
            if listed.load.errors > 0 {
                println!("  note: {name}: {} failed requests", listed.load.errors);
            }
            if let Some(cleanup) = &listed.cleanup {
                println!("  note: {name}: {cleanup}");
            }
        }
    }
}

/// Prints resident memory after `first` and `last` lifecycles: the daemon's own process (the figure the
/// target applies to) and with its descendants (its containerd), and the growth between the samples.
pub fn print_memory(row: &Pair<'_, Memory>, first: usize, last: usize) {
    println!(
        "\nresident memory over container lifecycles ({first} then {last} since start; the daemon's own process, and with its descendants)"
    );
    println!(
        "{:<44} {:>16} {:>16} {:>8} {:<16}",
        "measure", "wharfd", "dockerd", "ratio", "target"
    );
    let rss_row = |label: String, rss: fn(&Memory) -> u64, target: Option<Target>| {
        let ratio = row.both(rss).map(|(w, d)| w as f64 / d as f64);
        let (wharfd, dockerd) = row.cells(|m| fmt_mib(rss(m)));
        let line = format!(
            "{:<44} {:>16} {:>16} {:>8} {:<16}",
            label,
            wharfd,
            dockerd,
            fmt_ratio(ratio),
            target.map_or(String::new(), |t| t.verdict(ratio)),
        );
        println!("{}", line.trim_end());
    };
    rss_row(
        format!("RSS after {first} lifecycles"),
        |m| m.first.own_kib,
        None,
    );
    rss_row(
        format!("RSS after {last} lifecycles"),
        |m| m.last.own_kib,
        Some(RSS_TARGET),
    );
    rss_row(
        format!("RSS after {last} lifecycles, with descendants"),
        |m| m.last.tree_kib,
        None,
    );
    let growth_row = |label: String, rss: fn(&TreeRss) -> u64, judged: bool| {
        let (wharfd, dockerd) = row.cells(|m| fmt_growth(rss(&m.first), rss(&m.last)));
        let verdict = if judged {
            growth_verdict(
                row.wharfd
                    .as_ref()
                    .ok()
                    .map(|m| (rss(&m.first), rss(&m.last))),
            )
        } else {
            String::new()
        };
        let line = format!(
            "{:<44} {:>16} {:>16} {:>8} {:<16}",
            label, wharfd, dockerd, "", verdict
        );
        println!("{}", line.trim_end());
    };
    growth_row(format!("growth {first} -> {last}"), |r| r.own_kib, true);
    growth_row(
        format!("growth {first} -> {last}, with descendants"),
        |r| r.tree_kib,
        false,
    );
    row.print_errors();
    for (name, outcome) in [("wharfd", Some(row.wharfd)), ("dockerd", row.dockerd)] {
        if let Some(Ok(memory)) = outcome {
            let descendants = &memory.last.descendants;
            println!(
                "  {name}'s descendants at the last sample: {}",
                if descendants.is_empty() {
                    "none".to_owned()
                } else {
                    descendants.join(", ")
                }
            );
        }
    }
}

/// Prints the stream table: throughput (median MiB/s) of the log and exec output, `exec true`'s and the
/// keystroke echo's p50/p99; ratios against dockerd's, the keystroke against its absolute goal.
pub fn print_streams(wharfd: &StreamResults, dockerd: Option<&StreamResults>, heading: &str) {
    println!("\n{heading}");
    println!(
        "{:<40} {:>17} {:>17} {:>8} {:<16}",
        "workload", "wharfd", "dockerd", "ratio", "target"
    );
    let mib_s = |t: &Throughput| {
        t.mib_per_s()
            .map_or("no samples".into(), |r| format!("{r:.0} MiB/s"))
    };
    let throughput = |label: &str, pick: fn(&StreamResults) -> &Option<Outcome<Throughput>>| {
        let Some(w) = pick(wharfd) else { return };
        let row = Pair {
            label: label.to_owned(),
            wharfd: w,
            dockerd: dockerd.and_then(|d| pick(d).as_ref()),
        };
        let ratio = row
            .both(Throughput::mib_per_s)
            .and_then(|(w, d)| Some(w? / d?));
        let (wc, dc) = row.cells(mib_s);
        println!(
            "{:<40} {:>17} {:>17} {:>8} {:<16}",
            row.label,
            wc,
            dc,
            fmt_ratio(ratio),
            STREAM_TARGET.verdict(ratio)
        );
        row.print_errors();
    };
    throughput("docker logs (GET /containers/{id}/logs)", |r| &r.logs);
    throughput("exec output, attached (hijacked)", |r| &r.exec_output);
    if let Some(w) = &wharfd.exec_true {
        let row = Pair {
            label: "`exec true` round trip p50/p99".to_owned(),
            wharfd: w,
            dockerd: dockerd.and_then(|d| d.exec_true.as_ref()),
        };
        let p50 = |l: &Latencies| l.percentile(50.0).map(|d| d.as_secs_f64());
        let ratio = row.both(p50).and_then(|(w, d)| Some(w? / d?));
        let (wc, dc) = row.cells(latency_cell);
        println!(
            "{:<40} {:>17} {:>17} {:>8} {:<16}",
            row.label,
            wc,
            dc,
            fmt_ratio(ratio),
            format!("p50 {}", EXEC_TRIP_TARGET.verdict(ratio))
        );
        row.print_errors();
    }
    let keystroke_rows = [
        ("keystroke echo, WS exec, unix p50/p99", &wharfd.keystrokes),
        (
            "keystroke echo, WS exec, mTLS p50/p99",
            &wharfd.keystrokes_tls,
        ),
    ];
    for (label, outcome) in keystroke_rows {
        let Some(w) = outcome else { continue };
        let row = Pair {
            label: label.to_owned(),
            wharfd: w,
            dockerd: None,
        };
        let (wc, _) = row.cells(latency_cell);
        println!(
            "{:<40} {:>17} {:>17} {:>8} {:<16}",
            row.label,
            wc,
            "no route",
            "",
            keystroke_verdict(w.as_ref().ok())
        );
        row.print_errors();
    }
}

/// `p50<=1.00ms PASS` when the keystrokes' median is within [`KEYSTROKE_P50`].
fn keystroke_verdict(latencies: Option<&Latencies>) -> String {
    let verdict = match latencies.and_then(|l| l.percentile(50.0)) {
        Some(p50) if p50 <= KEYSTROKE_P50 => "PASS",
        Some(_) => "MISS",
        None => "n/a",
    };
    format!("p50<={} {verdict}", fmt_ms(KEYSTROKE_P50))
}

fn latency_cell(l: &Latencies) -> String {
    match (l.percentile(50.0), l.percentile(99.0)) {
        (Some(p50), Some(p99)) => format!("{}/{}", fmt_ms(p50), fmt_ms(p99)),
        _ => "no samples".into(),
    }
}

/// `+1.2MiB (+3.4%)`.
fn fmt_growth(first_kib: u64, last_kib: u64) -> String {
    let delta = last_kib as f64 - first_kib as f64;
    format!(
        "{:+.1}MiB ({:+.1}%)",
        delta / 1024.0,
        100.0 * delta / first_kib.max(1) as f64
    )
}

/// For the (first, last) samples in KiB: PASS when the growth is within [`GROWTH_LIMIT_KIB`] or
/// [`GROWTH_LIMIT_FRACTION`] of the first, `n/a` without samples.
fn growth_verdict(samples: Option<(u64, u64)>) -> String {
    let verdict = match samples {
        Some((first_kib, last_kib)) => {
            let growth = last_kib.saturating_sub(first_kib);
            let limit = GROWTH_LIMIT_KIB.max((first_kib as f64 * GROWTH_LIMIT_FRACTION) as u64);
            if growth <= limit {
                "PASS"
            } else {
                "MISS"
            }
        }
        None => "n/a",
    };
    format!("<=1MiB|5% {verdict}")
}

fn mean_p99(l: &Lifecycles) -> String {
    match (l.latencies.mean(), l.latencies.percentile(99.0)) {
        (Some(mean), Some(p99)) => format!("{}/{}", fmt_ms(mean), fmt_ms(p99)),
        _ => "no samples".into(),
    }
}

/// Seconds from 10 s up, else milliseconds.
fn fmt_wall(d: Duration) -> String {
    if d >= Duration::from_secs(10) {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        fmt_ms(d)
    }
}

/// Milliseconds, with two decimals under 10 ms.
pub fn fmt_ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2}ms")
    } else {
        format!("{ms:.0}ms")
    }
}

fn fmt_mib(kib: u64) -> String {
    format!("{:.1}MiB", kib as f64 / 1024.0)
}

pub fn fmt_ratio(ratio: Option<f64>) -> String {
    match ratio {
        Some(r) if r >= 10.0 => format!("{r:.0}x"),
        Some(r) => format!("{r:.2}x"),
        None => "n/a".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_compare_in_the_right_direction() {
        assert_eq!(Target::AtLeast(3.0).verdict(Some(3.5)), ">=3x PASS");
        assert_eq!(Target::AtLeast(3.0).verdict(Some(2.9)), ">=3x MISS");
        assert_eq!(Target::AtMost(0.25).verdict(Some(0.2)), "<=1/4 PASS");
        assert_eq!(Target::AtMost(0.2).verdict(Some(0.3)), "<=1/5 MISS");
        assert_eq!(Target::AtLeast(50.0).verdict(None), ">=50x n/a");
        assert_eq!(Target::AtMost(0.7).verdict(Some(0.5)), "<=0.7x PASS");
        assert_eq!(Target::AtMost(1.0 / 3.0).verdict(Some(0.5)), "<=1/3 MISS");
    }

    #[test]
    fn durations_and_sizes_are_readable() {
        assert_eq!(fmt_ms(Duration::from_micros(1234)), "1.23ms");
        assert_eq!(fmt_ms(Duration::from_millis(250)), "250ms");
        assert_eq!(fmt_mib(2048), "2.0MiB");
        assert_eq!(fmt_ratio(Some(0.5)), "0.50x");
        assert_eq!(fmt_wall(Duration::from_millis(9_500)), "9500ms");
        assert_eq!(fmt_wall(Duration::from_millis(12_340)), "12.3s");
        assert_eq!(fmt_growth(10_240, 10_752), "+0.5MiB (+5.0%)");
        assert_eq!(fmt_growth(2048, 1024), "-1.0MiB (-50.0%)");
    }

    #[test]
    fn growth_within_a_mebibyte_or_five_percent_is_none() {
        assert_eq!(growth_verdict(Some((10_000, 11_000))), "<=1MiB|5% PASS");
        assert_eq!(growth_verdict(Some((10_000, 12_000))), "<=1MiB|5% MISS");
        assert_eq!(growth_verdict(Some((100_000, 105_000))), "<=1MiB|5% PASS");
        assert_eq!(growth_verdict(Some((100_000, 106_000))), "<=1MiB|5% MISS");
        assert_eq!(growth_verdict(Some((100_000, 90_000))), "<=1MiB|5% PASS");
        assert_eq!(growth_verdict(None), "<=1MiB|5% n/a");
    }

    #[test]
    fn a_keystroke_is_judged_by_its_median_against_a_millisecond() {
        let us = |n| Duration::from_micros(n);
        let fast = Latencies::new(vec![us(300), us(400), us(5000)]);
        assert_eq!(keystroke_verdict(Some(&fast)), "p50<=1.00ms PASS");
        let slow = Latencies::new(vec![us(300), us(1001), us(1200)]);
        assert_eq!(keystroke_verdict(Some(&slow)), "p50<=1.00ms MISS");
        assert_eq!(keystroke_verdict(None), "p50<=1.00ms n/a");
    }
}
