//! Volume mounts as the container's `Binds` and `Mounts` ask for them (`-v name:/path`, `-v /path`,
//! `--mount type=volume`): parsed and shown as dockerd shows them; their source on the host is the
//! volume store's, filled by the runtime (`runtime/volumes.rs`).

use std::collections::BTreeMap;

use wharf_client_core::models::{MountPoint, MountPointTypeEnum};

use super::mounts::{mount_config_error, oci_mount, UserMount};
use crate::error::Error;

/// The volume a mount asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct VolumeSpec {
    /// `None`: a new anonymous volume.
    pub name: Option<String>,
    /// `VolumeOptions.DriverConfig.Name` (`--mount volume-driver=`).
    pub driver: Option<String>,
    /// `VolumeOptions.DriverConfig.Options` (`--mount volume-opt=`), for a volume made on demand.
    pub options: Option<BTreeMap<String, String>>,
    /// `VolumeOptions.Labels` (`--mount volume-label=`), for a volume made on demand.
    pub labels: Option<BTreeMap<String, String>>,
    /// Do not fill a new volume from the image (`nocopy`, `volume-nocopy`).
    pub nocopy: bool,
}

/// A volume mount: bound like a `-v` bind (its source filled by the runtime), shown as dockerd shows
/// volumes (`Type` volume, the driver, no propagation).
pub(super) fn volume_mount(
    dest: &str,
    readonly: bool,
    mode: &str,
    volume: VolumeSpec,
) -> UserMount {
    let mut opts = vec!["rbind"];
    if readonly {
        opts.push("ro");
    }
    opts.push("rprivate");
    UserMount {
        mount: oci_mount(dest, "bind", "", &opts),
        create_host_dir: None,
        point: MountPoint {
            typ: Some(MountPointTypeEnum::VOLUME),
            name: volume.name.clone(),
            source: Some(String::new()),
            destination: Some(dest.to_string()),
            driver: Some(crate::volumes::local::LOCAL.to_string()),
            mode: Some(mode.to_string()),
            rw: Some(!readonly),
            propagation: Some(String::new()),
        },
        rootfs_propagation: None,
        volume: Some(volume),
    }
}

/// A `Mounts` entry of type `volume`: a named volume (made on demand with the entry's driver, options
/// and labels) or, without a source, an anonymous one. dockerd shows its mode as `z`.
pub(super) fn api_volume_mount(
    m: &wharf_client_core::models::Mount,
    target: &str,
    source: &str,
    readonly: bool,
) -> Result<UserMount, Error> {
    if m.bind_options.is_some() {
        return Err(mount_config_error(
            "volume",
            "field BindOptions must not be specified",
        ));
    }
    if m.tmpfs_options.is_some() {
        return Err(mount_config_error(
            "volume",
            "field TmpfsOptions must not be specified",
        ));
    }
    let opts = m.volume_options.as_ref();
    let sorted = |map: &std::collections::HashMap<String, String>| {
        map.iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    let driver_config = opts.and_then(|o| o.driver_config.as_ref());
    let volume = VolumeSpec {
        name: (!source.is_empty()).then(|| source.to_string()),
        driver: driver_config.and_then(|d| d.name.clone()),
        options: driver_config.and_then(|d| d.options.as_ref()).map(sorted),
        labels: opts.and_then(|o| o.labels.as_ref()).map(sorted),
        nocopy: opts.and_then(|o| o.no_copy).unwrap_or(false),
    };
    Ok(volume_mount(target, readonly, "z", volume))
}

#[cfg(test)]
mod tests {
    use super::super::mounts::{parse_api_mount, parse_bind};
    use super::*;
    use oci_spec::runtime::Mount;
    use wharf_client_core::models::{MountBindOptions, MountTypeEnum};
    use wharf_client_core::ErrorKind;

    fn opts(m: &Mount) -> Vec<String> {
        m.options().clone().unwrap_or_default()
    }

    #[test]
    fn binds_name_volumes_and_lone_paths_are_anonymous_volumes() {
        let m = parse_bind("data:/b:ro,nocopy").unwrap();
        let v = m.volume.clone().unwrap();
        assert_eq!((v.name.as_deref(), v.nocopy), (Some("data"), true));
        assert_eq!(m.point.typ, Some(MountPointTypeEnum::VOLUME));
        assert_eq!(m.point.name.as_deref(), Some("data"));
        assert_eq!(m.point.mode.as_deref(), Some("ro,nocopy"));
        assert_eq!(
            (m.point.rw, m.point.propagation.as_deref()),
            (Some(false), Some(""))
        );
        assert_eq!(opts(&m.mount), ["rbind", "ro", "rprivate"]);
        assert_eq!(m.create_host_dir, None);
        let anon = parse_bind("/cache").unwrap();
        assert_eq!(anon.volume, Some(VolumeSpec::default()));
        assert_eq!(anon.point.rw, Some(true));
        assert!(parse_bind("/").is_err());
    }

    #[test]
    fn api_volume_mounts_carry_their_options() {
        use wharf_client_core::models::{MountVolumeOptions, MountVolumeOptionsDriverConfig};
        let mut m = wharf_client_core::models::Mount {
            typ: Some(MountTypeEnum::VOLUME),
            source: Some("mv".into()),
            target: Some("/m".into()),
            read_only: Some(true),
            volume_options: Some(MountVolumeOptions {
                no_copy: Some(true),
                driver_config: Some(MountVolumeOptionsDriverConfig {
                    name: None,
                    options: Some([("type".to_string(), "tmpfs".to_string())].into()),
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let um = parse_api_mount(&m).unwrap();
        let v = um.volume.unwrap();
        assert_eq!(v.name.as_deref(), Some("mv"));
        assert!(v.nocopy);
        assert_eq!(v.options.unwrap()["type"], "tmpfs");
        assert_eq!(um.point.mode.as_deref(), Some("z"));
        assert_eq!(um.point.rw, Some(false));
        m.source = None;
        assert_eq!(parse_api_mount(&m).unwrap().volume.unwrap().name, None);
        m.bind_options = Some(MountBindOptions::default());
        let e = parse_api_mount(&m).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidParameter);
        assert_eq!(
            e.message,
            "invalid mount config for type \"volume\": field BindOptions must not be specified"
        );
    }
}
