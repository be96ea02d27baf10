//! Streamed answers for JavaScript: `LogStream` and `MessageStream`, async iterators over client-core's
//! incremental decoders. Each `next()` reads only the chunks its item needs, so a page sees each log
//! line and event as the browser receives it.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use web_sys::ReadableStreamDefaultReader;
use wharf_client_core::stdcopy::Frame;
use wharf_client_core::stream::{Decoded, Incremental, LogsDecoder, MessageDecoder};

use crate::fetch::FetchBody;
use crate::js::{self, entry};

#[wasm_bindgen(inline_js = "
export function asyncIterable(stream) {
  stream[Symbol.asyncIterator] = function () { return this; };
  stream.return = function (value) { this.close(); return Promise.resolve({ done: true, value }); };
  return stream;
}
")]
extern "C" {
    /// Makes `stream` (an object with `next()` and `close()`) usable with `for await`: its own async
    /// iterator, whose `return` (leaving the loop) closes it.
    #[wasm_bindgen(js_name = asyncIterable)]
    fn async_iterable(stream: JsValue) -> JsValue;
}

/// Where a stream is: ready for the next read, reading, or closed.
enum State<D> {
    Idle(Decoded<FetchBody, D>),
    Reading,
    Closed,
}

/// One stream's state, shared by the promises of its reads.
struct Pump<D> {
    state: Rc<RefCell<State<D>>>,
    /// The body's reader, to cancel a read in flight when the page closes the stream.
    reader: Option<ReadableStreamDefaultReader>,
}

impl<D: Incremental + 'static> Pump<D> {
    fn new(mut stream: Decoded<FetchBody, D>) -> Self {
        let reader = stream.body_mut().reader();
        Self {
            state: Rc::new(RefCell::new(State::Idle(stream))),
            reader,
        }
    }

    /// A promise of `{done, value}`, `value` made by `to_js`.
    fn next(&self, to_js: fn(D::Item) -> JsValue) -> Promise {
        let state = self.state.clone();
        let taken = std::mem::replace(&mut *state.borrow_mut(), State::Reading);
        let mut stream = match taken {
            State::Idle(stream) => stream,
            State::Closed => {
                *state.borrow_mut() = State::Closed;
                return Promise::resolve(&done());
            }
            State::Reading => {
                return Promise::reject(&js::usage(
                    "next() was called before the previous next() settled",
                ))
            }
        };
        future_to_promise(async move {
            let item = stream.next().await;
            let mut slot = state.borrow_mut();
            let closed = matches!(*slot, State::Closed);
            match item {
                Some(Ok(item)) if !closed => {
                    *slot = State::Idle(stream);
                    Ok(js::object(&[
                        ("done", false.into()),
                        ("value", to_js(item)),
                    ]))
                }
                Some(Err(e)) if !closed => {
                    *slot = State::Closed;
                    Err(js::error(&e))
                }
                _ => {
                    *slot = State::Closed;
                    Ok(done())
                }
            }
        })
    }

    /// Stops reading: the request is aborted and `next()` resolves as done from now on.
    fn close(&self) {
        if let Some(reader) = &self.reader {
            let _ = reader.cancel();
        }
        // Dropping an idle stream drops its body; a read in flight drops it when it settles.
        *self.state.borrow_mut() = State::Closed;
    }
}

fn done() -> JsValue {
    js::object(&[("done", true.into()), ("value", JsValue::UNDEFINED)])
}

/// A container's output as it arrives; `for await (const entry of stream)`.
#[wasm_bindgen]
pub struct LogStream {
    pump: Pump<LogsDecoder>,
}

impl std::fmt::Debug for LogStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogStream")
    }
}

impl LogStream {
    /// `stream` as a JavaScript async iterator.
    pub(crate) fn wrap(stream: Decoded<FetchBody, LogsDecoder>) -> JsValue {
        async_iterable(
            LogStream {
                pump: Pump::new(stream),
            }
            .into(),
        )
    }
}

#[wasm_bindgen]
impl LogStream {
    /// The next `LogEntry`: `{done: false, value}`, or `{done: true}` once the output ended.
    #[wasm_bindgen(unchecked_return_type = "Promise<IteratorResult<LogEntry, undefined>>")]
    pub fn next(&self) -> Promise {
        self.pump.next(log_entry)
    }

    /// Stops following: the request is closed.
    pub fn close(&self) {
        self.pump.close();
    }
}

fn log_entry(frame: Frame) -> JsValue {
    entry(frame.stream, &frame.payload)
}

/// JSON messages as they come: the daemon's events, or a container's stats samples;
/// `for await (const message of stream)`.
#[wasm_bindgen]
pub struct MessageStream {
    pump: Pump<MessageDecoder<serde_json::Value>>,
}

impl std::fmt::Debug for MessageStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MessageStream")
    }
}

impl MessageStream {
    /// `stream` as a JavaScript async iterator.
    pub(crate) fn wrap(stream: Decoded<FetchBody, MessageDecoder<serde_json::Value>>) -> JsValue {
        async_iterable(
            MessageStream {
                pump: Pump::new(stream),
            }
            .into(),
        )
    }
}

#[wasm_bindgen]
impl MessageStream {
    /// The next message (the daemon's JSON): `{done: false, value}`, or `{done: true}` at the end.
    #[wasm_bindgen(unchecked_return_type = "Promise<IteratorResult<any, undefined>>")]
    pub fn next(&self) -> Promise {
        self.pump.next(message)
    }

    /// Stops reading: the request is closed.
    pub fn close(&self) {
        self.pump.close();
    }
}

fn message(message: serde_json::Value) -> JsValue {
    // Through its text: JSON.parse builds the object faster (and in less code) than field by field.
    js_sys::JSON::parse(&message.to_string()).unwrap_or(JsValue::NULL)
}
