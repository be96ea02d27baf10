//! Docker's OCI runtime spec for a container, built as moby's `daemon/oci_linux.go` and `oci/defaults.go`
//! build it: pure, from the container's (image-merged) config, host config and resolved user.
//!
//! Seccomp follows the profile the daemon passes in ([`seccomp`]: the built-in one unless configured
//! otherwise).

pub(crate) mod caps;
pub(crate) mod devices;
pub(crate) mod linux;
pub(crate) mod mounts;
pub(crate) mod process;
pub(crate) mod seccomp;
pub(crate) mod volume_mounts;

use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    BoxBuilder, Linux, LinuxDevice, LinuxDeviceCgroup, Mount, Process, Root, Spec, User,
};
use wharf_client_core::models::{ContainerConfig, HostConfig};

use crate::containers::users::ResolvedUser;
use crate::error::Error;

pub(crate) use linux::{network_mode, HostCpus, NetworkMode};
pub(crate) use mounts::{create_host_dirs, user_mounts};

/// What the spec is built from.
#[derive(Clone, Debug)]
pub(crate) struct SpecInput<'a> {
    /// The container ID (names the cgroup).
    pub id: &'a str,
    /// The container's config, already merged with the image's ([`crate::containers::config`]).
    pub config: &'a ContainerConfig,
    /// The container's host config, validated at create time.
    pub host_config: &'a HostConfig,
    /// The rootfs on the host.
    pub rootfs: &'a Path,
    /// The container's hostname ([`crate::containers::etcfiles::default_hostname`] when unset).
    pub hostname: &'a str,
    /// The generated `/etc/hosts` on the host.
    pub hosts_path: &'a Path,
    /// The generated `/etc/resolv.conf` on the host.
    pub resolv_conf_path: &'a Path,
    /// The generated `/etc/hostname` on the host.
    pub hostname_path: &'a Path,
    /// The user from [`crate::containers::users::resolve_user_in`].
    pub user: &'a ResolvedUser,
    /// The init binary on the host (tini or docker-init), mounted at `/sbin/docker-init` when
    /// `HostConfig.Init` is true; `None` with `Init` is a 400.
    pub init_path: Option<&'a Path>,
    /// The host's devices for a privileged container (the caller lists `/dev`), else the devices it maps
    /// (`HostConfig.Devices`, resolved by the caller).
    pub host_devices: &'a [LinuxDevice],
    /// The cgroup rules allowing the mapped devices (none for a privileged container, which may use all).
    pub device_rules: &'a [LinuxDeviceCgroup],
    /// The parent of container cgroups when `CgroupParent` is unset.
    pub cgroup_parent: &'a str,
    /// The daemon's default seccomp profile; `None` (unconfined) leaves containers without a filter unless they bring
    /// their own with `--security-opt seccomp=<profile>`.
    pub seccomp_profile: Option<&'a seccomp::Profile>,
    /// The host kernel's (major, minor), for the profile's `minKernel` conditions.
    pub kernel_version: Option<(u32, u32)>,
    /// The network namespace to join (a file wharfd made for a bridged container, or another
    /// container's); `None` makes a new one (or none with host networking).
    pub netns: Option<&'a Path>,
    /// The binds of the container's volumes and of what `--volumes-from` took over, their sources
    /// resolved by the runtime (the host config's volume mounts are left out for them).
    pub volume_mounts: &'a [Mount],
}

/// The default cgroup parent (cgroupfs driver): containers live in `/wharf/<id>`.
pub(crate) const DEFAULT_CGROUP_PARENT: &str = "/wharf";

/// Checks a host config at create time, as dockerd does before it stores a container, so that clients get
/// the 400 (or 409) from `docker create` rather than from `docker start`; fills `MemorySwap` as dockerd
/// does. `host`: the CPUs and memory nodes containers may use. [`build_spec`] checks the same rules again.
pub(crate) fn validate_for_create(hc: &mut HostConfig, host: &HostCpus) -> Result<(), Error> {
    crate::containers::restart::policy_of(hc)?;
    linux::validate_resources(hc, host)?;
    linux::namespaces(hc, None)?;
    linux::validate_sysctls(hc)?;
    mounts::user_mounts(hc)?;
    caps::tweak_capabilities(
        hc.cap_add.as_deref().unwrap_or(&[]),
        hc.cap_drop.as_deref().unwrap_or(&[]),
        hc.privileged.unwrap_or(false),
    )?;
    process::rlimits(hc.ulimits.as_deref().unwrap_or(&[]))?;
    seccomp::choice(hc.security_opt.as_deref().unwrap_or(&[]))?;
    process::validate_security_opts(hc.security_opt.as_deref().unwrap_or(&[]))?;
    devices::validate(hc)?;
    crate::containers::etcfiles::parse_extra_hosts(hc.extra_hosts.as_deref().unwrap_or(&[]))?;
    Ok(())
}

/// Builds the OCI runtime spec for a container.
///
/// Errors are 400s for settings Wharf does not support or that are invalid, worded as dockerd words them.
/// Not yet done: AppArmor, blkio, user namespaces, `container:` namespace modes.
pub(crate) fn build_spec(input: &SpecInput<'_>) -> Result<Spec, Error> {
    let hc = input.host_config;
    let cfg = input.config;
    let privileged = hc.privileged.unwrap_or(false);
    let readonly_rootfs = hc.readonly_rootfs.unwrap_or(false);
    let init = hc.init.unwrap_or(false);

    // Process.
    let mut process = Process::default();
    process.set_terminal(Some(cfg.tty.unwrap_or(false)));
    process.set_console_size(match hc.console_size.as_deref() {
        Some([h, w]) if *h > 0 && *w > 0 => BoxBuilder::default()
            .height(*h as u64)
            .width(*w as u64)
            .build()
            .ok(),
        _ => None,
    });
    process.set_args(Some(process::args(cfg, init)?));
    process.set_env(Some(process::env(cfg, input.hostname)));
    let cwd = cfg
        .working_dir
        .as_deref()
        .filter(|w| !w.is_empty())
        .unwrap_or("/");
    if !cwd.starts_with('/') {
        return Err(Error::invalid(format!(
            "the working directory '{cwd}' is invalid, it needs to be an absolute path"
        )));
    }
    process.set_cwd(PathBuf::from(cwd));
    let mut user = User::default();
    user.set_uid(input.user.uid);
    user.set_gid(input.user.gid);
    if !input.user.additional_gids.is_empty() {
        user.set_additional_gids(Some(input.user.additional_gids.clone()));
    }
    process.set_user(user);
    let cap_names = caps::tweak_capabilities(
        hc.cap_add.as_deref().unwrap_or(&[]),
        hc.cap_drop.as_deref().unwrap_or(&[]),
        privileged,
    )?;
    let seccomp = if privileged {
        None
    } else {
        match seccomp::choice(hc.security_opt.as_deref().unwrap_or(&[]))? {
            seccomp::Choice::Unconfined => None,
            seccomp::Choice::Custom(p) => Some(seccomp::to_oci(
                &p,
                &cap_names,
                seccomp::go_arch(),
                input.kernel_version,
            )?),
            seccomp::Choice::Default => input
                .seccomp_profile
                .map(|p| seccomp::to_oci(p, &cap_names, seccomp::go_arch(), input.kernel_version))
                .transpose()?,
        }
    };
    process.set_capabilities(Some(caps::process_capabilities(&cap_names)));
    let rlimits = process::rlimits(hc.ulimits.as_deref().unwrap_or(&[]))?;
    process.set_rlimits((!rlimits.is_empty()).then_some(rlimits));
    process.set_no_new_privileges(Some(process::no_new_privileges(
        hc.security_opt.as_deref().unwrap_or(&[]),
    )));
    let oom = hc.oom_score_adj.unwrap_or(0);
    if !(-1000..=1000).contains(&oom) {
        return Err(Error::invalid(format!(
            "Invalid value {oom}, range for oom score adj is [-1000, 1000]"
        )));
    }
    process.set_oom_score_adj(Some(oom as i32));
    process.set_apparmor_profile(None);

    // Mounts.
    let user_mounts = mounts::user_mounts(hc)?;
    let rootfs_propagation = user_mounts
        .iter()
        .filter_map(|m| m.rootfs_propagation)
        .min_by_key(|p| if *p == "rshared" { 0 } else { 1 });
    let mut container_mounts: Vec<Mount> = user_mounts
        .into_iter()
        .filter(|m| m.volume.is_none())
        .map(|m| m.mount)
        .collect();
    container_mounts.extend_from_slice(input.volume_mounts);
    let dests: Vec<PathBuf> = container_mounts
        .iter()
        .map(|m| m.destination().clone())
        .collect();
    for (dest, source) in [
        ("/etc/resolv.conf", input.resolv_conf_path),
        ("/etc/hostname", input.hostname_path),
        ("/etc/hosts", input.hosts_path),
    ] {
        if !dests.iter().any(|d| d == Path::new(dest)) {
            container_mounts.push(mounts::etc_file_mount(dest, source, readonly_rootfs));
        }
    }
    if init {
        let path = input
            .init_path
            .ok_or_else(|| Error::invalid("init requested but no init binary is configured"))?;
        container_mounts.push(mounts::oci_mount(
            process::INIT_PATH_IN_CONTAINER,
            "bind",
            &path.to_string_lossy(),
            &["bind", "ro"],
        ));
    }
    let mut defaults = mounts::default_mounts(privileged, hc.shm_size);
    if hc.ipc_mode.as_deref() == Some("none") {
        defaults.retain(|m| m.destination() != Path::new("/dev/shm"));
    }
    let all_mounts = mounts::merge_mounts(defaults, container_mounts);

    // Linux.
    let mut lx = Linux::default();
    lx.set_namespaces(Some(linux::namespaces(hc, input.netns)?));
    let sysctls = linux::sysctls(hc, input.kernel_version)?;
    lx.set_sysctl((!sysctls.is_empty()).then_some(sysctls));
    let mut resources = linux::resources(hc, privileged)?;
    if !privileged {
        let mut rules = resources.devices().clone().unwrap_or_default();
        rules.extend_from_slice(input.device_rules);
        rules.extend(devices::cgroup_rules(hc)?);
        resources.set_devices(Some(rules));
    }
    lx.set_resources(Some(resources));
    if privileged {
        lx.set_masked_paths(None);
        lx.set_readonly_paths(None);
        lx.set_devices(Some(input.host_devices.to_vec()));
    } else {
        let masked = hc
            .masked_paths
            .clone()
            .unwrap_or_else(|| linux::MASKED_PATHS.iter().map(|s| s.to_string()).collect());
        let readonly = hc.readonly_paths.clone().unwrap_or_else(|| {
            linux::READONLY_PATHS
                .iter()
                .map(|s| s.to_string())
                .collect()
        });
        lx.set_masked_paths(Some(masked));
        lx.set_readonly_paths(Some(readonly));
        lx.set_devices(Some(input.host_devices.to_vec()));
    }
    let parent = hc
        .cgroup_parent
        .as_deref()
        .filter(|p| !p.is_empty())
        .unwrap_or(input.cgroup_parent);
    lx.set_cgroups_path(Some(Path::new(parent).join(input.id)));
    lx.set_rootfs_propagation(rootfs_propagation.map(str::to_string));
    lx.set_seccomp(seccomp);
    lx.set_uid_mappings(None);
    lx.set_gid_mappings(None);

    let mut root = Root::default();
    root.set_path(input.rootfs.to_path_buf());
    root.set_readonly(Some(readonly_rootfs));

    let mut spec = Spec::default();
    spec.set_version(oci_spec::runtime::VERSION.to_string());
    spec.set_process(Some(process));
    spec.set_root(Some(root));
    spec.set_mounts(Some(all_mounts));
    spec.set_hostname(if linux::host_uts(hc) {
        None
    } else {
        Some(input.hostname.to_string())
    });
    spec.set_domainname(cfg.domainname.clone().filter(|d| !d.is_empty()));
    spec.set_linux(Some(lx));
    spec.set_hooks(None);
    spec.set_annotations(hc.annotations.clone().map(|a| a.into_iter().collect()));
    Ok(spec)
}

#[cfg(test)]
mod tests;
