//! CPU time from `/proc`: how much of the two cores each side of a workload used. A throughput ratio alone
//! cannot say whether a daemon or the load generator was the limit; the daemon's CPU time per request
//! can, and the load generator's share of a core says how close it came to being the bottleneck.

use std::time::Duration;

use anyhow::{Context, Result};

/// User plus system CPU time of process `pid` (all its threads) so far.
pub fn cpu_time(pid: u32) -> Result<Duration> {
    stat_cpu_time(&format!("/proc/{pid}/stat"))
}

/// `utime + stime` in clock ticks: fields 14 and 15 of `pid (comm) state ...`, counted after `comm`,
/// which may hold spaces and parentheses and so ends at the last `)`.
fn parse_ticks(stat: &str) -> Option<u64> {
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// User plus system CPU time of the calling thread so far (`/proc/thread-self/stat`).
#[cfg(test)]
pub fn this_thread_cpu_time() -> Result<Duration> {
    stat_cpu_time("/proc/thread-self/stat")
}

/// The CPU time in a `/proc/.../stat` file.
fn stat_cpu_time(path: &str) -> Result<Duration> {
    let stat = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let ticks = parse_ticks(&stat).with_context(|| format!("no CPU times in {path}"))?;
    Ok(ticks_to_duration(ticks))
}

fn ticks_to_duration(ticks: u64) -> Duration {
    let per_second = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|t| u64::try_from(t).ok())
        .filter(|&t| t > 0)
        .unwrap_or(100);
    Duration::from_nanos(ticks.saturating_mul(1_000_000_000) / per_second)
}

/// CPU used by a daemon and by the load generator over a measured window.
#[derive(Debug, Clone, Copy)]
pub struct CpuUse {
    /// The daemon's own process.
    pub daemon: Duration,
    /// This process (the load generator).
    pub client: Duration,
}

/// A reading of both processes at one moment.
#[derive(Debug, Clone, Copy)]
pub struct CpuReading {
    daemon: Duration,
    client: Duration,
}

impl CpuReading {
    /// Reads daemon `pid` and this process now.
    pub fn now(pid: u32) -> Result<Self> {
        Ok(Self {
            daemon: cpu_time(pid)?,
            client: cpu_time(std::process::id())?,
        })
    }

    /// What was used between `self` and the later reading `end`.
    pub fn until(self, end: Self) -> CpuUse {
        CpuUse {
            daemon: end.daemon.saturating_sub(self.daemon),
            client: end.client.saturating_sub(self.client),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_user_and_system_ticks_after_the_name() {
        let stat = "42 (a (b) c) R 1 42 42 0 -1 4194304 100 0 0 0 250 30 0 0 20 0 1 0";
        assert_eq!(parse_ticks(stat), Some(280));
        assert_eq!(parse_ticks("42 (x) R 1"), None);
    }

    #[test]
    fn a_busy_loop_shows_in_this_process() {
        // Spin until this thread has been charged 300 ms of CPU, however long a loaded machine takes to
        // give it that (a fixed wall-clock loop got only 60-90 ms of a core while other tests and
        // benchmarks ran), then the process's reading must show it too.
        let before = cpu_time(std::process::id()).unwrap();
        let thread_before = this_thread_cpu_time().unwrap();
        let started = std::time::Instant::now();
        let mut x = 0u64;
        while this_thread_cpu_time().unwrap() - thread_before < Duration::from_millis(300) {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "this thread was charged no CPU for its busy loop"
            );
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
        }
        let used = cpu_time(std::process::id()).unwrap() - before;
        // All threads' time, this one's included; clock ticks are 10 ms and both readings round down.
        assert!(used >= Duration::from_millis(250), "{used:?}");
    }
}
