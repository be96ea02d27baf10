//! Container endpoints — moby's `api/server/router/container`: create, list, inspect, start, stop,
//! restart, kill, wait, pause, unpause, rename, top, logs, stats, resize, update, remove, prune.
//!
//! Parameters go as moby's client sends them: flags as `1` when set and left out otherwise, optional values
//! only when given, `signal` of stop and restart only to daemons of API 1.42 or later and `condition` of
//! wait only from 1.30 (older ones do not read them). Names and IDs are trimmed, refused when blank and
//! escaped into the path.

use std::str::FromStr;

use http::Method;

use super::{Json, NoContent, Object, TypedRequest};
use crate::error::Error;
use crate::models::{
    ContainerCreateBody, ContainerCreateResponse, ContainerInspectResponse, ContainerPruneResponse,
    ContainerSummary, ContainerTopResponse, ContainerUpdateResponse, ContainerWaitResponse,
    Resources, RestartPolicy,
};
use crate::query::{Filters, Query};
use crate::request::{Request, RequestFactory};
use crate::response::Response;
use crate::stats::ContainerStatsResponse;
use crate::stdcopy::Frame;
use crate::stream::{Incremental, LogFraming, LogsDecoder};
use crate::version::ApiVersion;

/// The first API version whose stop and restart read `signal`.
const STOP_SIGNAL_SINCE: ApiVersion = ApiVersion::new(1, 42);
/// The first API version whose wait reads `condition`.
const WAIT_CONDITION_SINCE: ApiVersion = ApiVersion::new(1, 30);

/// Whether the agreed version (the newest when none is set yet) is at least `since`.
fn speaks(factory: &RequestFactory, since: ApiVersion) -> bool {
    factory.version().is_none_or(|v| v >= since)
}

/// Parameters of `POST /containers/create`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreateOptions {
    /// `name`: the container's name (`/?[a-zA-Z0-9][a-zA-Z0-9_.-]+`); the daemon makes one up without it.
    pub name: Option<String>,
    /// `platform`: `os[/arch[/variant]]` of the image to use.
    pub platform: Option<String>,
}

/// `POST /containers/create`, `body` as its JSON body. Its answer: `{"Id", "Warnings"}`.
pub fn create_request(
    factory: &RequestFactory,
    body: &ContainerCreateBody,
    options: &CreateOptions,
) -> Result<TypedRequest<Json<ContainerCreateResponse>>, Error> {
    create(factory, body, options)
}

/// [`create_request`] with a body of JSON standing for a [`ContainerCreateBody`], passed on as given
/// for the daemon to judge: a browser page's object (the model's decoder would grow client-wasm's
/// download by a third, and drop fields newer than the models). The same bytes as the model's.
pub fn create_request_json(
    factory: &RequestFactory,
    body: &serde_json::Value,
    options: &CreateOptions,
) -> Result<TypedRequest<Json<ContainerCreateResponse>>, Error> {
    create(factory, body, options)
}

fn create(
    factory: &RequestFactory,
    body: &impl serde::Serialize,
    options: &CreateOptions,
) -> Result<TypedRequest<Json<ContainerCreateResponse>>, Error> {
    let mut query = Query::new();
    query
        .optional("name", options.name.as_deref())
        .optional("platform", options.platform.as_deref());
    factory
        .build_json(Method::POST, "/containers/create", &query, body)
        .map(TypedRequest::new)
}

/// Parameters of `GET /containers/json`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// `all`: stopped containers too.
    pub all: bool,
    /// `limit`: the most recently created this many, stopped ones included.
    pub limit: Option<u32>,
    /// `size`: compute `SizeRw` and `SizeRootFs` (slow).
    pub size: bool,
    /// `filters`: `status`, `label`, `name`, `id`, `ancestor`, `before`, `since`, `exited`...
    pub filters: Filters,
}

/// `GET /containers/json`.
pub fn list_request(
    factory: &RequestFactory,
    options: &ListOptions,
) -> TypedRequest<Json<Vec<ContainerSummary>>> {
    let mut query = Query::new();
    query
        .flag("all", options.all)
        .optional("limit", options.limit)
        .flag("size", options.size)
        .filters(&options.filters);
    TypedRequest::new(factory.build(Method::GET, "/containers/json", &query))
}

/// `GET /containers/{id}/json`; `size` asks for `SizeRw` and `SizeRootFs`.
pub fn inspect_request(
    factory: &RequestFactory,
    id: &str,
    size: bool,
) -> Result<TypedRequest<Json<ContainerInspectResponse>>, Error> {
    let mut query = Query::new();
    query.flag("size", size);
    Object::Container.request(factory, Method::GET, id, "/json", &query)
}

/// `POST /containers/{id}/start`. Its answer: [`NoContent`] (304 when it was running already).
pub fn start_request(factory: &RequestFactory, id: &str) -> Result<TypedRequest<NoContent>, Error> {
    Object::Container.request(factory, Method::POST, id, "/start", &Query::new())
}

/// Parameters of `POST /containers/{id}/stop` and `/restart`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StopOptions {
    /// `signal` to stop with instead of the container's stop signal; sent from API 1.42 only, as moby's
    /// client does.
    pub signal: Option<String>,
    /// `t`: seconds to wait before killing; `-1` waits for ever. The container's own timeout without it.
    pub timeout: Option<i64>,
}

fn stop_query(factory: &RequestFactory, options: &StopOptions) -> Query {
    let mut query = Query::new();
    query.optional("t", options.timeout);
    if speaks(factory, STOP_SIGNAL_SINCE) {
        query.optional("signal", options.signal.as_deref());
    }
    query
}

/// `POST /containers/{id}/stop`. Its answer: [`NoContent`] (304 when it was not running).
pub fn stop_request(
    factory: &RequestFactory,
    id: &str,
    options: &StopOptions,
) -> Result<TypedRequest<NoContent>, Error> {
    let query = stop_query(factory, options);
    Object::Container.request(factory, Method::POST, id, "/stop", &query)
}

/// `POST /containers/{id}/restart`. Its answer: [`NoContent`].
pub fn restart_request(
    factory: &RequestFactory,
    id: &str,
    options: &StopOptions,
) -> Result<TypedRequest<NoContent>, Error> {
    let query = stop_query(factory, options);
    Object::Container.request(factory, Method::POST, id, "/restart", &query)
}

/// `POST /containers/{id}/kill`, with `signal` (a name such as `SIGTERM` or a number; `SIGKILL` without
/// it). Its answer: [`NoContent`].
pub fn kill_request(
    factory: &RequestFactory,
    id: &str,
    signal: Option<&str>,
) -> Result<TypedRequest<NoContent>, Error> {
    let mut query = Query::new();
    query.optional("signal", signal);
    Object::Container.request(factory, Method::POST, id, "/kill", &query)
}

/// What `POST /containers/{id}/wait` waits for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum WaitCondition {
    /// `not-running`, the daemon's default: returns at once when the container is not running.
    #[default]
    NotRunning,
    /// `next-exit`: the next exit, even of a container not running yet.
    NextExit,
    /// `removed`: its removal.
    Removed,
}

impl WaitCondition {
    /// The parameter's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotRunning => "not-running",
            Self::NextExit => "next-exit",
            Self::Removed => "removed",
        }
    }
}

/// A `condition` that names none of [`WaitCondition`]'s, worded as wharfd answers it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid condition: \"{0}\"")]
pub struct InvalidWaitCondition(pub String);

impl FromStr for WaitCondition {
    type Err = InvalidWaitCondition;

    /// The parameter's value as [`as_str`](Self::as_str) spells it. (An absent parameter means the
    /// [`default`](Self::default); that is the reader's to decide.)
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::NotRunning, Self::NextExit, Self::Removed]
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| InvalidWaitCondition(s.to_owned()))
    }
}

/// `POST /containers/{id}/wait`; `condition` is sent from API 1.30 only, as moby's client does.
///
/// The daemon sends its headers at once and the answer when the condition is met: a transport reading
/// whole answers waits that long.
pub fn wait_request(
    factory: &RequestFactory,
    id: &str,
    condition: Option<WaitCondition>,
) -> Result<TypedRequest<Json<ContainerWaitResponse>>, Error> {
    let mut query = Query::new();
    if speaks(factory, WAIT_CONDITION_SINCE) {
        query.optional("condition", condition.map(WaitCondition::as_str));
    }
    Object::Container.request(factory, Method::POST, id, "/wait", &query)
}

/// `POST /containers/{id}/pause`. Its answer: [`NoContent`].
pub fn pause_request(factory: &RequestFactory, id: &str) -> Result<TypedRequest<NoContent>, Error> {
    Object::Container.request(factory, Method::POST, id, "/pause", &Query::new())
}

/// `POST /containers/{id}/unpause`. Its answer: [`NoContent`].
pub fn unpause_request(
    factory: &RequestFactory,
    id: &str,
) -> Result<TypedRequest<NoContent>, Error> {
    Object::Container.request(factory, Method::POST, id, "/unpause", &Query::new())
}

/// `POST /containers/{id}/rename?name=`. Its answer: [`NoContent`].
pub fn rename_request(
    factory: &RequestFactory,
    id: &str,
    new_name: &str,
) -> Result<TypedRequest<NoContent>, Error> {
    let mut query = Query::new();
    query.append("name", new_name);
    Object::Container.request(factory, Method::POST, id, "/rename", &query)
}

/// `POST /containers/{id}/resize?h=&w=`: the size of the container's TTY. Its answer: [`NoContent`].
pub fn resize_request(
    factory: &RequestFactory,
    id: &str,
    height: u32,
    width: u32,
) -> Result<TypedRequest<NoContent>, Error> {
    Object::Container.request(
        factory,
        Method::POST,
        id,
        "/resize",
        &super::exec::size_query(height, width),
    )
}

/// `GET /containers/{id}/top`, with `ps_args` (`-ef` without them) as one string, as `docker top` joins
/// its arguments.
pub fn top_request(
    factory: &RequestFactory,
    id: &str,
    ps_args: Option<&str>,
) -> Result<TypedRequest<Json<ContainerTopResponse>>, Error> {
    let mut query = Query::new();
    query.optional("ps_args", ps_args);
    Object::Container.request(factory, Method::GET, id, "/top", &query)
}

/// Parameters of `GET /containers/{id}/logs`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogsOptions {
    /// `stdout`: its output. The daemon refuses a request with neither stream.
    pub stdout: bool,
    /// `stderr`: its errors.
    pub stderr: bool,
    /// `since`: Unix time in seconds, possibly with a fraction (`1700000000.5`), sent as given. The docker
    /// CLI turns durations (`10m`) into one before sending; so must the caller, which knows the clock.
    pub since: Option<String>,
    /// `until`: as `since`.
    pub until: Option<String>,
    /// `timestamps`: an RFC 3339 timestamp before each line.
    pub timestamps: bool,
    /// `tail`: the last this many lines, or `all` (the default).
    pub tail: Option<String>,
    /// `follow`: keep streaming. The answer then ends when the container does: only a streaming
    /// transport can use it.
    pub follow: bool,
}

/// `GET /containers/{id}/logs`. Its answer is a stream: stdcopy frames without a TTY, raw bytes with one
/// ([`decode_logs`] for a whole answer, or a [`LogsDecoder`] fed as bytes arrive).
pub fn logs_request(
    factory: &RequestFactory,
    id: &str,
    options: &LogsOptions,
) -> Result<Request, Error> {
    let mut query = Query::new();
    query
        .flag("stdout", options.stdout)
        .flag("stderr", options.stderr)
        .optional("since", options.since.as_deref())
        .optional("until", options.until.as_deref())
        .flag("timestamps", options.timestamps)
        .optional("tail", options.tail.as_deref())
        .flag("follow", options.follow);
    Ok(factory.build(Method::GET, &Object::Container.path(id, "/logs")?, &query))
}

/// Decodes a whole answer to `GET /containers/{id}/logs` into frames.
///
/// Its framing is stdcopy when the daemon names the multiplexed media type (API 1.42 and later, only
/// without a TTY), else the container's `tty`'s: before 1.42 daemons name the raw media type for both
/// framings, so it says nothing (as the docker CLI, which goes by the TTY alone). Raw output comes back as
/// one stdout frame, an empty answer as none.
/// A frame of the daemon's own error stream ends the decoding with that error, as moby's `StdCopy` does.
pub fn decode_logs(route: &str, response: Response, tty: bool) -> Result<Vec<Frame>, Error> {
    let response = response.error_for_status(route)?;
    let framing = LogFraming::of(response.header("content-type"), None, tty);
    let mut decoder = LogsDecoder::new(route, framing);
    decoder.push(response.body);
    let mut frames = Vec::new();
    while let Some(frame) = decoder.next_item()? {
        frames.push(frame);
    }
    decoder.finish()?;
    Ok(frames)
}

/// `GET /containers/{id}/stats?stream=0`: one sample. The daemon takes two, a second apart, so that
/// `precpu_stats` is the first and CPU % means something; with `one_shot` (API 1.41 and later) it answers
/// the first at once, without `precpu_stats`. A container that does not run answers zeros.
pub fn stats_request(
    factory: &RequestFactory,
    id: &str,
    one_shot: bool,
) -> Result<TypedRequest<Json<ContainerStatsResponse>>, Error> {
    let mut query = Query::new();
    query.append("stream", "0");
    if one_shot {
        query.append("one-shot", "1");
    }
    Object::Container.request(factory, Method::GET, id, "/stats", &query)
}

/// `GET /containers/{id}/stats?stream=1`: a sample every second until the client goes away (or the
/// container is removed), each a [`ContainerStatsResponse`] on its own line: read them with a
/// [`JsonStreamDecoder`](crate::jsonstream::JsonStreamDecoder) as bytes arrive.
pub fn stats_stream_request(factory: &RequestFactory, id: &str) -> Result<Request, Error> {
    let mut query = Query::new();
    query.append("stream", "1");
    Ok(factory.build(Method::GET, &Object::Container.path(id, "/stats")?, &query))
}

/// Parameters of `DELETE /containers/{id}`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoveOptions {
    /// `force`: kill it first if it runs.
    pub force: bool,
    /// `v`: remove its anonymous volumes too.
    pub volumes: bool,
}

/// `DELETE /containers/{id}`. Its answer: [`NoContent`].
pub fn remove_request(
    factory: &RequestFactory,
    id: &str,
    options: &RemoveOptions,
) -> Result<TypedRequest<NoContent>, Error> {
    let mut query = Query::new();
    query
        .flag("force", options.force)
        .flag("v", options.volumes);
    Object::Container.request(factory, Method::DELETE, id, "", &query)
}

/// The body of `POST /containers/{id}/update` (moby's `container.UpdateConfig`): the resources to
/// change, at the top level as `docker update` sends them, and the restart policy. Fields left unset (or
/// 0) stay as they are.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UpdateBody {
    /// Memory, CPU, pids and block I/O limits.
    #[serde(flatten)]
    pub resources: Resources,
    /// The new restart policy; an empty name keeps the current one.
    #[serde(rename = "RestartPolicy", skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<RestartPolicy>,
}

/// `POST /containers/{id}/update`, `body` as its JSON body. Its answer: `{"Warnings"}`.
pub fn update_request(
    factory: &RequestFactory,
    id: &str,
    body: &UpdateBody,
) -> Result<TypedRequest<Json<ContainerUpdateResponse>>, Error> {
    Object::Container.json_request(factory, id, "/update", body)
}

/// `POST /containers/prune`, with `filters` (`label`, `label!`, `until`).
pub fn prune_request(
    factory: &RequestFactory,
    filters: &Filters,
) -> TypedRequest<Json<ContainerPruneResponse>> {
    let mut query = Query::new();
    query.filters(filters);
    TypedRequest::new(factory.build(Method::POST, "/containers/prune", &query))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::DUMMY_HOST;
    use crate::stdcopy::{encode, StdStream, MULTIPLEXED_MEDIA_TYPE, RAW_MEDIA_TYPE};
    use bytes::Bytes;
    use http::header::{HeaderMap, HeaderValue, CONTENT_TYPE};

    fn factory(version: Option<(u16, u16)>) -> RequestFactory {
        let mut f = RequestFactory::new(DUMMY_HOST, "").unwrap();
        if let Some((major, minor)) = version {
            f.set_version(ApiVersion::new(major, minor));
        }
        f
    }

    fn answer(content_type: Option<&'static str>, body: Vec<u8>) -> Response {
        let mut headers = HeaderMap::new();
        if let Some(ct) = content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        Response {
            status: 200,
            headers,
            body: Bytes::from(body),
        }
    }

    #[test]
    fn a_body_as_json_builds_the_request_its_model_builds() {
        let json = serde_json::json!({
            "Image": "busybox", "Cmd": ["sh", "-c", "echo hi"], "Tty": true,
            "HostConfig": {"Init": true}, "Labels": {"b": "2", "a": "1"}
        });
        let model: ContainerCreateBody = serde_json::from_value(json.clone()).unwrap();
        let options = CreateOptions {
            name: Some("web".into()),
            platform: None,
        };
        let f = factory(Some((1, 47)));
        let from_json = create_request_json(&f, &json, &options).unwrap().request;
        let from_model = create_request(&f, &model, &options).unwrap().request;
        assert_eq!(from_json.to_http1_bytes(), from_model.to_http1_bytes());
    }

    #[test]
    fn stop_sends_its_signal_only_to_daemons_that_read_it() {
        let options = StopOptions {
            signal: Some("SIGINT".into()),
            timeout: Some(3),
        };
        let old = stop_request(&factory(Some((1, 41))), "web", &options).unwrap();
        assert_eq!(old.request.path_and_query, "/v1.41/containers/web/stop?t=3");
        let new = restart_request(&factory(Some((1, 42))), "web", &options).unwrap();
        assert_eq!(
            new.request.path_and_query,
            "/v1.42/containers/web/restart?signal=SIGINT&t=3"
        );
        let unversioned = stop_request(&factory(None), "web", &options).unwrap();
        assert!(unversioned.request.path_and_query.contains("signal=SIGINT"));
    }

    #[test]
    fn wait_sends_its_condition_from_1_30() {
        let c = Some(WaitCondition::NextExit);
        let old = wait_request(&factory(Some((1, 29))), "w", c).unwrap();
        assert_eq!(old.request.path_and_query, "/v1.29/containers/w/wait");
        let new = wait_request(&factory(Some((1, 30))), "w", c).unwrap();
        assert_eq!(
            new.request.path_and_query,
            "/v1.30/containers/w/wait?condition=next-exit"
        );
    }

    #[test]
    fn wait_conditions_read_back_what_they_send() {
        for c in [
            WaitCondition::NotRunning,
            WaitCondition::NextExit,
            WaitCondition::Removed,
        ] {
            assert_eq!(c.as_str().parse::<WaitCondition>(), Ok(c));
        }
        let err = "soon".parse::<WaitCondition>().unwrap_err();
        assert_eq!(err.to_string(), "invalid condition: \"soon\"");
        assert!("".parse::<WaitCondition>().is_err());
    }

    #[test]
    fn blank_ids_are_refused_before_anything_is_built() {
        let f = factory(None);
        assert!(matches!(
            start_request(&f, "  "),
            Err(Error::InvalidArgument(_))
        ));
        assert!(remove_request(&f, "", &RemoveOptions::default()).is_err());
        assert_eq!(
            remove_request(&f, " web ", &RemoveOptions::default())
                .unwrap()
                .request
                .path_and_query,
            "/containers/web"
        );
    }

    #[test]
    fn logs_follow_the_multiplexed_media_type_then_the_tty() {
        let mut wire = encode(StdStream::Stdout, b"out\n");
        wire.extend(encode(StdStream::Stderr, b"err\n"));
        let frames = decode_logs("GET /l", answer(None, wire.clone()), false).unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].stream, StdStream::Stderr);
        let frames = decode_logs(
            "GET /l",
            answer(Some(MULTIPLEXED_MEDIA_TYPE), wire.clone()),
            true,
        )
        .unwrap();
        assert_eq!(frames.len(), 2);
        let raw = decode_logs("GET /l", answer(None, b"tty out".to_vec()), true).unwrap();
        assert_eq!(raw.len(), 1);
        assert_eq!(&raw[0].payload[..], b"tty out");
        // A daemon before API 1.42 names the raw type for stdcopy frames too: the TTY decides.
        let old = answer(Some(RAW_MEDIA_TYPE), wire.clone());
        let frames = decode_logs("GET /l", old, false).unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(&frames[0].payload[..], b"out\n");
        let raw = decode_logs(
            "GET /l",
            answer(Some(RAW_MEDIA_TYPE), b"\x01x".to_vec()),
            true,
        )
        .unwrap();
        assert_eq!(&raw[0].payload[..], b"\x01x");
        assert!(decode_logs("GET /l", answer(None, Vec::new()), true)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn logs_report_daemon_errors_and_broken_frames() {
        let mut wire = encode(StdStream::Stdout, b"out\n");
        wire.extend(encode(StdStream::SystemErr, b"disk gone"));
        let err = decode_logs("GET /l", answer(None, wire), false).unwrap_err();
        assert_eq!(err.to_string(), "error from daemon in stream: disk gone");
        let cut = encode(StdStream::Stdout, b"12345")[..10].to_vec();
        let err = decode_logs("GET /l", answer(None, cut), false).unwrap_err();
        assert!(matches!(err, Error::Stdcopy { .. }), "{err:?}");
    }
}
