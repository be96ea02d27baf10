//! Separate cores for the daemon and the load generator.
//!
//! On a small machine the load generator competes with the daemon it drives: over mutual TLS it needs
//! about as much CPU per request as wharfd does, so with both on the same cores a throughput ratio says
//! as much about the client as about the daemons. Pinned, each daemon gets the same cores to itself and
//! the client the others, as with a load generator on another machine. A daemon started while the
//! calling thread is pinned inherits the mask at exec, before its runtime sizes itself (Go's GOMAXPROCS
//! and tokio's worker count both follow the affinity mask), and so do its children (containerd).

use anyhow::{Context, Result};
use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::unistd::Pid;

/// The two disjoint sets of CPUs.
#[derive(Clone, Copy)]
pub struct CpuSplit {
    all: CpuSet,
    daemon: CpuSet,
    client: CpuSet,
    daemon_cpus: usize,
    client_cpus: usize,
}

impl std::fmt::Debug for CpuSplit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.describe())
    }
}

impl CpuSplit {
    /// Halves the CPUs this process may use: the first half (rounded up) for the daemon, the rest for
    /// the load generator. `None` with a single CPU.
    pub fn halve() -> Result<Option<Self>> {
        let allowed = sched_getaffinity(Pid::from_raw(0)).context("reading the CPU affinity")?;
        let cpus: Vec<usize> = (0..CpuSet::count())
            .filter(|&cpu| allowed.is_set(cpu).unwrap_or(false))
            .collect();
        if cpus.len() < 2 {
            return Ok(None);
        }
        let (daemon_cpus, client_cpus) = cpus.split_at(cpus.len().div_ceil(2));
        let split = Self {
            all: allowed,
            daemon: set_of(daemon_cpus)?,
            client: set_of(client_cpus)?,
            daemon_cpus: daemon_cpus.len(),
            client_cpus: client_cpus.len(),
        };
        Ok(Some(split))
    }

    /// Moves the calling thread (the load generator's) to the client's CPUs.
    pub fn pin_client(&self) -> Result<()> {
        pin_self(&self.client)
    }

    /// Gives the calling thread back every CPU it started with.
    pub fn unpin(&self) -> Result<()> {
        pin_self(&self.all)
    }

    /// Runs `start` (which spawns a daemon) with the calling thread on the daemon's CPUs, then moves
    /// the thread back to the load generator's.
    pub fn on_daemon_cpus<T>(&self, start: impl FnOnce() -> Result<T>) -> Result<T> {
        pin_self(&self.daemon)?;
        let started = start();
        pin_self(&self.client)?;
        started
    }

    /// For the report: "daemon on 1 CPU, load generator on 1".
    pub fn describe(&self) -> String {
        let plural = if self.daemon_cpus == 1 { "" } else { "s" };
        format!(
            "daemon on {} CPU{plural}, load generator on {}",
            self.daemon_cpus, self.client_cpus
        )
    }
}

fn set_of(cpus: &[usize]) -> Result<CpuSet> {
    let mut set = CpuSet::new();
    for &cpu in cpus {
        set.set(cpu).context("CPU number out of range")?;
    }
    Ok(set)
}

fn pin_self(set: &CpuSet) -> Result<()> {
    sched_setaffinity(Pid::from_raw(0), set).context("setting the CPU affinity")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CPUs a process may run on, from its `Cpus_allowed_list` ("0", "0-3", "0,2-3").
    fn allowed_cpus(pid: u32) -> Vec<usize> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let list = status
            .lines()
            .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
            .unwrap();
        let mut cpus = Vec::new();
        for part in list.trim().split(',') {
            let (first, last) = part.split_once('-').unwrap_or((part, part));
            cpus.extend(first.parse::<usize>().unwrap()..=last.parse().unwrap());
        }
        cpus
    }

    fn cpus_of(set: &CpuSet) -> Vec<usize> {
        (0..CpuSet::count())
            .filter(|&cpu| set.is_set(cpu).unwrap())
            .collect()
    }

    #[test]
    fn a_daemon_started_on_its_half_keeps_it_and_the_caller_moves_to_the_other() {
        // The test's own thread, so that other tests keep their CPUs.
        std::thread::spawn(|| {
            let Some(split) = CpuSplit::halve().unwrap() else {
                eprintln!("one CPU: nothing to split");
                return;
            };
            let (daemon, client) = (cpus_of(&split.daemon), cpus_of(&split.client));
            assert!(!daemon.is_empty() && !client.is_empty());
            assert!(daemon.iter().all(|cpu| !client.contains(cpu)));
            assert_eq!(daemon.len() + client.len(), cpus_of(&split.all).len());

            let mut child = split
                .on_daemon_cpus(|| Ok(std::process::Command::new("sleep").arg("5").spawn()?))
                .unwrap();
            let child_cpus = allowed_cpus(child.id());
            child.kill().unwrap();
            child.wait().unwrap();
            assert_eq!(child_cpus, daemon);
            let mine = sched_getaffinity(Pid::from_raw(0)).unwrap();
            assert_eq!(cpus_of(&mine), client);

            split.unpin().unwrap();
            let mine = sched_getaffinity(Pid::from_raw(0)).unwrap();
            assert_eq!(cpus_of(&mine), cpus_of(&split.all));
        })
        .join()
        .unwrap();
    }
}
