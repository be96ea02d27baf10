//! The container runtime: Docker's container lifecycle on containerd. It joins what `containers` keeps and
//! decides (records, the OCI spec, names, restart policies) with containerd's tasks, the json-file log, the
//! attached clients and the events bus.
//!
//! As dockerd does, a container's containerd objects live only while it runs: `start` creates the
//! containerd container (with its spec) and its task, the exit removes both. Its writable layer (a snapshot
//! keyed by the container ID, held by a `gc.root` label) lives from `create` to `rm`.
//!
//! Every user operation on one container holds that container's operation lock, so a `stop` and an `rm`
//! never interleave; the exit of a run is handled by the run's monitor (`exit.rs`), which never takes it.

mod archive;
pub(crate) mod changes;
mod commit;
mod control;
mod create;
mod devices;
mod exec;
mod exit;
mod health;
pub(crate) mod io;
mod network;
pub(crate) mod networks;
pub(crate) mod query;
mod reconcile;
mod remove;
mod restore;
mod rootfs;
pub(crate) mod signal;
mod start;
pub(crate) mod stats;
mod top;
mod update;
mod volumes;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{watch, Notify};

use crate::containerd::runc::RuncOptions;
use crate::containerd::Containerd;
use crate::containers::record::ContainerRecord;
use crate::containers::spec::seccomp::Profile;
use crate::containers::store::ContainerStore;
use crate::error::Error;
use crate::events::{self, EventBus};
use crate::images::{ImageStore, ImageUsers};
use crate::network::Networks;
use crate::volumes::{VolumeStore, VolumeUsers};

pub(crate) use archive::path::PathStat;
pub(crate) use archive::ExtractOptions;
pub(crate) use commit::CommitOptions;
pub(crate) use create::CreateRequest;
pub(crate) use exec::{console_size, ConsoleSize};
pub(crate) use io::AttachHub;
pub(crate) use query::ListOptions;

/// What the runtime is built from.
#[derive(Debug)]
pub(crate) struct RuntimeOptions {
    /// The containerd client in wharfd's namespace.
    pub containerd: Containerd,
    /// The image store (containers are made from its images).
    pub images: ImageStore,
    /// The volumes containers mount.
    pub volumes: VolumeStore,
    /// The records, shared with the image store's "who uses this image" check.
    pub store: Arc<ContainerStore>,
    /// Where container events go.
    pub events: EventBus,
    /// The snapshotter of images and writable layers.
    pub snapshotter: &'static str,
    /// The daemon's exec root: FIFOs live in `<exec-root>/containers/<id>`, runc's state in
    /// `<exec-root>/runc`.
    pub exec_root: PathBuf,
    /// Keep containers running across a daemon restart (`--live-restore`).
    pub live_restore: bool,
    /// The daemon's default seccomp profile.
    pub seccomp: Option<Profile>,
    /// The host's name (containers with host networking take it).
    pub host_hostname: String,
    /// The host kernel's version string (`uname -r`).
    pub kernel_version: String,
    /// Whether the host runs the unified cgroup hierarchy (v2): a container's default cgroup namespace
    /// mode is then `private`, as with dockerd, and `host` on v1.
    pub cgroup_v2: bool,
    /// The bridge network and published ports.
    pub networks: Networks,
}

/// The container runtime, cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Runtime {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    cd: Containerd,
    images: ImageStore,
    volumes: VolumeStore,
    store: Arc<ContainerStore>,
    events: EventBus,
    snapshotter: &'static str,
    exec_root: PathBuf,
    runc: RuncOptions,
    live_restore: bool,
    seccomp: Option<Profile>,
    host_hostname: String,
    kernel: Option<(u32, u32)>,
    cgroup_v2: bool,
    networks: Networks,
    /// The host's memory (`MemTotal`), which caps the memory limit `stats` reports.
    machine_memory: u64,
    init_path: Option<PathBuf>,
    handles: Mutex<HashMap<String, Arc<Handle>>>,
    execs: exec::ExecTable,
    shutting_down: AtomicBool,
}

/// What waiters see of a container: whether it runs, how many runs ended, whether it is gone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RunStatus {
    /// A run is under way.
    pub running: bool,
    /// Runs that ended since the daemon started.
    pub exits: u64,
    /// The container was removed.
    pub removed: bool,
    pub exit_code: i64,
}

/// The in-memory side of one container.
#[derive(Debug)]
struct Handle {
    /// Serialises user operations (start, stop, kill, restart, pause, rm).
    op: tokio::sync::Mutex<()>,
    /// For `wait`.
    status: watch::Sender<RunStatus>,
    /// True once the run's output is copied (or when there is no run): ends `logs --follow`.
    output_done: watch::Sender<bool>,
    /// The attached clients.
    attach: Arc<AttachHub>,
    /// A user stopped the container: its exit does not trigger the restart policy.
    manual_stop: AtomicBool,
    /// Wakes a restart back-off early (stop, rm, shutdown).
    cancel_restart: Notify,
    /// The write end of the running container's stdin, when it keeps stdin open.
    stdin: tokio::sync::Mutex<Option<tokio::net::unix::pipe::Sender>>,
    /// The restart policy's current back-off delay.
    backoff: Mutex<Duration>,
    /// The run's health probes, while they run.
    health: Mutex<Option<health::Monitor>>,
}

impl Handle {
    fn new(record: &ContainerRecord) -> Self {
        let running = record.state.running;
        Self {
            op: tokio::sync::Mutex::new(()),
            status: watch::Sender::new(RunStatus {
                running,
                exit_code: record.state.exit_code,
                ..RunStatus::default()
            }),
            output_done: watch::Sender::new(!running),
            attach: Arc::default(),
            manual_stop: AtomicBool::new(false),
            cancel_restart: Notify::new(),
            stdin: tokio::sync::Mutex::new(None),
            backoff: Mutex::new(Duration::ZERO),
            health: Mutex::new(None),
        }
    }

    fn backoff_delay(&self) -> Duration {
        *self.backoff.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set_backoff_delay(&self, delay: Duration) {
        *self.backoff.lock().unwrap_or_else(PoisonError::into_inner) = delay;
    }

    /// Tells waiters a run ended with `code`.
    fn notify_exit(&self, code: i64) {
        self.status.send_modify(|s| {
            s.running = false;
            s.exits += 1;
            s.exit_code = code;
        });
    }
}

/// The label that keeps a writable layer from containerd's garbage collector.
const GC_ROOT: &str = "containerd.io/gc.root";

/// containerd's type URL for an OCI runtime spec.
const SPEC_TYPE_URL: &str = "types.containerd.io/opencontainers/runtime-spec/1/Spec";

fn parse_kernel(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// The init binary for `--init`: docker-init or tini on PATH.
fn find_init() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["docker-init", "tini-static", "tini"]
        .iter()
        .find_map(|name| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        })
}

impl Runtime {
    /// A runtime over `options`; call [`Runtime::restore`] before serving requests.
    pub(crate) fn new(options: RuntimeOptions) -> Self {
        let runc = RuncOptions {
            root: options.exec_root.join("runc").display().to_string(),
            ..RuncOptions::default()
        };
        Self {
            inner: Arc::new(Inner {
                cd: options.containerd,
                images: options.images,
                volumes: options.volumes,
                store: options.store,
                events: options.events,
                snapshotter: options.snapshotter,
                exec_root: options.exec_root,
                runc,
                live_restore: options.live_restore,
                seccomp: options.seccomp,
                host_hostname: options.host_hostname,
                kernel: parse_kernel(&options.kernel_version),
                cgroup_v2: options.cgroup_v2,
                networks: options.networks,
                machine_memory: std::fs::read_to_string("/proc/meminfo")
                    .map(|m| u64::try_from(crate::hostinfo::parse_mem_total(&m)).unwrap_or(0))
                    .unwrap_or(0),
                init_path: find_init(),
                handles: Mutex::default(),
                execs: exec::ExecTable::default(),
                shutting_down: AtomicBool::new(false),
            }),
        }
    }

    pub(crate) fn store(&self) -> &ContainerStore {
        &self.inner.store
    }

    fn handle(&self, record: &ContainerRecord) -> Arc<Handle> {
        let mut handles = self
            .inner
            .handles
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        handles
            .entry(record.id.clone())
            .or_insert_with(|| Arc::new(Handle::new(record)))
            .clone()
    }

    /// Changes a record off the async workers: the write fsyncs.
    async fn update<T: Send + 'static>(
        &self,
        id: &str,
        change: impl FnOnce(&mut ContainerRecord) -> Result<T, Error> + Send + 'static,
    ) -> Result<(T, ContainerRecord), Error> {
        let store = self.inner.store.clone();
        let id = id.to_owned();
        tokio::task::spawn_blocking(move || store.update(&id, change))
            .await
            .map_err(Error::system)?
    }

    fn drop_handle(&self, id: &str) {
        self.inner
            .handles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }

    /// The record of `id_or_name` and its handle.
    fn lookup(&self, id_or_name: &str) -> Result<(ContainerRecord, Arc<Handle>), Error> {
        let record = self.inner.store.get(id_or_name)?;
        let handle = self.handle(&record);
        Ok((record, handle))
    }

    /// Publishes a container event with the container's labels, image and name, plus `extra`.
    fn emit(&self, record: &ContainerRecord, action: &str, extra: &[(&str, String)]) {
        let labels = record
            .config
            .labels
            .as_ref()
            .map(|l| l.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let mut actor =
            events::container_actor(&record.id, &record.name, &record.image_name, &labels);
        for (k, v) in extra {
            actor.attributes.insert((*k).to_owned(), v.clone());
        }
        self.inner
            .events
            .log(events::kind::CONTAINER, action, actor);
    }

    /// The directory of a run's FIFOs.
    fn fifo_dir(&self, id: &str) -> PathBuf {
        self.inner.exec_root.join("containers").join(id)
    }

    /// Whether the daemon is shutting down (exits then never restart containers).
    fn shutting_down(&self) -> bool {
        self.inner.shutting_down.load(Ordering::Relaxed)
    }
}

/// The image store asks the records which containers use an image (`docker rmi`'s 409).
#[derive(Debug)]
pub(crate) struct StoreUsers(pub Arc<ContainerStore>);

impl ImageUsers for StoreUsers {
    fn containers_using(&self, id: &str) -> Vec<String> {
        self.0
            .list()
            .into_iter()
            .filter(|r| r.image_id == id)
            .map(|r| r.id)
            .collect()
    }
}

/// The volume store asks the records which containers refer to a volume (`docker volume rm`'s 409).
impl VolumeUsers for StoreUsers {
    fn containers_using(&self, name: &str) -> Vec<String> {
        self.0
            .list()
            .into_iter()
            .filter(|r| r.volume_names().any(|n| n == name))
            .map(|r| r.id)
            .collect()
    }

    fn all_users(&self) -> HashMap<String, Vec<String>> {
        let mut users: HashMap<String, Vec<String>> = HashMap::new();
        for r in self.0.list() {
            for name in r.volume_names() {
                users.entry(name.to_owned()).or_default().push(r.id.clone());
            }
        }
        users
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_versions_parse_as_uname_prints_them() {
        assert_eq!(parse_kernel("6.1.0-18-amd64"), Some((6, 1)));
        assert_eq!(parse_kernel("5.15.133+"), Some((5, 15)));
        assert_eq!(parse_kernel("x"), None);
    }
}
