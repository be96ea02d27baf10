//! The container workloads, each daemon on a fresh start of its own (so that its history is only
//! this): import the busybox image, then time create+start+wait+remove of `true`, one lifecycle at a
//! time and by parallel workers. A daemon that answers an error (wharfd before its container runtime)
//! gets that error in its column; the run goes on.

use std::time::Duration;

use anyhow::Result;
use wharf_tests::{Binaries, DevCerts};

use super::api::Api;
use super::daemons::Kind;
use super::stats::Latencies;
use super::workers;

/// The image both daemons import and run, as `repo` and `tag`.
pub const IMAGE: (&str, &str) = ("wharf-bench", "latest");

/// The container every workload creates: `true` in the bench image. `NetworkMode: default` is what the
/// docker CLI sends; on the bench's dockerd (`--bridge=none`) it gives the container a fresh network
/// namespace with only loopback, as wharfd gives it. `none` isolates the same way but costs dockerd a
/// libnetwork sandbox per container (measured on the 2-core VM: 410 against 260 ms per lifecycle), so
/// `default` holds wharfd to dockerd's fastest path.
const CONTAINER: &str =
    r#"{"Image":"wharf-bench:latest","Cmd":["true"],"HostConfig":{"NetworkMode":"default"}}"#;

/// How much of each workload; 0 skips it.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    /// Lifecycles one at a time.
    pub sequential: usize,
    /// Lifecycles in all across the parallel workers.
    pub parallel: usize,
    /// Parallel workers (each its own thread and connections).
    pub workers: usize,
}

/// A workload's result, or why it has none, worded for the report.
pub type Outcome<T> = Result<T, String>;

/// Timed lifecycles.
#[derive(Debug)]
pub struct Lifecycles {
    /// From the first create to the last remove.
    pub wall: Duration,
    /// Each lifecycle's time.
    pub latencies: Latencies,
}

/// What one daemon did; `None` for a workload whose count is 0.
#[derive(Debug)]
pub struct ContainerResults {
    /// Lifecycles one at a time.
    pub sequential: Option<Outcome<Lifecycles>>,
    /// Lifecycles on parallel workers.
    pub parallel: Option<Outcome<Lifecycles>>,
}

impl ContainerResults {
    /// Every workload of `counts` failed with `why`.
    fn failed(counts: Counts, why: &str) -> Self {
        let failed = |count: usize| (count > 0).then(|| Err(why.to_owned()));
        Self {
            sequential: failed(counts.sequential),
            parallel: failed(counts.parallel),
        }
    }
}

/// Starts `kind`, imports `image` (a rootfs tar) and drives every workload of `counts`.
pub fn measure(
    kind: Kind,
    bins: &Binaries,
    certs: &DevCerts,
    image: &[u8],
    counts: Counts,
) -> ContainerResults {
    let name = kind.name();
    println!("xtask bench: starting {name} for the container workloads");
    let mut daemon = match kind.start(bins, certs) {
        Ok(daemon) => daemon,
        Err(err) => return ContainerResults::failed(counts, &format!("starting: {err:#}")),
    };
    let api = Api::new(daemon.endpoints().socket());
    let results = match api.import(image, IMAGE.0, IMAGE.1) {
        Ok(()) => drive(name, &api, counts),
        Err(err) => ContainerResults::failed(counts, &format!("importing the image: {err:#}")),
    };
    if let Err(err) = daemon.stop() {
        println!("xtask bench: stopping {name}: {err:#}");
    }
    results
}

fn drive(name: &str, api: &Api, counts: Counts) -> ContainerResults {
    let sequential = (counts.sequential > 0).then(|| {
        println!(
            "xtask bench: {name}: {} lifecycles of `true`, one at a time",
            counts.sequential
        );
        lifecycles(api, counts.sequential, 1)
    });
    let parallel = (counts.parallel > 0).then(|| {
        println!(
            "xtask bench: {name}: {} lifecycles of `true` on {} workers",
            counts.parallel, counts.workers
        );
        lifecycles(api, counts.parallel, counts.workers)
    });
    ContainerResults {
        sequential,
        parallel,
    }
}

/// `count` lifecycles on `workers` threads.
fn lifecycles(api: &Api, count: usize, workers: usize) -> Outcome<Lifecycles> {
    let run = workers::run(count, workers, |_| lifecycle(api));
    if let Some(err) = run.error {
        return Err(format!(
            "{err:#} (after {} of {count} lifecycles)",
            run.outputs.len()
        ));
    }
    Ok(Lifecycles {
        wall: run.wall,
        latencies: Latencies::new(run.latencies),
    })
}

/// Create, start, wait for exit 0, remove; a container left by a failed step is force-removed.
fn lifecycle(api: &Api) -> Result<()> {
    let id = api.create(CONTAINER)?;
    let ran = api
        .start(&id)
        .and_then(|()| api.wait(&id))
        .and_then(|code| {
            anyhow::ensure!(code == 0, "`true` exited with {code}");
            Ok(())
        });
    match ran {
        Ok(()) => api.remove(&id, false),
        Err(err) => {
            let _ = api.remove(&id, true);
            Err(err)
        }
    }
}
