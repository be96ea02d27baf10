//! The native [`Transport`]: hyper 1 over unix sockets, TCP and TLS, with a keep-alive pool.
//!
//! One transport talks to one daemon. Requests carry their own `Host` header (client-core sets it); the URI
//! handed to hyper only keys the pool, so every request shares the same idle connections.

pub mod body;
pub mod classify;
pub mod connector;
pub mod stream;
pub mod tls;

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use wharf_client_core::host::TlsSettings;
use wharf_client_core::response::MAX_ERROR_BODY;
use wharf_client_core::TransportErrorKind;
use wharf_client_core::{DockerHost, Request, Response, Transport, TransportError};

use self::classify::Context;
use self::connector::{Connector, Endpoint};

/// The URI prefix every request is sent under; it names no real host (see the module docs).
const POOL_URI: &str = "http://wharf.daemon";

/// Limits and timeouts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportOptions {
    /// How long opening a connection (and its TLS handshake) may take.
    pub connect_timeout: Duration,
    /// How long a whole request may take, from sending to the last byte of the answer.
    pub response_timeout: Duration,
    /// The largest success body read; a larger one is an error.
    pub max_body: usize,
    /// How long an idle connection stays in the pool.
    pub idle_timeout: Duration,
}

impl Default for TransportOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            response_timeout: Duration::from_secs(120),
            max_body: 256 * 1024 * 1024,
            idle_timeout: Duration::from_secs(30),
        }
    }
}

/// Sends requests to one daemon over a pool of keep-alive connections.
pub struct NativeTransport {
    client: Client<Connector, Full<Bytes>>,
    tls: bool,
    tls_answer: Arc<AtomicBool>,
    options: TransportOptions,
}

impl fmt::Debug for NativeTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NativeTransport")
            .field("tls", &self.tls)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl NativeTransport {
    /// A transport to `host`; `tls` applies to `tcp://` hosts (a unix socket is never wrapped in TLS, as
    /// with the docker CLI). Unusable TLS files are a [`TransportErrorKind::Config`] error.
    pub fn new(
        host: &DockerHost,
        tls: Option<&TlsSettings>,
        options: TransportOptions,
    ) -> Result<Self, TransportError> {
        let (endpoint, uses_tls) = match host {
            DockerHost::Unix { path } => {
                if tls.is_some() {
                    tracing::debug!("TLS settings ignored for a unix socket");
                }
                (Endpoint::Unix(PathBuf::from(path)), false)
            }
            DockerHost::Tcp { host, port, .. } => {
                let tls = match tls {
                    Some(settings) => {
                        Some((tls::client_config(settings)?, tls::server_name(host)?))
                    }
                    None => None,
                };
                let uses_tls = tls.is_some();
                (
                    Endpoint::Tcp {
                        host: host.clone(),
                        port: *port,
                        tls,
                    },
                    uses_tls,
                )
            }
            DockerHost::Fd { .. } => {
                return Err(TransportError::new(
                    TransportErrorKind::Config,
                    format!("cannot connect to {host}: fd:// is for a daemon's systemd sockets"),
                ))
            }
        };
        let tls_answer = Arc::new(AtomicBool::new(false));
        let connector = Connector::new(endpoint, options.connect_timeout, tls_answer.clone());
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(options.idle_timeout)
            .build(connector);
        Ok(Self {
            client,
            tls: uses_tls,
            tls_answer,
            options,
        })
    }

    /// Whether requests go over TLS.
    pub fn uses_tls(&self) -> bool {
        self.tls
    }

    fn context(&self) -> Context {
        Context {
            tls: self.tls,
            tls_answer_seen: self.tls_answer.load(Ordering::Relaxed),
        }
    }

    /// Sends `request` and answers the head, the body still to read.
    async fn head(
        &self,
        request: Request,
    ) -> Result<(http::response::Parts, Incoming), TransportError> {
        let route = request.route();
        let uri = format!("{POOL_URI}{}", request.path_and_query);
        let mut builder = hyper::Request::builder().method(request.method).uri(uri);
        if let Some(headers) = builder.headers_mut() {
            *headers = request.headers;
        }
        let http_request = builder
            .body(Full::new(request.body.unwrap_or_default()))
            .map_err(|e| {
                TransportError::new(
                    TransportErrorKind::Config,
                    format!("invalid request {route}: {e}"),
                )
            })?;
        tracing::debug!(%route, "sending");
        let answer = self
            .client
            .request(http_request)
            .await
            .map_err(|e| classify::classify(&e, self.context()))?;
        Ok(answer.into_parts())
    }

    async fn exchange(&self, request: Request) -> Result<Response, TransportError> {
        let route = request.route();
        let (parts, body) = self.head(request).await?;
        let status = parts.status.as_u16();
        let success = parts.status.is_success();
        let limit = if success {
            self.options.max_body
        } else {
            MAX_ERROR_BODY
        };
        let body = read_body(body, limit, !success)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge => TransportError::new(
                    TransportErrorKind::Io,
                    format!(
                        "the daemon's answer to {route} is larger than the {} MiB this client reads",
                        limit / (1024 * 1024)
                    ),
                ),
                BodyError::Read(e) => classify::classify(&e, self.context()),
            })?;
        tracing::debug!(%route, status, bytes = body.len(), "answered");
        if !self.tls && classify::is_plain_to_tls_answer(status, &body) {
            return Err(TransportError::new(
                TransportErrorKind::ProtocolMismatch,
                format!(
                    "the daemon expects TLS: it answered \"{}\"",
                    classify::PLAIN_TO_TLS_BODY
                ),
            ));
        }
        Ok(Response {
            status,
            headers: parts.headers,
            body,
        })
    }
}

impl Transport for NativeTransport {
    async fn send(&self, request: Request) -> Result<Response, TransportError> {
        let limit = self.options.response_timeout;
        tokio::time::timeout(limit, self.exchange(request))
            .await
            .unwrap_or_else(|_| {
                Err(TransportError::new(
                    TransportErrorKind::Timeout,
                    format!("no answer within {}s", limit.as_secs_f32()),
                ))
            })
    }
}

enum BodyError {
    TooLarge,
    Read(hyper::Error),
}

/// Reads `body` up to `limit` bytes: beyond it, `truncate` stops reading, otherwise it is an error.
async fn read_body(mut body: Incoming, limit: usize, truncate: bool) -> Result<Bytes, BodyError> {
    let mut out = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(BodyError::Read)?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let room = limit - out.len();
        if data.len() > room {
            if truncate {
                out.extend_from_slice(&data[..room]);
                break;
            }
            return Err(BodyError::TooLarge);
        }
        out.extend_from_slice(&data);
    }
    Ok(out.freeze())
}

#[cfg(test)]
mod tests;
