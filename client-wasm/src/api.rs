//! `WharfClient`, the JavaScript API: one method per call client-core knows, a promise each; streams
//! (`logs`, `events`, `stats`) as async iterators.
//!
//! Answers are the daemon's JSON as it sent it (Docker's field names: `Id`, `State`, `Names`...), so the
//! Engine API's documentation is this API's too. A failure rejects with an `Error` carrying `status`
//! (the daemon's HTTP status, when it answered) and `kind`; its `message` is the daemon's.
//!
//! An exec is created here (`createExec`) and started as an `ExecSession` over Wharf's WebSocket route
//! (`execSession`, see `exec.rs`).

use std::collections::BTreeMap;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use js_sys::Promise;
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use wharf_client_core::api::containers::{self, LogsOptions, WaitCondition};
use wharf_client_core::api::system::EventsOptions;
use wharf_client_core::api::websocket::{attach_ws_request, exec_ws_request, AttachOptions};
use wharf_client_core::api::{exec, images, system, NoContent, TypedRequest};
use wharf_client_core::request::DUMMY_HOST;
use wharf_client_core::{Client, ClientConfig, Error, RequestFactory};

use crate::exec::{session_url, ExecSession, Route};
use crate::fetch::{FetchTransport, DEFAULT_TIMEOUT};
use crate::js::{self, JsJson};
use crate::streams::{LogStream, MessageStream};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** What `/_ping` tells about the daemon. */
export interface Ping {
  apiVersion?: string;
  osType?: string;
  experimental: boolean;
  builderVersion?: string;
  swarm?: string;
}
/** A rejection: `status` is the daemon's HTTP status when it answered; `message` its message. */
export interface WharfError extends Error {
  status?: number;
  kind: string;
}
export type Filters = Record<string, string[]>;
/** `timeoutMs`: how long a request may take (a streamed one until its answer begins); 120000 by default. */
export interface ClientOptions { timeoutMs?: number }
export interface ListContainersOptions { all?: boolean; limit?: number; size?: boolean; filters?: Filters }
export interface CreateContainerOptions { name?: string; platform?: string }
export interface StopOptions { signal?: string; timeout?: number }
export interface RemoveContainerOptions { force?: boolean; volumes?: boolean }
export interface ListImagesOptions { all?: boolean; filters?: Filters }
export interface RemoveImageOptions { force?: boolean; noprune?: boolean }
/** `stdout` and `stderr` default to true; `tty` only matters for daemons older than API 1.42. */
export interface LogsOptions {
  stdout?: boolean; stderr?: boolean; since?: string; until?: string; timestamps?: boolean;
  tail?: string; follow?: boolean; tty?: boolean;
}
/** One piece of a container's output: a line (or, with a TTY, what arrived). */
export interface LogEntry { stream: "stdout" | "stderr" | "stdin"; data: Uint8Array; text: string }
export interface EventsOptions { since?: string; until?: string; filters?: Filters }
/** `tty`: whether the exec was created with one (read from the exec when left out); `h` and `w`: the
 * TTY's size at start. */
export interface ExecSessionOptions { tty?: boolean; h?: number; w?: number }
export interface AttachSessionOptions { stdin?: boolean; stdout?: boolean; stderr?: boolean; detachKeys?: string }
"#;

/// A client of one Wharf (or Docker) daemon, from a web page.
#[wasm_bindgen]
#[derive(Debug)]
pub struct WharfClient {
    client: Rc<Client<FetchTransport>>,
    base_url: Rc<str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
struct ClientOpts {
    timeout_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
struct ListContainers {
    all: bool,
    limit: Option<u32>,
    size: bool,
    filters: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct CreateContainer {
    name: Option<String>,
    platform: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Stop {
    signal: Option<String>,
    timeout: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RemoveContainer {
    force: bool,
    volumes: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ListImages {
    all: bool,
    filters: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RemoveImage {
    force: bool,
    noprune: bool,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Logs {
    stdout: bool,
    stderr: bool,
    since: Option<String>,
    until: Option<String>,
    timestamps: bool,
    tail: Option<String>,
    follow: bool,
    tty: bool,
}

impl Default for Logs {
    fn default() -> Self {
        Self {
            stdout: true,
            stderr: true,
            since: None,
            until: None,
            timestamps: false,
            tail: None,
            follow: false,
            tty: false,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ExecSessionOpts {
    tty: Option<bool>,
    h: Option<u32>,
    w: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct AttachSessionOpts {
    stdin: bool,
    stdout: Option<bool>,
    stderr: Option<bool>,
    detach_keys: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Events {
    since: Option<String>,
    until: Option<String>,
    filters: BTreeMap<String, Vec<String>>,
}

/// A promise of `work`'s value, its error as a `WharfError`.
fn promise<F>(work: F) -> Promise
where
    F: Future<Output = Result<JsValue, JsValue>> + 'static,
{
    future_to_promise(work)
}

/// The same request, its answer passed to JavaScript as the daemon's JSON.
fn as_js<D>(typed: TypedRequest<D>) -> TypedRequest<JsJson> {
    TypedRequest::new(typed.request)
}

#[wasm_bindgen]
impl WharfClient {
    /// A client of the daemon at `baseUrl` (`https://127.0.0.1:2376`, or `""` for the page's own
    /// origin), sending `token` as `Authorization: Bearer <token>` when given. `options.timeoutMs`
    /// bounds each request (a streamed one until its answer begins); 120 s by default.
    #[wasm_bindgen(constructor)]
    pub fn new(
        base_url: &str,
        token: Option<String>,
        #[wasm_bindgen(unchecked_param_type = "ClientOptions")] options: JsValue,
    ) -> Result<WharfClient, JsValue> {
        let o: ClientOpts = js::options(&options)?;
        let timeout = o.timeout_ms.map_or(DEFAULT_TIMEOUT, Duration::from_millis);
        let config = ClientConfig {
            host_header: DUMMY_HOST.to_owned(),
            base_path: String::new(),
            pinned_version: None,
        };
        let client = Client::new(FetchTransport::new(base_url, token, timeout), config)
            .map_err(|e| js::error(&e))?;
        Ok(Self {
            client: Rc::new(client),
            base_url: base_url.into(),
        })
    }

    /// The API version agreed with the daemon (`"1.47"`), once a call negotiated it.
    #[wasm_bindgen(getter, js_name = apiVersion)]
    pub fn api_version(&self) -> Option<String> {
        self.client.api_version().map(|v| v.to_string())
    }

    /// `HEAD /_ping` (then `GET`): what the daemon says about itself in its headers.
    #[wasm_bindgen(unchecked_return_type = "Promise<Ping>")]
    pub fn ping(&self) -> Promise {
        let client = self.client.clone();
        promise(async move {
            let ping = client.ping().await.map_err(|e| js::error(&e))?;
            let text = |v: Option<String>| v.map_or(JsValue::UNDEFINED, JsValue::from);
            Ok(js::object(&[
                ("apiVersion", text(ping.api_version.map(|v| v.to_string()))),
                ("osType", text(ping.os_type)),
                ("experimental", ping.experimental.into()),
                ("builderVersion", text(ping.builder_version)),
                ("swarm", text(ping.swarm)),
            ]))
        })
    }

    /// `GET /version`.
    #[wasm_bindgen(unchecked_return_type = "Promise<any>")]
    pub fn version(&self) -> Promise {
        self.json(|f| Ok(as_js(system::version_request(f))))
    }

    /// `GET /info`.
    #[wasm_bindgen(unchecked_return_type = "Promise<any>")]
    pub fn info(&self) -> Promise {
        self.json(|f| Ok(as_js(system::info_request(f))))
    }

    /// `GET /system/df`.
    #[wasm_bindgen(unchecked_return_type = "Promise<any>")]
    pub fn df(&self) -> Promise {
        self.json(|f| Ok(as_js(system::df_request(f))))
    }

    /// `GET /containers/json`.
    #[wasm_bindgen(js_name = listContainers, unchecked_return_type = "Promise<any[]>")]
    pub fn list_containers(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ListContainersOptions")] options: JsValue,
    ) -> Promise {
        let o: ListContainers = match js::options(&options) {
            Ok(o) => o,
            Err(e) => return Promise::reject(&e),
        };
        let options = containers::ListOptions {
            all: o.all,
            limit: o.limit,
            size: o.size,
            filters: js::filters(&o.filters),
        };
        self.json(move |f| Ok(as_js(containers::list_request(f, &options))))
    }

    /// `GET /containers/{id}/json`.
    #[wasm_bindgen(js_name = inspectContainer, unchecked_return_type = "Promise<any>")]
    pub fn inspect_container(&self, id: String, size: Option<bool>) -> Promise {
        self.json(move |f| containers::inspect_request(f, &id, size.unwrap_or(false)).map(as_js))
    }

    /// `POST /containers/create` with `body` (Docker's create body: `Image`, `Cmd`, `HostConfig`...),
    /// sent as given for the daemon to judge. Resolves to `{Id, Warnings}`.
    #[wasm_bindgen(js_name = createContainer, unchecked_return_type = "Promise<{Id: string, Warnings: string[]}>")]
    pub fn create_container(
        &self,
        body: JsValue,
        #[wasm_bindgen(unchecked_param_type = "CreateContainerOptions")] options: JsValue,
    ) -> Promise {
        let parsed = js::options::<serde_json::Value>(&body)
            .and_then(|b| js::options::<CreateContainer>(&options).map(|o| (b, o)));
        let (body, o) = match parsed {
            Ok(p) => p,
            Err(e) => return Promise::reject(&e),
        };
        let options = containers::CreateOptions {
            name: o.name,
            platform: o.platform,
        };
        self.json(move |f| containers::create_request_json(f, &body, &options).map(as_js))
    }

    /// `POST /containers/{id}/start`; starting a running container succeeds.
    #[wasm_bindgen(js_name = startContainer, unchecked_return_type = "Promise<void>")]
    pub fn start_container(&self, id: String) -> Promise {
        self.no_content(move |f| containers::start_request(f, &id))
    }

    /// `POST /containers/{id}/stop`; stopping a stopped container succeeds.
    #[wasm_bindgen(js_name = stopContainer, unchecked_return_type = "Promise<void>")]
    pub fn stop_container(
        &self,
        id: String,
        #[wasm_bindgen(unchecked_param_type = "StopOptions")] options: JsValue,
    ) -> Promise {
        let o: Stop = match js::options(&options) {
            Ok(o) => o,
            Err(e) => return Promise::reject(&e),
        };
        let options = containers::StopOptions {
            signal: o.signal,
            timeout: o.timeout,
        };
        self.no_content(move |f| containers::stop_request(f, &id, &options))
    }

    /// `POST /containers/{id}/restart`.
    #[wasm_bindgen(js_name = restartContainer, unchecked_return_type = "Promise<void>")]
    pub fn restart_container(
        &self,
        id: String,
        #[wasm_bindgen(unchecked_param_type = "StopOptions")] options: JsValue,
    ) -> Promise {
        let o: Stop = match js::options(&options) {
            Ok(o) => o,
            Err(e) => return Promise::reject(&e),
        };
        let options = containers::StopOptions {
            signal: o.signal,
            timeout: o.timeout,
        };
        self.no_content(move |f| containers::restart_request(f, &id, &options))
    }

    /// `POST /containers/{id}/kill` with `signal` (`SIGKILL` without it).
    #[wasm_bindgen(js_name = killContainer, unchecked_return_type = "Promise<void>")]
    pub fn kill_container(&self, id: String, signal: Option<String>) -> Promise {
        self.no_content(move |f| containers::kill_request(f, &id, signal.as_deref()))
    }

    /// `POST /containers/{id}/pause`.
    #[wasm_bindgen(js_name = pauseContainer, unchecked_return_type = "Promise<void>")]
    pub fn pause_container(&self, id: String) -> Promise {
        self.no_content(move |f| containers::pause_request(f, &id))
    }

    /// `POST /containers/{id}/unpause`.
    #[wasm_bindgen(js_name = unpauseContainer, unchecked_return_type = "Promise<void>")]
    pub fn unpause_container(&self, id: String) -> Promise {
        self.no_content(move |f| containers::unpause_request(f, &id))
    }

    /// `POST /containers/{id}/wait` until `condition` (`not-running`, `next-exit`, `removed`); resolves
    /// to `{StatusCode}`.
    #[wasm_bindgen(js_name = waitContainer, unchecked_return_type = "Promise<{StatusCode: number}>")]
    pub fn wait_container(&self, id: String, condition: Option<String>) -> Promise {
        let condition = match condition.as_deref().map(str::parse::<WaitCondition>) {
            Some(Err(e)) => return Promise::reject(&js::usage(&e.to_string())),
            Some(Ok(c)) => Some(c),
            None => None,
        };
        self.json(move |f| containers::wait_request(f, &id, condition).map(as_js))
    }

    /// `DELETE /containers/{id}`.
    #[wasm_bindgen(js_name = removeContainer, unchecked_return_type = "Promise<void>")]
    pub fn remove_container(
        &self,
        id: String,
        #[wasm_bindgen(unchecked_param_type = "RemoveContainerOptions")] options: JsValue,
    ) -> Promise {
        let o: RemoveContainer = match js::options(&options) {
            Ok(o) => o,
            Err(e) => return Promise::reject(&e),
        };
        let options = containers::RemoveOptions {
            force: o.force,
            volumes: o.volumes,
        };
        self.no_content(move |f| containers::remove_request(f, &id, &options))
    }

    /// `GET /images/json`.
    #[wasm_bindgen(js_name = listImages, unchecked_return_type = "Promise<any[]>")]
    pub fn list_images(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ListImagesOptions")] options: JsValue,
    ) -> Promise {
        let o: ListImages = match js::options(&options) {
            Ok(o) => o,
            Err(e) => return Promise::reject(&e),
        };
        let options = images::ListOptions {
            all: o.all,
            filters: js::filters(&o.filters),
        };
        self.json(move |f| Ok(as_js(images::list_request(f, &options))))
    }

    /// `GET /images/{name}/json`.
    #[wasm_bindgen(js_name = inspectImage, unchecked_return_type = "Promise<any>")]
    pub fn inspect_image(&self, name: String) -> Promise {
        self.json(move |f| images::inspect_request(f, &name).map(as_js))
    }

    /// `DELETE /images/{name}`; resolves to what was untagged and deleted.
    #[wasm_bindgen(js_name = removeImage, unchecked_return_type = "Promise<any[]>")]
    pub fn remove_image(
        &self,
        name: String,
        #[wasm_bindgen(unchecked_param_type = "RemoveImageOptions")] options: JsValue,
    ) -> Promise {
        let o: RemoveImage = match js::options(&options) {
            Ok(o) => o,
            Err(e) => return Promise::reject(&e),
        };
        let options = images::RemoveOptions {
            force: o.force,
            noprune: o.noprune,
        };
        self.json(move |f| images::remove_request(f, &name, &options).map(as_js))
    }

    /// `POST /containers/{id}/exec` with `config` (Docker's exec config: `Cmd`, `Tty`, `Env`...), sent
    /// as given; resolves to `{Id}`.
    #[wasm_bindgen(js_name = createExec, unchecked_return_type = "Promise<{Id: string}>")]
    pub fn create_exec(&self, container: String, config: JsValue) -> Promise {
        let config: serde_json::Value = match js::options(&config) {
            Ok(c) => c,
            Err(e) => return Promise::reject(&e),
        };
        self.json(move |f| exec::create_request_json(f, &container, &config).map(as_js))
    }

    /// `GET /exec/{id}/json`: `Running`, `ExitCode` (null until it ended)...
    #[wasm_bindgen(js_name = inspectExec, unchecked_return_type = "Promise<any>")]
    pub fn inspect_exec(&self, id: String) -> Promise {
        self.json(move |f| exec::inspect_request(f, &id).map(as_js))
    }

    /// `POST /exec/{id}/resize`: the exec's TTY size.
    #[wasm_bindgen(js_name = resizeExec, unchecked_return_type = "Promise<void>")]
    pub fn resize_exec(&self, id: String, height: u32, width: u32) -> Promise {
        self.no_content(move |f| exec::resize_request(f, &id, height, width))
    }

    /// Starts the exec `id` (made with `createExec`) over `GET /exec/{id}/start/ws` and resolves to its
    /// session once the daemon accepted the WebSocket (with a token, through a one-use ticket). Closing
    /// the session before the process ended kills it.
    #[wasm_bindgen(js_name = execSession, unchecked_return_type = "Promise<ExecSession>")]
    pub fn exec_session(
        &self,
        id: String,
        #[wasm_bindgen(unchecked_param_type = "ExecSessionOptions")] options: JsValue,
    ) -> Promise {
        let o: ExecSessionOpts = match js::options(&options) {
            Ok(o) => o,
            Err(e) => return Promise::reject(&e),
        };
        let client = self.client.clone();
        let base_url = self.base_url.clone();
        promise(async move {
            let tty = match o.tty {
                Some(tty) => tty,
                None => client
                    .call(|f| exec::inspect_request(f, &id))
                    .await
                    .map_err(|e| js::error(&e))?
                    .process_config
                    .and_then(|p| p.tty)
                    .unwrap_or(false),
            };
            let size = o.h.zip(o.w);
            let url = session_url(&client, &base_url, |f| exec_ws_request(f, &id, size)).await?;
            Ok(ExecSession::open(&url, tty, Route::Exec).await?.into())
        })
    }

    /// Attaches to container `id` over `GET /containers/{id}/attach/ws`: resolves to a session whose
    /// `write` is the container's stdin (with `stdin`) and whose output is its stdout and stderr as asked
    /// (unmultiplexed); it ends with the container's output, or when the detach keys are typed into a
    /// TTY. Closing it leaves the container running.
    #[wasm_bindgen(js_name = attachSession, unchecked_return_type = "Promise<ExecSession>")]
    pub fn attach_session(
        &self,
        id: String,
        #[wasm_bindgen(unchecked_param_type = "AttachSessionOptions")] options: JsValue,
    ) -> Promise {
        let o: AttachSessionOpts = match js::options(&options) {
            Ok(o) => o,
            Err(e) => return Promise::reject(&e),
        };
        let options = AttachOptions {
            logs: false,
            stream: true,
            stdin: o.stdin,
            stdout: o.stdout.unwrap_or(true),
            stderr: o.stderr.unwrap_or(true),
            detach_keys: o.detach_keys,
        };
        let client = self.client.clone();
        let base_url = self.base_url.clone();
        promise(async move {
            let url =
                session_url(&client, &base_url, |f| attach_ws_request(f, &id, &options)).await?;
            Ok(ExecSession::open(&url, true, Route::Attach).await?.into())
        })
    }

    /// `POST /containers/{id}/resize`: the container's TTY size.
    #[wasm_bindgen(js_name = resizeContainer, unchecked_return_type = "Promise<void>")]
    pub fn resize_container(&self, id: String, height: u32, width: u32) -> Promise {
        self.no_content(move |f| containers::resize_request(f, &id, height, width))
    }

    /// `GET /containers/{id}/logs`, each piece as it arrives: resolves (once the daemon answered) to an
    /// async iterator of `LogEntry`; with `follow`, it ends when the container does, or when the loop
    /// is left (`break`), which closes the request.
    #[wasm_bindgen(unchecked_return_type = "Promise<LogStream & AsyncIterable<LogEntry>>")]
    pub fn logs(
        &self,
        id: String,
        #[wasm_bindgen(unchecked_param_type = "LogsOptions")] options: JsValue,
    ) -> Promise {
        let o: Logs = match js::options(&options) {
            Ok(o) => o,
            Err(e) => return Promise::reject(&e),
        };
        let options = LogsOptions {
            stdout: o.stdout,
            stderr: o.stderr,
            since: o.since,
            until: o.until,
            timestamps: o.timestamps,
            tail: o.tail,
            follow: o.follow,
        };
        let client = self.client.clone();
        promise(async move {
            let stream = client
                .logs_stream(&id, &options, o.tty)
                .await
                .map_err(|e| js::error(&e))?;
            Ok(LogStream::wrap(stream))
        })
    }

    /// `GET /containers/{id}/stats?stream=1`: a sample (Docker's stats JSON: `cpu_stats`,
    /// `memory_stats`...) a second, each as it comes, until the loop is left.
    #[wasm_bindgen(unchecked_return_type = "Promise<MessageStream & AsyncIterable<any>>")]
    pub fn stats(&self, id: String) -> Promise {
        let client = self.client.clone();
        promise(async move {
            let stream = client
                .stats_stream::<serde_json::Value>(&id)
                .await
                .map_err(|e| js::error(&e))?;
            Ok(MessageStream::wrap(stream))
        })
    }

    /// `GET /containers/{id}/stats?stream=0`: one sample, the daemon taking two a second apart so that
    /// CPU % can be computed; with `oneShot`, the first at once.
    #[wasm_bindgen(js_name = statsOnce, unchecked_return_type = "Promise<any>")]
    pub fn stats_once(&self, id: String, one_shot: Option<bool>) -> Promise {
        self.json(move |f| containers::stats_request(f, &id, one_shot.unwrap_or(false)).map(as_js))
    }

    /// `GET /events`, each event (the daemon's JSON) as it happens: resolves to an async iterator that
    /// ends at `until`, or when the loop is left.
    #[wasm_bindgen(unchecked_return_type = "Promise<MessageStream & AsyncIterable<any>>")]
    pub fn events(
        &self,
        #[wasm_bindgen(unchecked_param_type = "EventsOptions")] options: JsValue,
    ) -> Promise {
        let o: Events = match js::options(&options) {
            Ok(o) => o,
            Err(e) => return Promise::reject(&e),
        };
        let options = EventsOptions {
            since: o.since,
            until: o.until,
            filters: js::filters(&o.filters),
        };
        let client = self.client.clone();
        promise(async move {
            let stream = client
                .events::<serde_json::Value>(&options)
                .await
                .map_err(|e| js::error(&e))?;
            Ok(MessageStream::wrap(stream))
        })
    }
}

impl WharfClient {
    /// A promise of the daemon's JSON answer to the request `build` makes.
    fn json(
        &self,
        build: impl FnOnce(&RequestFactory) -> Result<TypedRequest<JsJson>, Error> + 'static,
    ) -> Promise {
        let client = self.client.clone();
        promise(async move { client.call(build).await.map_err(|e| js::error(&e)) })
    }

    /// A promise of nothing, for the request `build` makes.
    fn no_content(
        &self,
        build: impl FnOnce(&RequestFactory) -> Result<TypedRequest<NoContent>, Error> + 'static,
    ) -> Promise {
        let client = self.client.clone();
        promise(async move {
            client.call(build).await.map_err(|e| js::error(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }
}
