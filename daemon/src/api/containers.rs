//! Container routes — moby's `api/server/router/container`: create, list, inspect, start, stop, restart,
//! kill, wait, pause, unpause, rename, update, top, logs, attach, resize, remove, prune.
//!
//! `attach` takes the connection over (HTTP upgrade to `tcp`, as the docker CLI asks) and streams the
//! container's output in stdcopy frames (raw with a TTY), and the client's input to its stdin.

use std::convert::Infallible;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::{Path, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use bytes::Bytes;
use futures_util::StreamExt;
use http::header::CONTENT_TYPE;
use http::StatusCode;
use serde_json::{json, Value};
use wharf_client_core::api::containers::{UpdateBody, WaitCondition};
use wharf_client_core::detach::{self, DetachScanner};
use wharf_client_core::stdcopy::{self, stream_media_type};
use wharf_client_core::ErrorKind;

use super::hijack;
use super::params::Params;
use super::version::RequestedVersion;
use super::{invalid_json, json_bytes};
use crate::containers::enum_values::bad_enum_value;
use crate::error::Error;
use crate::events::parse_event_time;
use crate::logs::{logs_body, LogQuery, Source};
use crate::runtime::query::{has_label, LIST_FILTERS};
use crate::runtime::signal::{self, Signal};
use crate::runtime::{CreateRequest, ListOptions, Runtime};
use crate::state::AppState;

/// The container routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/containers/create", post(create))
        .route("/containers/json", get(list))
        .route("/containers/prune", post(prune))
        .route("/containers/{id}/json", get(inspect))
        .route("/containers/{id}/top", get(top))
        .route("/containers/{id}/logs", get(logs))
        .route("/containers/{id}/start", post(start))
        .route("/containers/{id}/stop", post(stop))
        .route("/containers/{id}/restart", post(restart))
        .route("/containers/{id}/kill", post(kill))
        .route("/containers/{id}/wait", post(wait))
        .route("/containers/{id}/pause", post(pause))
        .route("/containers/{id}/unpause", post(unpause))
        .route("/containers/{id}/rename", post(rename))
        .route("/containers/{id}/update", post(update))
        .route("/containers/{id}/attach", post(attach))
        .route("/containers/{id}/resize", post(resize))
        .route("/containers/{id}", delete(remove))
}

/// An optional integer parameter (`t`, `tail`...), 400 when it is not one.
fn int_param(p: &Params, key: &str) -> Result<Option<i64>, Error> {
    match p.get(key) {
        "" => Ok(None),
        v => v
            .parse()
            .map(Some)
            .map_err(|_| Error::invalid(format!("strconv.Atoi: parsing {v:?}: invalid syntax"))),
    }
}

/// A terminal's `h` and `w`: 400 when one is missing or not a number (as dockerd's `strconv.Atoi`
/// says), 0 when out of range.
pub(super) fn terminal_size(p: &Params) -> Result<(u32, u32), Error> {
    let size = |key| match int_param(p, key)? {
        Some(v) => Ok(u32::try_from(v).unwrap_or(0)),
        None => Err(Error::invalid("strconv.Atoi: parsing \"\": invalid syntax")),
    };
    Ok((size("h")?, size("w")?))
}

/// The `signal` parameter of stop, restart and kill: `None` when absent or empty.
fn signal_param(p: &Params) -> Result<Option<Signal>, Error> {
    Some(p.get("signal"))
        .filter(|s| !s.is_empty())
        .map(signal::parse)
        .transpose()
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// 204 when the operation changed something, dockerd's 304 when the container was already there.
fn changed_or_not_modified(changed: bool) -> Response {
    if changed {
        no_content()
    } else {
        StatusCode::NOT_MODIFIED.into_response()
    }
}

async fn create(rt: Runtime, p: Params, request: Request) -> Result<Response, Error> {
    let bytes = json_bytes(request).await?;
    // An unknown value of a field the models type as an enum is worded as dockerd words it.
    let body =
        serde_json::from_slice::<CreateRequest>(&bytes).map_err(|e| {
            match bad_enum_value(&bytes) {
                Some(message) if e.is_data() => Error::invalid(message),
                _ => invalid_json(&e),
            }
        })?;
    let name = Some(p.get("name")).filter(|n| !n.is_empty());
    let (id, warnings) = rt.create(name, body).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"Id": id, "Warnings": warnings})),
    )
        .into_response())
}

async fn list(rt: Runtime, p: Params) -> Result<Response, Error> {
    let options = ListOptions {
        all: p.bool("all"),
        limit: int_param(&p, "limit")?
            .and_then(|l| usize::try_from(l).ok())
            .unwrap_or(0),
        size: p.bool("size"),
        filters: p.filters(LIST_FILTERS)?,
    };
    Ok(Json(rt.list(&options).await?).into_response())
}

async fn inspect(rt: Runtime, Path(id): Path<String>, p: Params) -> Result<Response, Error> {
    let size = p.bool("size");
    let mut inspect = serde_json::to_value(rt.inspect(&id, size).await?)
        .map_err(|e| Error::new(ErrorKind::System, e.to_string()))?;
    crate::containers::inspect_json::add_dockerd_keys(&mut inspect);
    Ok(Json(inspect).into_response())
}

async fn top(rt: Runtime, Path(id): Path<String>, p: Params) -> Result<Response, Error> {
    Ok(Json(rt.top(&id, p.get("ps_args")).await?).into_response())
}

async fn logs(
    rt: Runtime,
    Extension(RequestedVersion(version)): Extension<RequestedVersion>,
    Path(id): Path<String>,
    p: Params,
) -> Result<Response, Error> {
    let now = SystemTime::now();
    let time =
        |key: &str| parse_event_time(p.get(key), now).map_err(|e| Error::invalid(e.to_string()));
    let tail = match p.get("tail") {
        "" | "all" => None,
        t => match t.parse::<i64>() {
            Ok(n) if n >= 0 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            _ => None,
        },
    };
    let q = LogQuery {
        stdout: p.bool("stdout"),
        stderr: p.bool("stderr"),
        since: time("since")?,
        until: time("until")?,
        timestamps: p.bool("timestamps"),
        tail,
        follow: p.bool("follow"),
    };
    if !q.stdout && !q.stderr {
        return Err(Error::invalid(
            "Bad parameters: you must choose at least one stream",
        ));
    }
    let (entries, tty) = rt.logs(&id, q)?;
    Ok((
        [(CONTENT_TYPE, stream_media_type(version, tty))],
        Body::from_stream(logs_body(entries, q.timestamps, tty).map(Ok::<_, Infallible>)),
    )
        .into_response())
}

/// Runs a state change to its end even when the client goes away meanwhile (a dropped connection drops
/// the handler's future): a stop waiting out its grace period, a start between its network and its task
/// must not stop half-way because a browser's connection was reset.
async fn to_the_end<T: Send + 'static>(
    change: impl std::future::Future<Output = Result<T, Error>> + Send + 'static,
) -> Result<T, Error> {
    tokio::spawn(change).await.map_err(Error::system)?
}

async fn start(rt: Runtime, Path(id): Path<String>) -> Result<Response, Error> {
    let started = to_the_end(async move { rt.start(&id).await }).await?;
    Ok(changed_or_not_modified(started))
}

async fn stop(rt: Runtime, Path(id): Path<String>, p: Params) -> Result<Response, Error> {
    let (signal, timeout) = (signal_param(&p)?, int_param(&p, "t")?);
    let stopped = to_the_end(async move { rt.stop(&id, signal, timeout).await }).await?;
    Ok(changed_or_not_modified(stopped))
}

async fn restart(rt: Runtime, Path(id): Path<String>, p: Params) -> Result<Response, Error> {
    let (signal, timeout) = (signal_param(&p)?, int_param(&p, "t")?);
    to_the_end(async move { rt.restart(&id, signal, timeout).await }).await?;
    Ok(no_content())
}

async fn kill(rt: Runtime, Path(id): Path<String>, p: Params) -> Result<Response, Error> {
    let sig = signal_param(&p)?;
    // Every failure past the signal's parsing is worded as dockerd's router wraps them.
    rt.kill(&id, sig)
        .await
        .map_err(|e| e.context(format_args!("Cannot kill container: {id}")))?;
    Ok(no_content())
}

/// Sends the headers at once (the docker CLI waits for them before it starts the container), then the
/// answer when the condition is met.
async fn wait(rt: Runtime, Path(id): Path<String>, p: Params) -> Result<Response, Error> {
    let condition = match p.get("condition") {
        "" => WaitCondition::default(),
        c => c
            .parse::<WaitCondition>()
            .map_err(|e| Error::invalid(e.to_string()))?,
    };
    let done = rt.wait(&id, condition)?;
    let body = futures_util::stream::once(async move {
        let status = done.await;
        // dockerd answers no error even for a run that failed to start: the start's answer has it.
        let mut text = json!({"Error": Value::Null, "StatusCode": status.exit_code}).to_string();
        text.push('\n');
        Ok::<_, std::convert::Infallible>(Bytes::from(text))
    });
    Ok((
        [(CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response())
}

async fn pause(rt: Runtime, Path(id): Path<String>) -> Result<Response, Error> {
    rt.pause(&id).await?;
    Ok(no_content())
}

async fn unpause(rt: Runtime, Path(id): Path<String>) -> Result<Response, Error> {
    rt.unpause(&id).await?;
    Ok(no_content())
}

async fn rename(rt: Runtime, Path(id): Path<String>, p: Params) -> Result<Response, Error> {
    rt.rename(&id, p.get("name"))?;
    Ok(no_content())
}

/// `POST /containers/{id}/update`: new limits and restart policy; `{"Warnings": [...]}` (null when none,
/// as dockerd's).
async fn update(rt: Runtime, Path(id): Path<String>, request: Request) -> Result<Response, Error> {
    let bytes = json_bytes(request).await?;
    let body = serde_json::from_slice::<UpdateBody>(&bytes).map_err(|e| {
        // The fields are a host config's: an unknown restart policy is worded as create words it.
        let as_create = [&b"{\"HostConfig\":"[..], &bytes, b"}"].concat();
        match bad_enum_value(&as_create) {
            Some(message) if e.is_data() => Error::invalid(message),
            _ => invalid_json(&e),
        }
    })?;
    let warnings = rt.update_container(&id, body).await?;
    let warnings = (!warnings.is_empty()).then_some(warnings);
    Ok(Json(json!({ "Warnings": warnings })).into_response())
}

/// `POST /containers/{id}/resize?h=&w=`: the size of a running container's terminal.
async fn resize(rt: Runtime, Path(id): Path<String>, p: Params) -> Result<Response, Error> {
    let (height, width) = terminal_size(&p)?;
    rt.resize(&id, height, width).await?;
    Ok(StatusCode::OK.into_response())
}

async fn remove(rt: Runtime, Path(id): Path<String>, p: Params) -> Result<Response, Error> {
    if p.bool("link") {
        return Err(Error::invalid("legacy links are not supported"));
    }
    let (force, volumes) = (p.bool("force"), p.bool("v"));
    to_the_end(async move { rt.remove_with(&id, force, volumes).await }).await?;
    Ok(no_content())
}

async fn prune(rt: Runtime, p: Params) -> Result<Response, Error> {
    let f = p.filters(&["label", "label!", "until"])?;
    let now = SystemTime::now();
    let until = match f.get("until").first() {
        Some(u) => parse_event_time(u, now).map_err(|e| Error::invalid(e.to_string()))?,
        None => None,
    };
    let until_nanos = until.map(crate::timefmt::unix_nanos);
    let (labels, not_labels) = (f.get("label"), f.get("label!"));
    let report = rt
        .prune(|r| {
            !labels.iter().all(|l| has_label(r, l))
                || not_labels.iter().any(|l| has_label(r, l))
                || until_nanos.is_some_and(|u| i64::try_from(r.created).unwrap_or(i64::MAX) > u)
        })
        .await?;
    let deleted = if report.deleted.is_empty() {
        Value::Null
    } else {
        json!(report.deleted)
    };
    Ok(
        Json(json!({"ContainersDeleted": deleted, "SpaceReclaimed": report.reclaimed}))
            .into_response(),
    )
}

/// `POST /containers/{id}/attach`: upgrades to a raw stream when the client asks (the docker CLI does),
/// else answers the output as a streamed body.
async fn attach(
    rt: Runtime,
    Extension(RequestedVersion(version)): Extension<RequestedVersion>,
    Path(id): Path<String>,
    p: Params,
    mut request: Request,
) -> Result<Response, Error> {
    if !p.bool("stream") && !p.bool("logs") {
        return Err(Error::invalid(
            "Bad parameters: you must choose at least one stream",
        ));
    }
    let want_stdin = p.bool("stdin");
    let want = (p.bool("stdout"), p.bool("stderr"));
    let keys = detach_keys(p.get("detachKeys"))?;
    let record = rt.store().get(&id)?;
    let attached = rt.attach(&record.id)?;
    let tty = attached.tty;
    let detach = DetachScanner::new(if tty { keys } else { Vec::new() });
    let media = stream_media_type(version, tty);
    let frames = output_frames(attached.output, want, tty);
    if !hijack::wants_upgrade(&request) {
        return Ok(([(CONTENT_TYPE, media)], Body::from_stream(frames)).into_response());
    }
    let on_upgrade = hyper::upgrade::on(&mut request);
    let container = record.id.clone();
    let stdin_once = attached.stdin_once;
    let input = want_stdin.then_some({
        move |chunk: Option<Bytes>| {
            let (rt, container) = (rt.clone(), container.clone());
            async move {
                match chunk {
                    Some(chunk) => rt.write_stdin(&container, Some(chunk), false).await.is_ok(),
                    None => {
                        let _ = rt.write_stdin(&container, None, stdin_once).await;
                        false
                    }
                }
            }
        }
    });
    let output = futures_util::StreamExt::map(frames, |frame| match frame {
        Ok(frame) => frame,
        Err(never) => match never {},
    });
    tokio::spawn(hijack::serve(on_upgrade, output, input, detach));
    Ok(hijack::switching_protocols(media))
}

/// The detach keys an attach names (`detachKeys`; empty for the default ones). As with dockerd, they
/// apply only to a process with a TTY: without one, input is data, whatever its bytes.
pub(super) fn detach_keys(spec: &str) -> Result<Vec<u8>, Error> {
    detach::keys_or_default(Some(spec))
        .map_err(|_| Error::invalid(format!("Invalid detach keys ({spec}) provided")))
}

/// The attached output as the wire carries it: stdcopy frames, or raw bytes with a TTY; only the streams
/// asked for.
pub(super) fn output_frames(
    output: tokio::sync::mpsc::Receiver<crate::runtime::io::Chunk>,
    (stdout, stderr): (bool, bool),
    tty: bool,
) -> impl futures_util::Stream<Item = Result<Bytes, std::convert::Infallible>> + Send + 'static {
    futures_util::stream::unfold(output, move |mut output| async move {
        loop {
            let (source, data) = output.recv().await?;
            let wanted = match source {
                Source::Stdout => stdout,
                Source::Stderr => stderr,
            };
            if !wanted {
                continue;
            }
            return Some((Ok(wire_frame(source.std_stream(), data, tty)), output));
        }
    })
}

/// Output as an attached stream carries it: a stdcopy frame of `stream`, or the raw bytes with a TTY.
pub(super) fn wire_frame(stream: stdcopy::StdStream, data: Bytes, tty: bool) -> Bytes {
    if tty {
        data
    } else {
        Bytes::from(stdcopy::encode(stream, &data))
    }
}
