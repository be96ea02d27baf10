//! The fetch transport: client-core's requests sent with the browser's `fetch`, answers read from the
//! response body's `ReadableStream` chunk by chunk as the browser receives them.
//!
//! `Host` and `User-Agent` are the browser's to set (fetch forbids them), so they are left out; a bearer
//! token, when given, goes in `Authorization` on every request. Dropping a body cancels its reader,
//! which aborts the fetch: a page that stops following a log frees the daemon's stream at once.
//!
//! A timeout (as the native transport's, 120 s by default) bounds a whole request and its answer, or,
//! for a streamed answer, until its head: an `AbortController` aborted by a `setTimeout`.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{HOST, USER_AGENT};
use js_sys::{Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, Headers, ReadableStreamDefaultReader, RequestInit};
use wharf_client_core::response::MAX_ERROR_BODY;
use wharf_client_core::{
    BodyStream, Request, Response, StreamingResponse, StreamingTransport, Transport,
    TransportError, TransportErrorKind,
};

/// The most a whole (not streamed) successful answer may hold: the largest lists and inspects are a
/// few megabytes; anything beyond is refused rather than held in the page's memory.
pub const MAX_BODY: usize = 64 * 1024 * 1024;

#[wasm_bindgen]
extern "C" {
    /// The global `fetch`, in a window or a worker alike.
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(request: &web_sys::Request) -> Promise;

    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &Function, millis: f64) -> JsValue;

    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(timer: &JsValue);
}

/// The native transport's default: how long a whole request may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Aborts a request when its time is up; cleared when dropped.
struct Deadline {
    controller: AbortController,
    fired: Rc<Cell<bool>>,
    timer: JsValue,
    after: Duration,
    _on_fire: Closure<dyn FnMut()>,
}

impl Deadline {
    fn start(after: Duration) -> Result<Self, TransportError> {
        let controller = AbortController::new()
            .map_err(|e| TransportError::new(TransportErrorKind::Config, js_message(&e)))?;
        let fired = Rc::new(Cell::new(false));
        let (abort, flag) = (controller.clone(), fired.clone());
        let on_fire = Closure::<dyn FnMut()>::new(move || {
            flag.set(true);
            abort.abort();
        });
        let timer = set_timeout(on_fire.as_ref().unchecked_ref(), after.as_millis() as f64);
        Ok(Self {
            controller,
            fired,
            timer,
            after,
            _on_fire: on_fire,
        })
    }

    /// `error`, or a timeout if the deadline is what caused it.
    fn explain(&self, error: TransportError) -> TransportError {
        if self.fired.get() {
            TransportError::new(
                TransportErrorKind::Timeout,
                format!("no answer within {}s", self.after.as_secs_f32()),
            )
        } else {
            error
        }
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        clear_timeout(&self.timer);
    }
}

/// Sends requests to one daemon with `fetch`.
#[derive(Clone, Debug)]
pub struct FetchTransport {
    base_url: String,
    token: Option<String>,
    timeout: Duration,
}

impl FetchTransport {
    /// A transport to the daemon at `base_url` (`https://host:2376`, or `""` for the page's own origin),
    /// sending `token` as a bearer token when given, giving up on a request after `timeout`.
    pub fn new(base_url: &str, token: Option<String>, timeout: Duration) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            token: token.filter(|t| !t.is_empty()),
            timeout,
        }
    }

    /// Whether requests carry a bearer token (a WebSocket then needs a ticket).
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// The URL of a request's `path_and_query`.
    pub(crate) fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base_url)
    }

    /// The `Authorization` header's value, with a token.
    pub(crate) fn authorization(&self) -> Option<String> {
        self.token.as_ref().map(|t| format!("Bearer {t}"))
    }

    /// Sends `request` and returns fetch's `Response` once its head arrived (the deadline bounds the
    /// head only), for a caller that reads the body its own way.
    pub(crate) async fn fetch_raw(
        &self,
        request: &Request,
    ) -> Result<web_sys::Response, wharf_client_core::Error> {
        let deadline = Deadline::start(self.timeout)?;
        let request = self.request(request, &deadline)?;
        let answer = JsFuture::from(global_fetch(&request)).await.map_err(|e| {
            deadline.explain(TransportError::new(
                TransportErrorKind::Connect,
                js_message(&e),
            ))
        })?;
        answer.dyn_into().map_err(|_| {
            TransportError::new(TransportErrorKind::Io, "fetch did not return a Response").into()
        })
    }

    fn request(
        &self,
        request: &Request,
        deadline: &Deadline,
    ) -> Result<web_sys::Request, TransportError> {
        let config = |e: JsValue| TransportError::new(TransportErrorKind::Config, js_message(&e));
        let headers = Headers::new().map_err(config)?;
        for (name, value) in &request.headers {
            if name == HOST || name == USER_AGENT {
                continue;
            }
            let value = value.to_str().map_err(|_| {
                TransportError::new(
                    TransportErrorKind::Config,
                    format!("header {name} is not text"),
                )
            })?;
            headers.append(name.as_str(), value).map_err(config)?;
        }
        if let Some(token) = &self.token {
            headers
                .set("authorization", &format!("Bearer {token}"))
                .map_err(config)?;
        }
        let init = RequestInit::new();
        init.set_method(request.method.as_str());
        init.set_headers(&headers);
        init.set_signal(Some(&deadline.controller.signal()));
        if let Some(body) = &request.body {
            init.set_body(&Uint8Array::from(&body[..]));
        }
        let url = format!("{}{}", self.base_url, request.path_and_query);
        web_sys::Request::new_with_str_and_init(&url, &init).map_err(config)
    }
}

impl Transport for FetchTransport {
    async fn send(&self, request: Request) -> Result<Response, TransportError> {
        let deadline = Deadline::start(self.timeout)?;
        self.exchange(request, &deadline)
            .await
            .map_err(|e| deadline.explain(e))
    }
}

impl FetchTransport {
    /// The whole exchange, aborted by `deadline`.
    async fn exchange(
        &self,
        request: Request,
        deadline: &Deadline,
    ) -> Result<Response, TransportError> {
        let mut response = self.head(request, deadline).await?;
        let limit = if (200..300).contains(&response.status) {
            MAX_BODY
        } else {
            MAX_ERROR_BODY
        };
        let mut body = BytesMut::new();
        while let Some(chunk) = response.body.next_chunk().await? {
            if body.len() + chunk.len() > limit {
                if limit == MAX_ERROR_BODY {
                    body.extend_from_slice(&chunk[..limit - body.len()]);
                    break;
                }
                return Err(TransportError::new(
                    TransportErrorKind::Io,
                    format!("the daemon's answer exceeds {limit} bytes"),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status: response.status,
            headers: response.headers,
            body: body.freeze(),
        })
    }
}

impl StreamingTransport for FetchTransport {
    type Body = FetchBody;

    async fn send_streaming(
        &self,
        request: Request,
    ) -> Result<StreamingResponse<FetchBody>, TransportError> {
        // The deadline bounds the head only: a followed log lasts as long as its container.
        let deadline = Deadline::start(self.timeout)?;
        self.head(request, &deadline)
            .await
            .map_err(|e| deadline.explain(e))
    }
}

impl FetchTransport {
    /// Sends `request` and returns once the answer's head arrived; `deadline` aborts it.
    async fn head(
        &self,
        request: Request,
        deadline: &Deadline,
    ) -> Result<StreamingResponse<FetchBody>, TransportError> {
        let request = self.request(&request, deadline)?;
        // fetch rejects only when no answer came: refused, unreachable, a TLS failure, or CORS.
        let answer = JsFuture::from(global_fetch(&request))
            .await
            .map_err(|e| TransportError::new(TransportErrorKind::Connect, js_message(&e)))?;
        let answer: web_sys::Response = answer.dyn_into().map_err(|_| {
            TransportError::new(TransportErrorKind::Io, "fetch did not return a Response")
        })?;
        let headers = response_headers(&answer.headers())?;
        let reader = match answer.body() {
            Some(stream) => Some(
                stream
                    .get_reader()
                    .dyn_into::<ReadableStreamDefaultReader>()
                    .map_err(|_| {
                        TransportError::new(TransportErrorKind::Io, "the body has no reader")
                    })?,
            ),
            None => None,
        };
        Ok(StreamingResponse {
            status: answer.status(),
            headers,
            body: FetchBody { reader },
        })
    }
}

/// The answer's headers as client-core reads them.
fn response_headers(headers: &Headers) -> Result<http::HeaderMap, TransportError> {
    let io = |what: &str| TransportError::new(TransportErrorKind::Io, what);
    let mut map = http::HeaderMap::new();
    let entries = js_sys::try_iter(headers)
        .ok()
        .flatten()
        .ok_or_else(|| io("the answer's headers are not iterable"))?;
    for entry in entries {
        let entry: js_sys::Array = entry
            .map_err(|e| io(&js_message(&e)))?
            .dyn_into()
            .map_err(|_| io("a header entry is not a pair"))?;
        let (Some(name), Some(value)) = (entry.get(0).as_string(), entry.get(1).as_string()) else {
            continue;
        };
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            map.append(name, value);
        }
    }
    Ok(map)
}

/// A response body, read from its `ReadableStream` as chunks arrive.
#[derive(Debug)]
pub struct FetchBody {
    reader: Option<ReadableStreamDefaultReader>,
}

impl FetchBody {
    /// Its reader, to cancel a read in flight from elsewhere (a JavaScript iterator's `return`).
    pub fn reader(&self) -> Option<ReadableStreamDefaultReader> {
        self.reader.clone()
    }
}

impl BodyStream for FetchBody {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, TransportError> {
        let io = |e: JsValue| TransportError::new(TransportErrorKind::Io, js_message(&e));
        loop {
            let Some(reader) = &self.reader else {
                return Ok(None);
            };
            let result = JsFuture::from(reader.read()).await.map_err(io)?;
            let done = Reflect::get(&result, &JsValue::from_str("done")).map_err(io)?;
            if done.is_truthy() {
                self.reader = None;
                return Ok(None);
            }
            let value = Reflect::get(&result, &JsValue::from_str("value")).map_err(io)?;
            let chunk: Uint8Array = value.dyn_into().map_err(io)?;
            if chunk.length() > 0 {
                return Ok(Some(Bytes::from(chunk.to_vec())));
            }
        }
    }
}

impl Drop for FetchBody {
    fn drop(&mut self) {
        if let Some(reader) = self.reader.take() {
            // Cancelling aborts the fetch; the promise only says when that is done.
            let _ = reader.cancel();
        }
    }
}

/// What a JavaScript exception says: its `message`, else itself as text.
pub(crate) fn js_message(value: &JsValue) -> String {
    Reflect::get(value, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| value.as_string())
        .unwrap_or_else(|| format!("{value:?}"))
}
