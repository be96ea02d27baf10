//! Health checks without the runtime: what a container's `Healthcheck` asks for (the probe's command
//! and timings, with dockerd's defaults), the state a container's record keeps of its results
//! (`State.Health` in inspect), and dockerd's transitions between `starting`, `healthy` and
//! `unhealthy` (moby's `daemon/health.go`). The probes themselves run in `runtime::health`.
//!
//! The rules, as dockerd 20.10 has them: every run starts `starting` with no failing streak (the log
//! of earlier runs is kept); a success makes the container `healthy` at once; a failure counts unless
//! the container is still `starting` within its start period, and `retries` counted failures in a row
//! make it `unhealthy`; the last five results are kept, each with at most 4096 bytes of output (then
//! `...`). A probe that overruns its timeout is a failure with exit code -1. When the probes stop (the
//! container stopped or paused), the status becomes `unhealthy` without an event, as dockerd's does.

use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wharf_client_core::models::{
    ContainerConfig, Health, HealthConfig, HealthStatusEnum, HealthcheckResult,
};

use super::record::UnixNanos;
use crate::timefmt::rfc3339_unix_nanos;

/// dockerd's defaults for a field left at 0.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_RETRIES: i64 = 3;

/// How many results the log keeps.
pub(crate) const MAX_LOG_ENTRIES: usize = 5;

/// How much of a probe's output a result keeps.
pub(crate) const MAX_OUTPUT: usize = 4096;

/// A health status, as inspect, `docker ps` and the events name it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum HealthStatus {
    #[default]
    Starting,
    Healthy,
    Unhealthy,
}

impl HealthStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
        }
    }

    /// What `docker ps` shows in parentheses after `Up ...` (moby's `Health.String`).
    pub(crate) fn ps_text(self) -> &'static str {
        match self {
            Self::Starting => "health: starting",
            other => other.as_str(),
        }
    }
}

/// One probe's result.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct ProbeResult {
    pub start: UnixNanos,
    pub end: UnixNanos,
    pub exit_code: i64,
    pub output: String,
}

/// What a container's record keeps of its health checks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct HealthState {
    pub status: HealthStatus,
    pub failing_streak: i64,
    /// The last [`MAX_LOG_ENTRIES`] results, oldest first.
    pub log: VecDeque<ProbeResult>,
}

impl HealthState {
    /// A new run begins: `starting`, no streak, the log kept (moby's `initHealthMonitor`).
    pub(crate) fn restart(&mut self) {
        self.status = HealthStatus::Starting;
        self.failing_streak = 0;
    }

    /// The probes stopped with the run or a pause: `unhealthy`, as moby's `CloseMonitorChannel` leaves it.
    pub(crate) fn stop(&mut self) {
        self.status = HealthStatus::Unhealthy;
    }

    /// Records a result of a run that started at `started_at`; the new status when it changed (moby's
    /// `handleProbeResult`).
    pub(crate) fn record(
        &mut self,
        result: ProbeResult,
        probe: &Probe,
        started_at: UnixNanos,
    ) -> Option<HealthStatus> {
        let before = self.status;
        let success = result.exit_code == 0;
        let in_start_period = self.status == HealthStatus::Starting
            && u128::from(result.start.saturating_sub(started_at)) < probe.start_period.as_nanos();
        while self.log.len() >= MAX_LOG_ENTRIES {
            self.log.pop_front();
        }
        self.log.push_back(result);
        if success {
            self.failing_streak = 0;
            self.status = HealthStatus::Healthy;
        } else if !in_start_period {
            self.failing_streak += 1;
            if self.failing_streak >= probe.retries {
                self.status = HealthStatus::Unhealthy;
            }
        }
        (self.status != before).then_some(self.status)
    }

    /// `State.Health` of inspect.
    pub(crate) fn to_model(&self) -> Health {
        Health {
            status: Some(match self.status {
                HealthStatus::Starting => HealthStatusEnum::STARTING,
                HealthStatus::Healthy => HealthStatusEnum::HEALTHY,
                HealthStatus::Unhealthy => HealthStatusEnum::UNHEALTHY,
            }),
            failing_streak: Some(self.failing_streak),
            log: Some(
                self.log
                    .iter()
                    .map(|r| HealthcheckResult {
                        start: Some(rfc3339_unix_nanos(r.start)),
                        end: Some(rfc3339_unix_nanos(r.end)),
                        exit_code: Some(r.exit_code),
                        output: Some(r.output.clone()),
                    })
                    .collect(),
            ),
        }
    }
}

/// What a container's health check runs, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Probe {
    /// The command as an exec runs it (`CMD-SHELL` through the container's shell).
    pub command: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    pub start_period: Duration,
    /// Failures in a row that make the container unhealthy.
    pub retries: i64,
}

/// A duration field in nanoseconds, or `default` when unset or not positive.
fn nanos_or(value: Option<i64>, default: Duration) -> Duration {
    match value.and_then(|v| u64::try_from(v).ok()) {
        Some(v) if v > 0 => Duration::from_nanos(v),
        _ => default,
    }
}

/// The probe a container's (image-merged) config asks for: none without a `Healthcheck`, with `NONE`
/// or an empty or unknown test (moby's `getProbe`), else its command and timings with dockerd's
/// defaults.
pub(crate) fn probe_of(config: &ContainerConfig) -> Option<Probe> {
    let health = config.healthcheck.as_ref()?;
    let test = health.test.as_deref()?;
    let (kind, rest) = test.split_first()?;
    let command: Vec<String> = match kind.as_str() {
        "CMD" => rest.to_vec(),
        "CMD-SHELL" => {
            let shell = config
                .shell
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
            shell.into_iter().chain(rest.iter().cloned()).collect()
        }
        _ => return None,
    };
    if command.is_empty() {
        return None;
    }
    Some(Probe {
        command,
        interval: nanos_or(health.interval, DEFAULT_INTERVAL),
        timeout: nanos_or(health.timeout, DEFAULT_TIMEOUT),
        start_period: nanos_or(health.start_period, Duration::ZERO),
        retries: health.retries.filter(|r| *r > 0).unwrap_or(DEFAULT_RETRIES),
    })
}

/// Fills what the container's `Healthcheck` left unset from the image's, as moby's `runconfig.Merge`:
/// the whole of it when the container has none, else the test when empty and each duration or the
/// retries when 0.
pub(crate) fn merge(mine: &mut Option<HealthConfig>, image: Option<&HealthConfig>) {
    let Some(image) = image else {
        return;
    };
    let Some(mine) = mine else {
        *mine = Some(image.clone());
        return;
    };
    if mine.test.as_ref().is_none_or(Vec::is_empty) {
        mine.test = image.test.clone();
    }
    for (field, theirs) in [
        (&mut mine.interval, image.interval),
        (&mut mine.timeout, image.timeout),
        (&mut mine.start_period, image.start_period),
        (&mut mine.retries, image.retries),
    ] {
        if field.unwrap_or(0) == 0 {
            *field = theirs;
        }
    }
}

/// A probe's output, as dockerd keeps it: stdout and stderr together, the first [`MAX_OUTPUT`] bytes,
/// then `...` when there was more.
#[derive(Debug, Default)]
pub(crate) struct CappedOutput {
    bytes: Vec<u8>,
    truncated: bool,
}

impl CappedOutput {
    pub(crate) fn push(&mut self, data: &[u8]) {
        let room = MAX_OUTPUT.saturating_sub(self.bytes.len());
        let keep = room.min(data.len());
        self.bytes.extend_from_slice(&data[..keep]);
        if keep < data.len() {
            self.truncated = true;
        }
    }

    pub(crate) fn into_string(self) -> String {
        let mut out = String::from_utf8_lossy(&self.bytes).into_owned();
        if self.truncated {
            out.push_str("...");
        }
        out
    }
}

/// Go's `time.Duration.String`, which dockerd's timeout message uses (`500ms`, `1.5s`, `1m30s`).
pub(crate) fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    let frac = |value: u128, scale: u128, digits: usize| {
        let (int, rest) = (value / scale, value % scale);
        if rest == 0 {
            int.to_string()
        } else {
            let f = format!("{rest:0digits$}");
            format!("{int}.{}", f.trim_end_matches('0'))
        }
    };
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}µs", frac(nanos, 1_000, 3));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", frac(nanos, 1_000_000, 6));
    }
    let hours = nanos / 3_600_000_000_000;
    let minutes = nanos / 60_000_000_000 % 60;
    let seconds = frac(nanos % 60_000_000_000, 1_000_000_000, 9);
    match (hours, minutes) {
        (0, 0) => format!("{seconds}s"),
        (0, m) => format!("{m}m{seconds}s"),
        (h, m) => format!("{h}h{m}m{seconds}s"),
    }
}

/// The output of a probe that overran its timeout, in dockerd's words.
pub(crate) fn timeout_message(timeout: Duration) -> String {
    format!("Health check exceeded timeout ({})", go_duration(timeout))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    fn config(json: &str) -> ContainerConfig {
        serde_json::from_str(json).unwrap()
    }

    fn probe(retries: i64, start_period: u64) -> Probe {
        Probe {
            command: vec!["true".into()],
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            start_period: Duration::from_secs(start_period),
            retries,
        }
    }

    fn result(at: u64, code: i64) -> ProbeResult {
        ProbeResult {
            start: at * SEC,
            end: at * SEC + 1,
            exit_code: code,
            output: format!("at {at}"),
        }
    }

    #[test]
    fn a_success_makes_it_healthy_at_once_and_ends_the_streak() {
        let mut h = HealthState::default();
        let p = probe(3, 0);
        assert_eq!(h.record(result(1, 1), &p, 0), None);
        assert_eq!(h.failing_streak, 1);
        assert_eq!(h.record(result(2, 0), &p, 0), Some(HealthStatus::Healthy));
        assert_eq!(h.failing_streak, 0);
        assert_eq!(h.record(result(3, 0), &p, 0), None, "no change, no event");
    }

    #[test]
    fn retries_failures_in_a_row_make_it_unhealthy() {
        let mut h = HealthState::default();
        let p = probe(2, 0);
        assert_eq!(h.record(result(1, 1), &p, 0), None);
        assert_eq!(h.record(result(2, 7), &p, 0), Some(HealthStatus::Unhealthy));
        assert_eq!(h.record(result(3, -1), &p, 0), None);
        assert_eq!(h.failing_streak, 3);
        assert_eq!(h.record(result(4, 0), &p, 0), Some(HealthStatus::Healthy));
        // Healthy, then failures: unhealthy again after `retries` of them.
        assert_eq!(h.record(result(5, 1), &p, 0), None);
        assert_eq!(h.status, HealthStatus::Healthy);
        assert_eq!(h.record(result(6, 1), &p, 0), Some(HealthStatus::Unhealthy));
    }

    #[test]
    fn failures_in_the_start_period_do_not_count_while_starting() {
        let mut h = HealthState::default();
        let p = probe(1, 10);
        let started = 100;
        assert_eq!(h.record(result(105, 1), &p, started * SEC), None);
        assert_eq!((h.status, h.failing_streak), (HealthStatus::Starting, 0));
        assert_eq!(
            h.record(result(111, 1), &p, started * SEC),
            Some(HealthStatus::Unhealthy),
            "after the start period a failure counts"
        );
        // Once healthy, a failure inside the start period counts.
        let mut h = HealthState::default();
        let p = probe(1, 10);
        h.record(result(101, 0), &p, started * SEC);
        assert_eq!(
            h.record(result(102, 1), &p, started * SEC),
            Some(HealthStatus::Unhealthy)
        );
    }

    #[test]
    fn the_log_keeps_the_last_five_and_a_new_run_keeps_it() {
        let mut h = HealthState::default();
        let p = probe(3, 0);
        for at in 1..=7 {
            h.record(result(at, 1), &p, 0);
        }
        let starts: Vec<u64> = h.log.iter().map(|r| r.start / SEC).collect();
        assert_eq!(starts, [3, 4, 5, 6, 7]);
        assert_eq!(h.status, HealthStatus::Unhealthy);
        h.restart();
        assert_eq!((h.status, h.failing_streak), (HealthStatus::Starting, 0));
        assert_eq!(h.log.len(), 5);
        h.record(result(8, 0), &p, 0);
        h.stop();
        assert_eq!(h.status, HealthStatus::Unhealthy);
        assert_eq!(h.failing_streak, 0, "stopping leaves the streak alone");
    }

    #[test]
    fn inspect_shows_dockers_shape() {
        let mut h = HealthState::default();
        h.record(result(1_700_000_000, 0), &probe(3, 0), 0);
        let json = serde_json::to_value(h.to_model()).unwrap();
        assert_eq!(json["Status"], "healthy");
        assert_eq!(json["FailingStreak"], 0);
        assert_eq!(json["Log"][0]["Start"], "2023-11-14T22:13:20Z");
        assert_eq!(json["Log"][0]["End"], "2023-11-14T22:13:20.000000001Z");
        assert_eq!(json["Log"][0]["ExitCode"], 0);
        assert_eq!(json["Log"][0]["Output"], "at 1700000000");
        assert_eq!(HealthStatus::Starting.ps_text(), "health: starting");
        assert_eq!(HealthStatus::Unhealthy.ps_text(), "unhealthy");
    }

    #[test]
    fn probes_follow_the_test_and_dockerd_defaults() {
        let p = probe_of(&config(
            r#"{"Healthcheck":{"Test":["CMD-SHELL","exit 0"]}}"#,
        ))
        .unwrap();
        assert_eq!(p.command, ["/bin/sh", "-c", "exit 0"]);
        assert_eq!(
            (p.interval, p.timeout, p.start_period, p.retries),
            (
                Duration::from_secs(30),
                Duration::from_secs(30),
                Duration::ZERO,
                3
            )
        );
        let p = probe_of(&config(
            r#"{"Shell":["/bin/ash","-ec"],"Healthcheck":{"Test":["CMD-SHELL","x"],
                "Interval":1000000000,"Timeout":500000000,"StartPeriod":2000000000,"Retries":1}}"#,
        ))
        .unwrap();
        assert_eq!(p.command, ["/bin/ash", "-ec", "x"]);
        assert_eq!(p.timeout, Duration::from_millis(500));
        assert_eq!((p.start_period, p.retries), (Duration::from_secs(2), 1));
        let p = probe_of(&config(
            r#"{"Healthcheck":{"Test":["CMD","wget","-q","x"]}}"#,
        ))
        .unwrap();
        assert_eq!(p.command, ["wget", "-q", "x"]);
        for none in [
            r#"{}"#,
            r#"{"Healthcheck":{"Test":["NONE"]}}"#,
            r#"{"Healthcheck":{"Test":[]}}"#,
            r#"{"Healthcheck":{"Test":["CMD"]}}"#,
            r#"{"Healthcheck":{"Test":["BOGUS","x"]}}"#,
        ] {
            assert_eq!(probe_of(&config(none)), None, "{none}");
        }
    }

    #[test]
    fn the_image_fills_what_the_container_left_unset() {
        let image: HealthConfig = serde_json::from_str(
            r#"{"Test":["CMD-SHELL","false"],"Interval":1000000000,"Retries":2}"#,
        )
        .unwrap();
        let mut none = None;
        merge(&mut none, Some(&image));
        assert_eq!(none.as_ref(), Some(&image));
        // --no-healthcheck keeps NONE but takes the image's timings, as dockerd's inspect shows.
        let mut off = Some(HealthConfig {
            test: Some(vec!["NONE".into()]),
            ..Default::default()
        });
        merge(&mut off, Some(&image));
        let off = off.unwrap();
        assert_eq!(off.test.unwrap(), ["NONE"]);
        assert_eq!((off.interval, off.retries), (Some(1_000_000_000), Some(2)));
        // Only the interval given: the image's test.
        let mut some = Some(HealthConfig {
            interval: Some(5),
            ..Default::default()
        });
        merge(&mut some, Some(&image));
        let some = some.unwrap();
        assert_eq!(some.test.unwrap(), ["CMD-SHELL", "false"]);
        assert_eq!(some.interval, Some(5));
    }

    #[test]
    fn output_is_capped_as_dockerd_caps_it() {
        let mut out = CappedOutput::default();
        out.push(&[b'a'; 4000]);
        out.push(b"0123456789".repeat(20).as_slice());
        let text = out.into_string();
        assert_eq!(text.len(), MAX_OUTPUT + 3);
        assert!(text.ends_with("012345...")); // 4000 + 96 bytes, then the mark
        let mut exact = CappedOutput::default();
        exact.push(&[b'x'; MAX_OUTPUT]);
        assert_eq!(
            exact.into_string().len(),
            MAX_OUTPUT,
            "no mark when nothing was cut"
        );
    }

    #[test]
    fn durations_print_as_go_prints_them() {
        for (d, text) in [
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(15), "15ns"),
            (Duration::from_micros(1500), "1.5ms"),
            (Duration::from_millis(500), "500ms"),
            (Duration::from_secs(1), "1s"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_secs(30), "30s"),
            (Duration::from_secs(90), "1m30s"),
            (Duration::from_secs(3600), "1h0m0s"),
        ] {
            assert_eq!(go_duration(d), text);
        }
        assert_eq!(
            timeout_message(Duration::from_millis(500)),
            "Health check exceeded timeout (500ms)"
        );
    }
}
