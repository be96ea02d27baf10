//! The connection `attach` and `exec start` take over: after `101 Switching Protocols` to `tcp` (the
//! docker CLI asks for it), the process's output goes down the connection and the client's input up into
//! the process's stdin, until the output ends, or until the client types its detach keys: then the
//! connection closes and the process keeps running with its stdin open.

use std::future::Future;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http::header::{CONNECTION, CONTENT_TYPE, UPGRADE};
use http::StatusCode;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wharf_client_core::detach::{DetachScanner, Scanned};

/// How much of the client's input is read at once.
const INPUT_CHUNK: usize = 32 * 1024;

/// Whether the client asks to take the connection over (`Upgrade: tcp`).
pub(crate) fn wants_upgrade(request: &Request) -> bool {
    request
        .headers()
        .get(UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"tcp"))
}

/// The answer that hands the connection over, with the stream's media type.
pub(crate) fn switching_protocols(media: &'static str) -> Response {
    (
        StatusCode::SWITCHING_PROTOCOLS,
        [
            (CONNECTION, "Upgrade"),
            (UPGRADE, "tcp"),
            (CONTENT_TYPE, media),
        ],
    )
        .into_response()
}

/// Serves the connection once it is handed over: writes `output` until it ends, then closes the write
/// side; meanwhile gives each chunk the client sends to `input`, and `None` at the end of its input
/// (`input` answers false to stop reading). The output ending ends the connection; the input ending
/// alone does not. `input` always gets its `None`, also when the output or a failed hand-over ends
/// the connection first, except after a detach (`detach` watches the input for the keys).
pub(crate) async fn serve<O, I, F>(
    on_upgrade: OnUpgrade,
    output: O,
    input: Option<I>,
    mut detach: DetachScanner,
) where
    O: Stream<Item = Bytes>,
    I: FnMut(Option<Bytes>) -> F,
    F: Future<Output = bool>,
{
    let mut input = input;
    let upgraded = match on_upgrade.await {
        Ok(u) => TokioIo::new(u),
        Err(e) => {
            tracing::debug!("taking the connection over failed: {e}");
            if let Some(input) = input.as_mut() {
                input(None).await;
            }
            return;
        }
    };
    let (mut reader, mut writer) = tokio::io::split(upgraded);
    let mut input_closed = false;
    // Ends only when the client detaches.
    let reading = async {
        let Some(input) = input.as_mut() else {
            return std::future::pending().await;
        };
        let mut buf = vec![0u8; INPUT_CHUNK];
        loop {
            let chunk = match reader.read(&mut buf).await {
                Ok(0) | Err(_) => {
                    let held = detach.finish();
                    if !held.is_empty() {
                        input(Some(held.into())).await;
                    }
                    None
                }
                Ok(n) => match detach.feed(&buf[..n]) {
                    Scanned::Forward(bytes) => Some(Bytes::from(bytes)),
                    Scanned::Hold => continue,
                    Scanned::Detach => return,
                },
            };
            let end = chunk.is_none();
            if !input(chunk).await || end {
                input_closed = true;
                return std::future::pending().await;
            }
        }
    };
    let writing = async {
        let mut output = std::pin::pin!(output);
        while let Some(frame) = output.next().await {
            if writer.write_all(&frame).await.is_err() {
                return;
            }
        }
        let _ = writer.shutdown().await;
    };
    let detached = tokio::select! {
        _ = writing => false,
        _ = reading => true,
    };
    if detached {
        tracing::debug!("the client detached");
        return;
    }
    if !input_closed {
        if let Some(input) = input.as_mut() {
            input(None).await;
        }
    }
}
