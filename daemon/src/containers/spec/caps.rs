//! Capabilities: Docker's default set, adjusted by `CapAdd`/`CapDrop` as moby's `TweakCapabilities` does,
//! and every capability for privileged containers.

use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities};

use crate::error::Error;

/// Docker's default capabilities (moby `oci/caps/defaults.go`), in its order.
pub(crate) const DEFAULT_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Every capability Linux defines (0 to 40), the set `ALL` and `--privileged` stand for.
pub(crate) const ALL_CAPS: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

const ALL: &str = "ALL";

/// The capabilities in a `CapBnd` mask (`/proc/<pid>/status`), bit `n` being capability `n`.
fn in_bounding_set(mask: u64) -> Vec<&'static str> {
    ALL_CAPS
        .iter()
        .enumerate()
        .filter(|(bit, _)| mask & (1u64 << bit) != 0)
        .map(|(_, c)| *c)
        .collect()
}

/// Every capability the daemon itself may grant (its bounding set): what `--privileged` gives, as moby
/// gives the capabilities the host has. Where the daemon runs without some (a confined host), asking
/// runc for them would fail every privileged start.
pub(crate) fn host_capabilities() -> &'static [&'static str] {
    static CAPS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    CAPS.get_or_init(|| {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix("CapBnd:"))
                    .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            })
            .map_or_else(|| ALL_CAPS.to_vec(), in_bounding_set)
    })
}

/// Upper-cases and prefixes `CAP_`; `ALL` stays; unknown names are 400 `unknown capability: "CAP_FOO"`.
fn normalize(names: &[String]) -> Result<Vec<String>, Error> {
    names
        .iter()
        .map(|name| {
            let upper = name.to_uppercase();
            if upper == ALL {
                return Ok(upper);
            }
            let full = if upper.starts_with("CAP_") {
                upper
            } else {
                format!("CAP_{upper}")
            };
            if ALL_CAPS.contains(&full.as_str()) {
                Ok(full)
            } else {
                Err(Error::invalid(format!("unknown capability: \"{full}\"")))
            }
        })
        .collect()
}

/// The capability names a container gets, in Docker's order.
pub(crate) fn tweak_capabilities(
    adds: &[String],
    drops: &[String],
    privileged: bool,
) -> Result<Vec<String>, Error> {
    if privileged {
        return Ok(host_capabilities().iter().map(|c| c.to_string()).collect());
    }
    let adds = normalize(adds).map_err(|e| e.context("invalid CapAdd"))?;
    let drops = normalize(drops).map_err(|e| e.context("invalid CapDrop"))?;
    let all = |v: &[String]| v.iter().any(|c| c == ALL);
    let mut caps: Vec<String> = if all(&adds) {
        ALL_CAPS
            .iter()
            .filter(|c| !drops.iter().any(|d| d == *c))
            .map(|c| c.to_string())
            .collect()
    } else if all(&drops) {
        adds
    } else {
        DEFAULT_CAPS
            .iter()
            .filter(|c| !drops.iter().any(|d| d == *c))
            .map(|c| c.to_string())
            .chain(adds)
            .collect()
    };
    let mut seen = std::collections::HashSet::new();
    caps.retain(|c| seen.insert(c.clone()));
    Ok(caps)
}

/// A process's capabilities as Docker sets them: `names` bounding, effective and permitted; the
/// inheritable and ambient sets empty (Docker 20.10.14 and later).
pub(crate) fn process_capabilities(names: &[String]) -> LinuxCapabilities {
    let set = to_oci(names);
    let mut capabilities = LinuxCapabilities::default();
    capabilities.set_bounding(Some(set.clone()));
    capabilities.set_effective(Some(set.clone()));
    capabilities.set_permitted(Some(set));
    capabilities.set_inheritable(None);
    capabilities.set_ambient(None);
    capabilities
}

/// Names to the OCI set; names oci-spec does not know (none of [`ALL_CAPS`]) are skipped.
pub(crate) fn to_oci(names: &[String]) -> Capabilities {
    names
        .iter()
        .filter_map(|n| {
            serde_json::from_value::<Capability>(serde_json::Value::String(n.clone())).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_client_core::ErrorKind;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn default_set_is_dockers() {
        let caps = tweak_capabilities(&[], &[], false).unwrap();
        assert_eq!(caps, s(&DEFAULT_CAPS));
        assert_eq!(to_oci(&caps).len(), 14);
        assert!(to_oci(&caps).contains(&Capability::AuditWrite));
    }

    #[test]
    fn add_and_drop_accept_names_with_or_without_prefix() {
        let caps = tweak_capabilities(
            &s(&["sys_admin", "CAP_NET_ADMIN"]),
            &s(&["chown", "CAP_KILL"]),
            false,
        )
        .unwrap();
        assert!(caps.contains(&"CAP_SYS_ADMIN".into()));
        assert!(caps.contains(&"CAP_NET_ADMIN".into()));
        assert!(!caps.contains(&"CAP_CHOWN".into()));
        assert!(!caps.contains(&"CAP_KILL".into()));
        assert_eq!(caps.len(), 14);
    }

    #[test]
    fn all_in_add_or_drop() {
        let caps = tweak_capabilities(&s(&["ALL"]), &s(&["SYS_ADMIN"]), false).unwrap();
        assert_eq!(caps.len(), ALL_CAPS.len() - 1);
        assert!(!caps.contains(&"CAP_SYS_ADMIN".into()));
        let caps = tweak_capabilities(&s(&["NET_BIND_SERVICE"]), &s(&["all"]), false).unwrap();
        assert_eq!(caps, s(&["CAP_NET_BIND_SERVICE"]));
    }

    #[test]
    fn privileged_gets_every_capability_the_host_has() {
        let caps = tweak_capabilities(&[], &s(&["CHOWN"]), true).unwrap();
        assert_eq!(caps.len(), host_capabilities().len());
        assert_eq!(to_oci(&caps).len(), caps.len());
        assert_eq!(in_bounding_set(0x1ff_ffff_ffff).len(), 41);
        let confined = in_bounding_set(0x1ff_feff_ffff);
        assert_eq!(confined.len(), 40);
        assert!(!confined.contains(&"CAP_SYS_RESOURCE"));
    }

    #[test]
    fn unknown_capability_is_400() {
        let err = tweak_capabilities(&s(&["foo"]), &[], false).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidParameter);
        assert_eq!(
            err.message,
            "invalid CapAdd: unknown capability: \"CAP_FOO\""
        );
    }
}
