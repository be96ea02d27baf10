//! Stopping, killing, restarting, pausing and unpausing a running container, with dockerd's answers for a
//! container in the wrong state and the events dockerd publishes (`kill` with its signal, `stop`,
//! `restart`, `pause`, `unpause`).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use wharf_client_core::ErrorKind;

use super::signal::{self, Signal};
use super::{Handle, Runtime};
use crate::containers::record::{now_nanos, ContainerRecord};
use crate::error::Error;

/// moby's default stop timeout.
pub(super) const DEFAULT_STOP_TIMEOUT: i64 = 10;

/// How long a SIGKILLed container may take to be reaped before the stop fails.
const KILL_WAIT: Duration = Duration::from_secs(30);

/// dockerd's 409 for an operation that needs the container running.
pub(super) fn not_running(id: &str) -> Error {
    Error::new(
        ErrorKind::Conflict,
        format!("Container {id} is not running"),
    )
}

/// dockerd's 409 for an operation on a container between two runs of its restart policy.
pub(super) fn restarting(id: &str) -> Error {
    Error::new(
        ErrorKind::Conflict,
        format!("Container {id} is restarting, wait until the container is running"),
    )
}

impl Runtime {
    /// Sends `sig` to the container's process; a paused container is thawed after a killing signal so
    /// that it can die.
    pub(super) async fn signal(&self, record: &ContainerRecord, sig: Signal) -> Result<(), Error> {
        let id = &record.id;
        match self.inner.cd.task_kill(id, sig.number(), false).await {
            Err(e) if !e.is_not_found() => return Err(e.into()),
            _ => {}
        }
        self.emit(record, "kill", &[("signal", sig.to_string())]);
        if record.state.paused && (sig == Signal::KILL || sig == Signal::TERM) {
            let _ = self.inner.cd.task_resume(id).await;
            let _ = self
                .update(id, move |r| {
                    r.state.paused = false;
                    Ok(())
                })
                .await;
        }
        Ok(())
    }

    /// Marks a stop by the user: the exit does not trigger the restart policy, and a pending restart is
    /// called off.
    pub(super) async fn mark_manual_stop(
        &self,
        id: &str,
        handle: &Handle,
    ) -> Result<ContainerRecord, Error> {
        handle.manual_stop.store(true, Ordering::Relaxed);
        let ((), record) = self
            .update(id, move |r| {
                r.has_been_manually_stopped = true;
                if r.state.restarting {
                    let code = r.state.exit_code;
                    r.state.set_stopped(code, false, now_nanos());
                }
                Ok(())
            })
            .await?;
        handle.cancel_restart.notify_waiters();
        Ok(record)
    }

    /// Waits until the run counted `exits` ends, up to `limit` (`None`: for ever); true when it did.
    async fn wait_exit_after(handle: &Handle, exits: u64, limit: Option<Duration>) -> bool {
        let mut rx = handle.status.subscribe();
        let ended = rx.wait_for(|s| s.exits > exits || !s.running);
        match limit {
            Some(limit) => matches!(tokio::time::timeout(limit, ended).await, Ok(Ok(_))),
            None => ended.await.is_ok(),
        }
    }

    /// Stops a run: its stop signal, then SIGKILL after `timeout` seconds (negative: wait for ever). The
    /// operation lock must be held.
    pub(super) async fn stop_locked(
        &self,
        id: &str,
        handle: &Arc<Handle>,
        sig: Option<Signal>,
        timeout: Option<i64>,
    ) -> Result<(), Error> {
        let exits = handle.status.borrow().exits;
        let record = self.mark_manual_stop(id, handle).await?;
        if !record.state.running {
            return Ok(());
        }
        let sig = match sig {
            Some(s) => s,
            None => match record
                .config
                .stop_signal
                .as_deref()
                .filter(|s| !s.is_empty())
            {
                Some(s) => signal::parse(s)?,
                None => Signal::TERM,
            },
        };
        let timeout = timeout
            .or(record.config.stop_timeout)
            .unwrap_or(DEFAULT_STOP_TIMEOUT);
        self.signal(&record, sig).await?;
        let limit = u64::try_from(timeout).ok().map(Duration::from_secs);
        if !Self::wait_exit_after(handle, exits, limit).await {
            tracing::info!(
                container = id,
                "did not stop within {timeout} s of signal {sig}; killing it"
            );
            let record = self.store().get(id)?;
            self.signal(&record, Signal::KILL).await?;
            if !Self::wait_exit_after(handle, exits, Some(KILL_WAIT)).await {
                return Err(Error::new(
                    ErrorKind::System,
                    format!(
                        "cannot stop container {id}: it did not exit {KILL_WAIT:?} after SIGKILL"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// `POST /containers/{id}/stop`: false when it was not running (dockerd's 304).
    pub(crate) async fn stop(
        &self,
        id_or_name: &str,
        sig: Option<Signal>,
        timeout: Option<i64>,
    ) -> Result<bool, Error> {
        let (record, handle) = self.lookup(id_or_name)?;
        let _op = handle.op.lock().await;
        let record = self.store().get(&record.id)?;
        if !record.state.running {
            return Ok(false);
        }
        self.stop_locked(&record.id, &handle, sig, timeout).await?;
        let record = self.store().get(&record.id)?;
        self.emit(&record, "stop", &[]);
        Ok(true)
    }

    /// `POST /containers/{id}/restart`.
    pub(crate) async fn restart(
        &self,
        id_or_name: &str,
        sig: Option<Signal>,
        timeout: Option<i64>,
    ) -> Result<(), Error> {
        let (record, handle) = self.lookup(id_or_name)?;
        let _op = handle.op.lock().await;
        let record = self.store().get(&record.id)?;
        if record.state.running {
            self.stop_locked(&record.id, &handle, sig, timeout).await?;
            let stopped = self.store().get(&record.id)?;
            self.emit(&stopped, "stop", &[]);
        }
        handle.manual_stop.store(false, Ordering::Relaxed);
        self.update(&record.id, move |r| {
            r.has_been_manually_stopped = false;
            Ok(())
        })
        .await?;
        self.start_locked(&record.id, &handle).await?;
        let record = self.store().get(&record.id)?;
        self.emit(&record, "restart", &[]);
        Ok(())
    }

    /// `POST /containers/{id}/kill`: `sig`, SIGKILL by default.
    pub(crate) async fn kill(&self, id_or_name: &str, sig: Option<Signal>) -> Result<(), Error> {
        let sig = sig.unwrap_or(Signal::KILL);
        let (record, handle) = self.lookup(id_or_name)?;
        let _op = handle.op.lock().await;
        let record = self.store().get(&record.id)?;
        if !record.state.running {
            return Err(not_running(&record.id));
        }
        let exits = handle.status.borrow().exits;
        let record = self.mark_manual_stop(&record.id, &handle).await?;
        if record.state.running {
            self.signal(&record, sig).await?;
            // As dockerd: a SIGKILL returns once the exit is recorded, so `docker kill x && docker rm x`
            // works.
            if sig == Signal::KILL && !Self::wait_exit_after(&handle, exits, Some(KILL_WAIT)).await
            {
                return Err(Error::new(
                    ErrorKind::System,
                    format!(
                        "container {} did not exit {KILL_WAIT:?} after SIGKILL",
                        record.id
                    ),
                ));
            }
        }
        Ok(())
    }

    /// `POST /containers/{id}/resize`: the size of a running container's terminal (a container without
    /// one ignores it, as the shim does).
    pub(crate) async fn resize(
        &self,
        id_or_name: &str,
        height: u32,
        width: u32,
    ) -> Result<(), Error> {
        let record = self.store().get(id_or_name)?;
        if !record.state.running {
            return Err(not_running(&record.id));
        }
        self.inner
            .cd
            .process_resize(&record.id, "", width, height)
            .await
            .map_err(Into::into)
    }

    /// `POST /containers/{id}/pause`.
    pub(crate) async fn pause(&self, id_or_name: &str) -> Result<(), Error> {
        let (record, handle) = self.lookup(id_or_name)?;
        let _op = handle.op.lock().await;
        let record = self.store().get(&record.id)?;
        let id = &record.id;
        let s = &record.state;
        if !s.running {
            return Err(not_running(id));
        }
        if s.paused {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("Container {id} is already paused"),
            ));
        }
        if s.restarting {
            return Err(restarting(id));
        }
        self.inner.cd.task_pause(id).await?;
        self.record_paused(id, true, &handle).await
    }

    /// Records a pause or unpause that containerd made, and publishes its event. The health probes stop
    /// with a pause and start again with the unpause, as dockerd's.
    async fn record_paused(&self, id: &str, paused: bool, handle: &Handle) -> Result<(), Error> {
        if paused {
            self.stop_health(handle);
        }
        let ((), record) = self
            .update(id, move |r| {
                r.state.paused = paused;
                if let Some(health) = r.state.health.as_mut().filter(|_| paused) {
                    health.stop();
                }
                Ok(())
            })
            .await?;
        if !paused {
            self.start_health(id, handle);
        }
        self.emit(&record, if paused { "pause" } else { "unpause" }, &[]);
        Ok(())
    }

    /// `POST /containers/{id}/unpause`.
    pub(crate) async fn unpause(&self, id_or_name: &str) -> Result<(), Error> {
        let (record, handle) = self.lookup(id_or_name)?;
        let _op = handle.op.lock().await;
        let record = self.store().get(&record.id)?;
        let id = &record.id;
        if !record.state.paused {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("Container {id} is not paused"),
            ));
        }
        self.inner.cd.task_resume(id).await?;
        self.record_paused(id, false, &handle).await
    }
}
