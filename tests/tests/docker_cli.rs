//! The real docker CLI against the real wharfd, over the unix socket and over mutual TLS.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use wharf_tests::cli::{docker, ok};
use wharf_tests::{RunCommand, TempDir, Wharfd};

#[test]
fn docker_version_info_and_system_info_format_over_unix_and_mutual_tls() {
    let wharfd = Wharfd::start_with_tls().unwrap();
    let e = wharfd.endpoints();
    let data_root = wharfd.dir().join("data");
    for (name, env) in [
        ("unix", e.docker_env_unix()),
        ("mutual TLS", e.docker_env_tls().unwrap()),
    ] {
        let version = ok(&env, &["version"]);
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
            &env,
            &[
                "version",
                "--format",
                "{{.Server.APIVersion}}|{{.Client.APIVersion}}",
            ],
        );
        assert_eq!(
            api.trim(),
            "1.47|1.47",
            "the docker CLI negotiates down to wharfd's newest version"
        );

        let info = docker(&env, &["info"]);
        assert!(
            info.success(),
            "docker info over {name} failed: {}\n{}",
            info.stdout,
            info.stderr
        );
        let text = &info.stdout;
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
        let fields = ok(&env, &["system", "info", "--format", format]);
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

    // --tls without --tlsverify and no client certificate files: without a token either, the daemon
    // refuses every request ("authentication required: present a client certificate or a bearer token").
    let nocert = TempDir::new("nocert").unwrap();
    let empty = nocert.path();
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
    let other_ca = TempDir::new("otherca").unwrap();
    let other = other_ca.path();
    let wharfd_bin = wharf_tests::Binaries::locate().unwrap().wharfd().unwrap();
    let made = RunCommand::new(&wharfd_bin)
        .args(["certs", "--dir"])
        .arg(other)
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
}
