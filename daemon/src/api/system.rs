//! System routes: `/version`, `/info`, `/auth` — moby's `api/server/router/system` (`/_ping` is
//! answered ahead of routing: see [`super::ping`]).

use std::collections::HashMap;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use wharf_client_core::models::{
    Commit, ComponentVersion, IndexInfo, LocalNodeState, PluginsInfo, RegistryServiceConfig,
    SwarmInfo, SystemInfo, SystemInfoCgroupDriverEnum, SystemInfoCgroupVersionEnum,
    SystemInfoIsolationEnum, SystemVersion, SystemVersionPlatform,
};
use wharf_client_core::registry_auth::RegistryAuth;
use wharf_client_core::{MAX_API_VERSION, MIN_API_VERSION};

use super::JsonBody;
use crate::buildinfo;
use crate::error::Error;
use crate::hostinfo::{self, CgroupVersion};
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/version", get(version))
        .route("/info", get(info))
        .route("/auth", post(auth))
}

/// `POST /auth` (`docker login`): the credentials checked against the registry the body names (Docker
/// Hub when none), answered as dockerd answers: `Login Succeeded` with the identity token the
/// registry's token server gave, if any.
async fn auth(
    State(state): State<AppState>,
    JsonBody(config): JsonBody<RegistryAuth>,
) -> Result<Json<serde_json::Value>, Error> {
    let outcome = state.registries().login(&config).await?;
    Ok(Json(serde_json::json!({
        "IdentityToken": outcome.identity_token.unwrap_or_default(),
        "Status": "Login Succeeded",
    })))
}

fn version_body(state: &AppState) -> SystemVersion {
    let facts = state.facts();
    let build_time = buildinfo::build_time();
    let details = [
        ("ApiVersion", MAX_API_VERSION.to_string()),
        ("Arch", buildinfo::go_arch().to_owned()),
        ("BuildTime", build_time.clone()),
        ("Experimental", "false".to_owned()),
        ("GitCommit", buildinfo::GIT_COMMIT.to_owned()),
        ("GoVersion", buildinfo::RUSTC_VERSION.to_owned()),
        ("KernelVersion", facts.kernel_version.clone()),
        ("MinAPIVersion", MIN_API_VERSION.to_string()),
        ("Os", "linux".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v)))
    .collect();
    SystemVersion {
        platform: Some(SystemVersionPlatform {
            name: "Wharf Engine".to_owned(),
        }),
        components: vec![ComponentVersion {
            name: "Engine".to_owned(),
            version: buildinfo::VERSION.to_owned(),
            details,
        }],
        version: Some(buildinfo::VERSION.to_owned()),
        api_version: Some(MAX_API_VERSION.to_string()),
        min_api_version: Some(MIN_API_VERSION.to_string()),
        git_commit: Some(buildinfo::GIT_COMMIT.to_owned()),
        go_version: Some(buildinfo::RUSTC_VERSION.to_owned()),
        os: Some("linux".to_owned()),
        arch: Some(buildinfo::go_arch().to_owned()),
        kernel_version: Some(facts.kernel_version.clone()),
        experimental: None,
        build_time: Some(build_time),
        other: Default::default(),
    }
}

async fn version(State(state): State<AppState>) -> Response {
    let body = state.version_json(|| {
        // A struct of strings always serializes.
        serde_json::to_vec(&version_body(&state))
            .unwrap_or_default()
            .into()
    });
    ([(CONTENT_TYPE, "application/json")], body).into_response()
}

fn info_body(state: &AppState) -> SystemInfo {
    let facts = state.facts();
    let has = |controller: &str| facts.cgroup_controllers.iter().any(|c| c == controller);
    // dockerd's order: apparmor, seccomp, selinux, userns, rootless, cgroupns.
    let seccomp = state.seccomp();
    let mut security_options = vec![format!("name=seccomp,profile={}", seccomp.setting)];
    if !nix::unistd::geteuid().is_root() {
        security_options.push("name=rootless".to_owned());
    }
    if facts.cgroup_version == CgroupVersion::V2 {
        security_options.push("name=cgroupns".to_owned());
    }
    let mut warnings = state.warnings().to_vec();
    if !seccomp.is_builtin() {
        warnings.push("WARNING: daemon is not using the default seccomp profile".to_owned());
    }
    let tasks = tokio::runtime::Handle::try_current()
        .map(|h| h.metrics().num_alive_tasks() as i64)
        .unwrap_or(0);
    SystemInfo {
        id: Some(state.engine_id().to_owned()),
        containers: Some(0),
        containers_running: Some(0),
        containers_paused: Some(0),
        containers_stopped: Some(0),
        images: Some(0),
        driver: Some(String::new()),
        driver_status: Some(Vec::new()),
        docker_root_dir: Some(state.data_root().display().to_string()),
        plugins: Some(PluginsInfo {
            volume: Some(Vec::new()),
            network: Some(Vec::new()),
            authorization: None,
            log: Some(Vec::new()),
        }),
        memory_limit: Some(has("memory")),
        swap_limit: Some(has("memory")),
        cpu_cfs_period: Some(has("cpu")),
        cpu_cfs_quota: Some(has("cpu")),
        cpu_shares: Some(has("cpu")),
        cpu_set: Some(has("cpuset")),
        pids_limit: Some(has("pids")),
        oom_kill_disable: Some(false),
        ipv4_forwarding: Some(facts.ipv4_forwarding),
        bridge_nf_iptables: Some(facts.bridge_nf_iptables),
        bridge_nf_ip6tables: Some(facts.bridge_nf_ip6tables),
        debug: Some(state.debug()),
        nfd: Some(hostinfo::open_fds()),
        n_goroutines: Some(tasks),
        system_time: Some(crate::timefmt::now_rfc3339_nanos()),
        logging_driver: Some("json-file".to_owned()),
        cgroup_driver: Some(SystemInfoCgroupDriverEnum::CGROUPFS),
        cgroup_version: Some(match facts.cgroup_version {
            CgroupVersion::V1 => SystemInfoCgroupVersionEnum::_1,
            CgroupVersion::V2 => SystemInfoCgroupVersionEnum::_2,
        }),
        n_events_listener: Some(state.events().listeners() as i64),
        kernel_version: Some(facts.kernel_version.clone()),
        operating_system: Some(facts.operating_system.clone()),
        os_version: Some(facts.os_version.clone()),
        os_type: Some("linux".to_owned()),
        architecture: Some(facts.architecture.clone()),
        ncpu: Some(facts.ncpu),
        mem_total: Some(facts.mem_total),
        index_server_address: Some("https://index.docker.io/v1/".to_owned()),
        registry_config: Some(registry_config(state.registries())),
        generic_resources: None,
        http_proxy: Some(facts.http_proxy.clone()),
        https_proxy: Some(facts.https_proxy.clone()),
        no_proxy: Some(facts.no_proxy.clone()),
        name: Some(facts.hostname.clone()),
        labels: Some(Vec::new()),
        experimental_build: Some(false),
        server_version: Some(buildinfo::VERSION.to_owned()),
        runtimes: Some(HashMap::new()),
        default_runtime: Some(String::new()),
        swarm: Some(SwarmInfo {
            node_id: Some(String::new()),
            node_addr: Some(String::new()),
            local_node_state: Some(LocalNodeState::INACTIVE),
            control_available: Some(false),
            error: Some(String::new()),
            remote_managers: None,
            ..SwarmInfo::default()
        }),
        live_restore_enabled: Some(false),
        isolation: Some(SystemInfoIsolationEnum::EMPTY),
        // No containerd, runc or init is used yet: empty commits, as dockerd reports a component it lacks.
        containerd_commit: Some(no_commit()),
        runc_commit: Some(no_commit()),
        init_commit: Some(no_commit()),
        init_binary: Some(String::new()),
        security_options: Some(security_options),
        warnings: (!warnings.is_empty()).then_some(warnings),
        ..SystemInfo::default()
    }
}

/// `/info`'s `RegistryConfig` as dockerd shows its registry service: the insecure blocks, Docker Hub
/// (secure, official, with the mirrors) and each insecure name, the mirrors.
fn registry_config(registries: &crate::registry::Registries) -> RegistryServiceConfig {
    let rules = registries.insecure_rules();
    let mirrors = registries.config().mirrors.clone();
    let index = |name: &str, mirrors: Vec<String>, secure: bool, official: bool| IndexInfo {
        name: Some(name.to_owned()),
        mirrors: Some(mirrors),
        secure: Some(secure),
        official: Some(official),
    };
    let mut index_configs: HashMap<String, IndexInfo> = rules
        .names()
        .iter()
        .map(|n| (n.clone(), index(n, Vec::new(), false, false)))
        .collect();
    index_configs.insert(
        "docker.io".to_owned(),
        index("docker.io", mirrors.clone(), true, true),
    );
    RegistryServiceConfig {
        allow_nondistributable_artifacts_cidrs: None,
        allow_nondistributable_artifacts_hostnames: None,
        insecure_registry_cidrs: Some(rules.cidrs().iter().map(|c| c.to_string()).collect()),
        index_configs: Some(index_configs),
        mirrors: Some(mirrors),
    }
}

/// `{"ID": "", "Expected": ""}`: the commit of a component that is not there.
fn no_commit() -> Commit {
    Commit {
        id: Some(String::new()),
        expected: Some(String::new()),
    }
}

async fn info(State(state): State<AppState>) -> Json<SystemInfo> {
    let mut body = info_body(&state);
    if let Some(b) = state.backend() {
        match b.images.list().await {
            Ok(images) => body.images = Some(images.len() as i64),
            Err(e) => tracing::warn!("/info cannot count images: {e}"),
        }
        body.driver = Some(b.images.snapshotter().to_owned());
        let records = b.containers.store().list();
        let count = |f: &dyn Fn(&crate::containers::record::RunState) -> bool| {
            records.iter().filter(|r| f(&r.state)).count() as i64
        };
        body.containers = Some(records.len() as i64);
        body.containers_running = Some(count(&|s| s.running && !s.paused));
        body.containers_paused = Some(count(&|s| s.paused));
        body.containers_stopped = Some(count(&|s| !s.running));
    }
    Json(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{Method, Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn call(method: Method, uri: &str) -> (http::response::Parts, bytes::Bytes) {
        let router = crate::api::router(AppState::for_tests());
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(axum::body::Body::empty())
            .unwrap();
        let (parts, body) = router.oneshot(request).await.unwrap().into_parts();
        (parts, body.collect().await.unwrap().to_bytes())
    }

    #[tokio::test]
    async fn auth_asks_the_registry_and_words_failures_as_dockerd() {
        let send = |body: String| {
            let request = Request::post("/v1.47/auth")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body))
                .unwrap();
            async move {
                let response = crate::api::router(AppState::for_tests())
                    .oneshot(request)
                    .await
                    .unwrap();
                let status = response.status();
                let bytes = response.into_body().collect().await.unwrap().to_bytes();
                (status, String::from_utf8(bytes.to_vec()).unwrap())
            }
        };
        // A loopback registry is insecure: HTTPS, then plain HTTP, whose error is dockerd's answer.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let (status, body) = send(format!(
            r#"{{"username":"u","password":"p","serveraddress":"127.0.0.1:{port}"}}"#
        ))
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v["message"],
            format!(
                "Get \"http://127.0.0.1:{port}/v2/\": dial tcp 127.0.0.1:{port}: connect: connection refused"
            )
        );
        let (status, body) = send(r#"{"username":"#.to_owned()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("invalid JSON"), "{body}");
    }

    #[test]
    fn info_shows_the_registry_settings_as_dockerd() {
        let registries = crate::registry::Registries::new(crate::registry::RegistryConfig {
            insecure: vec!["reg:5000".into(), "10.0.0.0/8".into()],
            mirrors: vec!["https://m.example/".into()],
            ..Default::default()
        });
        let c = serde_json::to_value(registry_config(&registries)).unwrap();
        assert_eq!(
            c["InsecureRegistryCIDRs"],
            serde_json::json!(["127.0.0.0/8", "::1/128", "10.0.0.0/8"])
        );
        assert_eq!(c["Mirrors"], serde_json::json!(["https://m.example/"]));
        let hub = &c["IndexConfigs"]["docker.io"];
        assert_eq!(hub["Mirrors"], serde_json::json!(["https://m.example/"]));
        assert_eq!(
            (hub["Secure"].clone(), hub["Official"].clone()),
            (true.into(), true.into())
        );
        let reg = &c["IndexConfigs"]["reg:5000"];
        assert_eq!(reg["Name"], "reg:5000");
        assert_eq!(
            (reg["Secure"].clone(), reg["Official"].clone()),
            (false.into(), false.into())
        );
    }

    #[tokio::test]
    async fn ping_answers_ok_with_dockerd_headers() {
        for uri in ["/_ping", "/v1.24/_ping"] {
            let (parts, body) = call(Method::GET, uri).await;
            assert_eq!(parts.status, StatusCode::OK);
            assert_eq!(&body[..], b"OK");
            let h = &parts.headers;
            assert_eq!(h["cache-control"], "no-cache, no-store, must-revalidate");
            assert_eq!(h["pragma"], "no-cache");
            assert_eq!(h["swarm"], "inactive");
            assert_eq!(h["content-type"], "text/plain; charset=utf-8");
            assert_eq!(h["api-version"], "1.47");
            assert_eq!(h["ostype"], "linux");
            assert_eq!(h["docker-experimental"], "false");
            assert!(h["server"].to_str().unwrap().starts_with("Wharf/"));
        }
        let (parts, body) = call(Method::HEAD, "/_ping").await;
        assert_eq!(parts.status, StatusCode::OK);
        assert!(body.is_empty());
        assert_eq!(parts.headers["swarm"], "inactive");
    }

    #[tokio::test]
    async fn version_has_what_the_docker_cli_reads() {
        let (parts, body) = call(Method::GET, "/v1.47/version").await;
        assert_eq!(parts.status, StatusCode::OK);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["ApiVersion"], "1.47");
        assert_eq!(v["MinAPIVersion"], "1.24");
        assert_eq!(v["Os"], "linux");
        assert_eq!(v["Arch"], buildinfo::go_arch());
        assert_eq!(v["Components"][0]["Name"], "Engine");
        assert_eq!(v["Components"][0]["Details"]["ApiVersion"], "1.47");
        assert!(v["Platform"]["Name"].is_string());
        // And the client's own decoder reads it.
        let decoded: SystemVersion = serde_json::from_slice(&body).unwrap();
        assert_eq!(decoded.version.as_deref(), Some(buildinfo::VERSION));
        assert_eq!(
            decoded.components[0].detail("MinAPIVersion").as_deref(),
            Some("1.24")
        );
    }

    #[tokio::test]
    async fn info_reports_honest_zero_counts_and_cached_facts() {
        let (parts, body) = call(Method::GET, "/info").await;
        assert_eq!(parts.status, StatusCode::OK);
        let info: SystemInfo = serde_json::from_slice(&body).unwrap();
        assert_eq!(info.id.as_deref(), Some("TEST-ENGINE-ID"));
        assert_eq!(info.containers, Some(0));
        assert_eq!(info.images, Some(0));
        assert_eq!(info.os_type.as_deref(), Some("linux"));
        assert_eq!(info.ncpu, Some(AppState::for_tests().facts().ncpu));
        assert_eq!(
            info.swarm.and_then(|s| s.local_node_state),
            Some(LocalNodeState::INACTIVE)
        );
        assert!(info.system_time.is_some_and(|t| t.ends_with('Z')));
    }
}
