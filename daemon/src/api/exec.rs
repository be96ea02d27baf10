//! Exec routes — moby's `api/server/router/container` exec part: create, start, inspect, resize.
//!
//! `start` without `Detach` streams the process's output back, as `attach` does: over the connection it
//! takes over when the client asks for an upgrade (the docker CLI does; then the client's input goes to
//! the process's stdin), else as a streamed body. As with dockerd, once the stream has begun a failure to
//! start the process is written into it as text, and the exec records exit code 126.

use axum::body::Body;
use axum::extract::{FromRequest, Path, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use bytes::Bytes;
use futures_util::StreamExt;
use http::header::CONTENT_TYPE;
use http::StatusCode;
use serde_json::Value;
use tokio::sync::mpsc;
use wharf_client_core::api::exec::ExecCreated;
use wharf_client_core::detach::DetachScanner;
use wharf_client_core::models::{ExecConfig, ExecStartConfig};
use wharf_client_core::stdcopy::{self, stream_media_type};
use wharf_client_core::ErrorKind;

use super::containers::{detach_keys, output_frames, terminal_size, wire_frame};
use super::params::Params;
use super::version::RequestedVersion;
use super::{hijack, JsonBody};
use crate::error::Error;
use crate::runtime::io::ATTACH_QUEUE;
use crate::runtime::Runtime;
use crate::runtime::{console_size, ConsoleSize};
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/containers/{id}/exec", post(create))
        .route("/exec/{id}/start", post(start))
        .route("/exec/{id}/resize", post(resize))
        .route("/exec/{id}/json", get(inspect))
}

async fn create(
    rt: Runtime,
    Path(id): Path<String>,
    JsonBody(config): JsonBody<ExecConfig>,
) -> Result<Response, Error> {
    let id = rt.exec_create(&id, config).await?;
    Ok((StatusCode::CREATED, Json(ExecCreated { id })).into_response())
}

async fn inspect(rt: Runtime, Path(id): Path<String>) -> Result<Response, Error> {
    let mut inspect = serde_json::to_value(rt.exec_inspect(&id)?)
        .map_err(|e| Error::new(ErrorKind::System, e.to_string()))?;
    // dockerd sends `"ExitCode": null` while the exec has not ended; the model leaves it out.
    if let Some(object) = inspect.as_object_mut() {
        object.entry("ExitCode").or_insert(Value::Null);
    }
    Ok(Json(inspect).into_response())
}

async fn resize(rt: Runtime, Path(id): Path<String>, p: Params) -> Result<Response, Error> {
    let (height, width) = terminal_size(&p)?;
    rt.exec_resize(&id, height, width).await?;
    Ok(StatusCode::OK.into_response())
}

async fn start(
    rt: Runtime,
    Extension(RequestedVersion(version)): Extension<RequestedVersion>,
    Path(id): Path<String>,
    mut request: Request,
) -> Result<Response, Error> {
    let on_upgrade = hijack::wants_upgrade(&request).then(|| hyper::upgrade::on(&mut request));
    let JsonBody(body) = JsonBody::<ExecStartConfig>::from_request(request, &()).await?;
    // An unknown exec is a 404 before any stream.
    let exec = rt.exec_inspect(&id)?;
    if body.detach.unwrap_or(false) {
        rt.exec_start(
            &id,
            false,
            false,
            console_size(body.console_size.as_deref()),
        )
        .await?;
        return Ok(StatusCode::OK.into_response());
    }
    // The process has a TTY if it was created with one; the framing follows the start request's `Tty`,
    // as with dockerd: stdcopy frames without it (a TTY's output all on stdout), the bytes as they are
    // with it, where a process without a TTY has nowhere to send its stderr.
    let process_tty = exec.process_config.and_then(|p| p.tty).unwrap_or(false);
    let tty = body.tty.unwrap_or(false);
    let keys = detach_keys(exec.detach_keys.as_deref().unwrap_or_default())?;
    let detach = DetachScanner::new(if process_tty { keys } else { Vec::new() });
    let want = (
        exec.open_stdout.unwrap_or(false),
        exec.open_stderr.unwrap_or(false) && !tty,
    );
    // Only a connection handed over carries input: then it owns the exec's stdin.
    let with_stdin = on_upgrade.is_some() && exec.open_stdin.unwrap_or(false);
    let frames = run(
        rt.clone(),
        id.clone(),
        tty,
        want,
        with_stdin,
        console_size(body.console_size.as_deref()),
    );
    let media = stream_media_type(version, tty);
    let output = futures_util::stream::unfold(frames, |mut frames| async move {
        let frame = frames.recv().await?;
        Some((frame, frames))
    });
    let Some(on_upgrade) = on_upgrade else {
        let body = output.map(Ok::<_, std::convert::Infallible>);
        return Ok(([(CONTENT_TYPE, media)], Body::from_stream(body)).into_response());
    };
    let input = with_stdin.then_some({
        move |chunk: Option<Bytes>| {
            let (rt, id) = (rt.clone(), id.clone());
            async move {
                let end = chunk.is_none();
                rt.exec_write_stdin(&id, chunk).await.is_ok() && !end
            }
        }
    });
    tokio::spawn(hijack::serve(on_upgrade, output, input, detach));
    Ok(hijack::switching_protocols(media))
}

/// Starts exec `id` and forwards its output as wire frames until it ended and its exit code is recorded
/// (or the error that kept it from starting, as text). With `stdin` the caller owns its stdin.
fn run(
    rt: Runtime,
    id: String,
    tty: bool,
    want: (bool, bool),
    stdin: bool,
    size: Option<ConsoleSize>,
) -> mpsc::Receiver<Bytes> {
    let (tx, rx) = mpsc::channel(ATTACH_QUEUE);
    tokio::spawn(async move {
        match rt.exec_start(&id, true, stdin, size).await {
            Ok(stream) => {
                if let Some(output) = stream.output {
                    let mut frames = std::pin::pin!(output_frames(output, want, tty));
                    while let Some(Ok(frame)) = frames.next().await {
                        if tx.send(frame).await.is_err() {
                            return;
                        }
                    }
                }
                let mut ended = stream.ended;
                let _ = ended.wait_for(|ended| *ended).await;
            }
            Err(e) => {
                let text = Bytes::from(format!("{}\r\n", e.message));
                let _ = tx
                    .send(wire_frame(stdcopy::StdStream::Stdout, text, tty))
                    .await;
            }
        }
    });
    rx
}
