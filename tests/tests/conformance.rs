//! Differential conformance: the same client-core checks run against wharfd and against Debian's dockerd
//! (the reference), over the unix socket and over mutual TLS, and then their answers are compared.
//!
//! The reference dockerd needs root and the `docker.io` package, which `cargo xtask test` installs. Where it
//! cannot run the differential half is skipped with the reason printed — except under CI (`CI` set), where
//! a missing reference is a failure, so CI can never pass without comparing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::collections::BTreeSet;

use http::Method;
use wharf_cli::{NativeTransport, TransportOptions};
use wharf_client_core::host::{Side, TlsSettings};
use wharf_client_core::models::{SystemInfo, SystemVersion};
use wharf_client_core::negotiate::Ping;
use wharf_client_core::{
    ApiVersion, Client, ClientConfig, DaemonError, DockerHost, Error, ErrorKind, Query,
    MAX_API_VERSION,
};
use wharf_tests::{DevCerts, Endpoints, RefDockerd, Wharfd};

/// What one daemon answered to the conformance requests.
#[derive(Debug)]
struct Observed {
    ping: Ping,
    negotiated: ApiVersion,
    version: SystemVersion,
    info: SystemInfo,
    raw_version: serde_json::Value,
    raw_info: serde_json::Value,
    ping_header_names: BTreeSet<String>,
    not_found: DaemonError,
    too_new: DaemonError,
}

fn daemon_error(result: Result<wharf_client_core::Response, Error>, route: &str) -> DaemonError {
    match result.unwrap().error_for_status(route) {
        Err(Error::Daemon(e)) => e,
        other => panic!("{route}: expected a daemon error, got {other:?}"),
    }
}

async fn observe(host: &str, tls: Option<TlsSettings>) -> Observed {
    let parsed = DockerHost::parse(host, tls.is_some(), Side::Client).unwrap();
    let transport =
        NativeTransport::new(&parsed, tls.as_ref(), TransportOptions::default()).unwrap();
    let config = ClientConfig {
        host_header: parsed.host_header(),
        base_path: parsed.base_path().into(),
        pinned_version: None,
    };
    let client = Client::new(transport, config).unwrap();

    let ping = client.ping().await.unwrap();
    let negotiated = client.negotiate().await.unwrap();
    let version = client.version().await.unwrap();
    let info = client.info().await.unwrap();

    let raw = |path: &'static str| {
        let client = &client;
        async move {
            let request = client
                .versioned(|f| f.build(Method::GET, path, &Query::new()))
                .await
                .unwrap();
            let route = request.route();
            client
                .send(request)
                .await
                .unwrap()
                .json::<serde_json::Value>(&route)
                .unwrap()
        }
    };
    let raw_version = raw("/version").await;
    let raw_info = raw("/info").await;

    let factory = wharf_client_core::RequestFactory::new(&parsed.host_header(), "").unwrap();
    let head = client
        .send(factory.build_unversioned(Method::HEAD, "/_ping"))
        .await
        .unwrap();
    let ping_header_names = head.headers.keys().map(|k| k.as_str().to_owned()).collect();

    let not_found = daemon_error(
        client
            .send(
                client
                    .versioned(|f| f.build(Method::GET, "/nope", &Query::new()))
                    .await
                    .unwrap(),
            )
            .await,
        "GET /nope",
    );
    let mut too_new_factory = factory.clone();
    too_new_factory.set_version(ApiVersion::new(1, 99));
    let too_new = daemon_error(
        client
            .send(too_new_factory.build(Method::GET, "/version", &Query::new()))
            .await,
        "GET /v1.99/version",
    );

    Observed {
        ping,
        negotiated,
        version,
        info,
        raw_version,
        raw_info,
        ping_header_names,
        not_found,
        too_new,
    }
}

/// What any Docker-compatible daemon must answer, checked through client-core's typed decoding.
fn check_conformance(name: &str, o: &Observed) {
    let server_max = o
        .ping
        .api_version
        .unwrap_or_else(|| panic!("{name}: /_ping announces Api-Version"));
    assert_eq!(o.ping.os_type.as_deref(), Some("linux"), "{name}");
    assert_eq!(
        o.negotiated,
        server_max.min(MAX_API_VERSION),
        "{name}: negotiation takes the lower version"
    );

    assert_eq!(
        o.version.api_version.as_deref(),
        Some(server_max.to_string().as_str()),
        "{name}"
    );
    let min: ApiVersion = o
        .version
        .min_api_version
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        min <= ApiVersion::new(1, 24),
        "{name}: accepts API 1.24 (min {min})"
    );
    assert_eq!(o.version.os.as_deref(), Some("linux"), "{name}");
    assert_eq!(
        o.version.arch.as_deref(),
        Some(go_arch()),
        "{name}: Go architecture names"
    );
    let engine = o
        .version
        .components
        .iter()
        .find(|c| c.name == "Engine")
        .unwrap_or_else(|| panic!("{name}: Engine component"));
    assert_eq!(engine.detail("ApiVersion"), o.version.api_version, "{name}");

    assert_eq!(o.info.os_type.as_deref(), Some("linux"), "{name}");
    assert!(o.info.ncpu.unwrap_or(0) > 0, "{name}: NCPU");
    assert!(o.info.mem_total.unwrap_or(0) > 0, "{name}: MemTotal");
    assert!(
        o.info.id.as_deref().is_some_and(|id| !id.is_empty()),
        "{name}: ID"
    );
    assert!(
        o.info
            .docker_root_dir
            .as_deref()
            .is_some_and(|d| d.starts_with('/')),
        "{name}: DockerRootDir"
    );

    assert_eq!(
        (o.not_found.kind, o.not_found.message.as_str()),
        (ErrorKind::NotFound, "page not found"),
        "{name}"
    );
    assert_eq!(o.too_new.kind, ErrorKind::InvalidParameter, "{name}");
    assert_eq!(
        o.too_new.message,
        format!("client version 1.99 is too new. Maximum supported API version is {server_max}"),
        "{name}"
    );
}

fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn tls_settings(certs: &DevCerts) -> TlsSettings {
    TlsSettings {
        verify: true,
        ca: certs.ca().display().to_string(),
        cert: certs.client_cert().display().to_string(),
        key: certs.client_key().display().to_string(),
        explicit: true,
    }
}

fn observe_both_listeners(name: &str, e: &Endpoints) -> Vec<(String, Observed)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let certs = e.certs.as_ref().unwrap();
    vec![
        (
            format!("{name} over unix"),
            runtime.block_on(observe(&e.unix_host(), None)),
        ),
        (
            format!("{name} over mutual TLS"),
            runtime.block_on(observe(&e.tcp_host().unwrap(), Some(tls_settings(certs)))),
        ),
    ]
}

/// The fields of a JSON object that carry a value: a `null` field decodes as an absent one.
fn keys(v: &serde_json::Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, _)| k.clone())
        .collect()
}

/// Fields dockerd 20.10 (API 1.41) sends that API 1.47 no longer documents, so wharfd need not.
const RETIRED_INFO_FIELDS: &[&str] = &[
    "KernelMemory",
    "KernelMemoryTCP",
    "ClusterStore",
    "ClusterAdvertise",
];

#[test]
fn client_core_conformance_against_wharfd() {
    let wharfd = Wharfd::start_with_tls().unwrap();
    for (name, observed) in observe_both_listeners("wharfd", wharfd.endpoints()) {
        check_conformance(&name, &observed);
        assert_eq!(observed.negotiated, MAX_API_VERSION);
    }
}

#[test]
fn client_core_conformance_against_dockerd_and_wharfd_answers_like_it() {
    let Some(dockerd) = reference_dockerd() else {
        return;
    };
    let wharfd = Wharfd::start_with_tls().unwrap();
    let reference = observe_both_listeners("dockerd", dockerd.endpoints());
    let ours = observe_both_listeners("wharfd", wharfd.endpoints());
    for (name, observed) in &reference {
        check_conformance(name, observed);
    }
    let (theirs, mine) = (&reference[0].1, &ours[0].1);

    // The same machine seen by both.
    let host_facts = |o: &Observed| {
        (
            o.info.ncpu,
            o.info.mem_total,
            o.info.architecture.clone(),
            o.info.kernel_version.clone(),
            o.info.operating_system.clone(),
            o.info.name.clone(),
            o.version.kernel_version.clone(),
        )
    };
    assert_eq!(host_facts(mine), host_facts(theirs), "host facts agree");

    // Every header dockerd puts on /_ping, wharfd puts there too.
    let ignored: BTreeSet<String> = ["date", "content-length"].map(String::from).into();
    let missing: Vec<_> = theirs
        .ping_header_names
        .difference(&mine.ping_header_names)
        .filter(|h| !ignored.contains(*h))
        .collect();
    assert!(
        missing.is_empty(),
        "/_ping headers dockerd sends and wharfd does not: {missing:?}"
    );

    // Every field dockerd's /version and /info carry, wharfd's carry too.
    let missing: Vec<_> = keys(&theirs.raw_version)
        .difference(&keys(&mine.raw_version))
        .cloned()
        .collect();
    assert!(
        missing.is_empty(),
        "/version fields dockerd sends and wharfd does not: {missing:?}"
    );
    let missing: Vec<_> = keys(&theirs.raw_info)
        .difference(&keys(&mine.raw_info))
        .filter(|k| !RETIRED_INFO_FIELDS.contains(&k.as_str()))
        .cloned()
        .collect();
    assert!(
        missing.is_empty(),
        "/info fields dockerd sends and wharfd does not: {missing:?}"
    );

    // The same errors, worded the same.
    assert_eq!(mine.not_found, theirs.not_found);
    assert_eq!(
        mine.too_new
            .message
            .replace(&MAX_API_VERSION.to_string(), "MAX"),
        theirs
            .too_new
            .message
            .replace(&theirs.ping.api_version.unwrap().to_string(), "MAX")
    );
}

fn reference_dockerd() -> Option<RefDockerd> {
    let started = RefDockerd::builder()
        .dev_tls()
        .start_if_available()
        .unwrap();
    if started.is_none() && std::env::var_os("CI").is_some() {
        panic!(
            "the reference dockerd must run under CI: {}",
            RefDockerd::unavailable().unwrap_or_default()
        );
    }
    started
}
