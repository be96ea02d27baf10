use super::*;
use wharf_client_core::ErrorKind;

fn hc_net(mode: &str) -> HostConfig {
    HostConfig {
        network_mode: Some(mode.into()),
        ..Default::default()
    }
}

fn ns_types(hc: &HostConfig) -> Vec<LinuxNamespaceType> {
    namespaces(hc, None)
        .unwrap()
        .iter()
        .map(|n| n.typ())
        .collect()
}

#[test]
fn namespaces_follow_modes() {
    use LinuxNamespaceType::*;
    assert_eq!(ns_types(&hc_net("bridge")), [Mount, Network, Uts, Pid, Ipc]);
    assert_eq!(ns_types(&hc_net("none")), [Mount, Network, Uts, Pid, Ipc]);
    assert_eq!(ns_types(&hc_net("host")), [Mount, Uts, Pid, Ipc]);
    let hc = HostConfig {
        pid_mode: Some("host".into()),
        ipc_mode: Some("host".into()),
        uts_mode: Some("host".into()),
        ..Default::default()
    };
    assert_eq!(ns_types(&hc), [Mount, Network]);
}

#[test]
fn network_modes_parse_and_unsupported_ones_are_400() {
    assert_eq!(network_mode(&hc_net("")).unwrap(), NetworkMode::Bridge);
    assert_eq!(
        network_mode(&hc_net("default")).unwrap(),
        NetworkMode::Bridge
    );
    assert_eq!(network_mode(&hc_net("none")).unwrap(), NetworkMode::None);
    assert_eq!(
        network_mode(&hc_net("container:abc")).unwrap(),
        NetworkMode::Container("abc".into())
    );
    let e = network_mode(&hc_net("container:")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidParameter);
    assert_eq!(
        network_mode(&hc_net("mynet")).unwrap(),
        NetworkMode::User("mynet".into())
    );
}

#[test]
fn device_rules_deny_then_allow_defaults() {
    let rules = device_rules(false);
    assert!(!rules[0].allow());
    assert_eq!(rules[0].access().as_deref(), Some("rwm"));
    assert!(rules.iter().any(|r| r.allow()
        && r.typ() == Some(LinuxDeviceType::C)
        && r.major() == Some(1)
        && r.minor() == Some(3)));
    assert!(rules.iter().any(|r| r.allow()
        && r.typ() == Some(LinuxDeviceType::B)
        && r.major().is_none()
        && r.access().as_deref() == Some("m")));
    // Only the first rule denies: cgroup v1 cannot deny inside the `*:* m` wildcards after it.
    assert!(rules[1..].iter().all(|r| r.allow()), "{rules:?}");
    let rules = device_rules(true);
    assert!(rules[1].allow() && rules[1].typ().is_none());
}

#[test]
fn resources_map_dockers_fields() {
    let mut hc = HostConfig {
        memory: Some(64 << 20),
        nano_cpus: Some(1_500_000_000),
        cpu_shares: Some(512),
        pids_limit: Some(100),
        ..Default::default()
    };
    validate_resources(&mut hc, &two_cpus()).unwrap();
    assert_eq!(hc.memory_swap, Some(128 << 20));
    let r = resources(&hc, false).unwrap();
    let mem = r.memory().unwrap();
    assert_eq!((mem.limit(), mem.swap()), (Some(64 << 20), Some(128 << 20)));
    let cpu = r.cpu().clone().unwrap();
    assert_eq!(
        (cpu.quota(), cpu.period(), cpu.shares()),
        (Some(150_000), Some(100_000), Some(512))
    );
    assert_eq!(r.pids().unwrap().limit(), 100);
}

#[test]
fn pids_limit_zero_or_negative_is_unlimited() {
    for v in [0, -1] {
        let hc = HostConfig {
            pids_limit: Some(v),
            ..Default::default()
        };
        assert_eq!(resources(&hc, false).unwrap().pids().unwrap().limit(), -1);
    }
    assert!(resources(&HostConfig::default(), false)
        .unwrap()
        .pids()
        .is_none());
}

fn two_cpus() -> HostCpus {
    HostCpus {
        count: 2,
        cpus: "0-1".into(),
        mems: "0".into(),
    }
}

#[test]
fn resource_validation_uses_dockerd_wording() {
    let mut hc = HostConfig {
        memory: Some(1024),
        ..Default::default()
    };
    assert_eq!(
        validate_resources(&mut hc, &two_cpus())
            .unwrap_err()
            .message,
        "Minimum memory limit allowed is 6MB"
    );
    let mut hc = HostConfig {
        memory_swap: Some(64 << 20),
        ..Default::default()
    };
    assert_eq!(
        validate_resources(&mut hc, &two_cpus())
            .unwrap_err()
            .message,
        "You should always set the Memory limit when using Memoryswap limit"
    );
    let mut hc = HostConfig {
        nano_cpus: Some(1),
        cpu_period: Some(1000),
        ..Default::default()
    };
    assert_eq!(
        validate_resources(&mut hc, &two_cpus())
            .unwrap_err()
            .message,
        "Conflicting options: Nano CPUs and CPU Period cannot both be set"
    );
    let mut hc = HostConfig {
        oom_score_adj: Some(1001),
        ..Default::default()
    };
    assert_eq!(
        validate_resources(&mut hc, &two_cpus())
            .unwrap_err()
            .message,
        "Invalid value 1001, range for oom score adj is [-1000, 1000]"
    );
    for (hc, message) in [
        (
            HostConfig {
                memory: Some(-1),
                ..Default::default()
            },
            "Minimum memory limit allowed is 6MB",
        ),
        (
            HostConfig {
                nano_cpus: Some(2_000_000_001),
                ..Default::default()
            },
            "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available",
        ),
        (
            HostConfig {
                nano_cpus: Some(-1),
                ..Default::default()
            },
            "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available",
        ),
        (
            HostConfig {
                cpu_period: Some(1),
                ..Default::default()
            },
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        ),
        (
            HostConfig {
                cpu_quota: Some(999),
                ..Default::default()
            },
            "CPU cfs quota can not be less than 1ms (i.e. 1000)",
        ),
        (
            HostConfig {
                shm_size: Some(-1),
                ..Default::default()
            },
            "SHM size can not be less than 0",
        ),
        (
            HostConfig {
                cpuset_cpus: Some("abc".into()),
                ..Default::default()
            },
            "Invalid value abc for cpuset cpus: invalid format: abc",
        ),
        (
            HostConfig {
                cpuset_cpus: Some("1-0".into()),
                ..Default::default()
            },
            "Invalid value 1-0 for cpuset cpus: invalid format: 1-0",
        ),
        (
            HostConfig {
                cpuset_cpus: Some("0,2".into()),
                ..Default::default()
            },
            "Requested CPUs are not available - requested 0,2, available: 0-1",
        ),
        (
            HostConfig {
                cpuset_mems: Some("0-99999999999".into()),
                ..Default::default()
            },
            "Requested memory nodes are not available - requested 0-99999999999, available: 0",
        ),
        (
            HostConfig {
                memory_reservation: Some(1),
                ..Default::default()
            },
            "Minimum memory reservation allowed is 6MB",
        ),
        (
            HostConfig {
                memory: Some(8 << 20),
                memory_reservation: Some(16 << 20),
                ..Default::default()
            },
            "Minimum memory limit can not be less than memory reservation limit, see usage",
        ),
        (
            HostConfig {
                io_maximum_iops: Some(1),
                ..Default::default()
            },
            "Invalid QoS settings: linux does not support configuration of maximum IOPs",
        ),
    ] {
        let mut hc = hc;
        assert_eq!(
            validate_resources(&mut hc, &two_cpus())
                .unwrap_err()
                .message,
            message
        );
    }
    let mut fine = HostConfig {
        nano_cpus: Some(2_000_000_000),
        cpu_quota: Some(-1),
        cpuset_cpus: Some("0-1,1".into()),
        cpuset_mems: Some("0".into()),
        memory_reservation: Some(-1),
        ..Default::default()
    };
    validate_resources(&mut fine, &two_cpus()).unwrap();
}

#[test]
fn a_private_network_gets_dockerds_sysctls_and_an_asked_value_wins() {
    let hc = HostConfig {
        sysctls: Some(
            [(
                "net.ipv4.ip_unprivileged_port_start".to_string(),
                "1024".to_string(),
            )]
            .into(),
        ),
        ..HostConfig::default()
    };
    let got = sysctls(&hc, Some((6, 1))).unwrap();
    assert_eq!(got["net.ipv4.ping_group_range"], "0 2147483647");
    assert_eq!(got["net.ipv4.ip_unprivileged_port_start"], "1024");
    assert_eq!(got.len(), 2);

    let old_kernel = sysctls(&HostConfig::default(), Some((4, 9))).unwrap();
    assert_eq!(old_kernel.len(), 1, "{old_kernel:?}");
    assert!(old_kernel.contains_key("net.ipv4.ping_group_range"));

    let host = HostConfig {
        network_mode: Some("host".into()),
        ..HostConfig::default()
    };
    assert!(sysctls(&host, Some((6, 1))).unwrap().is_empty());
}

#[test]
fn a_private_cgroup_namespace_is_asked_for_by_name_only() {
    let has_cgroup_ns = |mode| {
        let hc = HostConfig {
            cgroupns_mode: mode,
            ..HostConfig::default()
        };
        namespaces(&hc, None)
            .unwrap()
            .iter()
            .any(|ns| ns.typ() == LinuxNamespaceType::Cgroup)
    };
    assert!(has_cgroup_ns(Some(HostConfigCgroupnsModeEnum::PRIVATE)));
    assert!(!has_cgroup_ns(Some(HostConfigCgroupnsModeEnum::HOST)));
    assert!(!has_cgroup_ns(None));
}

#[test]
fn sysctls_must_be_namespaced() {
    let mut hc = HostConfig {
        sysctls: Some(
            [
                ("net.ipv4.ip_forward".to_string(), "1".to_string()),
                ("kernel.shmmax".into(), "1".into()),
            ]
            .into(),
        ),
        ..Default::default()
    };
    assert_eq!(validate_sysctls(&hc).unwrap().len(), 2);
    hc.network_mode = Some("host".into());
    assert_eq!(
        validate_sysctls(&hc).unwrap_err().message,
        "sysctl \"net.ipv4.ip_forward\" not allowed in host network namespace"
    );
    let hc = HostConfig {
        sysctls: Some([("kernel.panic".to_string(), "1".to_string())].into()),
        ..Default::default()
    };
    let e = validate_sysctls(&hc).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidParameter);
    assert_eq!(
        e.message,
        "sysctl \"kernel.panic\" is not in a separate kernel namespace"
    );
}
