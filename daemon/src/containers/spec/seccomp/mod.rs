//! Seccomp: converts a profile in Docker's format (`defaultAction`, `archMap`, `syscalls` with `includes`
//! and `excludes` by capability, architecture and kernel) into the OCI filter for one container, as moby's
//! `profiles/seccomp` `setupSeccomp` does.
//!
//! The daemon's default is the built-in profile ([`builtin`]) unless `--seccomp-profile` names a file or
//! `unconfined`; `--security-opt seccomp=<profile JSON>` gives a container its own. Privileged containers
//! and `seccomp=unconfined` get no filter.

mod builtin;

use serde::Deserialize;
use serde_json::{json, Value};

use oci_spec::runtime::LinuxSeccomp;

use crate::error::Error;

/// A seccomp profile in Docker's JSON format.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Profile {
    /// The action for syscalls no rule names (`SCMP_ACT_ERRNO`).
    pub default_action: String,
    /// The errno of the default action.
    #[serde(default)]
    pub default_errno_ret: Option<u32>,
    /// Architectures in Docker's old form (`architectures`), used when `archMap` is empty.
    #[serde(default, deserialize_with = "null_as_default")]
    pub architectures: Vec<String>,
    /// Native architectures and their sub-architectures.
    #[serde(default, deserialize_with = "null_as_default")]
    pub arch_map: Vec<ArchMap>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub flags: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub syscalls: Vec<Rule>,
}

/// One `archMap` entry.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ArchMap {
    /// `SCMP_ARCH_X86_64`...
    pub architecture: String,
    /// `SCMP_ARCH_X86`, `SCMP_ARCH_X32`...
    #[serde(default, deserialize_with = "null_as_default")]
    pub sub_architectures: Vec<String>,
}

/// One rule of `syscalls`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Rule {
    #[serde(default, deserialize_with = "null_as_default")]
    pub names: Vec<String>,
    /// A single syscall (Docker's old form).
    #[serde(default)]
    pub name: Option<String>,
    /// `SCMP_ACT_ALLOW`...
    pub action: String,
    /// The errno for `SCMP_ACT_ERRNO`.
    #[serde(default)]
    pub errno_ret: Option<u32>,
    /// Argument conditions.
    #[serde(default, deserialize_with = "null_as_default")]
    pub args: Vec<Arg>,
    /// Conditions all of which must hold.
    #[serde(default, deserialize_with = "null_as_default")]
    pub includes: Filter,
    /// Conditions any of which drops the rule.
    #[serde(default, deserialize_with = "null_as_default")]
    pub excludes: Filter,
}

/// An argument condition.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Arg {
    /// The argument's index.
    pub index: usize,
    pub value: u64,
    /// The second value (`SCMP_CMP_MASKED_EQ`).
    #[serde(default)]
    pub value_two: u64,
    /// `SCMP_CMP_EQ`...
    pub op: String,
}

/// `includes`/`excludes`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Filter {
    /// Capabilities (`CAP_SYS_ADMIN`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub caps: Vec<String>,
    /// Go architecture names (`amd64`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub arches: Vec<String>,
    /// `4.8`.
    #[serde(default)]
    pub min_kernel: Option<String>,
}

/// Go's JSON decoder reads `null` as an empty slice or struct, and profiles in the wild say `"args": null`
/// (containers-common's does): so do we.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Parses a profile (400 with dockerd's wording when it is not valid JSON of this shape).
pub(crate) fn parse_profile(json: &[u8]) -> Result<Profile, Error> {
    serde_json::from_slice(json)
        .map_err(|e| Error::invalid(format!("Decoding seccomp profile failed: {e}")))
}

/// The daemon's default profile (`--seccomp-profile`, `seccomp-profile` in daemon.json): what containers
/// get unless they are privileged or bring their own.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DaemonProfile {
    /// `builtin`, `unconfined` or the file's path, as `/info` reports it.
    pub setting: String,
    /// The filter; `None` when unconfined.
    pub profile: Option<Profile>,
}

impl DaemonProfile {
    /// The built-in profile, for the setting `builtin` or none; none for `unconfined`; else the file
    /// the setting names, which must be readable and valid: a daemon told to use a profile never runs
    /// containers with a weaker one.
    pub(crate) fn load(setting: Option<&str>) -> Result<Self, String> {
        let (setting, profile) = match setting {
            None | Some("") | Some(BUILTIN) => (BUILTIN, Some(builtin::profile())),
            Some(UNCONFINED) => (UNCONFINED, None),
            Some(path) => {
                let bytes = std::fs::read(path)
                    .map_err(|e| format!("cannot read seccomp profile {path}: {e}"))?;
                let profile =
                    parse_profile(&bytes).map_err(|e| format!("seccomp profile {path}: {e}"))?;
                (path, Some(profile))
            }
        };
        Ok(Self {
            setting: setting.to_owned(),
            profile,
        })
    }

    /// Whether this is the built-in profile (`/info` warns when it is not, as dockerd does).
    pub(crate) fn is_builtin(&self) -> bool {
        self.setting == BUILTIN
    }
}

/// The setting that names the built-in profile.
pub(crate) const BUILTIN: &str = "builtin";
/// The setting for no filter.
pub(crate) const UNCONFINED: &str = "unconfined";

/// This build's architecture in Go's names, which profiles use.
pub(crate) fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        other => other,
    }
}

fn native_scmp_arch(go_arch: &str) -> Option<&'static str> {
    Some(match go_arch {
        "amd64" => "SCMP_ARCH_X86_64",
        "386" => "SCMP_ARCH_X86",
        "arm64" => "SCMP_ARCH_AARCH64",
        "arm" => "SCMP_ARCH_ARM",
        "ppc64le" => "SCMP_ARCH_PPC64LE",
        "s390x" => "SCMP_ARCH_S390X",
        "riscv64" => "SCMP_ARCH_RISCV64",
        "mips64" => "SCMP_ARCH_MIPS64",
        _ => return None,
    })
}

fn kernel_at_least(kernel: Option<(u32, u32)>, min: &str) -> bool {
    let Some((major, minor)) = kernel else {
        return true;
    };
    let mut parts = min.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let want = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= want
}

/// The OCI filter for a container with capabilities `caps` on architecture `arch` (Go's name) and a kernel
/// `kernel` (major, minor; `None` takes every `minKernel` as met).
pub(crate) fn to_oci(
    profile: &Profile,
    caps: &[String],
    arch: &str,
    kernel: Option<(u32, u32)>,
) -> Result<LinuxSeccomp, Error> {
    let mut arches: Vec<String> = Vec::new();
    if profile.arch_map.is_empty() {
        arches.clone_from(&profile.architectures);
    } else if let Some(native) = native_scmp_arch(arch) {
        for m in profile.arch_map.iter().filter(|m| m.architecture == native) {
            arches.push(m.architecture.clone());
            arches.extend(m.sub_architectures.iter().cloned());
        }
    }
    let mut syscalls = Vec::new();
    'rules: for rule in &profile.syscalls {
        let ex = &rule.excludes;
        if ex.arches.iter().any(|a| a == arch)
            || ex.caps.iter().any(|c| caps.contains(c))
            || ex
                .min_kernel
                .as_deref()
                .is_some_and(|m| kernel_at_least(kernel, m))
        {
            continue;
        }
        let inc = &rule.includes;
        if !inc.arches.is_empty() && !inc.arches.iter().any(|a| a == arch) {
            continue;
        }
        for c in &inc.caps {
            if !caps.contains(c) {
                continue 'rules;
            }
        }
        if inc
            .min_kernel
            .as_deref()
            .is_some_and(|m| !kernel_at_least(kernel, m))
        {
            continue;
        }
        let names: Vec<&String> = rule.names.iter().chain(rule.name.iter()).collect();
        let args: Vec<Value> = rule
            .args
            .iter()
            .map(|a| {
                let mut v = json!({"index": a.index, "value": a.value, "op": a.op});
                if a.value_two != 0 {
                    v["valueTwo"] = json!(a.value_two);
                }
                v
            })
            .collect();
        let mut entry = json!({"names": names, "action": rule.action});
        if let Some(errno) = rule.errno_ret {
            entry["errnoRet"] = json!(errno);
        }
        if !args.is_empty() {
            entry["args"] = json!(args);
        }
        syscalls.push(entry);
    }
    let mut oci = json!({
        "defaultAction": profile.default_action,
        "architectures": arches,
        "syscalls": syscalls,
    });
    if let Some(errno) = profile.default_errno_ret {
        oci["defaultErrnoRet"] = json!(errno);
    }
    if !profile.flags.is_empty() {
        oci["flags"] = json!(profile.flags);
    }
    serde_json::from_value(oci).map_err(|e| Error::invalid(format!("invalid seccomp profile: {e}")))
}

/// What `SecurityOpt` says about seccomp.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Choice {
    /// The daemon's default profile.
    Default,
    /// `seccomp=unconfined`.
    Unconfined,
    /// `seccomp=<profile JSON>` (the docker CLI sends the file's contents).
    Custom(Profile),
}

/// Reads `seccomp=` from `SecurityOpt` (`seccomp:` is the old form).
pub(crate) fn choice(security_opt: &[String]) -> Result<Choice, Error> {
    for opt in security_opt {
        let value = opt
            .strip_prefix("seccomp=")
            .or_else(|| opt.strip_prefix("seccomp:"));
        match value {
            Some(UNCONFINED) => return Ok(Choice::Unconfined),
            Some(BUILTIN) | Some("") => return Ok(Choice::Default),
            Some(json) => return parse_profile(json.as_bytes()).map(Choice::Custom),
            None => {}
        }
    }
    Ok(Choice::Default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{Arch, LinuxSeccompAction};

    const PROFILE: &str = r#"{
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "archMap": [
            {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
            {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}
        ],
        "syscalls": [
            {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
            {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
             "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390x"]}},
            {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64"]}},
            {"names": ["newsys"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "5.8"}},
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
             "excludes": {"caps": ["CAP_SYS_ADMIN"]}}
        ]
    }"#;

    fn names(s: &LinuxSeccomp) -> Vec<String> {
        s.syscalls()
            .iter()
            .flatten()
            .flat_map(|c| c.names().clone())
            .collect()
    }

    #[test]
    fn default_caps_on_amd64() {
        let p = parse_profile(PROFILE.as_bytes()).unwrap();
        let caps: Vec<String> = super::super::caps::DEFAULT_CAPS
            .iter()
            .map(|c| c.to_string())
            .collect();
        let s = to_oci(&p, &caps, "amd64", Some((6, 1))).unwrap();
        assert_eq!(s.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(s.default_errno_ret(), Some(1));
        assert_eq!(
            s.architectures().clone().unwrap(),
            [Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32]
        );
        assert_eq!(
            names(&s),
            [
                "read",
                "write",
                "personality",
                "clone",
                "arch_prctl",
                "newsys",
                "clone3"
            ]
        );
        let clone3 = &s.syscalls().as_ref().unwrap()[5];
        assert_eq!(clone3.errno_ret(), Some(38));
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["syscalls"][1]["args"][0]["op"], "SCMP_CMP_EQ");
    }

    #[test]
    fn nulls_read_as_empty_as_go_reads_them() {
        let p = parse_profile(
            br#"{"defaultAction":"SCMP_ACT_ERRNO","archMap":null,"syscalls":[{"names":["socket"],"action":"SCMP_ACT_ALLOW","args":null,"includes":{"caps":null},"excludes":{}}]}"#,
        )
        .unwrap();
        assert!(p.arch_map.is_empty());
        assert!(p.syscalls[0].args.is_empty());
        assert!(p.syscalls[0].includes.caps.is_empty());
    }

    #[test]
    fn caps_arches_and_kernels_select_rules() {
        let p = parse_profile(PROFILE.as_bytes()).unwrap();
        let caps = vec!["CAP_SYS_ADMIN".to_string()];
        let s = to_oci(&p, &caps, "arm64", Some((5, 4))).unwrap();
        assert_eq!(names(&s), ["read", "write", "personality", "mount"]);
        assert_eq!(
            s.architectures().clone().unwrap(),
            [Arch::ScmpArchAarch64, Arch::ScmpArchArm]
        );
    }

    #[test]
    fn security_opt_choices() {
        assert_eq!(choice(&[]).unwrap(), Choice::Default);
        assert_eq!(
            choice(&["seccomp=unconfined".into()]).unwrap(),
            Choice::Unconfined
        );
        assert!(matches!(
            choice(&[format!("seccomp={PROFILE}")]).unwrap(),
            Choice::Custom(_)
        ));
        let e = choice(&["seccomp={nope".into()]).unwrap_err();
        assert!(
            e.message.starts_with("Decoding seccomp profile failed"),
            "{}",
            e.message
        );
    }
}
