//! Snapshot-style assertions on the fields of built specs that matter.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{Capability, LinuxNamespaceType, Spec};
use wharf_client_core::models::{ContainerConfig, HostConfig};
use wharf_client_core::ErrorKind;

use super::*;

struct Fixture {
    config: ContainerConfig,
    host_config: HostConfig,
    user: ResolvedUser,
    init: Option<PathBuf>,
    seccomp: Option<seccomp::Profile>,
    netns: Option<PathBuf>,
}

impl Fixture {
    fn new() -> Self {
        Self {
            config: ContainerConfig {
                cmd: Some(vec!["sh".into()]),
                ..Default::default()
            },
            host_config: HostConfig::default(),
            user: ResolvedUser {
                uid: 1000,
                gid: 1000,
                additional_gids: vec![10],
                home: "/home/app".into(),
            },
            init: None,
            seccomp: None,
            netns: None,
        }
    }

    fn build(&self) -> Result<Spec, Error> {
        build_spec(&SpecInput {
            id: "abc123",
            config: &self.config,
            host_config: &self.host_config,
            rootfs: Path::new("/var/lib/wharf/rootfs/abc123"),
            hostname: "abc123abc123",
            hosts_path: Path::new("/c/hosts"),
            resolv_conf_path: Path::new("/c/resolv.conf"),
            hostname_path: Path::new("/c/hostname"),
            user: &self.user,
            init_path: self.init.as_deref(),
            host_devices: &[],
            device_rules: &[],
            cgroup_parent: DEFAULT_CGROUP_PARENT,
            seccomp_profile: self.seccomp.as_ref(),
            kernel_version: Some((6, 1)),
            netns: self.netns.as_deref(),
            volume_mounts: &[],
        })
    }
}

fn mount_dests(spec: &Spec) -> Vec<String> {
    spec.mounts()
        .iter()
        .flatten()
        .map(|m| m.destination().to_string_lossy().to_string())
        .collect()
}

fn mount_opts(spec: &Spec, dest: &str) -> Vec<String> {
    spec.mounts()
        .iter()
        .flatten()
        .find(|m| m.destination() == Path::new(dest))
        .and_then(|m| m.options().clone())
        .unwrap_or_default()
}

#[test]
fn process_fields() {
    let mut f = Fixture::new();
    f.config.tty = Some(true);
    f.config.working_dir = Some("/srv".into());
    f.config.entrypoint = Some(vec!["/bin/echo".into()]);
    f.host_config.oom_score_adj = Some(-500);
    let spec = f.build().unwrap();
    let p = spec.process().clone().unwrap();
    assert_eq!(p.args().clone().unwrap(), ["/bin/echo", "sh"]);
    assert_eq!(p.cwd(), Path::new("/srv"));
    assert_eq!(p.terminal(), Some(true));
    assert_eq!(p.no_new_privileges(), Some(false));
    assert_eq!(p.oom_score_adj(), Some(-500));
    let env = p.env().clone().unwrap();
    assert!(env.contains(&"HOSTNAME=abc123abc123".to_string()));
    assert!(env.contains(&"TERM=xterm".to_string()));
    assert_eq!(p.user().uid(), 1000);
    assert_eq!(p.user().gid(), 1000);
    assert_eq!(p.user().additional_gids().clone().unwrap(), [10]);
    assert!(p.rlimits().is_none());
}

#[test]
fn default_capabilities_and_privileged() {
    let mut f = Fixture::new();
    let spec = f.build().unwrap();
    let caps = spec
        .process()
        .clone()
        .unwrap()
        .capabilities()
        .clone()
        .unwrap();
    let bounding = caps.bounding().clone().unwrap();
    assert_eq!(bounding.len(), 14);
    assert!(bounding.contains(&Capability::NetBindService));
    assert!(!bounding.contains(&Capability::SysAdmin));
    assert_eq!(caps.effective(), caps.permitted());
    assert!(caps.inheritable().is_none());

    f.host_config.privileged = Some(true);
    let spec = f.build().unwrap();
    let caps = spec
        .process()
        .clone()
        .unwrap()
        .capabilities()
        .clone()
        .unwrap();
    assert!(caps
        .bounding()
        .clone()
        .unwrap()
        .contains(&Capability::SysAdmin));
    let lx = spec.linux().clone().unwrap();
    assert!(lx.masked_paths().is_none());
    assert!(lx.readonly_paths().is_none());
    assert!(!mount_opts(&spec, "/sys").contains(&"ro".to_string()));
    let devices = lx.resources().clone().unwrap().devices().clone().unwrap();
    assert!(devices.iter().any(|d| d.allow() && d.typ().is_none()));
}

#[test]
fn device_cgroup_rules_follow_the_defaults() {
    let mut f = Fixture::new();
    f.host_config.device_cgroup_rules = Some(vec!["c 10:200 rwm".into()]);
    let spec = f.build().unwrap();
    let lx = spec.linux().clone().unwrap();
    let rules = lx.resources().clone().unwrap().devices().clone().unwrap();
    let last = rules.last().unwrap();
    assert_eq!(rules.len(), linux::device_rules(false).len() + 1);
    assert!(last.allow());
    assert_eq!((last.major(), last.minor()), (Some(10), Some(200)));
    f.host_config.privileged = Some(true);
    let spec = f.build().unwrap();
    let lx = spec.linux().clone().unwrap();
    let rules = lx.resources().clone().unwrap().devices().clone().unwrap();
    assert_eq!(
        rules,
        linux::device_rules(true),
        "privileged may use every device"
    );
}

#[test]
fn unknown_capability_is_a_400() {
    let mut f = Fixture::new();
    f.host_config.cap_add = Some(vec!["CAP_FOO".into()]);
    let err = f.build().unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidParameter);
    assert_eq!(
        err.message,
        "invalid CapAdd: unknown capability: \"CAP_FOO\""
    );
}

#[test]
fn mounts_include_defaults_and_etc_files() {
    let mut f = Fixture::new();
    f.host_config.binds = Some(vec!["/data:/data:ro".into()]);
    f.host_config.shm_size = Some(128 << 20);
    let spec = f.build().unwrap();
    let dests = mount_dests(&spec);
    for d in [
        "/proc",
        "/dev",
        "/dev/pts",
        "/sys",
        "/sys/fs/cgroup",
        "/dev/mqueue",
        "/dev/shm",
        "/data",
        "/etc/resolv.conf",
        "/etc/hostname",
        "/etc/hosts",
    ] {
        assert!(dests.contains(&d.to_string()), "{d} missing from {dests:?}");
    }
    assert!(mount_opts(&spec, "/dev/shm").contains(&format!("size={}", 128 << 20)));
    assert!(mount_opts(&spec, "/sys").contains(&"ro".to_string()));
    assert_eq!(mount_opts(&spec, "/etc/hosts"), ["rbind", "rprivate"]);
    assert_eq!(mount_opts(&spec, "/data"), ["rbind", "ro", "rprivate"]);
    assert_eq!(spec.root().clone().unwrap().readonly(), Some(false));
}

#[test]
fn readonly_rootfs_makes_root_and_etc_files_read_only() {
    let mut f = Fixture::new();
    f.host_config.readonly_rootfs = Some(true);
    let spec = f.build().unwrap();
    assert_eq!(spec.root().clone().unwrap().readonly(), Some(true));
    assert_eq!(mount_opts(&spec, "/etc/hosts"), ["rbind", "ro", "rprivate"]);
}

#[test]
fn init_prefixes_args_and_mounts_the_binary() {
    let mut f = Fixture::new();
    f.host_config.init = Some(true);
    assert_eq!(
        f.build().unwrap_err().message,
        "init requested but no init binary is configured"
    );
    f.init = Some(PathBuf::from("/usr/bin/tini"));
    let spec = f.build().unwrap();
    let args = spec.process().clone().unwrap().args().clone().unwrap();
    assert_eq!(args, ["/sbin/docker-init", "--", "sh"]);
    let m = spec
        .mounts()
        .iter()
        .flatten()
        .find(|m| m.destination() == Path::new("/sbin/docker-init"))
        .unwrap();
    assert_eq!(m.source().as_deref(), Some(Path::new("/usr/bin/tini")));
}

#[test]
fn linux_section() {
    let mut f = Fixture::new();
    let spec = f.build().unwrap();
    let lx = spec.linux().clone().unwrap();
    assert_eq!(
        lx.cgroups_path().as_deref(),
        Some(Path::new("/wharf/abc123"))
    );
    assert_eq!(lx.masked_paths().clone().unwrap().len(), 11);
    assert_eq!(
        lx.readonly_paths().clone().unwrap(),
        [
            "/proc/bus",
            "/proc/fs",
            "/proc/irq",
            "/proc/sys",
            "/proc/sysrq-trigger"
        ]
    );
    assert!(lx.seccomp().is_none());
    let ns: Vec<_> = lx
        .namespaces()
        .clone()
        .unwrap()
        .iter()
        .map(|n| n.typ())
        .collect();
    assert!(ns.contains(&LinuxNamespaceType::Network));
    assert_eq!(spec.hostname().as_deref(), Some("abc123abc123"));

    // A bridged container joins the namespace file wharfd made for it.
    f.netns = Some("/run/wharf/netns/abc123".into());
    let joined = f.build().unwrap();
    let net = joined
        .linux()
        .clone()
        .unwrap()
        .namespaces()
        .clone()
        .unwrap()
        .into_iter()
        .find(|n| n.typ() == LinuxNamespaceType::Network)
        .unwrap();
    assert_eq!(
        net.path().as_deref(),
        Some(Path::new("/run/wharf/netns/abc123"))
    );
    f.netns = None;

    f.host_config.network_mode = Some("host".into());
    f.host_config.cgroup_parent = Some("/custom".into());
    let spec = f.build().unwrap();
    let lx = spec.linux().clone().unwrap();
    let ns: Vec<_> = lx
        .namespaces()
        .clone()
        .unwrap()
        .iter()
        .map(|n| n.typ())
        .collect();
    assert!(!ns.contains(&LinuxNamespaceType::Network));
    assert_eq!(
        lx.cgroups_path().as_deref(),
        Some(Path::new("/custom/abc123"))
    );
}

#[test]
fn the_spec_serializes_as_runc_expects() {
    let spec = Fixture::new().build().unwrap();
    let json = serde_json::to_value(&spec).unwrap();
    assert_eq!(json["ociVersion"], "1.1.0");
    assert_eq!(json["root"]["path"], "/var/lib/wharf/rootfs/abc123");
    assert_eq!(json["process"]["user"]["uid"], 1000);
    assert_eq!(json["linux"]["resources"]["devices"][0]["allow"], false);
    assert!(json["process"]["capabilities"]["bounding"]
        .as_array()
        .unwrap()
        .contains(&"CAP_CHOWN".into()));
}

#[test]
fn relative_working_dir_is_a_400() {
    let mut f = Fixture::new();
    f.config.working_dir = Some("srv".into());
    assert_eq!(
        f.build().unwrap_err().message,
        "the working directory 'srv' is invalid, it needs to be an absolute path"
    );
}

#[test]
fn create_time_validation_catches_what_start_would() {
    let mut hc = HostConfig {
        memory: Some(64 << 20),
        ..Default::default()
    };
    validate_for_create(&mut hc, &HostCpus::default()).unwrap();
    assert_eq!(hc.memory_swap, Some(128 << 20));
    for (hc, message) in [
        (
            HostConfig {
                binds: Some(vec!["/a:b".into()]),
                ..Default::default()
            },
            "invalid volume specification: '/a:b': invalid mount config for type \"bind\": invalid mount path: 'b' mount path must be absolute",
        ),
        (
            HostConfig {
                cap_drop: Some(vec!["bogus".into()]),
                ..Default::default()
            },
            "invalid CapDrop: unknown capability: \"CAP_BOGUS\"",
        ),
        (
            HostConfig {
                extra_hosts: Some(vec!["gw:host-gateway".into()]),
                ..Default::default()
            },
            "host-gateway is not supported yet: Wharf has no bridge network gateway",
        ),
        (
            HostConfig {
                security_opt: Some(vec!["nonsense".into()]),
                ..Default::default()
            },
            "invalid --security-opt 1: \"nonsense\"",
        ),
        (
            HostConfig {
                device_cgroup_rules: Some(vec!["bogus".into()]),
                ..Default::default()
            },
            "invalid device cgroup rule format: 'bogus'",
        ),
    ] {
        let mut hc = hc;
        let err = validate_for_create(&mut hc, &HostCpus::default()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidParameter);
        assert_eq!(err.message, message);
    }
}

#[test]
fn seccomp_follows_the_default_profile_security_opt_and_privileged() {
    let profile = seccomp::parse_profile(
        br#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}}]}"#,
    )
    .unwrap();
    let mut f = Fixture::new();
    assert!(f
        .build()
        .unwrap()
        .linux()
        .clone()
        .unwrap()
        .seccomp()
        .is_none());
    f.seccomp = Some(profile);
    let filter = f
        .build()
        .unwrap()
        .linux()
        .clone()
        .unwrap()
        .seccomp()
        .clone()
        .unwrap();
    assert_eq!(filter.syscalls().clone().unwrap().len(), 1);
    f.host_config.cap_add = Some(vec!["SYS_ADMIN".into()]);
    let filter = f
        .build()
        .unwrap()
        .linux()
        .clone()
        .unwrap()
        .seccomp()
        .clone()
        .unwrap();
    assert_eq!(filter.syscalls().clone().unwrap().len(), 2);
    f.host_config.security_opt = Some(vec!["seccomp=unconfined".into()]);
    assert!(f
        .build()
        .unwrap()
        .linux()
        .clone()
        .unwrap()
        .seccomp()
        .is_none());
    f.host_config.security_opt = None;
    f.host_config.privileged = Some(true);
    assert!(f
        .build()
        .unwrap()
        .linux()
        .clone()
        .unwrap()
        .seccomp()
        .is_none());
}
