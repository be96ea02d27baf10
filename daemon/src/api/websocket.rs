//! The WebSocket routes: dockerd's `GET /containers/{id}/attach/ws` and Wharf's `GET /exec/{id}/start/ws`
//! (what flows on each: client-core's `api::websocket`).
//!
//! Every upgrade has its `Origin` checked before routing, as every request does (`origin.rs`: a page may
//! open a WebSocket to any address, with whatever the browser holds for it); browsers log in with a
//! one-use ticket (`auth`), since they cannot set headers on a WebSocket.
//!
//! An exec session ends with the process: its exit code in a last text message, then a normal close. A
//! client that goes first takes the process with it (SIGKILL): a browser tab closed must not leave a
//! shell running in the container nobody can reach.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Path, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use wharf_client_core::api::websocket::{encode_output, Control, PING_INTERVAL_SECS};
use wharf_client_core::detach::{DetachScanner, Scanned};
use wharf_client_core::stdcopy::StdStream;
use wharf_client_core::ErrorKind;

use super::containers::detach_keys;
use super::params::Params;
use crate::error::Error;
use crate::logs::Source;
use crate::runtime::io::Chunk;
use crate::runtime::Runtime;
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/containers/{id}/attach/ws", get(attach))
        .route("/exec/{id}/start/ws", get(exec))
}

/// WebSocket close code: normal closure.
const NORMAL_CLOSE: u16 = 1000;

/// The WebSocket handshake (the origin is checked before routing, `origin.rs`); axum's refusals as this
/// daemon's JSON errors.
async fn upgrade(state: &AppState, request: Request) -> Result<WebSocketUpgrade, Error> {
    let (mut parts, _) = request.into_parts();
    WebSocketUpgrade::from_request_parts(&mut parts, state)
        .await
        .map_err(|r| Error::invalid(format!("not a WebSocket handshake: {}", r.body_text())))
}

/// A message's bytes for a process's stdin (text and binary alike: browsers send keys as text).
fn input_bytes(message: Message) -> Option<Bytes> {
    match message {
        Message::Binary(bytes) => Some(bytes),
        Message::Text(text) => Some(Bytes::copy_from_slice(text.as_bytes())),
        _ => None,
    }
}

fn close(reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code: NORMAL_CLOSE,
        reason: reason.into(),
    }))
}

/// Sends `output`'s chunks of the streams `want` picks (stdout, stderr), each made a binary message by
/// `encode`, pinging every [`PING_INTERVAL_SECS`] meanwhile (proxies keep an idle session open, and a
/// client that vanished is found when a write to it fails): true when the output ended, false when the
/// client is gone.
async fn forward_output(
    sink: &mut SplitSink<WebSocket, Message>,
    mut output: Option<&mut mpsc::Receiver<Chunk>>,
    want: (bool, bool),
    encode: impl Fn(StdStream, Bytes) -> Bytes,
) -> bool {
    let mut ping = tokio::time::interval(Duration::from_secs(PING_INTERVAL_SECS));
    ping.tick().await;
    loop {
        let chunk = tokio::select! {
            chunk = async {
                match output.as_mut() {
                    Some(o) => o.recv().await,
                    None => None,
                }
            } => chunk,
            _ = ping.tick() => {
                if sink.send(Message::Ping(Bytes::new())).await.is_err() {
                    return false;
                }
                continue;
            }
        };
        let Some((source, data)) = chunk else {
            return true;
        };
        let (stream, wanted) = match source {
            Source::Stdout => (StdStream::Stdout, want.0),
            Source::Stderr => (StdStream::Stderr, want.1),
        };
        if wanted
            && sink
                .send(Message::Binary(encode(stream, data)))
                .await
                .is_err()
        {
            return false;
        }
    }
}

/// `GET /containers/{id}/attach/ws`: the container's output (the streams asked for, unmultiplexed) down,
/// the client's messages up into its stdin; with a TTY, the detach keys typed end the session and leave
/// the container running.
async fn attach(
    rt: Runtime,
    axum::extract::State(state): axum::extract::State<AppState>,
    Path(id): Path<String>,
    p: Params,
    request: Request,
) -> Result<Response, Error> {
    let ws = upgrade(&state, request).await?;
    let keys = detach_keys(p.get("detachKeys"))?;
    let record = rt.store().get(&id)?;
    let attached = rt.attach(&record.id)?;
    let want = (p.bool("stdout"), p.bool("stderr"));
    let stdin = p.bool("stdin");
    let detach = DetachScanner::new(if attached.tty { keys } else { Vec::new() });
    let session = AttachSession {
        rt,
        container: record.id,
        stdin,
        stdin_once: attached.stdin_once,
        detach,
    };
    Ok(ws
        .on_upgrade(move |socket| session.run(socket, attached.output, want))
        .into_response())
}

struct AttachSession {
    rt: Runtime,
    container: String,
    stdin: bool,
    stdin_once: bool,
    detach: DetachScanner,
}

impl AttachSession {
    async fn run(
        mut self,
        socket: WebSocket,
        mut output: mpsc::Receiver<Chunk>,
        want: (bool, bool),
    ) {
        let (mut sink, mut incoming) = socket.split();
        let sending = async {
            let raw = |_: StdStream, data: Bytes| data;
            if !forward_output(&mut sink, Some(&mut output), want, raw).await {
                return;
            }
            let _ = sink.send(close("the container's output ended")).await;
        };
        let receiving = async {
            while let Some(Ok(message)) = incoming.next().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
                let Some(bytes) = input_bytes(message) else {
                    continue;
                };
                if !self.stdin {
                    continue;
                }
                let bytes = match self.detach.feed(&bytes) {
                    Scanned::Forward(bytes) => Bytes::from(bytes),
                    Scanned::Hold => continue,
                    Scanned::Detach => return true,
                };
                if self
                    .rt
                    .write_stdin(&self.container, Some(bytes), false)
                    .await
                    .is_err()
                {
                    break;
                }
            }
            false
        };
        let detached = tokio::select! {
            _ = sending => false,
            detached = receiving => detached,
        };
        if detached {
            let _ = sink.send(close("detached")).await;
        }
        if self.stdin && !detached {
            let _ = self
                .rt
                .write_stdin(&self.container, None, self.stdin_once)
                .await;
        }
    }
}

/// `GET /exec/{id}/start/ws?h=&w=`: starts the exec and carries its stdio (see the module's doc).
async fn exec(
    rt: Runtime,
    axum::extract::State(state): axum::extract::State<AppState>,
    Path(id): Path<String>,
    p: Params,
    request: Request,
) -> Result<Response, Error> {
    let ws = upgrade(&state, request).await?;
    let size = match (p.get("h"), p.get("w")) {
        ("", "") => None,
        _ => Some(super::containers::terminal_size(&p)?),
    };
    let exec = rt.exec_inspect(&id)?;
    let already = if exec.exit_code.is_some() {
        "has already run"
    } else if exec.running.unwrap_or(false) {
        "is already running"
    } else {
        ""
    };
    if !already.is_empty() {
        return Err(Error::new(
            ErrorKind::Conflict,
            format!("Error: Exec command {id} {already}"),
        ));
    }
    let tty = exec.process_config.and_then(|p| p.tty).unwrap_or(false);
    let stdin = exec.open_stdin.unwrap_or(false);
    let want = (
        exec.open_stdout.unwrap_or(false),
        exec.open_stderr.unwrap_or(false),
    );
    let session = ExecSession { rt, id, tty, stdin };
    Ok(ws
        .on_upgrade(move |socket| session.run(socket, size, want))
        .into_response())
}

struct ExecSession {
    rt: Runtime,
    id: String,
    tty: bool,
    stdin: bool,
}

impl ExecSession {
    async fn run(self, socket: WebSocket, size: Option<(u32, u32)>, want: (bool, bool)) {
        let (mut sink, mut incoming) = socket.split();
        // The TTY is sized before the process runs: one that reads its size at once finds it.
        let started = self.rt.exec_start(&self.id, true, self.stdin, size).await;
        let mut stream = match started {
            Ok(stream) => stream,
            Err(e) => {
                // As on the hijacked start: the error in the output, then the exit code dockerd records.
                let text = format!("{}\r\n", e.message);
                let stream = (!self.tty).then_some(StdStream::Stdout);
                let _ = sink
                    .send(Message::Binary(
                        encode_output(stream, text.as_bytes()).into(),
                    ))
                    .await;
                let exit = Control::Exit { code: 126 }.to_text();
                let _ = sink.send(Message::Text(exit.into())).await;
                let _ = sink.send(close("the exec could not start")).await;
                return;
            }
        };
        let mut output = stream.output.take();
        let sending = async {
            let tty = self.tty;
            let framed = |stream: StdStream, data: Bytes| {
                Bytes::from(encode_output((!tty).then_some(stream), &data))
            };
            if !forward_output(&mut sink, output.as_mut(), want, framed).await {
                return false;
            }
            // The output ends with the process; its exit code is recorded just after.
            let _ = stream.ended.wait_for(|ended| *ended).await;
            let code = self
                .rt
                .exec_inspect(&self.id)
                .ok()
                .and_then(|e| e.exit_code)
                .unwrap_or(-1);
            let _ = sink
                .send(Message::Text(Control::Exit { code }.to_text().into()))
                .await;
            let _ = sink.send(close("the process exited")).await;
            true
        };
        let receiving = async {
            let mut stdin_open = self.stdin;
            while let Some(Ok(message)) = incoming.next().await {
                match message {
                    Message::Close(_) => break,
                    Message::Text(text) => match Control::from_text(text.as_str()) {
                        Ok(Control::Resize { h, w }) => {
                            let _ = self.rt.exec_resize(&self.id, h, w).await;
                        }
                        Ok(Control::Exit { .. }) | Err(_) => {
                            tracing::debug!(exec = %self.id, "an unknown control message");
                        }
                    },
                    Message::Binary(bytes) if stdin_open => {
                        // A process that closed its stdin keeps running: input stops, the session not.
                        if let Err(e) = self.rt.exec_write_stdin(&self.id, Some(bytes)).await {
                            tracing::debug!(exec = %self.id, "stdin: {}", e.message);
                            stdin_open = false;
                        }
                    }
                    _ => {}
                }
            }
        };
        let ended = tokio::select! {
            ended = sending => ended,
            () = receiving => false,
        };
        if !ended {
            // The client went first: the process goes too.
            if let Err(e) = self.rt.exec_kill(&self.id).await {
                tracing::debug!(exec = %self.id, "killing an exec whose client left: {}", e.message);
            }
        }
        if self.stdin {
            let _ = self.rt.exec_write_stdin(&self.id, None).await;
        }
    }
}
