//! The `process` section: arguments, environment, working directory, user, terminal, rlimits.

use oci_spec::runtime::{PosixRlimit, PosixRlimitBuilder, PosixRlimitType};
use wharf_client_core::models::{ContainerConfig, ResourcesUlimits};

use crate::error::Error;

/// Docker's default `PATH` for Linux containers.
pub(crate) const DEFAULT_PATH: &str =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Where `Init` mounts the init binary in the container, as moby does.
pub(crate) const INIT_PATH_IN_CONTAINER: &str = "/sbin/docker-init";

/// `Entrypoint` then `Cmd` (already merged with the image's); 400 `No command specified` when both are
/// empty; prefixed with `/sbin/docker-init --` when `init`.
pub(crate) fn args(config: &ContainerConfig, init: bool) -> Result<Vec<String>, Error> {
    let mut args: Vec<String> = config
        .entrypoint
        .iter()
        .flatten()
        .chain(config.cmd.iter().flatten())
        .cloned()
        .collect();
    if args.is_empty() {
        return Err(Error::invalid("No command specified"));
    }
    if init {
        args.splice(0..0, [INIT_PATH_IN_CONTAINER.to_string(), "--".to_string()]);
    }
    Ok(args)
}

fn key(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(k, _)| k)
}

/// `PATH`, `HOSTNAME` and `TERM=xterm` (with a TTY), then the container's environment replacing or adding
/// to them; a bare `KEY` removes it (moby's `CreateDaemonEnvironment` and `ReplaceOrAppendEnvValues`).
pub(crate) fn env(config: &ContainerConfig, hostname: &str) -> Vec<String> {
    let mut env = vec![
        format!("PATH={DEFAULT_PATH}"),
        format!("HOSTNAME={hostname}"),
    ];
    if config.tty.unwrap_or(false) {
        env.push("TERM=xterm".into());
    }
    for entry in config.env.iter().flatten() {
        let k = key(entry);
        let pos = env.iter().position(|e| key(e) == k);
        match (pos, entry.contains('=')) {
            (Some(i), true) => env[i] = entry.clone(),
            (Some(i), false) => {
                env.remove(i);
            }
            (None, true) => env.push(entry.clone()),
            (None, false) => {}
        }
    }
    env
}

fn rlimit_type(name: &str) -> Option<PosixRlimitType> {
    use PosixRlimitType::*;
    Some(match name {
        "core" => RlimitCore,
        "cpu" => RlimitCpu,
        "data" => RlimitData,
        "fsize" => RlimitFsize,
        "locks" => RlimitLocks,
        "memlock" => RlimitMemlock,
        "msgqueue" => RlimitMsgqueue,
        "nice" => RlimitNice,
        "nofile" => RlimitNofile,
        "nproc" => RlimitNproc,
        "rss" => RlimitRss,
        "rtprio" => RlimitRtprio,
        "rttime" => RlimitRttime,
        "sigpending" => RlimitSigpending,
        "stack" => RlimitStack,
        "as" => RlimitAs,
        _ => return None,
    })
}

/// The container's `Ulimits` as rlimits. Like dockerd (without `default-ulimits`), no limit is added
/// by default: the process inherits the runtime's.
pub(crate) fn rlimits(ulimits: &[ResourcesUlimits]) -> Result<Vec<PosixRlimit>, Error> {
    ulimits
        .iter()
        .map(|u| {
            let name = u.name.as_deref().unwrap_or("");
            let typ = rlimit_type(name)
                .ok_or_else(|| Error::invalid(format!("invalid ulimit type: {name}")))?;
            let (soft, hard) = (u.soft.unwrap_or(0), u.hard.unwrap_or(0));
            if soft > hard && hard >= 0 {
                return Err(Error::invalid(format!(
                    "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
                )));
            }
            PosixRlimitBuilder::default()
                .typ(typ)
                .soft(soft as u64)
                .hard(hard as u64)
                .build()
                .map_err(|e| Error::new(wharf_client_core::ErrorKind::System, e.to_string()))
        })
        .collect()
}

/// Whether `SecurityOpt` asks for `no-new-privileges` (Docker's default is false).
pub(crate) fn no_new_privileges(security_opt: &[String]) -> bool {
    security_opt.iter().any(|o| {
        matches!(
            o.as_str(),
            "no-new-privileges" | "no-new-privileges=true" | "no-new-privileges:true"
        )
    })
}

/// Checks `SecurityOpt` as moby's `parseSecurityOpt` reads it, with its wording: `no-new-privileges`,
/// `disable`, or `key=value` (`key:value`, deprecated) with `label`, `apparmor`, `seccomp` or
/// `no-new-privileges` (a boolean) as the key.
pub(crate) fn validate_security_opts(security_opt: &[String]) -> Result<(), Error> {
    for opt in security_opt {
        if opt == "no-new-privileges" || opt == "disable" {
            continue;
        }
        let Some((key, value)) = opt.split_once('=').or_else(|| opt.split_once(':')) else {
            return Err(Error::invalid(format!("invalid --security-opt 1: {opt:?}")));
        };
        let known = match key {
            "label" | "apparmor" | "seccomp" => true,
            "no-new-privileges" => go_bool(value).is_some(),
            _ => false,
        };
        if !known {
            return Err(Error::invalid(format!("invalid --security-opt 2: {opt:?}")));
        }
    }
    Ok(())
}

/// A boolean as Go's `strconv.ParseBool` reads it.
fn go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(entrypoint: &[&str], cmd: &[&str]) -> ContainerConfig {
        ContainerConfig {
            entrypoint: Some(entrypoint.iter().map(|s| s.to_string()).collect()),
            cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn args_are_entrypoint_then_cmd() {
        assert_eq!(
            args(&cfg(&["/bin/sh", "-c"], &["echo hi"]), false).unwrap(),
            ["/bin/sh", "-c", "echo hi"]
        );
        assert_eq!(
            args(&cfg(&[], &["ls"]), true).unwrap(),
            ["/sbin/docker-init", "--", "ls"]
        );
        let e = args(&cfg(&[], &[]), false).unwrap_err();
        assert_eq!(e.message, "No command specified");
    }

    #[test]
    fn env_defaults_and_overrides() {
        let c = ContainerConfig {
            tty: Some(true),
            env: Some(vec![
                "PATH=/x".into(),
                "A=1".into(),
                "TERM".into(),
                "B".into(),
            ]),
            ..Default::default()
        };
        assert_eq!(env(&c, "abc"), ["PATH=/x", "HOSTNAME=abc", "A=1"]);
        let c = ContainerConfig::default();
        assert_eq!(
            env(&c, "h"),
            [format!("PATH={DEFAULT_PATH}"), "HOSTNAME=h".into()]
        );
    }

    #[test]
    fn ulimits_become_rlimits() {
        let u = ResourcesUlimits {
            name: Some("nofile".into()),
            soft: Some(1024),
            hard: Some(2048),
        };
        let r = rlimits(std::slice::from_ref(&u)).unwrap();
        assert_eq!(
            (r[0].typ(), r[0].soft(), r[0].hard()),
            (PosixRlimitType::RlimitNofile, 1024, 2048)
        );
        let bad = ResourcesUlimits {
            name: Some("bogus".into()),
            ..u.clone()
        };
        assert_eq!(
            rlimits(&[bad]).unwrap_err().message,
            "invalid ulimit type: bogus"
        );
        let inverted = ResourcesUlimits {
            soft: Some(10),
            hard: Some(5),
            ..u
        };
        assert_eq!(
            rlimits(&[inverted]).unwrap_err().message,
            "ulimit soft limit must be less than or equal to hard limit: 10 > 5"
        );
    }

    #[test]
    fn security_opts_are_checked_as_dockerd_checks_them() {
        let check = |o: &str| validate_security_opts(&[o.to_owned()]).map_err(|e| e.to_string());
        for ok in [
            "no-new-privileges",
            "no-new-privileges=false",
            "no-new-privileges:true",
            "seccomp=unconfined",
            "label=disable",
            "apparmor=unconfined",
            "disable",
        ] {
            check(ok).unwrap();
        }
        assert_eq!(
            check("nonsense").unwrap_err(),
            "invalid --security-opt 1: \"nonsense\""
        );
        for bad in [
            "bogus=1",
            "no-new-privileges=maybe",
            "systempaths=unconfined",
        ] {
            assert_eq!(
                check(bad).unwrap_err(),
                format!("invalid --security-opt 2: {bad:?}")
            );
        }
    }
}
