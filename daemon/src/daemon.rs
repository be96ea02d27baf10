//! The daemon's lifecycle: prepare directories, PID file and engine ID, bind and serve every listener, tell
//! systemd, then act on signals — reload on SIGHUP, dump on SIGUSR1, drain and clean up on SIGINT/SIGTERM
//! (a third stop signal exits at once).

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::cli::DaemonFlags;
use crate::config::{self, Config, Defaults, StorageDriver};
use crate::containerd::{Containerd, Supervisor};
use crate::containers::spec::seccomp;
use crate::containers::store::ContainerStore;
use crate::hostinfo::HostFacts;
use crate::images::ImageStore;
use crate::listeners::{self, LazyTls, ListenError, Listener};
use crate::logging::LogControl;
use crate::pidfile::{PidFile, PidFileError};
use crate::runtime::{Runtime, RuntimeOptions, StoreUsers};
use crate::serve::{self, ServeOptions};
use crate::signals::{Event, Signals};
use crate::state::{AppState, Backend};
use crate::tls::TlsMode;
use crate::{api, dump, engine_id, notify, tls};

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// A directory or file the daemon needs.
    #[error("{what} {}: {source}", .path.display())]
    Io {
        /// What it is.
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The PID file.
    #[error(transparent)]
    PidFile(#[from] PidFileError),
    /// A listener.
    #[error(transparent)]
    Listen(#[from] ListenError),
    /// containerd.
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
                "WARNING: API is accessible on http://{display} without encryption. Anyone who can connect to it controls this host: use plain HTTP on loopback for local development only."
            )),
            Listener::Tcp { tls: Some(_), display, .. } if mode == TlsMode::Server => Some(format!(
                "WARNING: API is accessible on https://{display} without client certificate verification (--tlsverify): anyone who can connect to it controls this host."
            )),
            _ => None,
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
    let mut signals = Signals::install().map_err(DaemonError::Signals)?;
    make_dir(&config.data_root, 0o711, "cannot create data root")?;
    make_dir(&config.exec_root, 0o700, "cannot create exec root")?;
    let pidfile = PidFile::create(&config.pidfile)?;
    let engine_id =
        engine_id::load_or_create(&config.data_root).map_err(|source| DaemonError::Io {
            what: "cannot read or write the engine ID in",
            path: config.data_root.clone(),
            source,
        })?;
    let facts = HostFacts::detect();

    let mut lazy_tls = LazyTls::new(|| tls::server_config(config.tls_mode, &config.tls_files));
    let bound = listeners::bind_all(&config.hosts, &mut lazy_tls, &config.group)?;
    let warnings = listener_warnings(&bound, config.tls_mode);
    for w in &warnings {
        tracing::warn!("{w}");
    }
    let state = AppState::new(
        facts,
        engine_id,
        config.data_root.clone(),
        config.debug,
        warnings,
        None,
    );
    // Listeners serve while containerd starts: `/_ping`, `/version` and `/info` answer at once, and
    // requests that need containerd wait for it (bounded) instead of being refused.
    state.backend_starting();
    let app = api::router(state.clone());
    let described: Vec<String> = bound
        .iter()
        .map(|l| format!("{} {}", l.kind(), l.display()))
        .collect();
    let socket_files: Vec<PathBuf> = bound
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
    // containerd first: a stop signal while it is awaited (up to 30 s, e.g. a --containerd socket
    // nobody serves) ends the start-up at once, since nothing depends on it yet; a containerd being
    // started is killed with the dropped future.
    let mut reload_asked = false;
    let connected = tokio::select! {
        connected = connect_containerd(&config) => Ok(connected),
        sig = next_stop(&mut signals, &mut reload_asked, &state, &config, &described) => {
            tracing::info!("Processing signal {sig}: stopping before containerd is up");
            Err(sig)
        }
    };
    // Then the backend, which restores containers: stop signals wait for it (a restore cut short would
    // leave records half reconciled), except that the third forces the exit.
    let mut stops = Vec::new();
    let supervisor = match connected {
        Ok(Ok((supervisor, client))) => {
            let opening = open_backend(&config, &state, &client);
            tokio::pin!(opening);
            let backend = loop {
                tokio::select! {
                    backend = &mut opening => break backend,
                    event = signals.next() => match event {
                        Event::Stop(sig) => {
                            stops.push(sig);
                            if stops.len() >= 3 {
                                force_exit(sig, supervisor.as_ref(), &socket_files, pidfile);
                            }
                            tracing::info!(
                                "Processing signal {sig}: shutting down once start-up ends; {} more stop signal(s) to force it",
                                3 - stops.len()
                            );
                        }
                        Event::Dump => write_dump(&state, &config, &described),
                        Event::Reload => reload_asked = true,
                    }
                }
            };
            match backend {
                Ok(backend) => state.set_backend(backend),
                Err(e) => {
                    if let Some(s) = supervisor {
                        s.stop().await;
                    }
                    stop_serving(&stop_tx, &mut tasks, &socket_files).await;
                    return Err(e);
                }
            }
            notify::ready();
            tracing::info!(
                pid = std::process::id(),
                "Daemon has completed initialization"
            );
            supervisor
        }
        Ok(Err(e)) => {
            stop_serving(&stop_tx, &mut tasks, &socket_files).await;
            return Err(e);
        }
        // Shut down as after start-up, without a backend: the listeners drain, the third signal forces.
        Err(sig) => {
            stops.push(sig);
            None
        }
    };

    let mut current = config;
    if reload_asked {
        reload(&flags, &defaults, &mut current, &state, &log);
    }
    let first = match stops.first() {
        Some(&sig) => sig,
        None => loop {
            match signals.next().await {
                Event::Stop(sig) => break sig,
                Event::Reload => reload(&flags, &defaults, &mut current, &state, &log),
                Event::Dump => write_dump(&state, &current, &described),
            }
        },
    };
    tracing::info!(
        "Processing signal {first}: shutting down (draining for up to {:?})",
        current.shutdown_timeout
    );
    notify::stopping();
    let _ = stop_tx.send(true);
    // Containers stop while connections drain: their end also ends the attach, wait and logs streams
    // that would keep connections open.
    let containers_down = state
        .backend()
        .map(|b| tokio::spawn(async move { b.containers.shutdown().await }));

    let mut stops = stops.len().max(1);
    let deadline = current.shutdown_timeout + Duration::from_secs(1);
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
            event = signals.next() => match event {
                Event::Stop(sig) => {
                    stops += 1;
                    if stops >= 3 {
                        force_exit(sig, supervisor.as_ref(), &socket_files, pidfile);
                    }
                    tracing::info!("Shutdown in progress; {} more stop signal(s) to force it", 3 - stops);
                }
                Event::Dump => write_dump(&state, &current, &described),
                Event::Reload => tracing::info!("Ignoring SIGHUP during shutdown"),
            }
        }
    }
    if let Some(task) = containers_down {
        let _ = task.await;
    }
    if let Some(s) = supervisor {
        s.stop().await;
    }
    remove_sockets(&socket_files);
    drop(pidfile);
    tracing::info!("Daemon shutdown complete");
    Ok(())
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

/// Stops the listeners of a daemon that does not start, waiting up to 5 s for their connections.
async fn stop_serving(stop: &watch::Sender<bool>, tasks: &mut JoinSet<()>, sockets: &[PathBuf]) {
    let _ = stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    remove_sockets(sockets);
}

/// The third stop signal: exits at once with 128 + `sig`, taking a containerd it started along.
fn force_exit(
    sig: i32,
    supervisor: Option<&Supervisor>,
    sockets: &[PathBuf],
    pidfile: PidFile,
) -> ! {
    tracing::warn!("Forcing shutdown on signal {sig}");
    if let Some(s) = supervisor {
        s.kill_now();
    }
    remove_sockets(sockets);
    drop(pidfile);
    std::process::exit(128 + sig);
}

/// Opens the stores over `client` and restores the containers, with the snapshotter picked: the one asked
/// for, else overlayfs where containerd could load it, else native.
async fn open_backend(
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
        .with_users(Arc::new(StoreUsers(store.clone())));
        let facts = state.facts();
        let seccomp = seccomp::daemon_default(config.seccomp_profile.as_deref())
            .map_err(DaemonError::Seccomp)?;
        if seccomp.is_none() && config.seccomp_profile.is_none() {
            tracing::warn!(
                "containers run without a default seccomp filter: install Debian's golang-github-containers-common for {} or pass --seccomp-profile",
                seccomp::PACKAGED_PROFILE
            );
        }
        let containers = Runtime::new(RuntimeOptions {
            containerd: client.clone(),
            images: images.clone(),
            store,
            events,
            snapshotter: driver.snapshotter(),
            exec_root: config.exec_root.clone(),
            live_restore: config.live_restore,
            seccomp,
            host_hostname: facts.hostname.clone(),
            kernel_version: facts.kernel_version.clone(),
            cgroup_v2: facts.cgroup_version == crate::hostinfo::CgroupVersion::V2,
        });
        containers.restore().await;
        Ok::<_, DaemonError>(Backend {
            images,
            containers,
            containerd: client.clone(),
            driver,
            max_import_size: config.max_import_size,
            data_root: config.data_root.clone(),
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
