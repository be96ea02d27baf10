//! `ExecSession`: an exec's stdio over Wharf's `GET /exec/{id}/start/ws`, for a terminal in a page; and
//! the same object for a container's stdio over dockerd's `GET /containers/{id}/attach/ws` (output
//! unmultiplexed, no control messages: its TTY is resized with `resizeContainer`, and the session ends
//! with the container's output or a detach, without an exit code).
//!
//! Binary messages carry bytes both ways (the page's are stdin; the daemon's are output, with the
//! stream's byte first without a TTY: client-core's `api::websocket` reads them); text messages are JSON
//! control messages (resize from the page; the exit code from the daemon, last, before a normal close).
//! Closing before the process ended kills it: a page that goes away leaves no shell behind.
//!
//! A browser sends no headers with a WebSocket, so no bearer token either: a client with a token first
//! asks for a one-use ticket (`POST /wharf/v1/ws-ticket`, valid 30 s) and puts it in the URL's query,
//! which is never shown in errors. wharfd also checks the page's origin (its own, or one allowed with
//! `--allow-origin`).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};
use wharf_client_core::api::websocket::{decode_output, Control};

use wharf_client_core::api::websocket::with_ticket;
use wharf_client_core::api::{wharf, Decode, TypedRequest};
use wharf_client_core::{Client, Error, RequestFactory};

use crate::fetch::FetchTransport;
use crate::js::{self, entry};

/// How many output messages are kept for an `onOutput` callback not given yet; older ones go first.
const MAX_PENDING: usize = 1024;

/// The socket's event handlers. They hold the session's state and the state holds them, until the
/// socket closes: a page that keeps no reference to its session still gets its output and exit.
struct Handlers {
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

/// What arrived before the page asked for it, and the callbacks once it did.
#[derive(Default)]
struct Inner {
    handlers: Option<Handlers>,
    on_output: Option<Function>,
    on_exit: Option<Function>,
    /// Output not yet handed to an `onOutput` callback.
    pending: Vec<JsValue>,
    /// Once the session ended: the exit code, or `None` when the connection ended without one.
    ended: Option<Option<i64>>,
    exit_told: bool,
}

impl Inner {
    /// Hands `entry` to the output callback, or keeps it for the one to come. The callback is called
    /// with no borrow held: it may call the session back.
    fn output(state: &RefCell<Inner>, entry: JsValue) {
        let callback = {
            let mut inner = state.borrow_mut();
            match &inner.on_output {
                Some(callback) => callback.clone(),
                None => {
                    if inner.pending.len() == MAX_PENDING {
                        inner.pending.remove(0);
                    }
                    inner.pending.push(entry);
                    return;
                }
            }
        };
        let _ = callback.call1(&JsValue::NULL, &entry);
    }

    /// Records the end (the first one told wins: the exit code comes before the close).
    fn end(state: &RefCell<Inner>, code: Option<i64>) {
        {
            let mut inner = state.borrow_mut();
            if inner.ended.is_none() {
                inner.ended = Some(code);
            }
        }
        Self::tell_exit(state);
    }

    /// Tells the exit callback, once, when there is both an end and a callback.
    fn tell_exit(state: &RefCell<Inner>) {
        let call = {
            let mut inner = state.borrow_mut();
            match (inner.ended, inner.on_exit.clone(), inner.exit_told) {
                (Some(code), Some(callback), false) => {
                    inner.exit_told = true;
                    Some((callback, code))
                }
                _ => None,
            }
        };
        if let Some((callback, code)) = call {
            let code = code.map_or(JsValue::NULL, |c| JsValue::from(c as f64));
            let _ = callback.call1(&JsValue::NULL, &code);
        }
    }
}

/// Which route a session is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /exec/{id}/start/ws`.
    Exec,
    /// `GET /containers/{id}/attach/ws`.
    Attach,
}

/// A running exec's terminal (or an attached container's stdio): `write`, `resize`, `onOutput`,
/// `onExit`, `close`.
#[wasm_bindgen]
pub struct ExecSession {
    socket: WebSocket,
    inner: Rc<RefCell<Inner>>,
    route: Route,
}

impl std::fmt::Debug for ExecSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExecSession")
    }
}

impl ExecSession {
    /// Opens `url` (a `route` URL) and resolves once the daemon accepted it; output is read as `tty`
    /// says (an attach's is always unmultiplexed).
    pub async fn open(url: &str, tty: bool, route: Route) -> Result<ExecSession, JsValue> {
        let tty = tty || route == Route::Attach;
        let failed = |what: &str| js::transport_error("Connect", what);
        let socket =
            WebSocket::new(url).map_err(|_| failed("the exec's WebSocket URL is not valid"))?;
        socket.set_binary_type(BinaryType::Arraybuffer);
        let inner = Rc::new(RefCell::new(Inner::default()));

        let state = inner.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data();
            if let Some(text) = data.as_string() {
                // Control messages: the exit code is the last thing the daemon says.
                if let Ok(Control::Exit { code }) = Control::from_text(&text) {
                    Inner::end(&state, Some(code));
                }
                return;
            }
            let bytes = Uint8Array::new(&data).to_vec();
            if let Ok((stream, payload)) = decode_output(&bytes, tty) {
                Inner::output(&state, entry(stream, payload));
            }
        });
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let state = inner.clone();
        let closed = socket.clone();
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_: CloseEvent| {
            closed.set_onmessage(None);
            closed.set_onclose(None);
            Inner::end(&state, None);
            let handlers = state.borrow_mut().handlers.take();
            // Not while one of them runs: once this handler has returned.
            wasm_bindgen_futures::spawn_local(async move { drop(handlers) });
        });
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        inner.borrow_mut().handlers = Some(Handlers {
            _on_message: on_message,
            _on_close: on_close,
        });

        // Opened, or refused: the browser says no more than that (a 403 or 404 is not shown to pages).
        let opened = Promise::new(&mut |resolve, reject| {
            socket.set_onopen(Some(&resolve));
            socket.set_onerror(Some(&reject));
        });
        let result = JsFuture::from(opened).await;
        socket.set_onopen(None);
        socket.set_onerror(None);
        if result.is_err() {
            // Not the URL: it may hold a ticket.
            return Err(failed(
                "the daemon refused the exec's WebSocket (a missing or already started exec, a refused \
                 login, or an origin it does not allow)",
            ));
        }
        Ok(ExecSession {
            socket,
            inner,
            route,
        })
    }
}

#[wasm_bindgen]
impl ExecSession {
    /// Sends `data` (bytes, or text as UTF-8) to the process's stdin.
    pub fn write(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | string")] data: JsValue,
    ) -> Result<(), JsValue> {
        let sent = match data.as_string() {
            Some(text) => self.socket.send_with_u8_array(text.as_bytes()),
            None => match data.dyn_ref::<Uint8Array>() {
                Some(bytes) => self.socket.send_with_u8_array(&bytes.to_vec()),
                None => return Err(js::usage("write takes a Uint8Array or a string")),
            },
        };
        sent.map_err(|e| js::transport_error("Io", &crate::fetch::js_message(&e)))
    }

    /// Resizes the exec's TTY to `height` rows and `width` columns (an attached container's TTY is
    /// resized with `WharfClient.resizeContainer`: its WebSocket carries only stdio).
    pub fn resize(&self, height: u32, width: u32) -> Result<(), JsValue> {
        if self.route == Route::Attach {
            return Err(js::usage(
                "an attach session carries only stdio: resize the container with resizeContainer",
            ));
        }
        let message = Control::Resize {
            h: height,
            w: width,
        }
        .to_text();
        self.socket
            .send_with_str(&message)
            .map_err(|e| js::transport_error("Io", &crate::fetch::js_message(&e)))
    }

    /// Calls `callback` with each `LogEntry` of output, as it arrives (and at once with what arrived
    /// before: the last 1024 messages).
    #[wasm_bindgen(js_name = onOutput)]
    pub fn on_output(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(entry: LogEntry) => void")] callback: Function,
    ) {
        let pending = {
            let mut inner = self.inner.borrow_mut();
            inner.on_output = Some(callback.clone());
            std::mem::take(&mut inner.pending)
        };
        // Outside the borrow: the callback may call the session back.
        for entry in pending {
            let _ = callback.call1(&JsValue::NULL, &entry);
        }
    }

    /// Calls `callback` once the session ended, with the process's exit code, or `null` when the
    /// connection ended without one.
    #[wasm_bindgen(js_name = onExit)]
    pub fn on_exit(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(code: number | null) => void")] callback: Function,
    ) {
        self.inner.borrow_mut().on_exit = Some(callback);
        Inner::tell_exit(&self.inner);
    }

    /// The exit code, once the daemon sent it.
    #[wasm_bindgen(getter, js_name = exitCode)]
    pub fn exit_code(&self) -> Option<f64> {
        self.inner.borrow().ended.flatten().map(|c| c as f64)
    }

    /// Ends the session; a process still running is killed.
    pub fn close(&self) {
        let _ = self.socket.close_with_code(1000);
    }
}

/// The `ws:`/`wss:` URL of `path_and_query` on the daemon at `base_url` (`""`: the page's origin).
pub(crate) fn websocket_url(base_url: &str, path_and_query: &str) -> Result<String, JsValue> {
    let base = if base_url.starts_with("http://") || base_url.starts_with("https://") {
        base_url.trim_end_matches('/').to_owned()
    } else {
        let location = Reflect::get(&js_sys::global(), &"location".into())?;
        let origin = Reflect::get(&location, &"origin".into())?
            .as_string()
            .ok_or_else(|| js::usage("no page origin to open a WebSocket from"))?;
        format!("{origin}{}", base_url.trim_end_matches('/'))
    };
    let base = match base.split_once("://") {
        Some(("https", rest)) => format!("wss://{rest}"),
        Some((_, rest)) => format!("ws://{rest}"),
        None => base,
    };
    Ok(format!("{base}{path_and_query}"))
}

/// The `ws:`/`wss:` URL of the WebSocket route `build` makes, negotiated; with a token, through a
/// one-use ticket, since a WebSocket carries no `Authorization` header.
pub async fn session_url<D: Decode>(
    client: &Client<FetchTransport>,
    base_url: &str,
    build: impl FnOnce(&RequestFactory) -> Result<TypedRequest<D>, Error>,
) -> Result<String, JsValue> {
    let mut request = client.prepare(build).await.map_err(|e| js::error(&e))?;
    if client.transport().has_token() {
        let ticket = client
            .call(|f| Ok(wharf::ws_ticket_request(f)))
            .await
            .map_err(|e| js::error(&e))?;
        request = with_ticket(request, &ticket.ticket);
    }
    websocket_url(base_url, &request.path_and_query)
}
