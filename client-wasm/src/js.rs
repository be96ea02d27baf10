//! Between JavaScript values and client-core's: option objects in, the daemon's JSON out, errors as
//! `Error` objects carrying the daemon's status.

use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wharf_client_core::stdcopy::StdStream;
use wharf_client_core::Error;

/// An `Error` whose `message` is what went wrong, with `status` (the daemon's HTTP status, or
/// undefined when no answer came) and `kind` (the daemon's error class, such as `NotFound`, or the
/// transport's failure, such as `Connect`).
pub(crate) fn error(err: &Error) -> JsValue {
    let (message, status, kind) = match err {
        Error::Daemon(d) => (d.message.clone(), Some(d.status), format!("{:?}", d.kind)),
        Error::Transport(t) => (t.message.clone(), None, format!("{:?}", t.kind)),
        Error::InvalidArgument(_) => (err.to_string(), None, "InvalidArgument".to_owned()),
        other => (other.to_string(), None, "Client".to_owned()),
    };
    let js = js_sys::Error::new(&message);
    js.set_name("WharfError");
    let status = status.map_or(JsValue::UNDEFINED, JsValue::from);
    let _ = Reflect::set(&js, &"status".into(), &status);
    let _ = Reflect::set(&js, &"kind".into(), &kind.into());
    js.into()
}

/// An `Error` for a failure of the connection itself (`kind` as client-core's transport kinds).
pub(crate) fn transport_error(kind: &str, message: &str) -> JsValue {
    let js = js_sys::Error::new(message);
    js.set_name("WharfError");
    let _ = Reflect::set(&js, &"kind".into(), &kind.into());
    js.into()
}

/// A plain `Error` for misuse of the API (bad options).
pub(crate) fn usage(message: &str) -> JsValue {
    let js = js_sys::Error::new(message);
    js.set_name("WharfError");
    let _ = Reflect::set(&js, &"kind".into(), &"InvalidArgument".into());
    js.into()
}

/// The options object `value` (or its defaults when `undefined` or `null`), through JSON.
#[cfg(feature = "js-api")]
pub(crate) fn options<T: serde::de::DeserializeOwned + Default>(
    value: &JsValue,
) -> Result<T, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    let text: String = js_sys::JSON::stringify(value)
        .map_err(|_| usage("the options are not JSON-serialisable"))?
        .into();
    serde_json::from_str(&text).map_err(|e| usage(&format!("invalid options: {e}")))
}

/// Filters as the API takes them: `{"status": ["running"], "label": ["a=b"]}`.
#[cfg(feature = "js-api")]
pub(crate) fn filters(
    map: &std::collections::BTreeMap<String, Vec<String>>,
) -> wharf_client_core::Filters {
    let mut filters = wharf_client_core::Filters::new();
    for (name, values) in map {
        for value in values {
            filters.add(name, value.clone());
        }
    }
    filters
}

/// An answer whose JSON body goes to JavaScript as the daemon sent it (`JSON.parse` of its text): no
/// field is lost to a model that lags the daemon, and the models' decoders stay out of the download.
#[cfg(feature = "js-api")]
#[derive(Debug)]
pub(crate) struct JsJson;

#[cfg(feature = "js-api")]
impl wharf_client_core::api::Decode for JsJson {
    type Output = JsValue;

    fn decode(route: &str, response: wharf_client_core::Response) -> Result<JsValue, Error> {
        let response = response.error_for_status(route)?;
        let text = String::from_utf8_lossy(&response.body);
        js_sys::JSON::parse(&text).map_err(|e| Error::Stream {
            route: route.to_owned(),
            message: format!(
                "cannot decode the daemon's answer to {route}: {}",
                crate::fetch::js_message(&e)
            ),
        })
    }
}

/// `{key: value, ...}` from pairs.
pub(crate) fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (key, value) in pairs {
        let _ = Reflect::set(&object, &JsValue::from_str(key), value);
    }
    object.into()
}

/// A `LogEntry`: `{stream, data, text}`, `text` the bytes decoded as UTF-8 (a character split between
/// two entries is replaced in each; `data` is exact).
pub(crate) fn entry(stream: StdStream, bytes: &[u8]) -> JsValue {
    let stream = match stream {
        StdStream::Stdout => "stdout",
        StdStream::Stderr => "stderr",
        StdStream::Stdin => "stdin",
        // The decoders turn the daemon's error stream into an error.
        StdStream::SystemErr => "system",
    };
    object(&[
        ("stream", stream.into()),
        ("data", Uint8Array::from(bytes).into()),
        ("text", String::from_utf8_lossy(bytes).as_ref().into()),
    ])
}
