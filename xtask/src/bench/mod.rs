//! `cargo xtask bench`: wharfd against the reference dockerd under the same conditions. Both get a unix
//! socket and a mutual-TLS listener on 127.0.0.1 with the same certificates; they are measured one after
//! the other (never concurrently) with the same workloads and concurrency. Also measured: idle resident
//! memory and spawn-to-first-ping time, and the container workloads (`containers.rs`) and the stream
//! workloads (`streams.rs`: logs, exec output, `exec true`, WebSocket keystrokes) and the registry
//! workloads (`registry.rs`: pull and push against a local registry) and `docker cp` (`cp.rs`) and the network
//! workloads (`network.rs`: TCP through a published port, start on the bridge) on fresh starts of each
//! daemon. Each ratio is printed next to the target.

mod api;
mod connect;
mod console;
mod containers;
mod cp;
mod cpu;
mod daemons;
mod flood;
mod load;
mod network;
mod pin;
mod procs;
mod registry;
mod report;
mod rootfs;
mod stats;
mod streams;
mod wire;
mod workers;

use std::time::Duration;

use anyhow::{Context, Result};
use wharf_tests::{process::rss_kib, Binaries, DevCerts, RefDockerd, TempDir};

use crate::{setup, workspace};
use connect::Transport;
use containers::{ContainerResults, Counts, Setup};
use daemons::{Daemon, Kind};
use load::{LoadConfig, LoadResult};
use pin::CpuSplit;
use report::{LoadRow, Pair, Resources, Target};

/// Options of `cargo xtask bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Do not check or install prerequisites.
    #[arg(long)]
    skip_setup: bool,
    /// Use the release binaries already built.
    #[arg(long)]
    no_build: bool,
    /// In the `split` placement, let the load generator sleep while it waits for responses (by
    /// default it busy-polls its own CPU, so that no daemon is charged for waking it).
    #[arg(long)]
    no_busy_poll: bool,
    /// Measured seconds per workload.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Unmeasured warm-up seconds per workload.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Starts per daemon for the start-up time median.
    #[arg(long, default_value_t = 3)]
    starts: usize,
    /// Load generator runtime threads: 0 runs every connection on the main thread (a current-thread
    /// runtime), N > 0 a multi-thread runtime with N workers. 0 measured best for both daemons on 2
    /// cores: no cross-thread wake-ups, and the client never takes more than one core from the daemon.
    #[arg(long, default_value_t = 0)]
    load_threads: usize,
    /// Where the HTTP workloads run: `split` gives each daemon one half of the CPUs and the load
    /// generator the other (as with a client on another machine), `shared` lets them compete for all,
    /// `both` runs split (judged against the targets) and then shared (for reference). A single CPU
    /// can only be shared.
    #[arg(long, value_enum, default_value_t = CpuPlacement::Both)]
    cpus: CpuPlacement,
    /// Leave out the container workloads.
    #[arg(long)]
    skip_containers: bool,
    /// Run only the container workloads (no HTTP workloads, idle memory or start times).
    #[arg(long, conflicts_with = "skip_containers")]
    containers_only: bool,
    /// Container lifecycles (create, start, wait, remove of `true`) one at a time; 0 skips them.
    #[arg(long, default_value_t = 50)]
    lifecycles: usize,
    /// Container lifecycles in all across the parallel workers; 0 skips them.
    #[arg(long, default_value_t = 80)]
    parallel_lifecycles: usize,
    /// Parallel workers for the container workloads.
    #[arg(long, default_value_t = 8)]
    workers: usize,
    /// Containers (created, not started) the daemon holds while `GET /containers/json` is driven with
    /// --connections, --warmup and --duration; 0 skips that workload.
    #[arg(long, default_value_t = 100)]
    list_containers: usize,
    /// Resident memory is sampled after this many container lifecycles (on the parallel workers)...
    #[arg(long, default_value_t = 100)]
    rss_first: usize,
    /// ...and again after this many in all; 0 skips the memory workload.
    #[arg(long, default_value_t = 500)]
    rss_last: usize,
    /// Authenticated pings (a new mutual-TLS connection each) timed while the TLS port is flooded; 0
    /// skips the flood workload.
    #[arg(long, default_value_t = 200)]
    flood_pings: usize,
    /// Idle sockets, reconnecting when dropped, that the flood holds on the TLS port.
    #[arg(long, default_value_t = 2000)]
    flood_sockets: usize,
    /// Run only the flood workload.
    #[arg(long, conflicts_with = "containers_only")]
    flood_only: bool,
    /// Leave out the stream workloads (logs, exec output, `exec true`, WebSocket keystrokes).
    #[arg(long)]
    skip_streams: bool,
    /// Run only the stream workloads.
    #[arg(long, conflicts_with_all = ["containers_only", "flood_only", "skip_streams"])]
    streams_only: bool,
    /// MiB of output (100-byte lines, 10485 to a MiB) behind `docker logs` and the exec output
    /// workloads; 0 skips both.
    #[arg(long, default_value_t = 100)]
    stream_mib: u64,
    /// Timed reads of the log and timed execs of the output, each (the median counts).
    #[arg(long, default_value_t = 3)]
    stream_rounds: usize,
    /// `exec true` round trips (create, start attached, read to the end, inspect); 0 skips them.
    #[arg(long, default_value_t = 100)]
    exec_trips: usize,
    /// Keystrokes echoed by `cat` over the WebSocket exec (wharfd only); 0 skips them.
    #[arg(long, default_value_t = 1000)]
    keystrokes: usize,
    /// Leave out the console workloads (Chromium against wharfd's console).
    #[arg(long)]
    skip_console: bool,
    /// Run only the console workloads.
    #[arg(long, conflicts_with_all = ["containers_only", "flood_only", "streams_only", "skip_console"])]
    console_only: bool,
    /// Containers in the console's larger table.
    #[arg(long, default_value_t = 1000)]
    console_containers: usize,
    /// Lines of the log the console loads and searches.
    #[arg(long, default_value_t = 100_000)]
    console_log_lines: usize,
    /// Leave out the registry workloads (pull and push against a local registry).
    #[arg(long)]
    skip_registry: bool,
    /// Run only the registry workloads.
    #[arg(long, conflicts_with_all = ["containers_only", "flood_only", "streams_only", "console_only", "skip_registry"])]
    registry_only: bool,
    /// Leave out the docker cp workload (100 MB into and out of a container).
    #[arg(long)]
    skip_cp: bool,
    /// Run only the docker cp workload.
    #[arg(long, conflicts_with_all = ["containers_only", "flood_only", "streams_only", "console_only", "registry_only", "skip_cp"])]
    cp_only: bool,
    /// Leave out the network workloads (TCP through a published port, start on the bridge).
    #[arg(long)]
    skip_network: bool,
    /// Run only the network workloads.
    #[arg(long, conflicts_with_all = ["containers_only", "flood_only", "streams_only", "console_only", "registry_only", "cp_only", "skip_network"])]
    network_only: bool,
}

/// Where the daemons and the load generator run during the HTTP workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CpuPlacement {
    /// Disjoint halves of the CPUs.
    Split,
    /// All CPUs for both.
    Shared,
    /// Split, then shared.
    Both,
}

/// One thing to drive.
#[derive(Debug)]
pub struct Workload {
    /// Its name in the report.
    pub label: &'static str,
    /// The request path (API 1.41 so that dockerd 20.10 accepts it).
    pub path: &'static str,
    /// Over mutual TLS rather than the unix socket.
    pub tls: bool,
    /// The req/s ratio goal.
    pub rps_target: Target,
    /// The p99 ratio goal, if any.
    pub p99_target: Option<Target>,
}

impl Workload {
    /// `unix` or `mTLS`.
    pub fn transport_name(&self) -> &'static str {
        if self.tls {
            "mTLS"
        } else {
            "unix"
        }
    }
}

const WORKLOADS: &[Workload] = &[
    Workload {
        label: "GET /_ping",
        path: "/_ping",
        tls: false,
        rps_target: Target::AtLeast(3.0),
        p99_target: Some(Target::AtMost(1.0 / 3.0)),
    },
    Workload {
        label: "GET /_ping",
        path: "/_ping",
        tls: true,
        rps_target: Target::AtLeast(3.0),
        p99_target: Some(Target::AtMost(1.0 / 3.0)),
    },
    Workload {
        label: "GET /v1.41/version",
        path: "/v1.41/version",
        tls: false,
        rps_target: Target::AtLeast(50.0),
        p99_target: None,
    },
];

/// Runs this same `bench` command from a release build of xtask. `cargo xtask` builds xtask unoptimized,
/// and an unoptimized client saturates before either daemon does (measured with the former hyper client:
/// both capped near 11k pings/s, where wrk drives wharfd past 50k), so the load generator must be
/// optimized to measure anything.
fn rerun_optimized() -> Result<()> {
    let status = workspace::cargo()
        .args(["run", "--quiet", "--release", "--package", "xtask", "--"])
        .args(std::env::args_os().skip(1))
        .status()
        .context("running the release build of xtask")?;
    anyhow::ensure!(status.success(), "the benchmark failed ({status})");
    Ok(())
}

/// What one daemon did: idle memory and one result per workload.
struct SideResult {
    /// Idle VmRSS, measured in the first placement only (the daemon's memory does not depend on it).
    rss_kib: Option<u64>,
    loads: Vec<LoadResult>,
}

/// Runs the whole comparison and prints the report.
pub fn bench(args: BenchArgs) -> Result<()> {
    if cfg!(debug_assertions) {
        return rerun_optimized();
    }
    anyhow::ensure!(
        args.duration > 0.0 && args.warmup >= 0.0 && args.connections > 0 && args.starts > 0,
        "--duration, --connections and --starts must be positive"
    );
    anyhow::ensure!(args.workers > 0, "--workers must be positive");
    anyhow::ensure!(
        args.stream_rounds > 0 || args.stream_mib == 0,
        "--stream-rounds must be positive"
    );
    anyhow::ensure!(
        args.rss_first <= args.rss_last,
        "--rss-first must not exceed --rss-last"
    );
    if !args.skip_setup {
        setup::ensure(setup::Needs::BENCH)?;
    }
    let release = if args.no_build {
        workspace::target_dir()?.join("release")
    } else {
        workspace::build_release_binaries()?
    };
    let bins = Binaries::in_dir(release);
    // Built before any daemon runs, so that the build does not take their CPUs; reported last.
    let web = (!args.registry_only && !args.cp_only && !args.network_only).then(crate::wasm::build);
    let console_sizes =
        if args.skip_console || args.registry_only || args.cp_only || args.network_only {
            None
        } else {
            Some(crate::console::build())
        };
    let certs_dir = TempDir::new("wb")?;
    let certs = DevCerts::generate(&bins.wharfd()?, certs_dir.path())?;
    let config = LoadConfig {
        connections: args.connections,
        warmup: Duration::from_secs_f64(args.warmup),
        duration: Duration::from_secs_f64(args.duration),
        busy_poll: false,
    };
    let runtime = match args.load_threads {
        0 => tokio::runtime::Builder::new_current_thread(),
        threads => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(threads);
            builder
        }
    }
    .enable_all()
    .build()
    .context("starting the load generator's runtime")?;

    let mut kinds = vec![Kind::Wharfd];
    match RefDockerd::unavailable() {
        None => kinds.push(Kind::Dockerd),
        Some(why) => println!("xtask bench: dockerd columns will be n/a: {why}"),
    }
    let only_other = args.containers_only
        || args.flood_only
        || args.streams_only
        || args.registry_only
        || args.cp_only
        || args.network_only;
    let console_config = console::ConsoleConfig {
        containers: args.console_containers.max(100),
        log_lines: args.console_log_lines,
    };
    let console = match console_sizes {
        Some(sizes) if !only_other => Some(console::run(&bins, &certs, sizes, console_config)),
        _ => None,
    };
    let http = if only_other || args.console_only {
        None
    } else {
        Some(http_and_resources(
            &runtime, &kinds, &bins, &certs, config, &args,
        )?)
    };
    let flood_config = flood::FloodConfig {
        sockets: args.flood_sockets,
        pings: args.flood_pings,
    };
    let floods = if (only_other && !args.flood_only) || args.flood_pings == 0 || args.console_only {
        Vec::new()
    } else {
        kinds
            .iter()
            .map(|&kind| flood::measure(&runtime, kind, &bins, &certs, flood_config))
            .collect::<Result<_>>()?
    };
    let containers =
        if args.skip_containers || (only_other && !args.containers_only) || args.console_only {
            None
        } else {
            container_workloads(&runtime, &kinds, &bins, &certs, config, &args)?
        };
    let stream_config = streams::StreamConfig {
        mib: args.stream_mib,
        rounds: args.stream_rounds,
        exec_trips: args.exec_trips,
        keystrokes: args.keystrokes,
    };
    let split = match args.cpus {
        CpuPlacement::Shared => None,
        CpuPlacement::Split | CpuPlacement::Both => CpuSplit::halve()?,
    };
    let streams = if args.skip_streams || (only_other && !args.streams_only) || args.console_only {
        None
    } else {
        streams::run(&kinds, &bins, &certs, stream_config, split.as_ref())?
    };
    let registries =
        if args.skip_registry || (only_other && !args.registry_only) || args.console_only {
            None
        } else {
            Some(registry::run(&kinds, &bins, &certs)?)
        };
    let copies = if args.skip_cp || (only_other && !args.cp_only) || args.console_only {
        None
    } else {
        Some(cp::run(&kinds, &bins, &certs)?)
    };
    let networks = if args.skip_network || (only_other && !args.network_only) || args.console_only {
        None
    } else {
        Some(network::run(&kinds, &bins, &certs)?)
    };

    if let Some(http) = http {
        http.print();
    }
    if let Some(wharfd) = floods.first() {
        flood::print(wharfd, floods.get(1), flood_config);
    }
    if let Some(sides) = containers {
        print_containers(&sides, &args, config);
    }
    if let Some(sides) = streams {
        streams::print(&sides, stream_config, split.as_ref());
    }
    if let Some(sides) = &registries {
        registry::print(sides);
    }
    if let Some(sides) = &copies {
        cp::print(sides);
    }
    if let Some(sides) = &networks {
        network::print(sides);
    }
    if let Some(console) = &console {
        console::print(console, console_config);
    }
    match web {
        Some(Ok(package)) => println!("\n{}", package.summary()),
        Some(Err(err)) => println!("\nclient-wasm: gzipped size n/a: {err:#}"),
        None => {}
    }
    Ok(())
}

/// The HTTP workloads, idle memory and start-up times of every daemon.
struct HttpResults {
    /// One pass over every daemon per CPU placement; the first is judged against the targets.
    runs: Vec<HttpRun>,
    starts: Vec<Duration>,
    config: LoadConfig,
    start_count: usize,
}

/// Every daemon driven with one CPU placement.
struct HttpRun {
    /// The placement, for the report's heading.
    placement: String,
    /// One result per daemon, in `kinds` order.
    sides: Vec<SideResult>,
}

/// Drives the HTTP workloads and measures idle memory and start-up on each daemon.
fn http_and_resources(
    runtime: &tokio::runtime::Runtime,
    kinds: &[Kind],
    bins: &Binaries,
    certs: &DevCerts,
    config: LoadConfig,
    args: &BenchArgs,
) -> Result<HttpResults> {
    let (start_count, placement) = (args.starts, args.cpus);
    let split = match placement {
        CpuPlacement::Shared => None,
        CpuPlacement::Split | CpuPlacement::Both => CpuSplit::halve()?,
    };
    let shared = placement != CpuPlacement::Split || split.is_none();
    let mut runs = Vec::new();
    if let Some(split) = &split {
        let config = LoadConfig {
            busy_poll: !args.no_busy_poll,
            ..config
        };
        split.pin_client()?;
        let sides = kinds
            .iter()
            .map(|&kind| measure(runtime, kind, bins, certs, config, Some(split), true))
            .collect::<Result<_>>();
        split.unpin()?;
        let polling = if config.busy_poll {
            " (busy-polling)"
        } else {
            ""
        };
        runs.push(HttpRun {
            placement: format!("{}{polling}", split.describe()),
            sides: sides?,
        });
    }
    if shared {
        let first = runs.is_empty();
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        runs.push(HttpRun {
            placement: format!("daemon and load generator sharing {cpus} CPUs"),
            sides: kinds
                .iter()
                .map(|&kind| measure(runtime, kind, bins, certs, config, None, first))
                .collect::<Result<_>>()?,
        });
    }
    let mut starts = Vec::new();
    for &kind in kinds {
        starts.push(start_time(kind, bins, certs, start_count)?);
    }
    Ok(HttpResults {
        runs,
        starts,
        config,
        start_count,
    })
}

impl HttpResults {
    /// Prints a throughput table per CPU placement (the first is the one the targets are set for, any
    /// other is for reference) and the memory and start-up table (idle memory from the first).
    fn print(&self) {
        for (n, run) in self.runs.iter().enumerate() {
            let Some(wharfd) = run.sides.first() else {
                return;
            };
            let dockerd = run.sides.get(1);
            let rows: Vec<LoadRow<'_>> = WORKLOADS
                .iter()
                .enumerate()
                .map(|(i, workload)| LoadRow {
                    workload,
                    wharfd: &wharfd.loads[i],
                    dockerd: dockerd.map(|d| &d.loads[i]),
                })
                .collect();
            let role = if n == 0 { "" } else { " (for reference)" };
            report::print_loads(
                &rows,
                &format!(
                    "{}{role}: {} connections, {:?} measured after {:?} warm-up per workload; daemons driven one after the other",
                    run.placement, self.config.connections, self.config.duration, self.config.warmup
                ),
            );
        }
        let (Some(first), Some(&wharfd_start)) = (self.runs.first(), self.starts.first()) else {
            return;
        };
        let Some(wharfd_rss_kib) = first.sides.first().and_then(|w| w.rss_kib) else {
            return;
        };
        report::print_resources(&Resources {
            wharfd_rss_kib,
            dockerd_rss_kib: first.sides.get(1).and_then(|d| d.rss_kib),
            wharfd_start,
            dockerd_start: self.starts.get(1).copied(),
            starts: self.start_count,
        });
    }
}

/// Builds the busybox image and runs the container workloads on each daemon in turn; `None` (after
/// saying why) when the image cannot be built.
fn container_workloads(
    runtime: &tokio::runtime::Runtime,
    kinds: &[Kind],
    bins: &Binaries,
    certs: &DevCerts,
    load: LoadConfig,
    args: &BenchArgs,
) -> Result<Option<Vec<ContainerResults>>> {
    let image_dir = TempDir::new("wi")?;
    let image = match rootfs::busybox_tar(image_dir.path()) {
        Ok(image) => image,
        Err(err) => {
            println!("xtask bench: no container workloads: {err:#}");
            return Ok(None);
        }
    };
    let setup = Setup {
        bins,
        certs,
        image: &image,
        counts: Counts {
            sequential: args.lifecycles,
            parallel: args.parallel_lifecycles,
            workers: args.workers,
            listed: args.list_containers,
            rss_first: args.rss_first,
            rss_last: args.rss_last,
        },
        runtime,
        load,
    };
    Ok(Some(
        kinds
            .iter()
            .map(|&kind| containers::measure(kind, &setup))
            .collect(),
    ))
}

/// Prints the container tables.
fn print_containers(sides: &[ContainerResults], args: &BenchArgs, load: LoadConfig) {
    let Some(wharfd) = sides.first() else {
        return;
    };
    let dockerd = sides.get(1);
    let mut lifecycles = Vec::new();
    let phases = [
        (
            format!("`true` x{}, one at a time", args.lifecycles),
            &wharfd.sequential,
            dockerd.map(|d| &d.sequential),
        ),
        (
            "  same, seccomp=unconfined".to_owned(),
            &wharfd.unconfined,
            dockerd.map(|d| &d.unconfined),
        ),
        (
            format!(
                "`true` x{}, {} workers",
                args.parallel_lifecycles, args.workers
            ),
            &wharfd.parallel,
            dockerd.map(|d| &d.parallel),
        ),
    ];
    for (label, wharfd, dockerd) in phases {
        if let Some(wharfd) = wharfd {
            lifecycles.push(Pair {
                label,
                wharfd,
                dockerd: dockerd.and_then(Option::as_ref),
            });
        }
    }
    if !lifecycles.is_empty() {
        report::print_lifecycles(
            &lifecycles,
            &format!(
                "container lifecycles: create, start, wait, remove of `true` in {}:{} (static busybox), one fresh daemon each, driven one after the other",
                containers::IMAGE.0,
                containers::IMAGE.1
            ),
        );
        report::print_filter_cost(&wharfd.sequential, &wharfd.unconfined, dockerd);
    }
    if let Some(wharfd_list) = &wharfd.list {
        report::print_list(
            &Pair {
                label: format!("GET {}", containers::LIST_PATH),
                wharfd: wharfd_list,
                dockerd: dockerd.and_then(|d| d.list.as_ref()),
            },
            &format!(
                "with {} containers (created, not started): {} connections over unix, {:?} measured after {:?} warm-up",
                args.list_containers, load.connections, load.duration, load.warmup
            ),
        );
    }
    if let Some(wharfd_memory) = &wharfd.memory {
        report::print_memory(
            &Pair {
                label: "memory".into(),
                wharfd: wharfd_memory,
                dockerd: dockerd.and_then(|d| d.memory.as_ref()),
            },
            args.rss_first,
            args.rss_last,
        );
    }
}

/// Starts `kind`, reads its idle memory (with `idle_memory`), drives every workload, stops it.
fn measure(
    runtime: &tokio::runtime::Runtime,
    kind: Kind,
    bins: &Binaries,
    certs: &DevCerts,
    config: LoadConfig,
    split: Option<&CpuSplit>,
    idle_memory: bool,
) -> Result<SideResult> {
    println!("xtask bench: starting {}", kind.name());
    let mut daemon = match split {
        Some(split) => split.on_daemon_cpus(|| kind.start(bins, certs))?,
        None => kind.start(bins, certs)?,
    };
    let rss_kib = idle_memory.then(|| idle_rss(&daemon)).transpose()?;
    let endpoints = daemon.endpoints();
    let unix = Transport::Unix(endpoints.socket().to_owned());
    let tls = Transport::tls(
        endpoints.tcp.context("the daemon has no TCP listener")?,
        certs,
    )?;
    let mut loads = Vec::new();
    for workload in WORKLOADS {
        let transport = if workload.tls { &tls } else { &unix };
        println!(
            "xtask bench: {} {} over {}",
            kind.name(),
            workload.label,
            workload.transport_name()
        );
        loads.push(runtime.block_on(load::drive(
            transport,
            workload.path,
            config,
            Some(daemon.pid()),
        ))?);
    }
    daemon.stop()?;
    Ok(SideResult { rss_kib, loads })
}

/// VmRSS after start-up, a few pings and 2 s of idling.
fn idle_rss(daemon: &Daemon) -> Result<u64> {
    for _ in 0..5 {
        daemon.endpoints().ping()?;
    }
    std::thread::sleep(Duration::from_secs(2));
    rss_kib(daemon.pid())
}

/// The median spawn-to-first-ping time over `starts` fresh starts.
fn start_time(kind: Kind, bins: &Binaries, certs: &DevCerts, starts: usize) -> Result<Duration> {
    println!("xtask bench: timing {starts} starts of {}", kind.name());
    let mut times = Vec::new();
    for _ in 0..starts {
        let mut daemon = kind.start(bins, certs)?;
        times.push(daemon.startup_time());
        daemon.stop()?;
    }
    stats::median(&times).context("no starts")
}
