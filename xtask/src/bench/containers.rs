//! The container workloads, each daemon on a fresh start of its own (so that its history is only
//! this): import the busybox image; run lifecycles (create+start+wait+remove of `true`) on the parallel
//! workers, sampling resident memory after the 100th and the 500th since start; time lifecycles one at a
//! time and by parallel workers; then drive `GET /containers/json` with the load generator while the
//! daemon holds many (created) containers. A daemon that answers an error (wharfd before its container
//! runtime) gets that error in its column; the run goes on.

use std::time::Duration;

use anyhow::Result;
use tokio::runtime::Runtime;
use wharf_tests::{Binaries, DevCerts};

use super::api::Api;
use super::connect::Transport;
use super::daemons::Kind;
use super::load::{self, LoadConfig, LoadResult};
use super::procs::{self, TreeRss};
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

/// [`CONTAINER`] without a seccomp filter: the difference is what compiling and loading the default
/// filter costs a lifecycle (runc compiles it for every container).
const UNCONFINED: &str = r#"{"Image":"wharf-bench:latest","Cmd":["true"],"HostConfig":{"NetworkMode":"default","SecurityOpt":["seccomp=unconfined"]}}"#;

/// The list workload's request: every container, running or not.
pub const LIST_PATH: &str = "/v1.41/containers/json?all=1";

/// The pause before a memory sample, for the daemon to finish what the last lifecycle left (as before
/// the idle memory sample).
const SETTLE: Duration = Duration::from_secs(2);

/// What the container workloads run with.
#[derive(Debug)]
pub struct Setup<'a> {
    /// The daemons' binaries.
    pub bins: &'a Binaries,
    /// The certificates of their TLS listeners.
    pub certs: &'a DevCerts,
    /// The image, a rootfs tar.
    pub image: &'a [u8],
    /// How much of each workload.
    pub counts: Counts,
    /// The load generator's runtime, for the list workload.
    pub runtime: &'a Runtime,
    /// Its connections, warm-up and measured window.
    pub load: LoadConfig,
}

/// How much of each workload; 0 skips it.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    /// Lifecycles one at a time.
    pub sequential: usize,
    /// Lifecycles in all across the parallel workers.
    pub parallel: usize,
    /// Parallel workers (each its own thread and connections).
    pub workers: usize,
    /// Containers present while `GET /containers/json` is driven.
    pub listed: usize,
    /// Lifecycles before the first memory sample.
    pub rss_first: usize,
    /// Lifecycles before the last memory sample (at least `rss_first`); 0 skips the memory workload.
    pub rss_last: usize,
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

/// `GET /containers/json` driven while the daemon held the containers.
#[derive(Debug)]
pub struct Listed {
    /// What the load generator measured.
    pub load: LoadResult,
    /// Why removing the containers afterwards failed, if it did.
    pub cleanup: Option<String>,
}

/// Resident memory after `rss_first` and after `rss_last` lifecycles.
#[derive(Debug)]
pub struct Memory {
    pub first: TreeRss,
    pub last: TreeRss,
}

/// What one daemon did; `None` for a workload whose count is 0.
#[derive(Debug)]
pub struct ContainerResults {
    /// Memory over lifecycles.
    pub memory: Option<Outcome<Memory>>,
    /// Lifecycles one at a time.
    pub sequential: Option<Outcome<Lifecycles>>,
    /// Lifecycles one at a time, unconfined (`seccomp=unconfined`).
    pub unconfined: Option<Outcome<Lifecycles>>,
    /// Lifecycles on parallel workers.
    pub parallel: Option<Outcome<Lifecycles>>,
    /// The container list under load.
    pub list: Option<Outcome<Listed>>,
}

impl ContainerResults {
    /// Every workload of `counts` failed with `why`.
    fn failed(counts: Counts, why: &str) -> Self {
        Self {
            memory: failed(counts.rss_last, why),
            sequential: failed(counts.sequential, why),
            unconfined: failed(counts.sequential, why),
            parallel: failed(counts.parallel, why),
            list: failed(counts.listed, why),
        }
    }
}

/// `why` as the outcome of a workload of `count`, none when it is skipped.
fn failed<T>(count: usize, why: &str) -> Option<Outcome<T>> {
    (count > 0).then(|| Err(why.to_owned()))
}

/// Starts `kind`, imports the image and drives every workload.
pub fn measure(kind: Kind, setup: &Setup<'_>) -> ContainerResults {
    let name = kind.name();
    let counts = setup.counts;
    println!("xtask bench: starting {name} for the container workloads");
    let mut daemon = match kind.start(setup.bins, setup.certs) {
        Ok(daemon) => daemon,
        Err(err) => return ContainerResults::failed(counts, &format!("starting: {err:#}")),
    };
    let socket = daemon.endpoints().socket().to_owned();
    let api = Api::new(&socket);
    let results = match api.import(setup.image, IMAGE.0, IMAGE.1) {
        Ok(()) => drive(name, &api, &Transport::Unix(socket), daemon.pid(), setup),
        Err(err) => ContainerResults::failed(counts, &format!("importing the image: {err:#}")),
    };
    if let Err(err) = daemon.stop() {
        println!("xtask bench: stopping {name}: {err:#}");
    }
    results
}

/// Memory first, so that its samples come after exactly the 100th and the 500th lifecycle since start;
/// then the timed lifecycles and the list.
fn drive(name: &str, api: &Api, unix: &Transport, pid: u32, setup: &Setup<'_>) -> ContainerResults {
    let counts = setup.counts;
    let memory = (counts.rss_last > 0).then(|| {
        println!(
            "xtask bench: {name}: {} lifecycles of `true` on {} workers, memory after {} and {}",
            counts.rss_last, counts.workers, counts.rss_first, counts.rss_last
        );
        memory(api, pid, counts)
    });
    let sequential = (counts.sequential > 0).then(|| {
        println!(
            "xtask bench: {name}: {} lifecycles of `true`, one at a time",
            counts.sequential
        );
        lifecycles(api, CONTAINER, counts.sequential, 1)
    });
    let unconfined = (counts.sequential > 0).then(|| {
        println!(
            "xtask bench: {name}: {} lifecycles of `true`, one at a time, seccomp=unconfined",
            counts.sequential
        );
        lifecycles(api, UNCONFINED, counts.sequential, 1)
    });
    let parallel = (counts.parallel > 0).then(|| {
        println!(
            "xtask bench: {name}: {} lifecycles of `true` on {} workers",
            counts.parallel, counts.workers
        );
        lifecycles(api, CONTAINER, counts.parallel, counts.workers)
    });
    let list = (counts.listed > 0).then(|| {
        println!(
            "xtask bench: {name}: GET /containers/json with {} containers",
            counts.listed
        );
        list(api, unix, setup)
    });
    ContainerResults {
        memory,
        sequential,
        unconfined,
        parallel,
        list,
    }
}

/// Lifecycles up to `rss_first`, a sample, lifecycles up to `rss_last`, a sample.
fn memory(api: &Api, pid: u32, counts: Counts) -> Outcome<Memory> {
    lifecycles(api, CONTAINER, counts.rss_first, counts.workers)?;
    let first = settle_and_sample(pid)?;
    lifecycles(
        api,
        CONTAINER,
        counts.rss_last.saturating_sub(counts.rss_first),
        counts.workers,
    )?;
    let last = settle_and_sample(pid)?;
    Ok(Memory { first, last })
}

fn settle_and_sample(pid: u32) -> Outcome<TreeRss> {
    std::thread::sleep(SETTLE);
    procs::tree_rss(pid).map_err(|err| format!("reading resident memory: {err:#}"))
}

/// Creates the containers (not started), drives the list with the load generator, removes them.
fn list(api: &Api, unix: &Transport, setup: &Setup<'_>) -> Outcome<Listed> {
    let Counts {
        listed, workers, ..
    } = setup.counts;
    let created = workers::run(listed, workers, |_| api.create(CONTAINER));
    let ids = created.outputs;
    let load = match created.error {
        Some(err) => Err(format!(
            "creating {listed} containers: {err:#} (after {} created)",
            ids.len()
        )),
        None => drive_list(api, unix, setup),
    };
    let removed = workers::run(ids.len(), workers, |i| api.remove(&ids[i], false));
    let cleanup = removed
        .error
        .map(|err| format!("removing the listed containers: {err:#}"));
    load.map(|load| Listed { load, cleanup })
}

/// Checks that the daemon lists exactly the containers created, then drives the list.
fn drive_list(api: &Api, unix: &Transport, setup: &Setup<'_>) -> Outcome<LoadResult> {
    let expected = setup.counts.listed;
    let listed = api.count_all().map_err(|err| format!("{err:#}"))?;
    if listed != expected {
        return Err(format!(
            "GET {LIST_PATH} lists {listed} containers where {expected} were created"
        ));
    }
    let load = setup
        .runtime
        .block_on(load::drive(unix, LIST_PATH, setup.load, None))
        .map_err(|err| format!("driving GET {LIST_PATH}: {err:#}"))?;
    if load.ok == 0 {
        return Err(format!(
            "GET {LIST_PATH}: no request succeeded ({} failed)",
            load.errors
        ));
    }
    Ok(load)
}

/// `count` lifecycles of `container` on `workers` threads.
fn lifecycles(api: &Api, container: &str, count: usize, workers: usize) -> Outcome<Lifecycles> {
    let run = workers::run(count, workers, |_| lifecycle(api, container));
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
fn lifecycle(api: &Api, container: &str) -> Result<()> {
    let id = api.create(container)?;
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
