//! Restart policies as pure functions: validation with dockerd's wording, and the restart decision with
//! moby's back-off (`restartmanager`): 100 ms doubling up to a minute, reset after 10 s of running.

use std::time::Duration;

use wharf_client_core::models::{HostConfig, RestartPolicy, RestartPolicyNameEnum};

use crate::error::Error;

/// The first back-off delay.
pub(crate) const INITIAL_DELAY: Duration = Duration::from_millis(100);
/// The longest back-off delay.
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(60);
/// A run at least this long resets the back-off.
pub(crate) const RESET_AFTER: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Policy {
    /// Never restart (`no`, or unset).
    No,
    /// Always restart (even after a user stop, once the daemon restarts).
    Always,
    /// Restart unless a user stopped the container.
    UnlessStopped,
    /// Restart on a non-zero exit, at most `max_retries` times (0: no limit).
    OnFailure {
        /// The retry limit, 0 for none.
        max_retries: u32,
    },
}

/// Validates the API's `RestartPolicy` with dockerd 20.10's wording (moby `validateRestartPolicy`): a
/// retry count with another policy than `on-failure` is refused, except with none named.
pub(crate) fn validate_policy(p: &RestartPolicy) -> Result<Policy, Error> {
    let count = p.maximum_retry_count.unwrap_or(0);
    let name = p.name.unwrap_or(RestartPolicyNameEnum::EMPTY);
    match name {
        RestartPolicyNameEnum::EMPTY => Ok(Policy::No),
        RestartPolicyNameEnum::NO
        | RestartPolicyNameEnum::ALWAYS
        | RestartPolicyNameEnum::UNLESS_STOPPED => {
            if count != 0 {
                return Err(Error::invalid(format!(
                    "maximum retry count cannot be used with restart policy '{name}'"
                )));
            }
            Ok(match name {
                RestartPolicyNameEnum::ALWAYS => Policy::Always,
                RestartPolicyNameEnum::UNLESS_STOPPED => Policy::UnlessStopped,
                _ => Policy::No,
            })
        }
        RestartPolicyNameEnum::ON_FAILURE => {
            if count < 0 {
                return Err(Error::invalid("maximum retry count cannot be negative"));
            }
            Ok(Policy::OnFailure {
                max_retries: u32::try_from(count).unwrap_or(u32::MAX),
            })
        }
    }
}

/// The host config's policy, validated, and checked against `AutoRemove` as dockerd does (400).
pub(crate) fn policy_of(hc: &HostConfig) -> Result<Policy, Error> {
    let policy = match &hc.restart_policy {
        Some(p) => validate_policy(p)?,
        None => Policy::No,
    };
    if hc.auto_remove.unwrap_or(false) && policy != Policy::No {
        return Err(Error::invalid(
            "can't create 'AutoRemove' container with restart policy",
        ));
    }
    Ok(policy)
}

/// What the restart manager carries between exits of one container.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Backoff {
    /// The current delay (zero before the first restart).
    pub delay: Duration,
    /// Restarts so far (`RestartCount`).
    pub restart_count: u32,
}

/// Decides whether a container that exited restarts, and after how long (moby `ShouldRestart`).
///
/// `stopped_by_user` is true after `docker stop`/`kill` (and at daemon shutdown); `ran_for` is how long
/// the last run lasted. The caller must not restart a container whose stop is in progress: like moby's
/// `Cancel`, a user stop ends the restart loop whatever the policy; this function then answers for
/// daemon start-up, where `always` restarts a user-stopped container and `unless-stopped` does not.
pub(crate) fn should_restart(
    policy: Policy,
    exit_code: i64,
    stopped_by_user: bool,
    ran_for: Duration,
    backoff: &mut Backoff,
) -> Option<Duration> {
    if policy == Policy::No {
        return None;
    }
    if ran_for >= RESET_AFTER {
        backoff.delay = Duration::ZERO;
    }
    if backoff.delay.is_zero() {
        backoff.delay = INITIAL_DELAY;
    } else if backoff.delay < MAX_DELAY {
        backoff.delay *= 2;
    }
    backoff.delay = backoff.delay.min(MAX_DELAY);
    let restart = match policy {
        Policy::No => false,
        Policy::Always => true,
        Policy::UnlessStopped => !stopped_by_user,
        Policy::OnFailure { max_retries } => {
            (max_retries == 0 || backoff.restart_count < max_retries) && exit_code != 0
        }
    };
    if !restart {
        return None;
    }
    backoff.restart_count += 1;
    Some(backoff.delay)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_client_core::ErrorKind;

    const SHORT: Duration = Duration::from_secs(1);

    fn api(name: RestartPolicyNameEnum, count: i64) -> RestartPolicy {
        RestartPolicy {
            name: Some(name),
            maximum_retry_count: Some(count),
        }
    }

    #[test]
    fn validation_uses_dockerd_wording() {
        use RestartPolicyNameEnum::{ALWAYS, EMPTY, ON_FAILURE, UNLESS_STOPPED};
        assert_eq!(validate_policy(&api(ALWAYS, 0)).unwrap(), Policy::Always);
        assert_eq!(
            validate_policy(&api(UNLESS_STOPPED, 0)).unwrap(),
            Policy::UnlessStopped
        );
        assert_eq!(
            validate_policy(&api(ON_FAILURE, 3)).unwrap(),
            Policy::OnFailure { max_retries: 3 }
        );
        let e = validate_policy(&api(ON_FAILURE, -1)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidParameter);
        assert_eq!(e.message, "maximum retry count cannot be negative");
        assert_eq!(
            validate_policy(&api(ALWAYS, 3)).unwrap_err().message,
            "maximum retry count cannot be used with restart policy 'always'"
        );
        assert_eq!(
            validate_policy(&api(UNLESS_STOPPED, -3))
                .unwrap_err()
                .message,
            "maximum retry count cannot be used with restart policy 'unless-stopped'"
        );
        assert_eq!(validate_policy(&api(EMPTY, 3)).unwrap(), Policy::No);
    }

    #[test]
    fn auto_remove_conflicts_with_a_policy() {
        let hc = HostConfig {
            auto_remove: Some(true),
            restart_policy: Some(api(RestartPolicyNameEnum::ALWAYS, 0)),
            ..Default::default()
        };
        let e = policy_of(&hc).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidParameter);
        assert_eq!(
            e.message,
            "can't create 'AutoRemove' container with restart policy"
        );
        let hc = HostConfig {
            auto_remove: Some(true),
            restart_policy: Some(api(RestartPolicyNameEnum::NO, 0)),
            ..Default::default()
        };
        assert_eq!(policy_of(&hc).unwrap(), Policy::No);
    }

    #[test]
    fn decisions_per_policy() {
        let mut b = Backoff::default();
        assert_eq!(should_restart(Policy::No, 1, false, SHORT, &mut b), None);
        assert!(should_restart(Policy::Always, 0, true, SHORT, &mut Backoff::default()).is_some());
        assert!(should_restart(
            Policy::UnlessStopped,
            0,
            false,
            SHORT,
            &mut Backoff::default()
        )
        .is_some());
        assert!(should_restart(
            Policy::UnlessStopped,
            0,
            true,
            SHORT,
            &mut Backoff::default()
        )
        .is_none());
        let on_failure = Policy::OnFailure { max_retries: 2 };
        assert!(should_restart(on_failure, 0, false, SHORT, &mut Backoff::default()).is_none());
        let mut b = Backoff::default();
        assert!(should_restart(on_failure, 1, false, SHORT, &mut b).is_some());
        assert!(should_restart(on_failure, 1, false, SHORT, &mut b).is_some());
        assert!(should_restart(on_failure, 1, false, SHORT, &mut b).is_none());
        assert_eq!(b.restart_count, 2);
    }

    #[test]
    fn backoff_doubles_caps_and_resets() {
        let mut b = Backoff::default();
        let delays: Vec<_> = (0..4)
            .map(|_| should_restart(Policy::Always, 1, false, SHORT, &mut b).unwrap())
            .collect();
        assert_eq!(delays, [100, 200, 400, 800].map(Duration::from_millis));
        for _ in 0..20 {
            should_restart(Policy::Always, 1, false, SHORT, &mut b);
        }
        assert_eq!(b.delay, MAX_DELAY);
        assert_eq!(
            should_restart(Policy::Always, 1, false, RESET_AFTER, &mut b),
            Some(INITIAL_DELAY)
        );
        assert_eq!(b.restart_count, 25);
    }
}
