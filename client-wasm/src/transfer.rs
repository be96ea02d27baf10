//! Bodies too big for the wasm heap, kept as the browser's `Blob`s: a download (`docker save`'s tar)
//! goes from the answer straight into a `Blob` the page offers as a file, and an upload (an image tar
//! to import or load) is sent from the `File` the user picked, with progress.
//!
//! The request itself is still client-core's (method, path, query, headers); only the body travels
//! outside it. Uploads use `XMLHttpRequest` because `fetch` reports no upload progress; the answer,
//! which is small (JSON messages), is decoded by client-core as any other.

use std::cell::RefCell;
use std::rc::Rc;

use bytes::Bytes;
use http::header::{HOST, USER_AGENT};
use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, ProgressEvent, XmlHttpRequest};
use wharf_client_core::api::{Decode, TypedRequest};
use wharf_client_core::response::MAX_ERROR_BODY;
use wharf_client_core::{Error, Request, Response, TransportError, TransportErrorKind};

use crate::fetch::{js_message, FetchTransport};

fn io(message: impl Into<String>) -> Error {
    Error::Transport(TransportError::new(TransportErrorKind::Io, message))
}

impl FetchTransport {
    /// Sends `request` and hands back its answer's body as a `Blob` (never in wasm memory); an error
    /// status is the daemon's error, as client-core words it.
    pub async fn download(&self, request: Request) -> Result<Blob, Error> {
        let route = request.route();
        let answer = self.fetch_raw(&request).await?;
        if !(200..300).contains(&answer.status()) {
            let text = JsFuture::from(answer.text().map_err(|e| io(js_message(&e)))?)
                .await
                .map_err(|e| io(js_message(&e)))?
                .as_string()
                .unwrap_or_default();
            let mut body = text.into_bytes();
            body.truncate(MAX_ERROR_BODY);
            let response = Response {
                status: answer.status(),
                headers: http::HeaderMap::new(),
                body: Bytes::from(body),
            };
            response.error_for_status(&route)?;
            return Err(io(format!("{route}: status {}", answer.status())));
        }
        let blob = JsFuture::from(answer.blob().map_err(|e| io(js_message(&e)))?)
            .await
            .map_err(|e| io(js_message(&e)))?;
        blob.dyn_into::<Blob>()
            .map_err(|_| io("the answer's body is not a Blob"))
    }

    /// Sends `typed` with `body` (a `File` or `Blob`) as its body, calling `progress(sent, total)` as
    /// the browser sends it, and decodes the answer as the request's type says.
    pub async fn upload<D: Decode>(
        &self,
        typed: TypedRequest<D>,
        body: &Blob,
        progress: impl FnMut(f64, f64) + 'static,
    ) -> Result<D::Output, Error> {
        let request = typed.request;
        let route = request.route();
        let xhr = XmlHttpRequest::new().map_err(|e| io(js_message(&e)))?;
        xhr.open(request.method.as_str(), &self.url(&request.path_and_query))
            .map_err(|e| io(js_message(&e)))?;
        xhr.set_response_type(web_sys::XmlHttpRequestResponseType::Arraybuffer);
        for (name, value) in &request.headers {
            if name == HOST || name == USER_AGENT {
                continue;
            }
            if let Ok(value) = value.to_str() {
                xhr.set_request_header(name.as_str(), value)
                    .map_err(|e| io(js_message(&e)))?;
            }
        }
        if let Some(auth) = self.authorization() {
            xhr.set_request_header("authorization", &auth)
                .map_err(|e| io(js_message(&e)))?;
        }
        let progress = Rc::new(RefCell::new(progress));
        let on_progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |e: ProgressEvent| {
            if e.length_computable() {
                (progress.borrow_mut())(e.loaded(), e.total());
            }
        });
        let upload = xhr.upload().map_err(|e| io(js_message(&e)))?;
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        let done = Promise::new(&mut |resolve, reject| {
            xhr.set_onload(Some(&resolve));
            xhr.set_onerror(Some(&reject));
            xhr.set_onabort(Some(&reject));
        });
        xhr.send_with_opt_blob(Some(body))
            .map_err(|e| io(js_message(&e)))?;
        let finished = JsFuture::from(done).await;
        upload.set_onprogress(None);
        drop(on_progress);
        if finished.is_err() {
            return Err(Error::Transport(TransportError::new(
                TransportErrorKind::Connect,
                format!("{route}: the upload failed (the connection closed)"),
            )));
        }
        let status = xhr.status().map_err(|e| io(js_message(&e)))?;
        let bytes = xhr
            .response()
            .ok()
            .filter(|r| !r.is_null() && !r.is_undefined())
            .map(|r| Uint8Array::new(&r).to_vec())
            .unwrap_or_default();
        let response = Response {
            status,
            headers: http::HeaderMap::new(),
            body: Bytes::from(bytes),
        };
        D::decode(&route, response)
    }
}
