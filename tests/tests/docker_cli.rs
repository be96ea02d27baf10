//! The real docker CLI against the real wharfd, over the unix socket and over mutual TLS.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use wharf_tests::{CommandOutput, RunCommand, Wharfd};

fn docker(env: &[(String, String)], args: &[&str]) -> CommandOutput {
    wharf_tests::docker(env, args).expect("docker runs")
}

fn ok(out: CommandOutput, what: &str) -> String {
    assert!(
        out.success(),
        "{what} failed: {}\n{}",
        out.stdout,
        out.stderr
    );
    out.stdout
}

#[test]
fn docker_version_info_and_system_info_format_over_unix_and_mutual_tls() {
    let wharfd = Wharfd::start_with_tls().unwrap();
    let e = wharfd.endpoints();
    let data_root = wharfd.dir().join("data");
    for (name, env) in [
        ("unix", e.docker_env_unix()),
        ("mutual TLS", e.docker_env_tls().unwrap()),
    ] {
        let version = ok(
            docker(&env, &["version"]),
            &format!("docker version over {name}"),
        );
        assert!(version.contains("Server: Wharf Engine"), "{version}");
        assert!(
            version.contains("API version:      1.47 (minimum version 1.24)"),
            "{version}"
        );
        assert!(
            version.contains(&format!("Version:          {}", env!("CARGO_PKG_VERSION"))),
            "{version}"
        );

        let api = ok(
            docker(
                &env,
                &[
                    "version",
                    "--format",
                    "{{.Server.APIVersion}}|{{.Client.APIVersion}}",
                ],
            ),
            name,
        );
        assert_eq!(
            api.trim(),
            "1.47|1.47",
            "the docker CLI negotiates down to wharfd's newest version"
        );

        let info = docker(&env, &["info"]);
        let text = ok(info.clone(), &format!("docker info over {name}"));
        assert!(
            text.contains(&format!("Server Version: {}", env!("CARGO_PKG_VERSION"))),
            "{text}"
        );
        assert!(text.contains("OSType: linux"), "{text}");
        assert!(
            !info.stderr.contains("ERROR"),
            "docker info reported errors: {}",
            info.stderr
        );

        let format =
            "{{.ServerVersion}}|{{.OSType}}|{{.DockerRootDir}}|{{.Swarm.LocalNodeState}}|{{.ID}}";
        let fields = ok(docker(&env, &["system", "info", "--format", format]), name);
        let fields: Vec<&str> = fields.trim().split('|').collect();
        assert_eq!(
            fields[..4],
            [
                env!("CARGO_PKG_VERSION"),
                "linux",
                &data_root.display().to_string(),
                "inactive"
            ]
        );
        assert!(!fields[4].is_empty(), "an engine ID");
    }
}

#[test]
fn the_docker_cli_is_refused_without_a_client_certificate_and_with_one_from_another_ca() {
    let wharfd = Wharfd::start_with_tls().unwrap();
    let host = wharfd.tcp_host().unwrap();
    let certs = wharfd.certs().unwrap();

    // --tls without --tlsverify and no client certificate files: the daemon requires one.
    let empty = tempdir("nocert");
    std::fs::copy(certs.ca(), empty.join("ca.pem")).unwrap();
    let out = docker(
        &[
            ("DOCKER_HOST".into(), host.clone()),
            ("DOCKER_CERT_PATH".into(), empty.display().to_string()),
        ],
        &["--tls", "version", "--format", "{{.Server.Version}}"],
    );
    assert!(
        !out.success(),
        "a client without a certificate got in: {}",
        out.stdout
    );
    assert!(
        out.stderr.to_lowercase().contains("certificate") || out.stderr.contains("tls"),
        "{}",
        out.stderr
    );

    // A client certificate from another CA.
    let other = tempdir("otherca");
    let wharfd_bin = wharf_tests::Binaries::locate().unwrap().wharfd().unwrap();
    let made = RunCommand::new(&wharfd_bin)
        .args(["certs", "--dir"])
        .arg(&other)
        .run()
        .unwrap();
    assert!(made.success(), "{}", made.stderr);
    std::fs::copy(certs.ca(), other.join("ca.pem")).unwrap(); // trust wharfd's CA, present the other CA's cert
    let out = docker(
        &[
            ("DOCKER_HOST".into(), host),
            ("DOCKER_TLS_VERIFY".into(), "1".into()),
            ("DOCKER_CERT_PATH".into(), other.display().to_string()),
        ],
        &["version", "--format", "{{.Server.Version}}"],
    );
    assert!(
        !out.success(),
        "a client certificate from another CA got in: {}",
        out.stdout
    );
    let _ = std::fs::remove_dir_all(empty);
    let _ = std::fs::remove_dir_all(other);
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("wharf-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
