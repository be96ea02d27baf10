//! The host's devices, which privileged containers get (moby's `devices.HostDevices`): every character and
//! block device under `/dev`, except the pseudo-terminal, shared-memory and message-queue directories and
//! the console, which the container has its own of; and the devices a container maps (`--device`), as
//! moby's `DevicesFromPath` resolves them.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxDevice, LinuxDeviceBuilder, LinuxDeviceCgroup, LinuxDeviceType};
use wharf_client_core::models::HostConfig;

use crate::containers::spec::devices::permissions;
use crate::containers::spec::linux::device_rule;
use crate::error::Error;

/// Directories of `/dev` that are not host devices to share.
const SKIP_DIRS: &[&str] = &["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"];

/// How deep below `/dev` to look.
const MAX_DEPTH: usize = 4;

/// The devices under `root` (normally `/dev`).
pub(super) fn host_devices(root: &Path) -> Vec<LinuxDevice> {
    let mut out = Vec::new();
    walk(root, 0, &mut out);
    out
}

/// The devices of `HostConfig.Devices` and the cgroup rules that allow them, as dockerd resolves them at
/// start: a symbolic link is followed, a directory gives the devices in it; anything else is dockerd's
/// error.
pub(crate) fn mapped_devices(
    hc: &HostConfig,
) -> Result<(Vec<LinuxDevice>, Vec<LinuxDeviceCgroup>), Error> {
    let mut devices = Vec::new();
    let mut rules = Vec::new();
    for mapping in hc.devices.iter().flatten() {
        let on_host = mapping.path_on_host.as_deref().unwrap_or("");
        let in_container = match mapping.path_in_container.as_deref() {
            Some(p) if !p.is_empty() => p,
            _ => on_host,
        };
        let perms = permissions(mapping.cgroup_permissions.as_deref())?;
        let resolved = std::fs::canonicalize(on_host).unwrap_or_else(|_| PathBuf::from(on_host));
        let found = match device_at(&resolved) {
            Ok(Some(device)) => vec![(device, PathBuf::from(in_container))],
            Ok(None) if resolved.is_dir() => {
                let mut inside = Vec::new();
                walk(&resolved, 0, &mut inside);
                inside
                    .into_iter()
                    .map(|d| {
                        let rel = d.path().strip_prefix(&resolved).unwrap_or(d.path());
                        let path = Path::new(in_container).join(rel);
                        (d, path)
                    })
                    .collect()
            }
            Ok(None) => Vec::new(),
            Err(e) => {
                return Err(gathering(on_host, &e.to_string()));
            }
        };
        if found.is_empty() {
            return Err(gathering(on_host, "not a device node"));
        }
        for (mut device, path) in found {
            rules.push(allow(&device, perms));
            device.set_path(path);
            devices.push(device);
        }
    }
    Ok((devices, rules))
}

/// dockerd's wording for a device it cannot map; `reason` as Go prints the `os` error.
fn gathering(on_host: &str, reason: &str) -> Error {
    let reason = reason.split(" (os error").next().unwrap_or(reason);
    Error::invalid(format!(
        "error gathering device information while adding custom device {on_host:?}: {}",
        reason.to_lowercase()
    ))
}

/// The cgroup rule allowing `device` with `perms`.
fn allow(device: &LinuxDevice, perms: &str) -> LinuxDeviceCgroup {
    device_rule(
        true,
        Some(device.typ()),
        Some(device.major()),
        Some(device.minor()),
        perms,
    )
}

/// The device node at `path` (not following a link); `None` when it is something else.
fn device_at(path: &Path) -> std::io::Result<Option<LinuxDevice>> {
    let meta = std::fs::symlink_metadata(path)?;
    let ft = meta.file_type();
    let typ = if ft.is_char_device() {
        LinuxDeviceType::C
    } else if ft.is_block_device() {
        LinuxDeviceType::B
    } else {
        return Ok(None);
    };
    let rdev = meta.rdev();
    Ok(LinuxDeviceBuilder::default()
        .path(path)
        .typ(typ)
        .major(nix::sys::stat::major(rdev) as i64)
        .minor(nix::sys::stat::minor(rdev) as i64)
        .file_mode(meta.mode() & 0o777)
        .uid(meta.uid())
        .gid(meta.gid())
        .build()
        .ok())
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<LinuxDevice>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let ft = meta.file_type();
        if ft.is_dir() {
            let name = entry.file_name();
            if depth < MAX_DEPTH && !SKIP_DIRS.iter().any(|s| name == *s) {
                walk(&path, depth + 1, out);
            }
            continue;
        }
        if path == Path::new("/dev/console") {
            continue;
        }
        if let Ok(Some(d)) = device_at(&path) {
            out.push(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_null_is_a_host_device_and_pts_is_not() {
        let devices = host_devices(Path::new("/dev"));
        let null = devices
            .iter()
            .find(|d| d.path() == Path::new("/dev/null"))
            .expect("/dev/null");
        assert_eq!((null.major(), null.minor()), (1, 3));
        assert_eq!(null.typ(), LinuxDeviceType::C);
        assert!(devices.iter().all(|d| !d.path().starts_with("/dev/pts")));
    }

    #[test]
    fn a_mapped_device_is_renamed_and_allowed_and_an_absent_one_is_dockerds_error() {
        let hc = |on_host: &str, in_container: &str, perms: &str| HostConfig {
            devices: Some(vec![wharf_client_core::models::DeviceMapping {
                path_on_host: Some(on_host.into()),
                path_in_container: Some(in_container.into()),
                cgroup_permissions: Some(perms.into()),
            }]),
            ..HostConfig::default()
        };
        let (devices, rules) = mapped_devices(&hc("/dev/null", "/dev/mynull", "r")).unwrap();
        assert_eq!(devices.len(), 1);
        assert_eq!(devices[0].path(), Path::new("/dev/mynull"));
        assert_eq!((devices[0].major(), devices[0].minor()), (1, 3));
        assert_eq!(
            (
                rules[0].major(),
                rules[0].minor(),
                rules[0].access().as_deref()
            ),
            (Some(1), Some(3), Some("r"))
        );
        let (devices, _) = mapped_devices(&hc("/dev/null", "", "")).unwrap();
        assert_eq!(devices[0].path(), Path::new("/dev/null"));
        assert_eq!(
            mapped_devices(&hc("/dev/nosuch", "/dev/nosuch", "rwm"))
                .unwrap_err()
                .to_string(),
            "error gathering device information while adding custom device \"/dev/nosuch\": no such file or directory"
        );
        assert_eq!(
            mapped_devices(&hc("/etc/hostname", "/x", "rwm"))
                .unwrap_err()
                .to_string(),
            "error gathering device information while adding custom device \"/etc/hostname\": not a device node"
        );
    }
}
