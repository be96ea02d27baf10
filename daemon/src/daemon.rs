//! The daemon's lifecycle, as a list of named steps in the order of dockerd's start-up
//! (`DaemonCli.start`): signal handlers first (nothing sent during start-up is lost), then the data and
//! exec roots, PID file and engine ID; every listener bound (TLS read only if one needs it) and serving at
//! once; containerd started or reached, the backend opened over it (containers restored), systemd told;
//! then signals acted on — reload on SIGHUP, dump on SIGUSR1, drain and clean up on SIGINT/SIGTERM (a third
//! stop signal exits at once). Once it serves, however it ends, the sockets and the PID file are removed
//! and a containerd wharfd started is stopped.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::auth::{Auth, Role};
use crate::cli::DaemonFlags;
use crate::config::{self, Config, Defaults, StorageDriver};
use crate::console::{Console, ConsoleError};
use crate::containerd::{Containerd, Supervisor};
use crate::containers::spec::seccomp::DaemonProfile;
use crate::containers::store::ContainerStore;
use crate::hostinfo::HostFacts;
use crate::images::ImageStore;
use crate::listeners::{self, LazyTls, ListenError, Listener};
use crate::logging::LogControl;
use crate::network::{NetworkOptions, Networks};
use crate::pidfile::{PidFile, PidFileError};
use crate::runtime::{Runtime, RuntimeOptions, StoreUsers};
use crate::serve::{self, ServeOptions};
use crate::signals::{Event, Signals};
use crate::state::{AppState, Backend, ListenerInfo, Settings};
use crate::tls::TlsMode;
use crate::volumes::VolumeStore;
use crate::{api, dump, engine_id, notify, tls};

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// A directory or file the daemon needs.
    #[error("{what} {}: {source}", .path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    PidFile(#[from] PidFileError),
    #[error(transparent)]
    Listen(#[from] ListenError),
    #[error(transparent)]
    Containerd(#[from] crate::containerd::ContainerdError),
    /// The storage driver asked for cannot work here.
    #[error("the {0} storage driver is not available on this host (containerd could not load the {0} snapshotter); use --storage-driver=native")]
    StorageDriver(&'static str),
    /// The default seccomp profile.
    #[error("{0}")]
    Seccomp(String),
    /// Signal handlers.
    #[error("cannot install signal handlers: {0}")]
    Signals(#[source] std::io::Error),
    /// The token store under the data root.
    #[error("{0}")]
    Auth(String),
    /// A `--console-dir` that cannot be served.
    #[error("{0}")]
    Console(String),
    /// No subnet for the default bridge network.
    #[error("{0}")]
    Network(String),
}

fn make_dir(path: &Path, mode: u32, what: &'static str) -> Result<(), DaemonError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(path)
        .map_err(|source| DaemonError::Io {
            what,
            path: path.to_owned(),
            source,
        })
}

/// Warnings `/info` reports and the log shouts about, for listeners that are less than mutual TLS.
fn listener_warnings(listeners: &[Listener], mode: TlsMode) -> Vec<String> {
    listeners
        .iter()
        .filter_map(|l| match l {
            Listener::Tcp { tls: None, display, .. } => Some(format!(
                "WARNING: API is accessible on http://{display} without encryption: bearer tokens cross it in the clear. Use plain HTTP on loopback for local development only."
            )),
            Listener::Tcp { tls: Some(_), display, .. } if mode == TlsMode::Server => Some(format!(
                "WARNING: API is accessible on https://{display} without client certificate verification (--tlsverify): every client needs a bearer token."
            )),
            _ => None,
        })
        .collect()
}

/// The listeners as `GET /wharf/v1/daemon` describes them: addresses as clients write them, and how a
/// client proves who it is on each (never a key or a path to one).
fn listener_infos(listeners: &[Listener], mode: TlsMode) -> Vec<ListenerInfo> {
    listeners
        .iter()
        .map(|l| match l {
            Listener::Unix { display, .. } => ListenerInfo {
                address: if display.starts_with("fd://") {
                    display.clone()
                } else {
                    format!("unix://{display}")
                },
                tls: false,
                client_certs: false,
                token_required: false,
            },
            Listener::Tcp { tls, display, .. } => ListenerInfo {
                address: if display.starts_with("fd://") {
                    display.clone()
                } else {
                    format!("tcp://{display}")
                },
                tls: tls.is_some(),
                client_certs: tls.is_some() && mode == TlsMode::Mutual,
                token_required: true,
            },
        })
        .collect()
}

/// Runs the daemon until a stop signal, then drains and cleans up.
pub async fn run(
    flags: DaemonFlags,
    defaults: Defaults,
    config: Config,
    log: LogControl,
) -> Result<(), DaemonError> {
    let signals = Signals::install().map_err(DaemonError::Signals)?;
    let seccomp = load_seccomp(&config)?;
    let console = load_console(&config)?;
    let (pidfile, engine_id) = prepare_roots(&config)?;
    let listeners = bind_listeners(&config)?;
    let state = app_state(&config, engine_id, &listeners, seccomp, console)?;
    let mut daemon = Daemon::serve(config, signals, state, listeners, pidfile);
    if let Err(e) = daemon.start_backend().await {
        daemon.abandon().await;
        return Err(e);
    }
    let first = daemon.wait_for_stop(&flags, &defaults, &log).await;
    daemon.shut_down(first).await;
    Ok(())
}

/// Reads the default seccomp profile: a configured one that cannot be read stops the start-up.
fn load_seccomp(config: &Config) -> Result<DaemonProfile, DaemonError> {
    DaemonProfile::load(config.seccomp_profile.as_deref()).map_err(DaemonError::Seccomp)
}

/// Reads the browser console (`--console-dir`, else the built-in one): a directory that cannot be served
/// stops the start-up.
fn load_console(config: &Config) -> Result<Console, DaemonError> {
    let dir = config.console_dir.as_deref();
    let console = Console::load(config.console, dir).map_err(console_error)?;
    tracing::info!("browser console: {}", console.describe(dir));
    Ok(console)
}

/// `--validate`'s check of `--console-dir`.
pub fn validate_console(config: &Config) -> Result<(), DaemonError> {
    Console::load(config.console, config.console_dir.as_deref())
        .map(drop)
        .map_err(console_error)
}

fn console_error(e: ConsoleError) -> DaemonError {
    DaemonError::Console(e.to_string())
}

/// `--validate`'s check of the default seccomp profile.
pub fn validate_seccomp(config: &Config) -> Result<(), DaemonError> {
    load_seccomp(config).map(drop)
}

/// Creates the data and exec roots and the PID file, and reads (or makes) the engine ID.
fn prepare_roots(config: &Config) -> Result<(PidFile, String), DaemonError> {
    make_dir(&config.data_root, 0o711, "cannot create data root")?;
    make_dir(&config.exec_root, 0o700, "cannot create exec root")?;
    let pidfile = PidFile::create(&config.pidfile)?;
    let engine_id =
        engine_id::load_or_create(&config.data_root).map_err(|source| DaemonError::Io {
            what: "cannot read or write the engine ID in",
            path: config.data_root.clone(),
            source,
        })?;
    Ok((pidfile, engine_id))
}

/// Binds every `--host`; the TLS configuration is read only when a TCP listener needs it.
fn bind_listeners(config: &Config) -> Result<Vec<Listener>, DaemonError> {
    let mut lazy_tls = LazyTls::new(|| tls::server_config(config.tls_mode, &config.tls_files));
    Ok(listeners::bind_all(
        &config.hosts,
        &mut lazy_tls,
        &config.group,
    )?)
}

/// The state the API serves from, without a backend yet, warning about listeners that are less than
/// mutual TLS.
fn app_state(
    config: &Config,
    engine_id: String,
    listeners: &[Listener],
    seccomp: DaemonProfile,
    console: Console,
) -> Result<AppState, DaemonError> {
    let warnings = listener_warnings(listeners, config.tls_mode);
    for w in &warnings {
        tracing::warn!("{w}");
    }
    let cert_roles = config
        .client_cert_roles
        .iter()
        .filter_map(|(cn, role)| Some((cn.clone(), Role::parse(role).ok()?)))
        .collect();
    let auth =
        Auth::open(&config.data_root, cert_roles).map_err(|e| DaemonError::Auth(e.to_string()))?;
    let state = AppState::new(
        HostFacts::detect(),
        engine_id,
        Settings {
            data_root: config.data_root.clone(),
            debug: config.debug,
            warnings,
            seccomp,
            allowed_origins: config.allow_origins.clone(),
            listeners: listener_infos(listeners, config.tls_mode),
            console,
            registries: crate::registry::Registries::new(config.registry.clone()),
        },
        None,
        auth,
    );
    // Listeners serve while containerd starts: `/_ping`, `/version` and `/info` answer at once, and
    // requests that need containerd wait for it (bounded) instead of being refused.
    state.backend_starting();
    Ok(state)
}

/// What the daemon must let go of however it ends.
struct Held {
    /// The containerd wharfd started, if it did.
    supervisor: Option<Supervisor>,
    /// The unix sockets wharfd created.
    sockets: Vec<PathBuf>,
    /// Removed when dropped; an `Option` so that a forced exit, which runs no destructors, can drop it.
    pidfile: Option<PidFile>,
}

impl Held {
    /// The third stop signal: exits at once with 128 + `sig`, taking a containerd it started along.
    fn force_exit(&mut self, sig: i32) -> ! {
        tracing::warn!("Forcing shutdown on signal {sig}");
        if let Some(s) = &self.supervisor {
            s.kill_now();
        }
        remove_sockets(&self.sockets);
        drop(self.pidfile.take());
        std::process::exit(128 + sig);
    }

    /// Stops a containerd wharfd started.
    async fn stop_containerd(&mut self) {
        if let Some(s) = self.supervisor.take() {
            s.stop().await;
        }
    }
}

/// A daemon whose listeners serve, from start-up to shutdown.
struct Daemon {
    /// The configuration in force: a reload changes its live settings.
    config: Config,
    signals: Signals,
    state: AppState,
    /// Each listener as `<kind> <address>`, for state dumps.
    listeners: Vec<String>,
    /// Tells every listener to stop accepting and drain.
    stop_tx: watch::Sender<bool>,
    /// One task per listener, ending once its connections have.
    tasks: JoinSet<()>,
    held: Held,
    /// Stop signals received during start-up.
    early_stops: Vec<i32>,
    /// A SIGHUP during start-up, acted on once the daemon runs.
    reload_asked: bool,
}

impl Daemon {
    /// Routes the API and serves it on every listener.
    fn serve(
        config: Config,
        signals: Signals,
        state: AppState,
        bound: Vec<Listener>,
        pidfile: PidFile,
    ) -> Self {
        let app = api::router(state.clone());
        let listeners = bound
            .iter()
            .map(|l| format!("{} {}", l.kind(), l.display()))
            .collect();
        let sockets = bound
            .iter()
            .filter_map(|l| match l {
                Listener::Unix { path, .. } => path.clone(),
                Listener::Tcp { .. } => None,
            })
            .collect();
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        for listener in bound {
            tracing::info!("API listen on {}", listener.display());
            tasks.spawn(serve::serve(
                listener,
                app.clone(),
                stop_rx.clone(),
                config.shutdown_timeout,
                ServeOptions::default(),
            ));
        }
        Self {
            config,
            signals,
            state,
            listeners,
            stop_tx,
            tasks,
            held: Held {
                supervisor: None,
                sockets,
                pidfile: Some(pidfile),
            },
            early_stops: Vec::new(),
            reload_asked: false,
        }
    }

    /// Starts (or reaches) containerd, then opens the backend over it and tells systemd the daemon is
    /// ready. A stop signal while containerd is awaited ends the start-up early, without an error.
    async fn start_backend(&mut self) -> Result<(), DaemonError> {
        let Some(client) = self.start_containerd().await? else {
            return Ok(());
        };
        let backend = self.open_backend(&client).await?;
        self.state.set_backend(backend);
        notify::ready();
        tracing::info!(
            pid = std::process::id(),
            "Daemon has completed initialization"
        );
        Ok(())
    }

    /// containerd, or `None` when a stop signal came first. A stop signal while it is awaited (up to
    /// 30 s, e.g. a --containerd socket nobody serves) ends the start-up at once, since nothing depends
    /// on it yet; a containerd being started is killed with the dropped future.
    async fn start_containerd(&mut self) -> Result<Option<Containerd>, DaemonError> {
        let connected = tokio::select! {
            connected = connect_containerd(&self.config) => connected,
            sig = next_stop(
                &mut self.signals,
                &mut self.reload_asked,
                &self.state,
                &self.config,
                &self.listeners,
            ) => {
                tracing::info!("Processing signal {sig}: stopping before containerd is up");
                // Shut down as after start-up, without a backend: the listeners drain, the third signal
                // forces.
                self.early_stops.push(sig);
                return Ok(None);
            }
        };
        let (supervisor, client) = connected?;
        self.held.supervisor = supervisor;
        Ok(Some(client))
    }

    /// The backend, which restores containers: stop signals wait for it (a restore cut short would leave
    /// records half reconciled), except that the third forces the exit.
    async fn open_backend(&mut self, client: &Containerd) -> Result<Backend, DaemonError> {
        let opening = open_stores_and_restore(&self.config, &self.state, client);
        tokio::pin!(opening);
        loop {
            tokio::select! {
                backend = &mut opening => return backend,
                event = self.signals.next() => match event {
                    Event::Stop(sig) => {
                        self.early_stops.push(sig);
                        if self.early_stops.len() >= 3 {
                            self.held.force_exit(sig);
                        }
                        tracing::info!(
                            "Processing signal {sig}: shutting down once start-up ends; {} more stop signal(s) to force it",
                            3 - self.early_stops.len()
                        );
                    }
                    Event::Dump => write_dump(&self.state, &self.config, &self.listeners),
                    Event::Reload => self.reload_asked = true,
                }
            }
        }
    }

    /// Undoes a start-up that failed: containerd stopped, the listeners given up to 5 s for their
    /// connections, the sockets and the PID file removed.
    async fn abandon(mut self) {
        self.held.stop_containerd().await;
        let _ = self.stop_tx.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        remove_sockets(&self.held.sockets);
    }

    /// Serves until a stop signal (the first one during start-up, if any), reloading on SIGHUP and
    /// dumping state on SIGUSR1 meanwhile; answers the stop signal.
    async fn wait_for_stop(
        &mut self,
        flags: &DaemonFlags,
        defaults: &Defaults,
        log: &LogControl,
    ) -> i32 {
        if self.reload_asked {
            reload(flags, defaults, &mut self.config, &self.state, log);
        }
        if let Some(&sig) = self.early_stops.first() {
            return sig;
        }
        loop {
            match self.signals.next().await {
                Event::Stop(sig) => return sig,
                Event::Reload => reload(flags, defaults, &mut self.config, &self.state, log),
                Event::Dump => write_dump(&self.state, &self.config, &self.listeners),
            }
        }
    }

    /// Stops the listeners and the containers together, waits for both (a third stop signal forces the
    /// exit), stops containerd, removes the sockets and the PID file.
    async fn shut_down(mut self, first: i32) {
        tracing::info!(
            "Processing signal {first}: shutting down (draining for up to {:?})",
            self.config.shutdown_timeout
        );
        notify::stopping();
        let _ = self.stop_tx.send(true);
        // Containers stop while connections drain: their end also ends the attach, wait and logs
        // streams that would keep connections open.
        let containers_down = self
            .state
            .backend()
            .map(|b| tokio::spawn(async move { b.containers.shutdown().await }));

        let mut stops = self.early_stops.len().max(1);
        let deadline = self.config.shutdown_timeout + Duration::from_secs(1);
        let tasks = &mut self.tasks;
        let drain = tokio::time::timeout(deadline, async {
            while tasks.join_next().await.is_some() {}
        });
        tokio::pin!(drain);
        loop {
            tokio::select! {
                result = &mut drain => {
                    if result.is_err() {
                        tracing::warn!("listeners did not stop within {deadline:?}");
                    }
                    break;
                }
                event = self.signals.next() => match event {
                    Event::Stop(sig) => {
                        stops += 1;
                        if stops >= 3 {
                            self.held.force_exit(sig);
                        }
                        tracing::info!("Shutdown in progress; {} more stop signal(s) to force it", 3 - stops);
                    }
                    Event::Dump => write_dump(&self.state, &self.config, &self.listeners),
                    Event::Reload => tracing::info!("Ignoring SIGHUP during shutdown"),
                }
            }
        }
        if let Some(task) = containers_down {
            let _ = task.await;
        }
        self.held.stop_containerd().await;
        remove_sockets(&self.held.sockets);
        drop(self.held.pidfile.take());
        tracing::info!("Daemon shutdown complete");
    }
}

/// Starts containerd (its supervisor is returned) or connects to the one given, and waits until it
/// answers. Dropping the future before it ends kills a containerd it started.
async fn connect_containerd(
    config: &Config,
) -> Result<(Option<Supervisor>, Containerd), DaemonError> {
    Ok(match &config.containerd {
        Some(socket) => (
            None,
            crate::containerd::connect_external(socket, &config.containerd_namespace).await?,
        ),
        None => {
            let (s, c) = Supervisor::start(
                &config.data_root,
                &config.exec_root,
                &config.containerd_namespace,
            )
            .await?;
            (Some(s), c)
        }
    })
}

/// The next stop signal, acting on the others meanwhile; a reload is noted in `reload_asked`, to be done
/// once the daemon runs.
async fn next_stop(
    signals: &mut Signals,
    reload_asked: &mut bool,
    state: &AppState,
    config: &Config,
    listeners: &[String],
) -> i32 {
    loop {
        match signals.next().await {
            Event::Stop(sig) => return sig,
            Event::Dump => write_dump(state, config, listeners),
            Event::Reload => *reload_asked = true,
        }
    }
}

/// The default bridge network from the configuration: its bridge, and its subnet from `--bip` or the
/// address pools.
fn networks(config: &Config) -> Result<Networks, DaemonError> {
    use crate::network::cidr::{self, Cidr};
    let n = &config.network;
    let bridge = n
        .bridge
        .clone()
        .unwrap_or_else(|| crate::network::DEFAULT_BRIDGE.to_owned());
    let bip = n.bip.as_deref().and_then(Cidr::parse);
    let pools = n
        .pools
        .iter()
        .map(|(base, size)| cidr::pool(base, i64::from(*size)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(DaemonError::Network)?;
    let (subnet, gateway) =
        crate::network::default_subnet(bip, &pools, &bridge).map_err(DaemonError::Network)?;
    tracing::info!("bridge network: {bridge} {subnet} (gateway {gateway})");
    Ok(Networks::new(NetworkOptions {
        bridge,
        subnet,
        gateway,
        pools,
        exec_root: config.exec_root.clone(),
        data_root: config.data_root.clone(),
    }))
}

/// Opens the stores over `client` and restores the containers, with the snapshotter picked: the one asked
/// for, else overlayfs where containerd could load it, else native.
async fn open_stores_and_restore(
    config: &Config,
    state: &AppState,
    client: &Containerd,
) -> Result<Backend, DaemonError> {
    let pick = async {
        let overlay = client.snapshotter_available("overlayfs").await?;
        match config.storage_driver {
            Some(StorageDriver::Overlayfs) if !overlay => {
                Err(DaemonError::StorageDriver("overlayfs"))
            }
            Some(d) => Ok(d),
            None if overlay => Ok(StorageDriver::Overlayfs),
            None => {
                tracing::warn!(
                    "overlayfs is not available here; using the native snapshotter (full copies)"
                );
                Ok(StorageDriver::Native)
            }
        }
    };
    let backend = async {
        let driver = pick.await?;
        tracing::info!("storage driver: {}", driver.snapshotter());
        let store = ContainerStore::open(&config.data_root).map_err(|source| DaemonError::Io {
            what: "cannot read the container records in",
            path: config.data_root.join("containers"),
            source,
        })?;
        let store = Arc::new(store);
        let events = state.events().clone();
        let images = ImageStore::new(
            client.clone(),
            driver.snapshotter(),
            config.data_root.join("tmp"),
            config.max_import_size,
        )
        .with_events(events.clone())
        .with_users(Arc::new(StoreUsers(store.clone())))
        .with_registries(state.registries().clone());
        let volumes = VolumeStore::open(
            &config.data_root,
            events.clone(),
            Arc::new(StoreUsers(store.clone())),
        )
        .map_err(|source| DaemonError::Io {
            what: "cannot read the volumes in",
            path: config.data_root.join("volumes"),
            source,
        })?;
        let facts = state.facts();
        let networks = networks(config)?;
        let containers = Runtime::new(RuntimeOptions {
            containerd: client.clone(),
            images: images.clone(),
            volumes: volumes.clone(),
            store,
            events,
            snapshotter: driver.snapshotter(),
            exec_root: config.exec_root.clone(),
            live_restore: config.live_restore,
            seccomp: state.seccomp().profile.clone(),
            host_hostname: facts.hostname.clone(),
            kernel_version: facts.kernel_version.clone(),
            cgroup_v2: facts.cgroup_version == crate::hostinfo::CgroupVersion::V2,
            networks,
        });
        containers.restore().await;
        Ok::<_, DaemonError>(Backend {
            images,
            containers,
            volumes,
        })
    };
    backend.await
}

fn remove_sockets(paths: &[PathBuf]) {
    for path in paths {
        if let Err(e) = std::fs::remove_file(path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!("cannot remove {}: {e}", path.display());
            }
        }
    }
}

fn write_dump(state: &AppState, config: &Config, listeners: &[String]) {
    let d = dump::collect(state, config, listeners);
    match dump::write(&config.exec_root, &d) {
        Ok(path) => tracing::info!("daemon state dump written to {}", path.display()),
        Err(e) => tracing::error!(
            "cannot write state dump in {}: {e}",
            config.exec_root.display()
        ),
    }
}

/// SIGHUP: re-reads the file and applies what can change live (debug, log level).
fn reload(
    flags: &DaemonFlags,
    defaults: &Defaults,
    current: &mut Config,
    state: &AppState,
    log: &LogControl,
) {
    notify::reloading();
    match config::resolve(flags, defaults) {
        Err(e) => tracing::error!("Error reloading configuration, keeping the current one: {e}"),
        Ok(new) => {
            let mut changes = Vec::new();
            if new.debug != current.debug {
                changes.push(format!("debug: {} -> {}", current.debug, new.debug));
            }
            if new.log_level != current.log_level {
                changes.push(format!(
                    "log-level: {:?} -> {:?}",
                    current.log_level, new.log_level
                ));
            }
            if let Err(e) = log.set(new.log_level.effective(new.debug)) {
                tracing::error!("cannot change the log level: {e}");
            }
            state.set_debug(new.debug);
            let restart_needed = Config {
                debug: current.debug,
                log_level: current.log_level,
                ..new.clone()
            } != *current;
            current.debug = new.debug;
            current.log_level = new.log_level;
            if changes.is_empty() {
                tracing::info!("Reloaded configuration: nothing changed");
            } else {
                tracing::info!("Reloaded configuration: {}", changes.join(", "));
            }
            if restart_needed {
                tracing::warn!("Settings other than debug and log-level changed; they take effect at the next restart");
            }
        }
    }
    notify::ready();
}
