//! Devices a container asks for: `Devices` (`--device host[:container[:rwm]]`, resolved on the host by the
//! runtime), `DeviceCgroupRules` (`--device-cgroup-rule`), and `DeviceRequests` (`--gpus`), which Wharf has
//! no driver for.

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};
use wharf_client_core::models::HostConfig;

use super::linux::device_rule;
use crate::error::Error;

/// The permissions of a mapped device when none are given.
pub(crate) const DEFAULT_PERMISSIONS: &str = "rwm";

/// Whether `perms` is a device cgroup access list: one to three of `r`, `w`, `m`, each once.
fn valid_permissions(perms: &str) -> bool {
    !perms.is_empty()
        && perms.len() <= 3
        && perms.chars().all(|c| matches!(c, 'r' | 'w' | 'm'))
        && perms
            .chars()
            .enumerate()
            .all(|(i, c)| !perms[..i].contains(c))
}

/// The permissions of a device mapping, `rwm` when empty; the docker CLI's wording when invalid.
pub(crate) fn permissions(perms: Option<&str>) -> Result<&str, Error> {
    match perms.unwrap_or("") {
        "" => Ok(DEFAULT_PERMISSIONS),
        p if valid_permissions(p) => Ok(p),
        p => Err(Error::invalid(format!("bad mode specified: {p}"))),
    }
}

/// A `--device-cgroup-rule` (`c 1:3 rwm`, `a *:* m`) as moby's `AppendDevicePermissionsFromCgroupRules`
/// reads it, with its wording.
pub(crate) fn cgroup_rule(rule: &str) -> Result<LinuxDeviceCgroup, Error> {
    let bad = || Error::invalid(format!("invalid device cgroup rule format: '{rule}'"));
    let mut parts = rule.split(' ');
    let (Some(typ), Some(numbers), Some(access), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let typ = match typ {
        "a" => LinuxDeviceType::A,
        "b" => LinuxDeviceType::B,
        "c" => LinuxDeviceType::C,
        _ => return Err(bad()),
    };
    let number = |n: &str| -> Result<Option<i64>, Error> {
        if n == "*" {
            return Ok(None);
        }
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        n.parse().map(Some).map_err(|_| bad())
    };
    let (major, minor) = numbers.split_once(':').ok_or_else(bad)?;
    if access.is_empty() || access.len() > 3 || !access.chars().all(|c| "rwm".contains(c)) {
        return Err(bad());
    }
    Ok(device_rule(
        true,
        Some(typ),
        number(major)?,
        number(minor)?,
        access,
    ))
}

/// The allow rules of `DeviceCgroupRules`.
pub(crate) fn cgroup_rules(hc: &HostConfig) -> Result<Vec<LinuxDeviceCgroup>, Error> {
    hc.device_cgroup_rules
        .iter()
        .flatten()
        .map(|r| cgroup_rule(r))
        .collect()
}

/// Checks what can be checked without the host: the permissions of each mapping, the cgroup rules, and
/// that no device request (`--gpus`) is made, which no driver here serves (dockerd's wording).
pub(crate) fn validate(hc: &HostConfig) -> Result<(), Error> {
    for mapping in hc.devices.iter().flatten() {
        if mapping.path_on_host.as_deref().unwrap_or("").is_empty() {
            return Err(Error::invalid("device mapping without a path on the host"));
        }
        permissions(mapping.cgroup_permissions.as_deref())?;
    }
    cgroup_rules(hc)?;
    if let Some(request) = hc.device_requests.iter().flatten().next() {
        let caps: Vec<String> = request
            .capabilities
            .iter()
            .flatten()
            .map(|set| format!("[{}]", set.join(" ")))
            .collect();
        return Err(Error::invalid(format!(
            "could not select device driver {:?} with capabilities: [{}]",
            request.driver.as_deref().unwrap_or(""),
            caps.join(" ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_client_core::models::DeviceRequest;

    #[test]
    fn cgroup_rules_read_as_moby_reads_them() {
        let r = cgroup_rule("c 1:3 rwm").unwrap();
        assert_eq!(
            (r.typ(), r.major(), r.minor(), r.access().as_deref()),
            (Some(LinuxDeviceType::C), Some(1), Some(3), Some("rwm"))
        );
        assert!(r.allow());
        let r = cgroup_rule("a *:* m").unwrap();
        assert_eq!((r.major(), r.minor()), (None, None));
        for bad in [
            "bogus",
            "c 1:3",
            "x 1:3 rwm",
            "c 1:3 rwx",
            "c 1-3 r",
            "c 1:3 rwmr",
            "c 1:3  r",
        ] {
            assert_eq!(
                cgroup_rule(bad).unwrap_err().to_string(),
                format!("invalid device cgroup rule format: '{bad}'")
            );
        }
    }

    #[test]
    fn mapping_permissions_default_to_rwm_and_are_checked() {
        assert_eq!(permissions(None).unwrap(), "rwm");
        assert_eq!(permissions(Some("r")).unwrap(), "r");
        assert_eq!(permissions(Some("mw")).unwrap(), "mw");
        for bad in ["xyz", "rr", "rwmr"] {
            assert_eq!(
                permissions(Some(bad)).unwrap_err().to_string(),
                format!("bad mode specified: {bad}")
            );
        }
    }

    #[test]
    fn device_requests_are_refused_in_dockerds_words() {
        let hc = HostConfig {
            device_requests: Some(vec![DeviceRequest {
                driver: Some("nvidia".into()),
                count: Some(-1),
                capabilities: Some(vec![
                    vec!["gpu".into(), "utility".into()],
                    vec!["compute".into()],
                ]),
                ..DeviceRequest::default()
            }]),
            ..HostConfig::default()
        };
        assert_eq!(
            validate(&hc).unwrap_err().to_string(),
            "could not select device driver \"nvidia\" with capabilities: [[gpu utility] [compute]]"
        );
    }
}
