//! The `wharf` CLI against the real wharfd over both listeners, and its messages when things go wrong.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use wharf_tests::{Binaries, CommandOutput, RunCommand, TempDir, Wharfd};

fn wharf(env: &[(String, String)], args: &[&str]) -> CommandOutput {
    let bin = Binaries::locate().unwrap().wharf().unwrap();
    RunCommand::new(bin)
        .envs(env.iter().cloned())
        .args(args)
        .run()
        .expect("wharf runs")
}

#[test]
fn version_info_and_ping_over_unix_and_mutual_tls() {
    let wharfd = Wharfd::start_with_tls().unwrap();
    let e = wharfd.endpoints();
    for (name, env) in [
        ("unix", e.docker_env_unix()),
        ("mutual TLS", e.docker_env_tls().unwrap()),
    ] {
        let out = wharf(&env, &["ping"]);
        assert!(out.success(), "{name}: {}", out.stderr);
        assert_eq!(out.stdout.trim(), "OK (API 1.47, linux)");

        let out = wharf(&env, &["version"]);
        assert!(out.success(), "{name}: {}", out.stderr);
        assert!(
            out.stdout.contains("Server: Wharf Engine"),
            "{}",
            out.stdout
        );
        assert!(
            out.stdout.contains("API version:       1.47\n"),
            "no downgrade against wharfd: {}",
            out.stdout
        );

        let out = wharf(&env, &["version", "--format", "json"]);
        let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(json["Server"]["ApiVersion"], "1.47");
        assert_eq!(json["Server"]["MinAPIVersion"], "1.24");
        assert_eq!(json["Client"]["ApiVersion"], "1.47");

        let out = wharf(&env, &["info", "--format", "json"]);
        assert!(out.success(), "{name}: {}", out.stderr);
        let info: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(info["OSType"], "linux");
        assert_eq!(
            info["DockerRootDir"],
            wharfd.dir().join("data").display().to_string()
        );
        let text = wharf(&env, &["info"]).stdout;
        assert!(
            text.contains(&format!("Server Version: {}", env!("CARGO_PKG_VERSION"))),
            "{text}"
        );
    }
}

#[test]
fn a_daemon_that_is_down_gets_the_cannot_connect_message() {
    let dir = TempDir::new("wab").unwrap();
    let socket = dir.path().join("absent.sock");
    let host = format!("unix://{}", socket.display());
    let out = wharf(&[("DOCKER_HOST".into(), host.clone())], &["version"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stderr.contains(&format!(
            "Cannot connect to the daemon at {host}. Is it running?"
        )),
        "{}",
        out.stderr
    );
    // The client part of `version` is still printed, as docker does.
    assert!(out.stdout.starts_with("Client:\n"), "{}", out.stdout);
}

#[test]
fn plain_http_to_the_tls_port_and_an_untrusted_daemon_get_their_own_messages() {
    let wharfd = Wharfd::start_with_tls().unwrap();
    let host = wharfd.tcp_host().unwrap();
    let out = wharf(&[("DOCKER_HOST".into(), host.clone())], &["ping"]);
    assert!(!out.success());
    assert!(
        out.stderr
            .contains(&format!("the daemon at {host} expects TLS")),
        "{}",
        out.stderr
    );

    // Verifying the daemon against a CA that did not sign it.
    let other_ca = TempDir::new("wca").unwrap();
    let other = other_ca.path();
    let made = RunCommand::new(Binaries::locate().unwrap().wharfd().unwrap())
        .args(["certs", "--dir"])
        .arg(other)
        .run()
        .unwrap();
    assert!(made.success(), "{}", made.stderr);
    let out = wharf(
        &[
            ("DOCKER_HOST".into(), host.clone()),
            ("DOCKER_TLS_VERIFY".into(), "1".into()),
            ("DOCKER_CERT_PATH".into(), other.display().to_string()),
        ],
        &["ping"],
    );
    assert!(!out.success());
    assert!(
        out.stderr
            .contains(&format!("TLS handshake with the daemon at {host} failed")),
        "{}",
        out.stderr
    );
}

#[test]
fn daemon_errors_are_printed_as_error_response_from_daemon() {
    let wharfd = Wharfd::start().unwrap();
    // A pinned version wharfd refuses: the daemon's own wording comes through.
    let out = wharf(
        &[
            ("DOCKER_HOST".into(), wharfd.unix_host()),
            ("DOCKER_API_VERSION".into(), "1.99".into()),
        ],
        &["version", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stderr.contains("Error response from daemon: client version 1.99 is too new. Maximum supported API version is 1.47"),
        "{}",
        out.stderr
    );
}
