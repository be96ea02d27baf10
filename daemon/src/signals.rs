//! The signals wharfd acts on, as one stream of events: SIGINT/SIGTERM stop, SIGHUP reloads, SIGUSR1 dumps.
//!
//! tokio's signal streams coalesce: signals that arrive while nothing awaits the stream are seen as one.
//! wharfd does not await them while containerd starts, nor between two steps of its shutdown, and the
//! third stop signal must still force the exit; so a task of its own forwards every signal, from the
//! moment the handlers are installed, into a queue that the daemon reads when it can.

use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::mpsc;

/// Signals queued before the daemon reads them; beyond this the forwarding task waits (and further
/// signals of a kind coalesce, as the kernel's do).
const QUEUE: usize = 64;

/// What a signal asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// SIGINT or SIGTERM, with its number.
    Stop(i32),
    /// SIGHUP.
    Reload,
    /// SIGUSR1.
    Dump,
}

/// The installed handlers.
#[derive(Debug)]
pub(crate) struct Signals {
    events: mpsc::Receiver<Event>,
}

/// The handlers themselves, owned by the forwarding task.
struct Handlers {
    int: Signal,
    term: Signal,
    hup: Signal,
    usr1: Signal,
}

impl Handlers {
    async fn next(&mut self) -> Event {
        tokio::select! {
            _ = self.int.recv() => Event::Stop(libc_signo::SIGINT),
            _ = self.term.recv() => Event::Stop(libc_signo::SIGTERM),
            _ = self.hup.recv() => Event::Reload,
            _ = self.usr1.recv() => Event::Dump,
        }
    }
}

impl Signals {
    /// Installs the handlers and starts forwarding (inside the runtime).
    pub(crate) fn install() -> std::io::Result<Self> {
        let mut handlers = Handlers {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            usr1: signal(SignalKind::user_defined1())?,
        };
        let (tx, events) = mpsc::channel(QUEUE);
        tokio::spawn(async move {
            loop {
                let event = handlers.next().await;
                if tx.send(event).await.is_err() {
                    break;
                }
            }
        });
        Ok(Self { events })
    }

    /// The next signal, in the order they came.
    pub(crate) async fn next(&mut self) -> Event {
        match self.events.recv().await {
            Some(event) => event,
            // The forwarding task never ends while this receiver lives; if it did, no signal comes.
            None => std::future::pending().await,
        }
    }
}

/// Signal numbers, from nix so that no libc dependency is needed.
mod libc_signo {
    pub(super) const SIGINT: i32 = nix::sys::signal::Signal::SIGINT as i32;
    pub(super) const SIGTERM: i32 = nix::sys::signal::Signal::SIGTERM as i32;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn signals_sent_while_nobody_reads_are_each_delivered() {
        let mut signals = Signals::install().unwrap();
        let me = nix::unistd::Pid::this();
        // Nobody reads for a while after each signal, as while containerd starts.
        for _ in 0..3 {
            nix::sys::signal::kill(me, nix::sys::signal::Signal::SIGUSR1).unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for _ in 0..3 {
            let event = tokio::time::timeout(Duration::from_secs(5), signals.next())
                .await
                .unwrap();
            assert_eq!(event, Event::Dump);
        }
    }
}
