//! What every request handler shares: cached host facts, the engine ID, the live settings, the events bus
//! and the request counters the state dump reports.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::console::Console;
use crate::containers::spec::seccomp::DaemonProfile;
use crate::events::EventBus;
use crate::hostinfo::HostFacts;

/// The containerd side of the daemon: the image store and the container runtime, both over one containerd
/// client.
#[derive(Clone, Debug)]
pub(crate) struct Backend {
    pub images: crate::images::ImageStore,
    pub containers: crate::runtime::Runtime,
    pub volumes: crate::volumes::VolumeStore,
}

/// Shared daemon state, cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct AppState {
    inner: Arc<Inner>,
}

/// The daemon's settings the API answers from.
#[derive(Debug)]
pub(crate) struct Settings {
    pub data_root: PathBuf,
    pub debug: bool,
    /// What `/info` warns about (listeners less than mutual TLS...).
    pub warnings: Vec<String>,
    /// The default seccomp profile containers get, which `/info` reports.
    pub seccomp: DaemonProfile,
    /// Browser origins besides the daemon's own that may open WebSockets.
    pub allowed_origins: Vec<String>,
    /// The listeners as bound, for `GET /wharf/v1/daemon`.
    pub listeners: Vec<ListenerInfo>,
    /// The browser console served at `/`, read at start-up.
    pub console: Console,
    /// The registry service (`/info`'s registry settings, `POST /auth`; the image store shares it).
    pub registries: crate::registry::Registries,
}

/// A listener as the API describes it: where, and how a client proves who it is there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ListenerInfo {
    /// `unix:///run/wharf.sock`, `tcp://127.0.0.1:2376` or `fd://3`.
    pub address: String,
    pub tls: bool,
    /// Whether a verified client certificate is an identity here.
    pub client_certs: bool,
    /// Whether a client without a certificate needs a bearer token.
    pub token_required: bool,
}

#[derive(Debug)]
struct Inner {
    facts: HostFacts,
    engine_id: String,
    data_root: PathBuf,
    debug: AtomicBool,
    warnings: Vec<String>,
    /// The default seccomp profile containers get, which `/info` reports.
    seccomp: DaemonProfile,
    allowed_origins: Vec<String>,
    listeners: Vec<ListenerInfo>,
    console: Console,
    registries: crate::registry::Registries,
    started: Instant,
    counters: Counters,
    events: EventBus,
    /// The backend once containerd answers: listeners serve before it does, so `/_ping` answers at once.
    backend: watch::Sender<Option<Backend>>,
    /// Whether a backend is on its way (set while containerd starts); without one, waiting is pointless.
    backend_starting: AtomicBool,
    /// `/version`'s answer, serialized on first use: nothing in it changes while the daemon runs.
    version_json: OnceLock<Bytes>,
    /// Tokens, roles, tickets, the failed-login limiter and the audit log.
    auth: crate::auth::Auth,
}

/// How long a request that needs containerd waits for it during start-up.
pub(crate) const BACKEND_WAIT: Duration = Duration::from_secs(60);

fn with_events(mut backend: Backend, events: &EventBus) -> Backend {
    backend.images = backend.images.with_events(events.clone());
    backend
}

/// Request counters, updated by the request log middleware.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub requests: AtomicU64,
    /// Requests being answered now.
    pub in_flight: AtomicU64,
    /// Answers with a 4xx status.
    pub client_errors: AtomicU64,
    /// Answers with a 5xx status.
    pub server_errors: AtomicU64,
    /// Streamed answers whose body is still alive (stats so far): 0 once every client went away.
    pub open_streams: AtomicU64,
}

impl AppState {
    /// Builds the state from facts gathered at start-up.
    pub(crate) fn new(
        facts: HostFacts,
        engine_id: String,
        settings: Settings,
        backend: Option<Backend>,
        auth: crate::auth::Auth,
    ) -> Self {
        let Settings {
            data_root,
            debug,
            warnings,
            seccomp,
            allowed_origins,
            listeners,
            console,
            registries,
        } = settings;
        let events = EventBus::default();
        // Image events go to the same bus `/events` reads.
        let backend = watch::Sender::new(backend.map(|b| with_events(b, &events)));
        Self {
            inner: Arc::new(Inner {
                facts,
                engine_id,
                data_root,
                debug: AtomicBool::new(debug),
                warnings,
                seccomp,
                allowed_origins,
                listeners,
                console,
                registries,
                started: Instant::now(),
                counters: Counters::default(),
                events,
                backend,
                backend_starting: AtomicBool::new(false),
                version_json: OnceLock::new(),
                auth,
            }),
        }
    }

    /// A state for tests: this host's facts, a fixed ID.
    #[cfg(test)]
    pub(crate) fn for_tests() -> Self {
        Self::for_tests_with(crate::auth::Auth::in_memory(
            std::collections::HashMap::new(),
        ))
    }

    /// A state for tests with `auth`.
    #[cfg(test)]
    pub(crate) fn for_tests_with(auth: crate::auth::Auth) -> Self {
        Self::for_tests_serving(auth, Console::Off)
    }

    /// A state for tests with `auth`, serving `console`.
    #[cfg(test)]
    pub(crate) fn for_tests_serving(auth: crate::auth::Auth, console: Console) -> Self {
        Self::new(
            HostFacts::detect(),
            "TEST-ENGINE-ID".into(),
            Settings {
                data_root: "/tmp/wharf-test".into(),
                debug: false,
                warnings: Vec::new(),
                seccomp: DaemonProfile {
                    setting: "unconfined".into(),
                    profile: None,
                },
                allowed_origins: Vec::new(),
                listeners: Vec::new(),
                console,
                registries: crate::registry::Registries::new(Default::default()),
            },
            None,
            auth,
        )
    }

    /// `/version`'s JSON, built by `build` the first time and shared afterwards.
    pub(crate) fn version_json(&self, build: impl FnOnce() -> Bytes) -> Bytes {
        self.inner.version_json.get_or_init(build).clone()
    }

    /// The containerd backend, if it is ready now.
    pub(crate) fn backend(&self) -> Option<Backend> {
        self.inner.backend.borrow().clone()
    }

    /// Says a backend is being started: requests that need it wait for [`Self::set_backend`].
    pub(crate) fn backend_starting(&self) {
        self.inner.backend_starting.store(true, Ordering::Relaxed);
    }

    /// Installs the backend once containerd answers, publishing its image events on this state's bus.
    pub(crate) fn set_backend(&self, backend: Backend) {
        self.inner
            .backend
            .send_replace(Some(with_events(backend, &self.inner.events)));
    }

    /// The part of the backend that `part` picks (a request clones only what it uses), waiting up to
    /// [`BACKEND_WAIT`] while containerd starts; `None` when there is none.
    pub(crate) async fn wait_backend_part<T>(&self, part: impl Fn(&Backend) -> T) -> Option<T> {
        if let Some(b) = self.inner.backend.borrow().as_ref() {
            return Some(part(b));
        }
        if !self.inner.backend_starting.load(Ordering::Relaxed) {
            return None;
        }
        let mut rx = self.inner.backend.subscribe();
        let ready = tokio::time::timeout(BACKEND_WAIT, rx.wait_for(Option::is_some)).await;
        match ready {
            Ok(Ok(b)) => b.as_ref().map(part),
            _ => None,
        }
    }

    pub(crate) fn facts(&self) -> &HostFacts {
        &self.inner.facts
    }

    /// The engine ID persisted in the data root.
    pub(crate) fn engine_id(&self) -> &str {
        &self.inner.engine_id
    }

    /// The data root (`DockerRootDir`).
    pub(crate) fn data_root(&self) -> &std::path::Path {
        &self.inner.data_root
    }

    /// Whether debug mode is on now (SIGHUP may change it).
    pub(crate) fn debug(&self) -> bool {
        self.inner.debug.load(Ordering::Relaxed)
    }

    /// Sets debug mode after a reload.
    pub(crate) fn set_debug(&self, on: bool) {
        self.inner.debug.store(on, Ordering::Relaxed);
    }

    /// Start-up warnings `/info` reports (plain HTTP on TCP, for one).
    pub(crate) fn warnings(&self) -> &[String] {
        &self.inner.warnings
    }

    /// The default seccomp profile.
    pub(crate) fn seccomp(&self) -> &DaemonProfile {
        &self.inner.seccomp
    }

    /// Browser origins besides the daemon's own that may open WebSockets.
    pub(crate) fn allowed_origins(&self) -> &[String] {
        &self.inner.allowed_origins
    }

    /// The listeners as bound.
    pub(crate) fn listeners(&self) -> &[ListenerInfo] {
        &self.inner.listeners
    }

    /// The registry service.
    pub(crate) fn registries(&self) -> &crate::registry::Registries {
        &self.inner.registries
    }

    /// The browser console, if it is served.
    pub(crate) fn console(&self) -> &Console {
        &self.inner.console
    }

    /// Time since start-up.
    pub(crate) fn uptime(&self) -> std::time::Duration {
        self.inner.started.elapsed()
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.inner.counters
    }

    /// Authentication, authorization and audit.
    pub(crate) fn auth(&self) -> &crate::auth::Auth {
        &self.inner.auth
    }

    /// The events bus every subsystem publishes to.
    pub(crate) fn events(&self) -> &EventBus {
        &self.inner.events
    }
}
