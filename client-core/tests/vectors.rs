//! Test vectors: the same calls must build the same bytes, and the same bytes decode the same way,
//! natively and on wasm32. `cargo xtask test` runs this file on both targets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::collections::BTreeMap;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use http::Method;
use serde::Deserialize;
use serde_json::{json, Value};
use wharf_client_core::api::containers::{self, WaitCondition};
use wharf_client_core::api::{
    archive, exec, images, networks, registry, system, volumes, websocket, wharf, Decode,
    TypedRequest,
};
use wharf_client_core::host::Side;
use wharf_client_core::registry_auth::RegistryAuth;
use wharf_client_core::request::USER_AGENT_VALUE;
use wharf_client_core::stdcopy::{StdStream, StdcopyDecoder};
use wharf_client_core::{
    negotiate, response, DockerHost, Error, ErrorKind, Filters, Query, Request, RequestFactory,
    Response,
};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const VECTORS: &str = include_str!("vectors.json");

#[derive(Deserialize)]
struct Vectors {
    requests: Vec<RequestVector>,
    responses: Vec<ResponseVector>,
    errors: Vec<ErrorVector>,
    stdcopy: Vec<StdcopyVector>,
}

#[derive(Deserialize)]
struct RequestVector {
    name: String,
    host: String,
    #[serde(default)]
    tls: bool,
    version: Option<String>,
    call: Call,
    expect: String,
}

#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Call {
    Ping,
    Version,
    Info,
    Get(Raw),
    Post(Raw),
    ContainerCreate(Args),
    ContainerList(Args),
    ContainerInspect(Args),
    ContainerStart(Args),
    ContainerStop(Args),
    ContainerRestart(Args),
    ContainerKill(Args),
    ContainerWait(Args),
    ContainerPause(Args),
    ContainerUnpause(Args),
    ContainerRename(Args),
    ContainerTop(Args),
    ContainerLogs(Args),
    ContainerStats(Args),
    ContainerRemove(Args),
    ContainerPrune(Args),
    ContainerResize(Args),
    NetworkList(Args),
    NetworkInspect(Args),
    NetworkCreate(Args),
    NetworkRemove(Args),
    NetworkPrune(Args),
    NetworkConnect(Args),
    NetworkDisconnect(Args),
    ContainerUpdate(Args),
    ExecCreate(Args),
    ExecStart(Args),
    ExecInspect(Args),
    ExecResize(Args),
    ExecStartWs(Args),
    ContainerAttachWs(Args),
    ImageList(Args),
    ImageInspect(Args),
    ImageHistory(Args),
    ImageTag(Args),
    ImageRemove(Args),
    ImagePrune(Args),
    ContainerArchiveStat(Args),
    ContainerArchiveGet(Args),
    ContainerArchivePut(Args),
    ContainerChanges(Args),
    ContainerExport(Args),
    ContainerCommit(Args),
    ImageImport(Args),
    ImageLoad(Args),
    ImageSave(Args),
    ImagePull(Args),
    ImagePush(Args),
    Login(Args),
    Distribution(Args),
    VolumeCreate(Args),
    VolumeList(Args),
    VolumeInspect(Args),
    VolumeRemove(Args),
    VolumePrune(Args),
    SystemDf,
    TokenList,
    TokenCreate(Args),
    TokenRemove(Args),
    WsTicket,
    Whoami,
    Audit(AuditArgs),
    Daemon,
    Files(Args),
    Events(Args),
}

/// `GET /wharf/v1/audit`'s filters, as its query names them.
#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct AuditArgs {
    identity: Option<String>,
    method: Option<String>,
    path: Option<String>,
    status: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<u32>,
}

/// The arguments of an endpoint call, named as the API names its parameters; each call reads its own.
#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Args {
    /// The container or image in the path.
    id: String,
    name: Option<String>,
    platform: Option<String>,
    body: Option<Value>,
    all: bool,
    limit: Option<u32>,
    size: bool,
    filters: BTreeMap<String, Vec<String>>,
    signal: Option<String>,
    t: Option<i64>,
    condition: Option<String>,
    ps_args: Option<String>,
    stdout: bool,
    stderr: bool,
    since: Option<String>,
    until: Option<String>,
    timestamps: bool,
    tail: Option<String>,
    follow: bool,
    /// Stats: without `stream`, answer the first sample at once.
    #[serde(rename = "one-shot")]
    one_shot: bool,
    force: bool,
    v: bool,
    noprune: bool,
    repo: Option<String>,
    tag: Option<String>,
    message: Option<String>,
    changes: Vec<String>,
    names: Vec<String>,
    quiet: bool,
    /// An import's archive, as text.
    archive: String,
    /// docker cp: the path in the container and the upload's options.
    path: String,
    #[serde(rename = "noOverwriteDirNonDir")]
    no_overwrite_dir_non_dir: bool,
    #[serde(rename = "copyUIDGID")]
    copy_uid_gid: bool,
    /// docker commit: `-a` and `--pause`.
    author: Option<String>,
    pause: Option<bool>,
    /// A terminal's height and width.
    h: u32,
    w: u32,
    /// An attach's streams and detach keys (`stream` also: stats that keep streaming).
    logs: bool,
    stream: bool,
    stdin: bool,
    detach_keys: Option<String>,
    /// Registry credentials, as `X-Registry-Auth` or `/auth`'s body carry them.
    auth: Option<Value>,
}

impl Args {
    fn filters(&self) -> Filters {
        filters(&self.filters)
    }

    /// The body, as the model the endpoint takes.
    fn body_as<T: serde::de::DeserializeOwned>(&self, name: &str) -> T {
        serde_json::from_value(self.body.clone().unwrap_or_else(|| json!({}))).expect(name)
    }

    fn auth(&self, name: &str) -> RegistryAuth {
        serde_json::from_value(self.auth.clone().unwrap_or_else(|| json!({}))).expect(name)
    }

    fn stop(&self) -> containers::StopOptions {
        containers::StopOptions {
            signal: self.signal.clone(),
            timeout: self.t,
        }
    }
}

#[derive(Deserialize)]
struct ResponseVector {
    name: String,
    /// Which decoder: an op of [`Call`], or `no_content`.
    op: String,
    status: u16,
    content_type: Option<String>,
    /// The body as text, or as hex when it is not.
    #[serde(default)]
    body: String,
    #[serde(default)]
    body_hex: Option<String>,
    /// For logs: the container's `Tty`.
    #[serde(default)]
    tty: bool,
    /// What the decoded value, as JSON, must contain (objects may hold more keys); `null` for nothing.
    #[serde(default)]
    expect: Value,
    /// Or the error it decodes to, as displayed.
    error: Option<String>,
}

#[derive(Deserialize)]
struct Raw {
    path: String,
    #[serde(default)]
    flags: BTreeMap<String, bool>,
    #[serde(default)]
    params: BTreeMap<String, String>,
    #[serde(default)]
    filters: BTreeMap<String, Vec<String>>,
    body: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ErrorVector {
    name: String,
    status: u16,
    content_type: Option<String>,
    body: String,
    kind: String,
    display: String,
}

#[derive(Deserialize)]
struct StdcopyVector {
    name: String,
    hex: String,
    frames: Vec<(u8, String)>,
}

fn vectors() -> Vectors {
    serde_json::from_str(VECTORS).expect("vectors.json parses")
}

fn filters(map: &BTreeMap<String, Vec<String>>) -> Filters {
    let mut f = Filters::new();
    for (name, values) in map {
        for v in values {
            f.add(name, v.clone());
        }
    }
    f
}

fn query(raw: &Raw) -> Query {
    let mut q = Query::new();
    for (k, on) in &raw.flags {
        q.flag(k, *on);
    }
    for (k, v) in &raw.params {
        q.append(k, v.clone());
    }
    q.filters(&filters(&raw.filters));
    q
}

fn bytes(name: &str, hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect(name))
        .collect()
}

/// The request a vector's call builds.
fn build(name: &str, factory: &RequestFactory, call: &Call) -> Result<Request, Error> {
    use containers as c;
    Ok(match call {
        Call::Ping => negotiate::ping_request(factory),
        Call::Version => system::version_request(factory).request,
        Call::Info => system::info_request(factory).request,
        Call::Get(raw) => factory.build(Method::GET, &raw.path, &query(raw)),
        Call::Post(raw) => match &raw.body {
            Some(body) => factory.build_json(Method::POST, &raw.path, &query(raw), body)?,
            None => factory.build(Method::POST, &raw.path, &query(raw)),
        },
        Call::ContainerCreate(a) => {
            let body = serde_json::from_value(a.body.clone().unwrap_or_default()).expect(name);
            let options = c::CreateOptions {
                name: a.name.clone(),
                platform: a.platform.clone(),
            };
            c::create_request(factory, &body, &options)?.request
        }
        Call::ContainerList(a) => {
            c::list_request(
                factory,
                &c::ListOptions {
                    all: a.all,
                    limit: a.limit,
                    size: a.size,
                    filters: a.filters(),
                },
            )
            .request
        }
        Call::ContainerInspect(a) => c::inspect_request(factory, &a.id, a.size)?.request,
        Call::ContainerStart(a) => c::start_request(factory, &a.id)?.request,
        Call::ContainerStop(a) => c::stop_request(factory, &a.id, &a.stop())?.request,
        Call::ContainerRestart(a) => c::restart_request(factory, &a.id, &a.stop())?.request,
        Call::ContainerKill(a) => c::kill_request(factory, &a.id, a.signal.as_deref())?.request,
        Call::ContainerWait(a) => {
            let cond = a
                .condition
                .as_deref()
                .map(|x| x.parse::<WaitCondition>().expect(name));
            c::wait_request(factory, &a.id, cond)?.request
        }
        Call::ContainerPause(a) => c::pause_request(factory, &a.id)?.request,
        Call::ContainerUnpause(a) => c::unpause_request(factory, &a.id)?.request,
        Call::ContainerRename(a) => {
            c::rename_request(factory, &a.id, a.name.as_deref().expect(name))?.request
        }
        Call::ContainerTop(a) => c::top_request(factory, &a.id, a.ps_args.as_deref())?.request,
        Call::ContainerLogs(a) => c::logs_request(
            factory,
            &a.id,
            &c::LogsOptions {
                stdout: a.stdout,
                stderr: a.stderr,
                since: a.since.clone(),
                until: a.until.clone(),
                timestamps: a.timestamps,
                tail: a.tail.clone(),
                follow: a.follow,
            },
        )?,
        Call::ContainerStats(a) if a.stream => c::stats_stream_request(factory, &a.id)?,
        Call::ContainerStats(a) => c::stats_request(factory, &a.id, a.one_shot)?.request,
        Call::ContainerRemove(a) => {
            c::remove_request(
                factory,
                &a.id,
                &c::RemoveOptions {
                    force: a.force,
                    volumes: a.v,
                },
            )?
            .request
        }
        Call::ContainerPrune(a) => c::prune_request(factory, &a.filters()).request,
        Call::NetworkList(a) => networks::list_request(factory, &a.filters()).request,
        Call::NetworkInspect(a) => networks::inspect_request(factory, &a.id)?.request,
        Call::NetworkCreate(a) => networks::create_request(factory, &a.body_as(name))?.request,
        Call::NetworkRemove(a) => networks::remove_request(factory, &a.id)?.request,
        Call::NetworkPrune(a) => networks::prune_request(factory, &a.filters()).request,
        Call::NetworkConnect(a) => {
            networks::connect_request(factory, &a.id, &a.body_as(name))?.request
        }
        Call::NetworkDisconnect(a) => {
            networks::disconnect_request(factory, &a.id, &a.body_as(name))?.request
        }
        Call::ContainerResize(a) => c::resize_request(factory, &a.id, a.h, a.w)?.request,
        Call::ContainerUpdate(a) => c::update_request(factory, &a.id, &a.body_as(name))?.request,
        Call::ExecCreate(a) => exec::create_request(factory, &a.id, &a.body_as(name))?.request,
        Call::ExecStart(a) => exec::start_request(factory, &a.id, &a.body_as(name))?.request,
        Call::ExecInspect(a) => exec::inspect_request(factory, &a.id)?.request,
        Call::ExecResize(a) => exec::resize_request(factory, &a.id, a.h, a.w)?.request,
        Call::ExecStartWs(a) => {
            let size = (a.h != 0 || a.w != 0).then_some((a.h, a.w));
            websocket::exec_ws_request(factory, &a.id, size)?.request
        }
        Call::ContainerAttachWs(a) => {
            let options = websocket::AttachOptions {
                logs: a.logs,
                stream: a.stream,
                stdin: a.stdin,
                stdout: a.stdout,
                stderr: a.stderr,
                detach_keys: a.detach_keys.clone(),
            };
            websocket::attach_ws_request(factory, &a.id, &options)?.request
        }
        Call::ImageList(a) => {
            images::list_request(
                factory,
                &images::ListOptions {
                    all: a.all,
                    filters: a.filters(),
                },
            )
            .request
        }
        Call::ImageInspect(a) => images::inspect_request(factory, &a.id)?.request,
        Call::ImageHistory(a) => images::history_request(factory, &a.id)?.request,
        Call::ImageTag(a) => {
            images::tag_request(
                factory,
                &a.id,
                a.repo.as_deref().expect(name),
                a.tag.as_deref(),
            )?
            .request
        }
        Call::ImageRemove(a) => {
            images::remove_request(
                factory,
                &a.id,
                &images::RemoveOptions {
                    force: a.force,
                    noprune: a.noprune,
                },
            )?
            .request
        }
        Call::ImagePrune(a) => images::prune_request(factory, &a.filters()).request,
        Call::VolumeCreate(a) => volumes::create_request(factory, &a.body_as(name))?.request,
        Call::VolumeList(a) => volumes::list_request(factory, &a.filters()).request,
        Call::VolumeInspect(a) => volumes::inspect_request(factory, &a.id)?.request,
        Call::VolumeRemove(a) => volumes::remove_request(factory, &a.id, a.force)?.request,
        Call::VolumePrune(a) => volumes::prune_request(factory, &a.filters()).request,
        Call::ContainerArchiveStat(a) => {
            archive::stat_path_request(factory, &a.id, &a.path)?.request
        }
        Call::ContainerArchiveGet(a) => archive::get_archive_request(factory, &a.id, &a.path)?,
        Call::ContainerArchivePut(a) => {
            let options = archive::CopyToOptions {
                no_overwrite_dir_non_dir: a.no_overwrite_dir_non_dir,
                copy_uid_gid: a.copy_uid_gid,
            };
            let tar = Bytes::from(a.archive.clone().into_bytes());
            archive::put_archive_request(factory, &a.id, &a.path, &options, tar)?.request
        }
        Call::ContainerChanges(a) => archive::changes_request(factory, &a.id)?.request,
        Call::ContainerExport(a) => archive::export_request(factory, &a.id)?,
        Call::ContainerCommit(a) => {
            let options = archive::CommitOptions {
                repo: a.repo.clone(),
                tag: a.tag.clone(),
                comment: a.message.clone(),
                author: a.author.clone(),
                pause: a.pause.unwrap_or(true),
                changes: a.changes.clone(),
            };
            archive::commit_request(factory, &a.id, &options)?.request
        }
        Call::ImageImport(a) => {
            images::import_request(
                factory,
                &images::ImportOptions {
                    repo: a.repo.clone(),
                    tag: a.tag.clone(),
                    message: a.message.clone(),
                    changes: a.changes.clone(),
                },
                Bytes::from(a.archive.clone().into_bytes()),
            )
            .request
        }
        Call::ImageLoad(a) => {
            images::load_request(
                factory,
                a.quiet,
                Bytes::from(a.archive.clone().into_bytes()),
            )
            .request
        }
        Call::ImageSave(a) => images::save_request(factory, &a.names)?,
        Call::ImagePull(a) => {
            let options = registry::PullOptions {
                platform: a.platform.clone(),
            };
            registry::pull_request(factory, &a.id, &options, &a.auth(name))?.request
        }
        Call::ImagePush(a) => registry::push_request(factory, &a.id, &a.auth(name))?.request,
        Call::Login(a) => registry::login_request(factory, &a.auth(name))?.request,
        Call::Distribution(a) => {
            registry::distribution_request(factory, &a.id, &a.auth(name))?.request
        }
        Call::SystemDf => system::df_request(factory).request,
        Call::TokenList => wharf::list_tokens_request(factory).request,
        Call::TokenCreate(a) => wharf::create_token_request(factory, &a.body_as(name))?.request,
        Call::TokenRemove(a) => wharf::remove_token_request(factory, &a.id)?.request,
        Call::WsTicket => wharf::ws_ticket_request(factory).request,
        Call::Whoami => wharf::whoami_request(factory).request,
        Call::Audit(a) => {
            wharf::audit_request(
                factory,
                &wharf::AuditQuery {
                    identity: a.identity.clone(),
                    method: a.method.clone(),
                    path: a.path.clone(),
                    status: a.status.clone(),
                    since: a.since.clone(),
                    until: a.until.clone(),
                    limit: a.limit,
                },
            )
            .request
        }
        Call::Daemon => wharf::daemon_request(factory).request,
        Call::Files(a) => {
            wharf::files_request(factory, &a.id, a.name.as_deref().unwrap_or(""))?.request
        }
        Call::Events(a) => system::events_request(
            factory,
            &system::EventsOptions {
                since: a.since.clone(),
                until: a.until.clone(),
                filters: a.filters(),
            },
        ),
    })
}

/// A response vector's answer decoded as its op's request says it decodes, as JSON.
fn decode(v: &ResponseVector, route: &str, response: Response) -> Result<Value, Error> {
    /// `response` decoded as the answer to `_request`.
    fn output<D: Decode>(
        _request: Result<TypedRequest<D>, Error>,
        route: &str,
        response: Response,
    ) -> Result<D::Output, Error> {
        D::decode(route, response)
    }
    /// The same, as JSON.
    fn answer<D: Decode>(
        request: Result<TypedRequest<D>, Error>,
        route: &str,
        response: Response,
    ) -> Result<Value, Error>
    where
        D::Output: serde::Serialize,
    {
        let value = output(request, route, response)?;
        Ok(serde_json::to_value(value).expect("decoded values serialize"))
    }
    use containers as c;
    let f = &RequestFactory::new("api.moby.localhost", "").expect("a factory");
    Ok(match v.op.as_str() {
        "no_content" => answer(c::start_request(f, "x"), route, response)?,
        "container_create" => answer(
            c::create_request(f, &Default::default(), &Default::default()),
            route,
            response,
        )?,
        "container_list" => answer(Ok(c::list_request(f, &Default::default())), route, response)?,
        "container_inspect" => answer(c::inspect_request(f, "x", false), route, response)?,
        "container_wait" => answer(c::wait_request(f, "x", None), route, response)?,
        "container_top" => answer(c::top_request(f, "x", None), route, response)?,
        "container_update" => answer(
            c::update_request(f, "x", &Default::default()),
            route,
            response,
        )?,
        "container_changes" => answer(archive::changes_request(f, "x"), route, response)?,
        "container_commit" => answer(
            archive::commit_request(f, "x", &Default::default()),
            route,
            response,
        )?,
        "container_logs" => {
            let frames = c::decode_logs(route, response, v.tty)?;
            frames
                .iter()
                .map(|f| {
                    json!([
                        format!("{:?}", f.stream),
                        String::from_utf8_lossy(&f.payload)
                    ])
                })
                .collect()
        }
        "container_stats" => answer(c::stats_request(f, "x", false), route, response)?,
        "container_prune" => answer(Ok(c::prune_request(f, &Filters::new())), route, response)?,
        "volume_create" => answer(
            volumes::create_request(f, &Default::default()),
            route,
            response,
        )?,
        "volume_list" => answer(
            Ok(volumes::list_request(f, &Filters::new())),
            route,
            response,
        )?,
        "volume_inspect" => answer(volumes::inspect_request(f, "x"), route, response)?,
        "volume_remove" => answer(volumes::remove_request(f, "x", false), route, response)?,
        "volume_prune" => answer(
            Ok(volumes::prune_request(f, &Filters::new())),
            route,
            response,
        )?,
        "image_list" => answer(
            Ok(images::list_request(f, &Default::default())),
            route,
            response,
        )?,
        "image_inspect" => answer(images::inspect_request(f, "x"), route, response)?,
        "image_history" => answer(images::history_request(f, "x"), route, response)?,
        "image_remove" => answer(
            images::remove_request(f, "x", &Default::default()),
            route,
            response,
        )?,
        "image_prune" => answer(
            Ok(images::prune_request(f, &Filters::new())),
            route,
            response,
        )?,
        "image_import" => {
            let import = images::import_request(f, &Default::default(), Bytes::new());
            let messages = output(Ok(import), route, response)?;
            json!({"id": images::imported_id(&messages), "messages": messages})
        }
        "image_pull" => {
            let pull = registry::pull_request(f, "x", &Default::default(), &Default::default());
            answer(pull, route, response)?
        }
        "login" => answer(
            registry::login_request(f, &Default::default()),
            route,
            response,
        )?,
        "distribution" => answer(
            registry::distribution_request(f, "x", &Default::default()),
            route,
            response,
        )?,
        "system_df" => answer(Ok(system::df_request(f)), route, response)?,
        "exec_create" => answer(
            exec::create_request(f, "x", &Default::default()),
            route,
            response,
        )?,
        "exec_inspect" => answer(exec::inspect_request(f, "x"), route, response)?,
        "token_list" => answer(Ok(wharf::list_tokens_request(f)), route, response)?,
        "token_create" => {
            let body = wharf::CreateToken {
                name: "x".into(),
                role: "viewer".into(),
                expires_in: None,
            };
            answer(wharf::create_token_request(f, &body), route, response)?
        }
        "ws_ticket" => answer(Ok(wharf::ws_ticket_request(f)), route, response)?,
        "whoami" => answer(Ok(wharf::whoami_request(f)), route, response)?,
        "audit" => answer(
            Ok(wharf::audit_request(f, &Default::default())),
            route,
            response,
        )?,
        "daemon" => answer(Ok(wharf::daemon_request(f)), route, response)?,
        other => panic!("vector {:?}: unknown op {other:?}", v.name),
    })
}

/// Whether `got` holds everything `want` says: every key of an object (recursively), equal otherwise.
fn contains(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => w
            .iter()
            .all(|(k, wv)| g.get(k).is_some_and(|gv| contains(gv, wv))),
        (Value::Array(g), Value::Array(w)) => {
            g.len() == w.len() && g.iter().zip(w).all(|(gv, wv)| contains(gv, wv))
        }
        _ => got == want,
    }
}

#[test]
fn every_call_builds_the_expected_bytes() {
    let vectors = vectors();
    assert!(!vectors.requests.is_empty());
    for v in vectors.requests {
        let host = DockerHost::parse(&v.host, v.tls, Side::Client).expect(&v.name);
        let mut factory =
            RequestFactory::new(&host.host_header(), host.base_path()).expect(&v.name);
        if let Some(version) = &v.version {
            factory.set_version(version.parse().expect(&v.name));
        }
        let got = match build(&v.name, &factory, &v.call) {
            Ok(request) => {
                String::from_utf8(request.to_http1_bytes()).expect("requests are UTF-8 here")
            }
            Err(err) => format!("error: {err}"),
        };
        let want = v.expect.replace("{user_agent}", USER_AGENT_VALUE);
        assert_eq!(got, want, "vector {:?}", v.name);
    }
}

#[test]
fn every_answer_decodes_to_the_expected_value() {
    let vectors = vectors();
    assert!(!vectors.responses.is_empty());
    for v in &vectors.responses {
        let mut headers = HeaderMap::new();
        if let Some(ct) = &v.content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_str(ct).expect(&v.name));
        }
        let body = match &v.body_hex {
            Some(hex) => bytes(&v.name, hex),
            None => v.body.clone().into_bytes(),
        };
        let response = Response {
            status: v.status,
            headers,
            body: Bytes::from(body),
        };
        match (decode(v, "GET /v1.47/x", response), &v.error) {
            (Ok(got), None) => {
                assert!(contains(&got, &v.expect), "vector {:?}: got {got}", v.name)
            }
            (Err(err), Some(want)) => assert_eq!(&err.to_string(), want, "vector {:?}", v.name),
            (got, _) => panic!("vector {:?}: got {got:?}", v.name),
        }
    }
}

#[test]
fn every_error_answer_decodes_to_the_expected_kind_and_message() {
    for v in vectors().errors {
        let mut headers = HeaderMap::new();
        if let Some(ct) = &v.content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_str(ct).expect(&v.name));
        }
        let err = response::daemon_error(v.status, &headers, v.body.as_bytes(), "GET /v1.47/info");
        assert_eq!(format!("{:?}", err.kind), v.kind, "vector {:?}", v.name);
        assert_eq!(err.kind, ErrorKind::from_status(v.status));
        assert_eq!(err.to_string(), v.display, "vector {:?}", v.name);
    }
}

#[test]
fn every_stdcopy_stream_decodes_to_the_expected_frames() {
    for v in vectors().stdcopy {
        let mut decoder = StdcopyDecoder::default();
        decoder.push(&bytes(&v.name, &v.hex));
        let mut got = Vec::new();
        while let Some(frame) = decoder.next_frame().expect(&v.name) {
            let stream = match frame.stream {
                StdStream::Stdin => 0,
                StdStream::Stdout => 1,
                StdStream::Stderr => 2,
                StdStream::SystemErr => 3,
            };
            got.push((
                stream,
                String::from_utf8(frame.payload.to_vec()).expect(&v.name),
            ));
        }
        decoder.finish().expect(&v.name);
        assert_eq!(got, v.frames, "vector {:?}", v.name);
    }
}
