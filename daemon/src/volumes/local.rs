//! The `local` driver's rules, as dockerd 20.10's `volume/local`: volume names, the driver options
//! (`type`, `device`, `o`) checked at create, and how `o` becomes mount(2)'s flags and data.

use std::collections::BTreeMap;

use nix::mount::MsFlags;

use crate::error::Error;

/// The one driver wharfd has.
pub(crate) const LOCAL: &str = "local";

/// Checks a volume name as the local driver does; `Err` holds the reason, which the caller prefixes with
/// `create NAME: `.
pub(crate) fn validate_name(name: &str) -> Result<(), String> {
    if name.len() == 1 {
        return Err(
            "volume name is too short, names should be at least two alphanumeric characters".into(),
        );
    }
    let mut bytes = name.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric());
    let rest_ok = bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if !first_ok || !rest_ok {
        return Err(format!(
            "{name:?} includes invalid characters for a local volume name, only \
             \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, \
             use absolute path"
        ));
    }
    Ok(())
}

/// A random name for an anonymous volume: 64 hex digits, as dockerd's `stringid.GenerateRandomID`.
pub(crate) fn random_name() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(Error::system)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The driver options the local driver takes.
const KNOWN_OPTIONS: [&str; 3] = ["type", "device", "o"];

/// Checks `options` as the local driver's `validateOpts`: only `type`, `device` and `o`, and `type` and
/// `device` go together (`o` alone needs a device too).
pub(crate) fn validate_options(options: &BTreeMap<String, String>) -> Result<(), String> {
    for key in options.keys() {
        if !KNOWN_OPTIONS.contains(&key.as_str()) {
            return Err(format!("invalid option: {key:?}"));
        }
    }
    let has = |k: &str| options.get(k).is_some_and(|v| !v.is_empty());
    if (has("type") || has("o")) && !has("device") {
        return Err("missing required option: \"device\"".into());
    }
    if has("device") && !has("type") {
        return Err("missing required option: \"type\"".into());
    }
    Ok(())
}

/// Whether a volume with `options` is mounted (tmpfs, a bind, NFS...) rather than a plain directory.
pub(crate) fn needs_mount(options: &BTreeMap<String, String>) -> bool {
    options.get("type").is_some_and(|t| !t.is_empty())
        || options.get("device").is_some_and(|d| !d.is_empty())
}

/// What mount(2) is given for a volume: the source, the file system type, the flags and the data left
/// of `o` once its flags are taken out (as moby's `mount.parseOptions`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MountArgs {
    pub device: String,
    pub fstype: String,
    pub flags: MsFlags,
    pub data: String,
}

/// The flags `o` may name; a `clear` entry removes the flag instead.
const FLAGS: &[(&str, bool, MsFlags)] = &[
    ("ro", false, MsFlags::MS_RDONLY),
    ("rw", true, MsFlags::MS_RDONLY),
    ("nosuid", false, MsFlags::MS_NOSUID),
    ("suid", true, MsFlags::MS_NOSUID),
    ("nodev", false, MsFlags::MS_NODEV),
    ("dev", true, MsFlags::MS_NODEV),
    ("noexec", false, MsFlags::MS_NOEXEC),
    ("exec", true, MsFlags::MS_NOEXEC),
    ("sync", false, MsFlags::MS_SYNCHRONOUS),
    ("async", true, MsFlags::MS_SYNCHRONOUS),
    ("dirsync", false, MsFlags::MS_DIRSYNC),
    ("noatime", false, MsFlags::MS_NOATIME),
    ("atime", true, MsFlags::MS_NOATIME),
    ("nodiratime", false, MsFlags::MS_NODIRATIME),
    ("diratime", true, MsFlags::MS_NODIRATIME),
    ("relatime", false, MsFlags::MS_RELATIME),
    ("norelatime", true, MsFlags::MS_RELATIME),
    ("strictatime", false, MsFlags::MS_STRICTATIME),
    ("nostrictatime", true, MsFlags::MS_STRICTATIME),
    ("mand", false, MsFlags::MS_MANDLOCK),
    ("nomand", true, MsFlags::MS_MANDLOCK),
    ("bind", false, MsFlags::MS_BIND),
    ("rbind", false, MsFlags::MS_BIND.union(MsFlags::MS_REC)),
    ("remount", false, MsFlags::MS_REMOUNT),
    ("defaults", false, MsFlags::empty()),
];

/// The mount(2) arguments of a volume's options (`None` without a `type`/`device`).
pub(crate) fn mount_args(options: &BTreeMap<String, String>) -> Option<MountArgs> {
    if !needs_mount(options) {
        return None;
    }
    let mut flags = MsFlags::empty();
    let mut data = Vec::new();
    for opt in options
        .get("o")
        .map(String::as_str)
        .unwrap_or("")
        .split(',')
        .filter(|o| !o.is_empty())
    {
        match FLAGS.iter().find(|(name, _, _)| *name == opt) {
            Some((_, true, f)) => flags.remove(*f),
            Some((_, false, f)) => flags.insert(*f),
            None => data.push(opt),
        }
    }
    let fstype = options.get("type").cloned().unwrap_or_default();
    Some(MountArgs {
        device: options.get("device").cloned().unwrap_or_default(),
        fstype,
        flags,
        data: data.join(","),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn names_as_the_local_driver_takes_them() {
        for ok in ["ab", "a1", "data", "my_vol.1-x", "0abc"] {
            validate_name(ok).unwrap();
        }
        assert_eq!(
            validate_name("a").unwrap_err(),
            "volume name is too short, names should be at least two alphanumeric characters"
        );
        assert_eq!(
            validate_name("b@d").unwrap_err(),
            "\"b@d\" includes invalid characters for a local volume name, only \
             \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, \
             use absolute path"
        );
        assert!(validate_name("_ab").is_err());
        assert!(validate_name("a/b").is_err());
        assert!(validate_name("").is_err());
        let r = random_name().unwrap();
        assert_eq!(r.len(), 64);
        assert!(r.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(r, random_name().unwrap());
    }

    #[test]
    fn options_are_checked_as_dockerd_checks_them() {
        validate_options(&opts(&[])).unwrap();
        validate_options(&opts(&[
            ("type", "tmpfs"),
            ("device", "tmpfs"),
            ("o", "size=1m"),
        ]))
        .unwrap();
        assert_eq!(
            validate_options(&opts(&[("foo", "bar")])).unwrap_err(),
            "invalid option: \"foo\""
        );
        assert_eq!(
            validate_options(&opts(&[("type", "tmpfs")])).unwrap_err(),
            "missing required option: \"device\""
        );
        assert_eq!(
            validate_options(&opts(&[("o", "size=1m")])).unwrap_err(),
            "missing required option: \"device\""
        );
        assert_eq!(
            validate_options(&opts(&[("device", "/x"), ("o", "bind")])).unwrap_err(),
            "missing required option: \"type\""
        );
    }

    #[test]
    fn o_splits_into_flags_and_data() {
        assert_eq!(mount_args(&opts(&[])), None);
        let m = mount_args(&opts(&[
            ("type", "tmpfs"),
            ("device", "tmpfs"),
            ("o", "size=1m,uid=1000,ro,noexec"),
        ]))
        .unwrap();
        assert_eq!(m.fstype, "tmpfs");
        assert_eq!(m.device, "tmpfs");
        assert_eq!(m.data, "size=1m,uid=1000");
        assert_eq!(m.flags, MsFlags::MS_RDONLY | MsFlags::MS_NOEXEC);
        let b = mount_args(&opts(&[
            ("type", "none"),
            ("device", "/srv"),
            ("o", "bind,ro,rw"),
        ]))
        .unwrap();
        assert_eq!(b.flags, MsFlags::MS_BIND);
        assert_eq!(b.data, "");
    }
}
