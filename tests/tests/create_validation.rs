//! `POST /containers/create` refuses what dockerd 20.10 refuses, in its words: one bad field per request,
//! sent raw to wharfd and to the reference dockerd. Where dockerd accepts the container and refuses it
//! only at start (a device it cannot find, a bad device cgroup rule, `--gpus`), wharfd refuses at create
//! with the same message; where dockerd answers a client's mistake with a 500 (isolation, security
//! options), wharfd answers 400. Then `--device` end to end with the docker CLI.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::path::Path;

use wharf_tests::cli::ok;
use wharf_tests::http::request;
use wharf_tests::{docker, prereq, RefDockerd, Wharfd};

const IMAGE: &str = "cv:1";

fn can_run(test: &str) -> bool {
    let missing = prereq::missing_runtime().or_else(wharf_tests::rootfs::missing_busybox);
    prereq::can_run(test, missing)
}

/// Imports the busybox image as [`IMAGE`] into the daemon of `env`, its tar written in `dir`.
fn import_image(env: &[(String, String)], dir: &Path) {
    let tar = wharf_tests::rootfs::busybox_tar(dir).unwrap();
    ok(env, &["import", tar.to_str().unwrap(), IMAGE]);
}

/// The status and message of a `POST` with a JSON body.
fn post(socket: &Path, uri: &str, body: &str) -> (u16, String) {
    let headers = [("Content-Type", "application/json")];
    let r = match request(socket, "POST", uri, &headers, Some(body.as_bytes())) {
        Ok(r) => r,
        Err(e) => return (0, format!("{e:#}")),
    };
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
    let text = match v["message"].as_str() {
        Some(m) => m.to_owned(),
        None => v["Id"].as_str().unwrap_or_default().to_owned(),
    };
    (r.status, text)
}

/// Creates a container with `config` (fields beside `Image` and `Cmd`) and `host_config`; when the
/// create succeeds, starts it. Answers the refusal: whether it came at create, its status, its message.
fn refusal(socket: &Path, config: &str, host_config: &str) -> (bool, u16, String) {
    let body =
        format!(r#"{{"Image":"{IMAGE}","Cmd":["true"]{config},"HostConfig":{host_config}}}"#);
    let (status, text) = post(socket, "/v1.41/containers/create", &body);
    if status != 201 {
        return (true, status, text);
    }
    let (status, message) = post(socket, &format!("/v1.41/containers/{text}/start"), "");
    (false, status, message)
}

struct Case {
    config: &'static str,
    host_config: &'static str,
    message: String,
    /// dockerd's status where it differs from wharfd's 400 at create: a 500 at create, or at start.
    dockerd: Option<(bool, u16)>,
}

fn case(config: &'static str, host_config: &'static str, message: &str) -> Case {
    Case {
        config,
        host_config,
        message: message.to_owned(),
        dockerd: None,
    }
}

fn cases(cpus: usize, cpuset: &str) -> Vec<Case> {
    let at_start = Some((false, 500));
    let server_error = Some((true, 500));
    let cpus_message =
        format!("Range of CPUs is from 0.01 to {cpus}.00, as there are only {cpus} CPUs available");
    vec![
        case("", r#"{"NanoCpus":1000000000000000000}"#, &cpus_message),
        case("", r#"{"NanoCpus":-1}"#, &cpus_message),
        case("", r#"{"Memory":-1}"#, "Minimum memory limit allowed is 6MB"),
        case("", r#"{"ShmSize":-1}"#, "SHM size can not be less than 0"),
        case(
            "",
            r#"{"CpuPeriod":1}"#,
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        ),
        case(
            "",
            r#"{"CpuQuota":1}"#,
            "CPU cfs quota can not be less than 1ms (i.e. 1000)",
        ),
        case(
            "",
            r#"{"CpusetCpus":"abc"}"#,
            "Invalid value abc for cpuset cpus: invalid format: abc",
        ),
        case(
            "",
            r#"{"CpusetMems":"1-0"}"#,
            "Invalid value 1-0 for cpuset mems: invalid format: 1-0",
        ),
        case(
            "",
            r#"{"CpusetCpus":"4096"}"#,
            &format!("Requested CPUs are not available - requested 4096, available: {cpuset}"),
        ),
        case(
            "",
            r#"{"MemoryReservation":1}"#,
            "Minimum memory reservation allowed is 6MB",
        ),
        case(
            "",
            r#"{"Memory":8388608,"MemoryReservation":16777216}"#,
            "Minimum memory limit can not be less than memory reservation limit, see usage",
        ),
        case(
            "",
            r#"{"MemorySwappiness":200}"#,
            "Invalid value: 200, valid memory swappiness range is 0-100",
        ),
        case(
            "",
            r#"{"OomScoreAdj":2000}"#,
            "Invalid value 2000, range for oom score adj is [-1000, 1000]",
        ),
        case(
            "",
            r#"{"CapAdd":["bogus"]}"#,
            "invalid CapAdd: unknown capability: \"CAP_BOGUS\"",
        ),
        case(
            "",
            r#"{"CapDrop":["bogus"]}"#,
            "invalid CapDrop: unknown capability: \"CAP_BOGUS\"",
        ),
        case(
            "",
            r#"{"Tmpfs":{"relative":""}}"#,
            "invalid mount path: 'relative' mount path must be absolute",
        ),
        Case {
            dockerd: server_error,
            ..case(
                "",
                r#"{"IOMaximumIOps":1}"#,
                "Invalid QoS settings: linux does not support configuration of maximum IOPs",
            )
        },
        Case {
            dockerd: server_error,
            ..case(
                "",
                r#"{"IOMaximumBandwidth":1}"#,
                "Invalid QoS settings: linux does not support configuration of maximum bandwidth",
            )
        },
        Case {
            dockerd: at_start,
            ..case("", r#"{"IpcMode":"bogus"}"#, "Invalid IPC mode: bogus")
        },
        case("", r#"{"Runtime":"nosuch"}"#, "Unknown runtime specified nosuch"),
        case(
            "",
            r#"{"PortBindings":{"99999/tcp":[{}]}}"#,
            "invalid port specification: \"99999\"",
        ),
        case(
            "",
            r#"{"PortBindings":{"80/tcp":[{"HostPort":"70000"}]}}"#,
            "invalid port specification: \"70000\"",
        ),
        Case {
            dockerd: server_error,
            ..case(
                "",
                r#"{"Isolation":"hyperv"}"#,
                "Invalid isolation: \"hyperv\" - linux only supports 'default'",
            )
        },
        Case {
            dockerd: server_error,
            ..case(
                "",
                r#"{"SecurityOpt":["nonsense"]}"#,
                "invalid --security-opt 1: \"nonsense\"",
            )
        },
        Case {
            dockerd: server_error,
            ..case(
                "",
                r#"{"SecurityOpt":["no-new-privileges=maybe"]}"#,
                "invalid --security-opt 2: \"no-new-privileges=maybe\"",
            )
        },
        Case {
            dockerd: at_start,
            ..case(
                "",
                r#"{"Devices":[{"PathOnHost":"/dev/nosuch","PathInContainer":"/dev/nosuch","CgroupPermissions":"rwm"}]}"#,
                "error gathering device information while adding custom device \"/dev/nosuch\": no such file or directory",
            )
        },
        Case {
            dockerd: at_start,
            ..case(
                "",
                r#"{"DeviceCgroupRules":["bogus"]}"#,
                "invalid device cgroup rule format: 'bogus'",
            )
        },
        Case {
            dockerd: at_start,
            ..case(
                "",
                r#"{"DeviceRequests":[{"Driver":"nvidia","Count":-1,"Capabilities":[["gpu"]]}]}"#,
                "could not select device driver \"nvidia\" with capabilities: [[gpu]]",
            )
        },
        case(r#","StopSignal":"SIGBOGUS""#, "{}", "Invalid signal: SIGBOGUS"),
        case(
            r#","Healthcheck":{"Test":["CMD","true"],"Interval":-1}"#,
            "{}",
            "Interval in Healthcheck cannot be less than 1ms",
        ),
        case(
            r#","Healthcheck":{"Timeout":-1}"#,
            "{}",
            "Timeout in Healthcheck cannot be less than 1ms",
        ),
        case(
            r#","Healthcheck":{"Retries":-1}"#,
            "{}",
            "Retries in Healthcheck cannot be negative",
        ),
        case(
            r#","Healthcheck":{"StartPeriod":5}"#,
            "{}",
            "StartPeriod in Healthcheck cannot be less than 1ms",
        ),
        // Fields the models type as enums: dockerd's words, not serde's.
        case(
            "",
            r#"{"CgroupnsMode":"bogus"}"#,
            "invalid cgroup namespace mode: bogus",
        ),
        case(
            "",
            r#"{"RestartPolicy":{"Name":"bogus"}}"#,
            "invalid restart policy 'bogus'",
        ),
        case(
            "",
            r#"{"Mounts":[{"Type":"bogus","Target":"/x"}]}"#,
            "invalid mount config for type \"bogus\": mount type unknown",
        ),
        case(
            "",
            r#"{"Mounts":[{"Type":"bind","Target":"/x","Source":"/tmp","BindOptions":{"Propagation":"bogus"}}]}"#,
            "invalid mount config for type \"bind\": invalid propagation mode: bogus",
        ),
        Case {
            dockerd: server_error,
            ..case(
                "",
                r#"{"Isolation":"bogus"}"#,
                "Invalid isolation: \"bogus\" - linux only supports 'default'",
            )
        },
        Case {
            dockerd: at_start,
            ..case("", r#"{"CpuShares":-1}"#, "shares: invalid argument")
        },
    ]
}

#[test]
fn create_refuses_bad_fields_as_dockerd_does() {
    if !can_run("create_refuses_bad_fields_as_dockerd_does") {
        return;
    }
    let wharfd = Wharfd::start().unwrap();
    import_image(&wharfd.endpoints().docker_env_unix(), wharfd.dir());
    let reference = RefDockerd::builder().start_if_available().unwrap();
    if let Some(reference) = &reference {
        import_image(&reference.endpoints().docker_env_unix(), reference.dir());
    } else if std::env::var_os("CI").is_some() {
        panic!("the reference dockerd must run under CI");
    }
    let cpus = std::thread::available_parallelism().unwrap().get();
    let cpuset = [
        "/sys/fs/cgroup/cpuset/cpuset.cpus",
        "/sys/fs/cgroup/cpuset.cpus.effective",
    ]
    .iter()
    .find_map(|p| std::fs::read_to_string(p).ok())
    .unwrap_or_default();
    let mut differences = Vec::new();
    for c in cases(cpus, cpuset.trim()) {
        let want = (true, 400, c.message.clone());
        let got = refusal(wharfd.socket(), c.config, c.host_config);
        if got != want {
            differences.push(format!(
                "wharfd {} {}: {got:?}, want {want:?}",
                c.config, c.host_config
            ));
        }
        if let Some(reference) = &reference {
            let (at_create, status) = c.dockerd.unwrap_or((true, 400));
            let want = (at_create, status, c.message.clone());
            let got = refusal(reference.socket(), c.config, c.host_config);
            if got != want {
                differences.push(format!(
                    "dockerd {} {}: {got:?}, want {want:?}",
                    c.config, c.host_config
                ));
            }
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));

    // dockerd takes a negative real-time period and fails at start (its message names the container's
    // cgroup); wharfd, which has no real-time scheduling, refuses it as it refuses any other value.
    for field in ["CpuRealtimePeriod", "CpuRealtimeRuntime"] {
        let (at_create, status, message) =
            refusal(wharfd.socket(), "", &format!(r#"{{"{field}":-1}}"#));
        assert_eq!((at_create, status), (true, 400), "{field}: {message}");
        assert!(message.ends_with(" is not supported yet"), "{message}");
        if let Some(reference) = &reference {
            let (at_create, status, message) =
                refusal(reference.socket(), "", &format!(r#"{{"{field}":-1}}"#));
            assert_eq!((at_create, status), (false, 500), "{field}: {message}");
        }
    }

    // dockerd takes a hostname Linux refuses and fails at start with runc's error; wharfd refuses it.
    let long = format!(r#","Hostname":"{}""#, "a".repeat(300));
    assert_eq!(
        refusal(wharfd.socket(), &long, "{}"),
        (
            true,
            400,
            "invalid Hostname: 300 bytes long, Linux takes at most 64".to_owned()
        )
    );
    if let Some(reference) = &reference {
        let (at_create, status, message) = refusal(reference.socket(), &long, "{}");
        assert_eq!((at_create, status), (false, 500), "{message}");
        assert!(
            message.contains("sethostname: invalid argument"),
            "{message}"
        );
    }
}

/// The `Warnings` of a create that succeeds.
fn create_warnings(socket: &Path, host_config: &str) -> Vec<String> {
    let body = format!(r#"{{"Image":"{IMAGE}","Cmd":["true"],"HostConfig":{host_config}}}"#);
    let headers = [("Content-Type", "application/json")];
    let uri = "/v1.41/containers/create";
    let r = request(socket, "POST", uri, &headers, Some(body.as_bytes())).unwrap();
    assert_eq!(r.status, 201, "{host_config}: {r:?}");
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    serde_json::from_value(v["Warnings"].clone()).unwrap()
}

#[test]
fn create_warns_as_dockerd_does() {
    if !can_run("create_warns_as_dockerd_does") {
        return;
    }
    let wharfd = Wharfd::start().unwrap();
    import_image(&wharfd.endpoints().docker_env_unix(), wharfd.dir());
    let reference = RefDockerd::builder().start_if_available().unwrap();
    if let Some(reference) = &reference {
        import_image(&reference.endpoints().docker_env_unix(), reference.dir());
    }
    let oom =
        "OOM killer is disabled for the container, but no memory limit is set, this can result \
               in the system running out of resources.";
    let ports = "Published ports are discarded when using host network mode";
    for (host_config, want) in [
        ("{}", vec![]),
        (r#"{"OomKillDisable":true}"#, vec![oom]),
        (r#"{"OomKillDisable":true,"Memory":67108864}"#, vec![]),
        (
            r#"{"NetworkMode":"host","PortBindings":{"80/tcp":[{"HostPort":"8080"}]}}"#,
            vec![ports],
        ),
        (
            r#"{"NetworkMode":"host","OomKillDisable":true,"PortBindings":{"80/tcp":[{}]}}"#,
            vec![oom, ports],
        ),
    ] {
        assert_eq!(
            create_warnings(wharfd.socket(), host_config),
            want,
            "wharfd {host_config}"
        );
        if let Some(reference) = &reference {
            assert_eq!(
                create_warnings(reference.socket(), host_config),
                want,
                "dockerd {host_config}"
            );
        }
    }
}

#[test]
fn a_mapped_device_is_in_the_container_with_its_permissions() {
    if !can_run("a_mapped_device_is_in_the_container_with_its_permissions") {
        return;
    }
    let wharfd = Wharfd::start().unwrap();
    let env = wharfd.endpoints().docker_env_unix();
    import_image(&env, wharfd.dir());
    let out = ok(
        &env,
        &[
            "run",
            "--rm",
            "--device",
            "/dev/kmsg",
            IMAGE,
            "sh",
            "-c",
            "test -c /dev/kmsg && echo yes",
        ],
    );
    assert_eq!(out.trim(), "yes");
    let out = ok(
        &env,
        &[
            "run",
            "--rm",
            "--device",
            "/dev/fuse:/dev/f:r",
            IMAGE,
            "sh",
            "-c",
            ": < /dev/f && echo read; (: > /dev/f) 2>/dev/null || echo no write",
        ],
    );
    assert_eq!(out.trim(), "read\nno write", "{out}");
    let out = ok(
        &env,
        &[
            "run",
            "--rm",
            IMAGE,
            "sh",
            "-c",
            "mknod /f c 10 229 && (: < /f) 2>/dev/null || echo no read",
        ],
    );
    assert_eq!(
        out.trim(),
        "no read",
        "only what is mapped or allowed: {out}"
    );
    let out = ok(
        &env,
        &[
            "run",
            "--rm",
            "--device-cgroup-rule",
            "c 10:229 r",
            IMAGE,
            "sh",
            "-c",
            "mknod /f c 10 229 && : < /f && echo read; (: > /f) 2>/dev/null || echo no write",
        ],
    );
    assert_eq!(out.trim(), "read\nno write", "{out}");
    let out = docker(
        &env,
        &["run", "--rm", "--device", "/dev/nosuch", IMAGE, "true"],
    )
    .unwrap();
    assert!(!out.success());
    assert!(
        out.stderr.contains(
            "error gathering device information while adding custom device \"/dev/nosuch\": no such file or directory"
        ),
        "{}",
        out.stderr
    );
    let out = docker(&env, &["run", "--rm", "--gpus", "all", IMAGE, "true"]).unwrap();
    assert!(!out.success());
    assert!(
        out.stderr
            .contains("could not select device driver \"\" with capabilities: [[gpu]]"),
        "{}",
        out.stderr
    );
}

#[test]
fn settings_wharfd_does_not_implement_are_refused_not_dropped() {
    if !can_run("settings_wharfd_does_not_implement_are_refused_not_dropped") {
        return;
    }
    let wharfd = Wharfd::start().unwrap();
    let env = wharfd.endpoints().docker_env_unix();
    import_image(&env, wharfd.dir());
    let out = docker(&env, &["create", "--blkio-weight", "500", IMAGE, "true"]).unwrap();
    assert!(!out.success(), "--blkio-weight was accepted");
    let message = wharf_tests::cli::daemon_error(&out.stderr);
    assert!(
        message.starts_with("BlkioWeight") && message.ends_with(" is not supported yet"),
        "{}",
        out.stderr
    );
    ok(
        &env,
        &[
            "create",
            "--network",
            "host",
            "-p",
            "8080:80",
            IMAGE,
            "true",
        ],
    );
}
