//! systemd's readiness protocol: `READY=1`, `RELOADING=1`, `STOPPING=1`; silent without `NOTIFY_SOCKET`.

use sd_notify::NotifyState;

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(false, states) {
        tracing::debug!("sd_notify: {e}");
    }
}

/// Every listener serves.
pub(crate) fn ready() {
    send(&[NotifyState::Ready]);
}

/// A SIGHUP reload starts; [`ready`] follows it.
pub(crate) fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

/// Shutdown starts.
pub(crate) fn stopping() {
    send(&[NotifyState::Stopping]);
}
