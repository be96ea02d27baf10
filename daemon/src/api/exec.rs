//! Exec routes — moby's `api/server/router/container` exec part: create, start, inspect, resize.
//!
//! `start` without `Detach` streams the process's output back, as `attach` does: over the connection it
//! takes over when the client asks for an upgrade (the docker CLI does; then the client's input goes to
//! the process's stdin), else as a streamed body. As with dockerd, once the stream has begun a failure to
//! start the process is written into it as text, and the exec records exit code 126.

use axum::body::Body;
use axum::extract::{FromRequest, Path, RawQuery, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use bytes::Bytes;
use futures_util::StreamExt;
use http::header::{CONNECTION, CONTENT_TYPE, UPGRADE};
use http::StatusCode;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use wharf_client_core::api::exec::ExecCreated;
use wharf_client_core::models::{ExecConfig, ExecStartConfig};
use wharf_client_core::{stdcopy, ErrorKind};

use super::containers::{int_param, output_frames, params, runtime, stream_media_type};
use super::version::RequestedVersion;
use super::{ApiError, JsonBody};
use crate::runtime::io::ATTACH_QUEUE;
use crate::runtime::Runtime;
use crate::state::AppState;

/// The exec routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/containers/{id}/exec", post(create))
        .route("/exec/{id}/start", post(start))
        .route("/exec/{id}/resize", post(resize))
        .route("/exec/{id}/json", get(inspect))
}

async fn create(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(config): JsonBody<ExecConfig>,
) -> Result<Response, ApiError> {
    let rt = runtime(&state).await?;
    let id = rt.exec_create(&id, config).await?;
    Ok((StatusCode::CREATED, Json(ExecCreated { id })).into_response())
}

async fn inspect(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let rt = runtime(&state).await?;
    let mut inspect = serde_json::to_value(rt.exec_inspect(&id)?)
        .map_err(|e| ApiError::new(ErrorKind::System, e.to_string()))?;
    // dockerd sends `"ExitCode": null` while the exec has not ended; the model leaves it out.
    if let Some(object) = inspect.as_object_mut() {
        object.entry("ExitCode").or_insert(Value::Null);
    }
    Ok(Json(inspect).into_response())
}

async fn resize(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let rt = runtime(&state).await?;
    let p = params(&query);
    let size = |key| int_param(&p, key).map(|v| v.and_then(|v| u32::try_from(v).ok()).unwrap_or(0));
    let (height, width) = (size("h")?, size("w")?);
    rt.exec_resize(&id, height, width).await?;
    Ok(StatusCode::OK.into_response())
}

async fn start(
    State(state): State<AppState>,
    Extension(RequestedVersion(version)): Extension<RequestedVersion>,
    Path(id): Path<String>,
    mut request: Request,
) -> Result<Response, ApiError> {
    let rt = runtime(&state).await?;
    let upgrade = request
        .headers()
        .get(UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"tcp"));
    let on_upgrade = upgrade.then(|| hyper::upgrade::on(&mut request));
    let JsonBody(body) = JsonBody::<ExecStartConfig>::from_request(request, &()).await?;
    // An unknown exec is a 404 before any stream.
    let exec = rt.exec_inspect(&id)?;
    if body.detach.unwrap_or(false) {
        rt.exec_start(&id, false).await?;
        return Ok(StatusCode::OK.into_response());
    }
    let tty = exec.process_config.and_then(|p| p.tty).unwrap_or(false);
    let want = (
        exec.open_stdout.unwrap_or(false),
        exec.open_stderr.unwrap_or(false),
    );
    let (frames, started) = run(rt.clone(), id.clone(), tty, want);
    let media = stream_media_type(version, tty);
    let Some(on_upgrade) = on_upgrade else {
        let stream = futures_util::stream::unfold(frames, |mut frames| async move {
            let frame = frames.recv().await?;
            Some((Ok::<_, std::convert::Infallible>(frame), frames))
        });
        return Ok(([(CONTENT_TYPE, media)], Body::from_stream(stream)).into_response());
    };
    let want_stdin = exec.open_stdin.unwrap_or(false);
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(u) => TokioIo::new(u),
            Err(e) => {
                tracing::debug!("exec upgrade failed: {e}");
                return;
            }
        };
        let (reader, mut writer) = tokio::io::split(upgraded);
        let input = async {
            if want_stdin && started.await.unwrap_or(false) {
                copy_input(&rt, &id, reader).await;
            }
        };
        let output = async {
            let mut frames = frames;
            while let Some(frame) = frames.recv().await {
                if writer.write_all(&frame).await.is_err() {
                    return;
                }
            }
            let _ = writer.shutdown().await;
        };
        // The output ending (after the exit code is recorded) ends the stream; input alone does not.
        tokio::select! {
            _ = output => {}
            _ = async { input.await; std::future::pending::<()>().await } => {}
        }
    });
    Ok((
        StatusCode::SWITCHING_PROTOCOLS,
        [
            (CONNECTION, "Upgrade"),
            (UPGRADE, "tcp"),
            (CONTENT_TYPE, media),
        ],
    )
        .into_response())
}

/// Starts exec `id` and forwards its output as wire frames until it ended and its exit code is recorded
/// (or the error that kept it from starting, as text); `started` tells whether it started.
fn run(
    rt: Runtime,
    id: String,
    tty: bool,
    want: (bool, bool),
) -> (mpsc::Receiver<Bytes>, oneshot::Receiver<bool>) {
    let (tx, rx) = mpsc::channel(ATTACH_QUEUE);
    let (started_tx, started_rx) = oneshot::channel();
    tokio::spawn(async move {
        match rt.exec_start(&id, true).await {
            Ok(stream) => {
                let _ = started_tx.send(true);
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
                let _ = started_tx.send(false);
                let text = format!("{}\r\n", e.message);
                let frame = if tty {
                    Bytes::from(text)
                } else {
                    Bytes::from(stdcopy::encode(stdcopy::StdStream::Stdout, text.as_bytes()))
                };
                let _ = tx.send(frame).await;
            }
        }
    });
    (rx, started_rx)
}

/// The client's input to the exec's stdin, closed at the client's end of input.
async fn copy_input(rt: &Runtime, id: &str, mut reader: impl tokio::io::AsyncRead + Unpin) {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = rt.exec_write_stdin(id, None).await;
                return;
            }
            Ok(n) => {
                let chunk = Bytes::copy_from_slice(&buf[..n]);
                if rt.exec_write_stdin(id, Some(chunk)).await.is_err() {
                    return;
                }
            }
        }
    }
}
