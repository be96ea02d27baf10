//! Mounts: Docker's default filesystem mounts, and the container's `Binds` (`src:dst[:opts]`, where a
//! source that is not a path names a volume and a lone path is an anonymous volume), `Mounts` (types
//! `bind`, `volume` and `tmpfs`) and `Tmpfs`, validated as moby's `volume/mounts` linux parser does.
//! A volume's source on the host is the volume store's to say: the runtime fills it.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Mount;
use wharf_client_core::models::{
    HostConfig, MountBindOptionsPropagationEnum, MountPoint, MountPointTypeEnum, MountTypeEnum,
};

use crate::error::Error;

pub(crate) use super::volume_mounts::VolumeSpec;
use super::volume_mounts::{api_volume_mount, volume_mount};

/// Docker's default `/dev/shm` size: 64 MiB.
pub(crate) const DEFAULT_SHM_SIZE: i64 = 64 * 1024 * 1024;

/// A mount the container asked for, ready for the spec and for `docker inspect`'s `Mounts`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct UserMount {
    pub mount: Mount,
    /// The host directory to create before start (`-v /missing:/ctr` creates it, as dockerd does).
    pub create_host_dir: Option<PathBuf>,
    /// The `Mounts` entry of `docker inspect`.
    pub point: MountPoint,
    /// `rshared` or `rslave` when the mount's propagation needs the rootfs to propagate too.
    pub rootfs_propagation: Option<&'static str>,
    /// A volume rather than a host path: the mount's source is left to the runtime.
    pub volume: Option<VolumeSpec>,
}

pub(crate) fn oci_mount(dest: &str, typ: &str, source: &str, options: &[&str]) -> Mount {
    let mut m = Mount::default();
    m.set_destination(PathBuf::from(dest));
    m.set_typ(Some(typ.to_string()));
    m.set_source(Some(PathBuf::from(source)));
    m.set_options(Some(options.iter().map(|o| o.to_string()).collect()));
    m
}

/// Docker's default mounts with moby's options (`oci/defaults.go`): `/sys` and the cgroup mount lose
/// their `ro` when privileged (moby's `clearReadOnly`), and `/dev/shm` is sized by `ShmSize`.
pub(crate) fn default_mounts(privileged: bool, shm_size: Option<i64>) -> Vec<Mount> {
    let shm_size = format!(
        "size={}",
        shm_size.filter(|s| *s > 0).unwrap_or(DEFAULT_SHM_SIZE)
    );
    let ro: &[&str] = if privileged { &[] } else { &["ro"] };
    let sys: Vec<&str> = ro
        .iter()
        .copied()
        .chain(["nosuid", "noexec", "nodev"])
        .collect();
    vec![
        oci_mount(
            "/proc",
            "proc",
            "proc",
            &["rw", "nosuid", "noexec", "nodev"],
        ),
        oci_mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["rw", "nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        oci_mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "rw",
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        ),
        oci_mount("/sys", "sysfs", "sysfs", &sys),
        oci_mount("/sys/fs/cgroup", "cgroup", "cgroup", &sys),
        oci_mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["rw", "nosuid", "noexec", "nodev"],
        ),
        oci_mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["rw", "nosuid", "noexec", "nodev", "mode=1777", &shm_size],
        ),
    ]
}

/// The bind of a generated file (`/etc/hosts`, `/etc/resolv.conf`, `/etc/hostname`): read-only with a
/// read-only rootfs, as moby's `NetworkMounts`.
pub(crate) fn etc_file_mount(dest: &str, source: &Path, readonly_rootfs: bool) -> Mount {
    let mut opts = vec!["rbind"];
    if readonly_rootfs {
        opts.push("ro");
    }
    opts.push("rprivate");
    oci_mount(dest, "bind", &source.to_string_lossy(), &opts)
}

pub(super) fn mount_config_error(typ: &str, detail: impl std::fmt::Display) -> Error {
    Error::invalid(format!("invalid mount config for type \"{typ}\": {detail}"))
}

fn not_absolute(path: &str) -> String {
    format!("invalid mount path: '{path}' mount path must be absolute")
}

fn not_supported(what: &str) -> Error {
    Error::new(
        wharf_client_core::ErrorKind::InvalidParameter,
        format!("{what} are not supported yet"),
    )
}

#[derive(Default)]
struct BindMode {
    readonly: bool,
    propagation: Option<String>,
    nocopy: bool,
}

fn parse_bind_mode(mode: &str) -> Result<BindMode, Error> {
    let invalid = || Error::invalid(format!("invalid mode: {mode}"));
    let mut parsed = BindMode::default();
    let (mut rw_seen, mut label_seen, mut consistency_seen) = (false, false, false);
    for opt in mode.split(',') {
        match opt {
            "rw" | "ro" if !rw_seen => {
                rw_seen = true;
                parsed.readonly = opt == "ro";
            }
            "z" | "Z" if !label_seen => label_seen = true,
            "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate"
                if parsed.propagation.is_none() =>
            {
                parsed.propagation = Some(opt.to_string());
            }
            "consistent" | "cached" | "delegated" if !consistency_seen => consistency_seen = true,
            "nocopy" if !parsed.nocopy => parsed.nocopy = true,
            _ => return Err(invalid()),
        }
    }
    Ok(parsed)
}

fn rootfs_propagation_for(propagation: &str) -> Option<&'static str> {
    match propagation {
        "shared" | "rshared" => Some("rshared"),
        "slave" | "rslave" => Some("rslave"),
        _ => None,
    }
}

fn bind_mount(
    source: &str,
    dest: &str,
    readonly: bool,
    propagation: &str,
    recursive: bool,
    mode: &str,
) -> UserMount {
    let mut opts = vec![if recursive { "rbind" } else { "bind" }];
    if readonly {
        opts.push("ro");
    }
    opts.push(propagation);
    UserMount {
        mount: oci_mount(dest, "bind", source, &opts),
        create_host_dir: None,
        point: MountPoint {
            typ: Some(MountPointTypeEnum::BIND),
            source: Some(source.to_string()),
            destination: Some(dest.to_string()),
            mode: Some(mode.to_string()),
            rw: Some(!readonly),
            propagation: Some(propagation.to_string()),
            ..Default::default()
        },
        rootfs_propagation: rootfs_propagation_for(propagation),
        volume: None,
    }
}

/// Parses one `Binds` entry (`/host:/ctr[:mode]`), as `docker run -v` sends it.
pub(crate) fn parse_bind(spec: &str) -> Result<UserMount, Error> {
    let invalid_spec = || Error::invalid(format!("invalid volume specification: '{spec}'"));
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, dest, mode) = match parts.as_slice() {
        [dest] if dest.starts_with('/') && *dest != "/" => {
            return Ok(volume_mount(dest, false, "", VolumeSpec::default()))
        }
        [source, dest] => (*source, *dest, ""),
        [source, dest, mode] => (*source, *dest, *mode),
        _ => return Err(invalid_spec()),
    };
    if source.is_empty() || dest.is_empty() {
        return Err(invalid_spec());
    }
    let parsed = if mode.is_empty() {
        BindMode::default()
    } else {
        parse_bind_mode(mode)?
    };
    let typ = if source.starts_with('/') {
        "bind"
    } else {
        "volume"
    };
    if !dest.starts_with('/') {
        return Err(Error::invalid(format!(
            "invalid volume specification: '{spec}': {}",
            mount_config_error(typ, not_absolute(dest)).message
        )));
    }
    if dest == "/" {
        return Err(Error::invalid(format!(
            "invalid volume specification: '{spec}': {}",
            mount_config_error(typ, "invalid specification: destination can't be '/'").message
        )));
    }
    if typ == "volume" {
        let volume = VolumeSpec {
            name: Some(source.to_string()),
            nocopy: parsed.nocopy,
            ..VolumeSpec::default()
        };
        return Ok(volume_mount(dest, parsed.readonly, mode, volume));
    }
    let propagation = parsed.propagation.as_deref().unwrap_or("rprivate");
    let mut m = bind_mount(source, dest, parsed.readonly, propagation, true, mode);
    m.create_host_dir = Some(PathBuf::from(source));
    Ok(m)
}

/// Merges tmpfs options after Docker's defaults; a later option replaces an earlier one of the same key or
/// its opposite flag (`exec` replaces `noexec`).
fn merge_tmpfs_options(defaults: &[&str], data: &str) -> Vec<String> {
    let mut out: Vec<String> = defaults.iter().map(|s| s.to_string()).collect();
    for opt in data.split(',').filter(|o| !o.is_empty()) {
        let key = opt.split('=').next().unwrap_or(opt);
        let base = key.strip_prefix("no").unwrap_or(key);
        out.retain(|o| {
            let ok = o.split('=').next().unwrap_or(o);
            let obase = ok.strip_prefix("no").unwrap_or(ok);
            let same_flag = !opt.contains('=') && !o.contains('=') && obase == base;
            let rw_pair = matches!(key, "rw" | "ro") && matches!(ok, "rw" | "ro");
            ok != key && !same_flag && !rw_pair
        });
        out.push(opt.to_string());
    }
    out
}

fn tmpfs_mount(dest: &str, data: &str) -> UserMount {
    let opts = merge_tmpfs_options(&["noexec", "nosuid", "nodev"], data);
    let refs: Vec<&str> = opts.iter().map(String::as_str).collect();
    UserMount {
        mount: oci_mount(dest, "tmpfs", "tmpfs", &refs),
        create_host_dir: None,
        point: MountPoint {
            typ: Some(MountPointTypeEnum::TMPFS),
            source: Some(String::new()),
            destination: Some(dest.to_string()),
            mode: Some(String::new()),
            rw: Some(!opts.iter().any(|o| o == "ro")),
            propagation: Some(String::new()),
            ..Default::default()
        },
        rootfs_propagation: None,
        volume: None,
    }
}

/// `size=` with the largest unit that divides it, as moby's `ConvertTmpfsOptions`.
fn tmpfs_size(bytes: i64) -> String {
    for (suffix, div) in [("g", 1i64 << 30), ("m", 1 << 20), ("k", 1 << 10)] {
        if bytes % div == 0 {
            return format!("size={}{suffix}", bytes / div);
        }
    }
    format!("size={bytes}")
}

/// Parses one `Mounts` entry of type `bind` or `tmpfs`; other types are 400 "not supported yet".
///
/// A bind's source must exist (dockerd answers 400 for `--mount type=bind` with a missing source, unlike
/// `-v`), unless `BindOptions.CreateMountpoint` asks for it to be created.
pub(crate) fn parse_api_mount(m: &wharf_client_core::models::Mount) -> Result<UserMount, Error> {
    let typ = m.typ.unwrap_or(MountTypeEnum::EMPTY);
    let type_name = match typ {
        MountTypeEnum::BIND => "bind",
        MountTypeEnum::TMPFS => "tmpfs",
        MountTypeEnum::VOLUME => "volume",
        MountTypeEnum::NPIPE => return Err(not_supported("npipe mounts")),
        MountTypeEnum::CLUSTER => return Err(not_supported("cluster mounts")),
        MountTypeEnum::EMPTY => return Err(Error::invalid("mount type unknown")),
    };
    let target = m.target.as_deref().unwrap_or("");
    if target.is_empty() {
        return Err(mount_config_error(
            type_name,
            "field Target must not be empty",
        ));
    }
    if !target.starts_with('/') {
        return Err(mount_config_error(type_name, not_absolute(target)));
    }
    let source = m.source.as_deref().unwrap_or("");
    let readonly = m.read_only.unwrap_or(false);
    if typ == MountTypeEnum::VOLUME {
        return api_volume_mount(m, target, source, readonly);
    }
    if typ == MountTypeEnum::TMPFS {
        if !source.is_empty() {
            return Err(mount_config_error(
                "tmpfs",
                "field Source must not be specified",
            ));
        }
        let mut data = Vec::new();
        if readonly {
            data.push("ro".to_string());
        }
        if let Some(t) = &m.tmpfs_options {
            if let Some(mode) = t.mode.filter(|m| *m != 0) {
                data.push(format!("mode={mode:o}"));
            }
            if let Some(size) = t.size_bytes.filter(|s| *s != 0) {
                if size < 0 {
                    return Err(mount_config_error("tmpfs", "invalid tmpfs size"));
                }
                data.push(tmpfs_size(size));
            }
        }
        return Ok(tmpfs_mount(target, &data.join(",")));
    }
    if source.is_empty() {
        return Err(mount_config_error("bind", "field Source must not be empty"));
    }
    if !source.starts_with('/') {
        return Err(mount_config_error("bind", not_absolute(source)));
    }
    let opts = m.bind_options.as_ref();
    let create = opts.and_then(|o| o.create_mountpoint).unwrap_or(false);
    if !create && std::fs::metadata(source).is_err() {
        return Err(mount_config_error(
            "bind",
            format!("bind source path does not exist: {source}"),
        ));
    }
    let propagation = match opts.and_then(|o| o.propagation) {
        Some(MountBindOptionsPropagationEnum::PRIVATE) => "private",
        Some(MountBindOptionsPropagationEnum::SHARED) => "shared",
        Some(MountBindOptionsPropagationEnum::RSHARED) => "rshared",
        Some(MountBindOptionsPropagationEnum::SLAVE) => "slave",
        Some(MountBindOptionsPropagationEnum::RSLAVE) => "rslave",
        _ => "rprivate",
    };
    let recursive = !opts.and_then(|o| o.non_recursive).unwrap_or(false);
    let mut um = bind_mount(source, target, readonly, propagation, recursive, "");
    if create {
        um.create_host_dir = Some(PathBuf::from(source));
    }
    Ok(um)
}

/// Every mount the container asked for (`Binds`, then `Mounts`, then `Tmpfs`), validated; a destination
/// given twice is 400 `Duplicate mount point: /x`.
pub(crate) fn user_mounts(hc: &HostConfig) -> Result<Vec<UserMount>, Error> {
    let mut out = Vec::new();
    for b in hc.binds.iter().flatten() {
        out.push(parse_bind(b)?);
    }
    for m in hc.mounts.iter().flatten() {
        out.push(parse_api_mount(m)?);
    }
    let mut tmpfs: Vec<(&String, &String)> = hc.tmpfs.iter().flatten().collect();
    tmpfs.sort();
    for (dest, data) in tmpfs {
        if !dest.starts_with('/') {
            return Err(Error::invalid(not_absolute(dest)));
        }
        out.push(tmpfs_mount(dest, data));
    }
    let mut seen = HashSet::new();
    for m in &out {
        let dest = m
            .mount
            .destination()
            .to_string_lossy()
            .trim_end_matches('/')
            .to_string();
        if !seen.insert(dest.clone()) {
            return Err(Error::invalid(format!("Duplicate mount point: {dest}")));
        }
    }
    Ok(out)
}

/// Creates the host directories `-v` binds need (dockerd does this at start).
pub(crate) fn create_host_dirs(mounts: &[UserMount]) -> std::io::Result<()> {
    for dir in mounts.iter().filter_map(|m| m.create_host_dir.as_ref()) {
        if std::fs::symlink_metadata(dir).is_err() {
            std::fs::create_dir_all(dir)?;
        }
    }
    Ok(())
}

/// Default mounts not overridden by the container's, then the container's sorted by depth (moby's
/// `WithMounts`): a mount on `/dev` also drops the defaults below `/dev/`.
pub(crate) fn merge_mounts(defaults: Vec<Mount>, mut container: Vec<Mount>) -> Vec<Mount> {
    let dests: HashSet<PathBuf> = container.iter().map(|m| m.destination().clone()).collect();
    let dev = dests.contains(Path::new("/dev"));
    let mut out: Vec<Mount> = defaults
        .into_iter()
        .filter(|m| {
            !(dests.contains(m.destination()) || dev && m.destination().starts_with("/dev/"))
        })
        .collect();
    container.sort_by_key(|m| m.destination().components().count());
    out.extend(container);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_client_core::models::{MountBindOptions, MountTmpfsOptions};
    use wharf_client_core::ErrorKind;

    fn opts(m: &Mount) -> Vec<String> {
        m.options().clone().unwrap_or_default()
    }

    #[test]
    fn defaults_are_dockers() {
        let ms = default_mounts(false, None);
        let dests: Vec<_> = ms
            .iter()
            .map(|m| m.destination().to_string_lossy().to_string())
            .collect();
        assert_eq!(
            dests,
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/sys",
                "/sys/fs/cgroup",
                "/dev/mqueue",
                "/dev/shm"
            ]
        );
        assert_eq!(opts(&ms[0]), ["rw", "nosuid", "noexec", "nodev"]);
        assert_eq!(opts(&ms[3]), ["ro", "nosuid", "noexec", "nodev"]);
        assert_eq!(opts(&ms[4]), ["ro", "nosuid", "noexec", "nodev"]);
        assert_eq!(
            opts(&ms[6]),
            [
                "rw",
                "nosuid",
                "noexec",
                "nodev",
                "mode=1777",
                "size=67108864"
            ]
        );
        let ms = default_mounts(true, Some(1 << 20));
        assert_eq!(opts(&ms[3]), ["nosuid", "noexec", "nodev"]);
        assert_eq!(opts(&ms[4]), ["nosuid", "noexec", "nodev"]);
        assert!(opts(&ms[6]).contains(&"size=1048576".into()));
    }

    #[test]
    fn binds_parse_modes() {
        let m = parse_bind("/host:/ctr:ro,z").unwrap();
        assert_eq!(m.mount.typ().as_deref(), Some("bind"));
        assert_eq!(opts(&m.mount), ["rbind", "ro", "rprivate"]);
        assert_eq!(m.create_host_dir, Some(PathBuf::from("/host")));
        assert_eq!(m.point.rw, Some(false));
        assert_eq!(m.point.mode.as_deref(), Some("ro,z"));
        let m = parse_bind("/host:/ctr:rshared").unwrap();
        assert_eq!(opts(&m.mount), ["rbind", "rshared"]);
        assert_eq!(m.rootfs_propagation, Some("rshared"));
    }

    #[test]
    fn bad_binds_are_400_with_dockers_wording() {
        let e = parse_bind("/host:ctr").unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidParameter);
        assert_eq!(
            e.message,
            "invalid volume specification: '/host:ctr': invalid mount config for type \"bind\": \
             invalid mount path: 'ctr' mount path must be absolute"
        );
        assert_eq!(
            parse_bind("/a:/b:xx").unwrap_err().message,
            "invalid mode: xx"
        );
        assert_eq!(
            parse_bind("/a:/b:c:d").unwrap_err().message,
            "invalid volume specification: '/a:/b:c:d'"
        );
        assert_eq!(
            parse_bind("data:b").unwrap_err().message,
            "invalid volume specification: 'data:b': invalid mount config for type \"volume\": \
             invalid mount path: 'b' mount path must be absolute"
        );
    }

    #[test]
    fn api_bind_needs_an_existing_source() {
        let mut m = wharf_client_core::models::Mount {
            typ: Some(MountTypeEnum::BIND),
            source: Some("/nonexistent-wharf-src".into()),
            target: Some("/x".into()),
            ..Default::default()
        };
        assert_eq!(
            parse_api_mount(&m).unwrap_err().message,
            "invalid mount config for type \"bind\": bind source path does not exist: /nonexistent-wharf-src"
        );
        m.bind_options = Some(MountBindOptions {
            create_mountpoint: Some(true),
            ..Default::default()
        });
        assert!(parse_api_mount(&m).is_ok());
        m.source = Some("/tmp".into());
        m.bind_options = None;
        m.read_only = Some(true);
        assert_eq!(
            opts(&parse_api_mount(&m).unwrap().mount),
            ["rbind", "ro", "rprivate"]
        );
    }

    #[test]
    fn api_tmpfs_takes_size_and_mode() {
        let m = wharf_client_core::models::Mount {
            typ: Some(MountTypeEnum::TMPFS),
            target: Some("/run".into()),
            tmpfs_options: Some(MountTmpfsOptions {
                size_bytes: Some(64 << 20),
                mode: Some(0o1777),
                ..Default::default()
            }),
            ..Default::default()
        };
        let um = parse_api_mount(&m).unwrap();
        assert_eq!(
            opts(&um.mount),
            ["noexec", "nosuid", "nodev", "mode=1777", "size=64m"]
        );
        let mut bad = m.clone();
        bad.source = Some("x".into());
        assert_eq!(
            parse_api_mount(&bad).unwrap_err().message,
            "invalid mount config for type \"tmpfs\": field Source must not be specified"
        );
    }

    #[test]
    fn tmpfs_map_options_override_defaults() {
        assert_eq!(
            merge_tmpfs_options(&["noexec", "nosuid", "nodev"], "exec,size=1m,ro"),
            ["nosuid", "nodev", "exec", "size=1m", "ro"]
        );
    }

    #[test]
    fn duplicates_are_400_and_user_mounts_replace_defaults() {
        let hc = HostConfig {
            binds: Some(vec!["/a:/x".into()]),
            tmpfs: Some([("/x".to_string(), String::new())].into()),
            ..Default::default()
        };
        assert_eq!(
            user_mounts(&hc).unwrap_err().message,
            "Duplicate mount point: /x"
        );
        let hc = HostConfig {
            binds: Some(vec!["/a/b:/dev/shm".into(), "/c:/a".into()]),
            ..Default::default()
        };
        let ums: Vec<Mount> = user_mounts(&hc)
            .unwrap()
            .into_iter()
            .map(|m| m.mount)
            .collect();
        let merged = merge_mounts(default_mounts(false, None), ums);
        let shm: Vec<_> = merged
            .iter()
            .filter(|m| m.destination() == Path::new("/dev/shm"))
            .collect();
        assert_eq!(shm.len(), 1);
        assert_eq!(shm[0].typ().as_deref(), Some("bind"));
        assert_eq!(merged[6].destination(), Path::new("/a"));
    }
}
