//! The signals wharfd acts on, as one stream of events: SIGINT/SIGTERM stop, SIGHUP reloads, SIGUSR1 dumps.

use tokio::signal::unix::{signal, Signal, SignalKind};

/// What a signal asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// SIGINT or SIGTERM, with its number.
    Stop(i32),
    /// SIGHUP.
    Reload,
    /// SIGUSR1.
    Dump,
}

/// The installed handlers.
#[derive(Debug)]
pub struct Signals {
    int: Signal,
    term: Signal,
    hup: Signal,
    usr1: Signal,
}

impl Signals {
    /// Installs the handlers (inside the runtime).
    pub fn install() -> std::io::Result<Self> {
        Ok(Self {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            usr1: signal(SignalKind::user_defined1())?,
        })
    }

    /// The next signal.
    pub async fn next(&mut self) -> Event {
        tokio::select! {
            _ = self.int.recv() => Event::Stop(libc_signo::SIGINT),
            _ = self.term.recv() => Event::Stop(libc_signo::SIGTERM),
            _ = self.hup.recv() => Event::Reload,
            _ = self.usr1.recv() => Event::Dump,
        }
    }
}

/// Signal numbers, from nix so that no libc dependency is needed.
mod libc_signo {
    pub const SIGINT: i32 = nix::sys::signal::Signal::SIGINT as i32;
    pub const SIGTERM: i32 = nix::sys::signal::Signal::SIGTERM as i32;
}
