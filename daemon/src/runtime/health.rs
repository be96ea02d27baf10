//! Health checks: one probe task per running container with a `Healthcheck`, as dockerd runs them.
//!
//! A run's task starts with the run (`spawn_monitor`: at start, at a restart by policy, at restore) and
//! stops at its end or a pause (and again at unpause); a new one replaces the old, so a container never
//! has two. Each probe is an exec through the exec machinery (`exec_create`, `exec_start`: their events,
//! the container's user, environment and working directory), its output capped, killed when it overruns
//! its timeout; the result goes into the record (`containers::health` decides the status) only while
//! the same run goes on, and a change of status is a `health_status: <status>` event. A probe's exec is
//! forgotten once it ended, so that probes do not push users' execs out of the table.

use std::sync::PoisonError;
use std::time::Duration;

use tokio::sync::watch;
use wharf_client_core::models::ExecConfig;
use wharf_client_core::ErrorKind;

use super::{Handle, Runtime};
use crate::containers::health::{self, CappedOutput, Probe, ProbeResult};
use crate::containers::record::{now_nanos, UnixNanos};

/// How long a probe that was killed may take to end before its task moves on.
const KILL_WAIT: Duration = Duration::from_secs(10);

/// A container's probe task, which stops when this is dropped.
#[derive(Debug)]
pub(super) struct Monitor {
    _stop: watch::Sender<()>,
}

/// How a probe's wait ended.
enum Outcome {
    Ended,
    TimedOut,
    Stopped,
}

impl Runtime {
    /// Starts the probes of container `id`'s current run, replacing any earlier task; nothing when it
    /// has no health check or is not running (or is paused or restarting).
    pub(super) fn start_health(&self, id: &str, handle: &Handle) {
        let Ok(record) = self.store().get(id) else {
            return;
        };
        let s = &record.state;
        let (Some(probe), Some(started_at)) = (health::probe_of(&record.config), s.started_at)
        else {
            return;
        };
        if !s.running || s.paused || s.restarting || s.health.is_none() {
            return;
        }
        let (stop, stopped) = watch::channel(());
        let old = handle
            .health
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .replace(Monitor { _stop: stop });
        drop(old);
        let rt = self.clone();
        let id = record.id.clone();
        tokio::spawn(async move { rt.probe_loop(id, started_at, probe, stopped).await });
    }

    /// Stops the container's probes (a probe under way is killed).
    pub(super) fn stop_health(&self, handle: &Handle) {
        let monitor = handle
            .health
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(monitor);
    }

    /// Probes every interval (the first one interval after the start, as dockerd) until stopped.
    async fn probe_loop(
        self,
        id: String,
        started_at: UnixNanos,
        probe: Probe,
        mut stop: watch::Receiver<()>,
    ) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(probe.interval) => {}
                _ = stop.changed() => return,
            }
            let Some(result) = self.run_probe(&id, &probe, &mut stop).await else {
                return;
            };
            if stop.has_changed().is_err() {
                return;
            }
            let this_probe = probe.clone();
            let recorded = self
                .update(&id, move |r| {
                    let s = &mut r.state;
                    if !s.running || s.paused || s.restarting || s.started_at != Some(started_at) {
                        return Ok(None);
                    }
                    Ok(s.health
                        .as_mut()
                        .and_then(|h| h.record(result, &this_probe, started_at)))
                })
                .await;
            match recorded {
                Ok((Some(status), record)) => {
                    self.emit(&record, &format!("health_status: {}", status.as_str()), &[]);
                }
                Ok((None, _)) => {}
                Err(e) if e.kind == ErrorKind::NotFound => return,
                Err(e) => tracing::warn!(container = %id, "recording a health check: {e}"),
            }
        }
    }

    /// Runs one probe as an exec; `None` when the probes were stopped meanwhile.
    async fn run_probe(
        &self,
        id: &str,
        probe: &Probe,
        stop: &mut watch::Receiver<()>,
    ) -> Option<ProbeResult> {
        let start = now_nanos();
        let failed = |message: String| ProbeResult {
            start,
            end: now_nanos(),
            exit_code: -1,
            output: message,
        };
        let config = ExecConfig {
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            cmd: Some(probe.command.clone()),
            ..ExecConfig::default()
        };
        let exec_id = match self.exec_create(id, config).await {
            Ok(exec_id) => exec_id,
            Err(e) => return Some(failed(e.message)),
        };
        let result = match self.exec_start(&exec_id, true, false, None).await {
            Ok(stream) => {
                let mut ended = stream.ended.clone();
                let mut output = CappedOutput::default();
                let outcome = {
                    let run = async {
                        if let Some(mut chunks) = stream.output {
                            while let Some((_, bytes)) = chunks.recv().await {
                                output.push(&bytes);
                            }
                        }
                        let mut ended = stream.ended;
                        let _ = ended.wait_for(|e| *e).await;
                    };
                    tokio::select! {
                        r = tokio::time::timeout(probe.timeout, run) => match r {
                            Ok(()) => Outcome::Ended,
                            Err(_) => Outcome::TimedOut,
                        },
                        _ = stop.changed() => Outcome::Stopped,
                    }
                };
                match outcome {
                    Outcome::Ended => {
                        let code = self.exec_exit_code(&exec_id).unwrap_or(-1);
                        Some(ProbeResult {
                            start,
                            end: now_nanos(),
                            exit_code: code,
                            output: output.into_string(),
                        })
                    }
                    Outcome::TimedOut | Outcome::Stopped => {
                        let timed_out = matches!(outcome, Outcome::TimedOut)
                            .then(|| failed(health::timeout_message(probe.timeout)));
                        if let Err(e) = self.exec_kill(&exec_id).await {
                            tracing::debug!(container = id, "killing a probe: {e}");
                        }
                        let _ = tokio::time::timeout(KILL_WAIT, ended.wait_for(|e| *e)).await;
                        timed_out
                    }
                }
            }
            Err(e) => Some(failed(e.message)),
        };
        self.inner.execs.forget(&exec_id);
        result
    }
}
