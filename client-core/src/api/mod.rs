//! Endpoints, one module per area as in moby's router: each builds its [`Request`]s, typed with how their
//! answers decode, with no I/O.
//!
//! Builders take the [`RequestFactory`] (which knows the agreed API version, for the few parameters moby's
//! client sends only to newer daemons) and typed options, and return a [`TypedRequest`]: the request and,
//! in its type, the [`Decode`] that reads its answer — [`Json`] of the model the API documents, or
//! [`NoContent`]. [`Client::call`](crate::Client::call) sends one and decodes
//! its answer; a caller with its own transport sends [`TypedRequest::request`] and decodes the answer
//! with `D::decode`. Logs, whose framing depends on the container, have a decoder of their own.

pub mod archive;
pub mod containers;
pub mod exec;
pub mod images;
pub mod networks;
pub mod registry;
pub mod system;
pub mod volumes;
pub mod websocket;
pub mod wharf;

use std::fmt;
use std::marker::PhantomData;

use http::Method;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::query::{escape_path, Query};
use crate::request::{Request, RequestFactory};
use crate::response::Response;

/// How an endpoint's answer is read.
pub trait Decode {
    /// What the answer decodes into.
    type Output;

    /// Decodes `response`, the answer to the request `route` names (for messages).
    fn decode(route: &str, response: Response) -> Result<Self::Output, Error>;
}

/// An answer whose body is JSON of `T`, or the daemon's error.
pub struct Json<T>(PhantomData<fn() -> T>);

impl<T> fmt::Debug for Json<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Json<{}>", std::any::type_name::<T>())
    }
}

impl<T: DeserializeOwned> Decode for Json<T> {
    type Output = T;

    fn decode(route: &str, response: Response) -> Result<T, Error> {
        response.json(route)
    }
}

/// An answer that carries nothing: 2xx, or 304 — the daemon had nothing to do (starting a started
/// container, stopping a stopped one), which moby's client takes as success, as the docker CLI does.
#[derive(Clone, Copy, Debug)]
pub struct NoContent;

impl Decode for NoContent {
    type Output = ();

    fn decode(route: &str, response: Response) -> Result<(), Error> {
        if response.status == 304 {
            return Ok(());
        }
        response.error_for_status(route).map(drop)
    }
}

/// A request that knows what its answer decodes into: `D` is its [`Decode`].
pub struct TypedRequest<D> {
    /// The request itself.
    pub request: Request,
    answer: PhantomData<fn() -> D>,
}

impl<D: Decode> TypedRequest<D> {
    /// `request`, its answer read with `D`.
    pub fn new(request: Request) -> Self {
        Self {
            request,
            answer: PhantomData,
        }
    }
}

impl<T> TypedRequest<Json<T>> {
    /// The same request, its JSON answer read as `U` instead: for a caller's own type, such as one more
    /// tolerant of what old daemons send.
    pub fn expecting<U>(self) -> TypedRequest<Json<U>> {
        TypedRequest {
            request: self.request,
            answer: PhantomData,
        }
    }
}

impl<D> fmt::Debug for TypedRequest<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TypedRequest").field(&self.request).finish()
    }
}

impl<D> Clone for TypedRequest<D> {
    fn clone(&self) -> Self {
        Self {
            request: self.request.clone(),
            answer: PhantomData,
        }
    }
}

/// The kinds of object an endpoint names in its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Object {
    /// `/containers/{id}`.
    Container,
    /// `/images/{name}`.
    Image,
    /// `/exec/{id}`.
    Exec,
    /// `/volumes/{name}`.
    Volume,
    /// `/networks/{id}`.
    Network,
}

impl Object {
    /// `/{collection}/{id}{suffix}`, such as `/containers/web/json`. `id` is trimmed, refused when blank
    /// (as moby's client refuses it, before sending anything), then escaped.
    pub(crate) fn path(self, id: &str, suffix: &str) -> Result<String, Error> {
        let (collection, noun) = match self {
            Self::Container => ("containers", "container"),
            Self::Image => ("images", "image"),
            Self::Exec => ("exec", "exec"),
            Self::Volume => ("volumes", "volume"),
            Self::Network => ("networks", "network"),
        };
        let id = id.trim();
        if id.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "invalid {noun} name or ID: value is empty"
            )));
        }
        // A `.` or `..` segment would be resolved by a URL parser (a browser's fetch does) into another
        // path than the object's: no name or ID has one.
        if id
            .split('/')
            .any(|segment| segment == "." || segment == "..")
        {
            return Err(Error::InvalidArgument(format!(
                "invalid {noun} name or ID: {id:?}"
            )));
        }
        Ok(format!("/{collection}/{}{suffix}", escape_path(id)))
    }

    /// A request without a body to [`path`](Self::path), typed with its answer's `D`.
    pub(crate) fn request<D: Decode>(
        self,
        factory: &RequestFactory,
        method: Method,
        id: &str,
        suffix: &str,
        query: &Query,
    ) -> Result<TypedRequest<D>, Error> {
        let path = self.path(id, suffix)?;
        Ok(TypedRequest::new(factory.build(method, &path, query)))
    }

    /// A `POST` to [`path`](Self::path) with `body` as its JSON body, typed with its answer's `D`.
    pub(crate) fn json_request<D: Decode>(
        self,
        factory: &RequestFactory,
        id: &str,
        suffix: &str,
        body: &impl serde::Serialize,
    ) -> Result<TypedRequest<D>, Error> {
        let path = self.path(id, suffix)?;
        factory
            .build_json(Method::POST, &path, &Query::new(), body)
            .map(TypedRequest::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::HeaderMap;

    fn answer(status: u16) -> Response {
        Response {
            status,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    #[test]
    fn dot_segments_cannot_move_a_request_to_another_path() {
        for id in ["..", ".", "../containers/x", "a/../b", "x/."] {
            let err = Object::Image.path(id, "/json").unwrap_err();
            assert!(matches!(err, Error::InvalidArgument(_)), "{id}: {err}");
        }
        assert_eq!(
            Object::Image
                .path("my.reg:5000/a.b/c..d:1.0", "/json")
                .unwrap(),
            "/images/my.reg:5000/a.b/c..d:1.0/json"
        );
    }

    #[test]
    fn blank_ids_are_refused_and_others_trimmed_and_escaped() {
        let err = Object::Container.path(" \t", "").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid container name or ID: value is empty"
        );
        assert_eq!(
            Object::Image.path(" user/app:1 ", "/json").unwrap(),
            "/images/user/app:1/json"
        );
        assert_eq!(
            Object::Container.path("a b", "").unwrap(),
            "/containers/a%20b"
        );
        assert_eq!(Object::Exec.path("e", "/start").unwrap(), "/exec/e/start");
    }

    #[test]
    fn no_content_accepts_204_and_304_only() {
        assert!(NoContent::decode("POST /x", answer(204)).is_ok());
        assert!(NoContent::decode("POST /x", answer(304)).is_ok());
        let err = NoContent::decode("POST /x", answer(409)).unwrap_err();
        assert_eq!(err.kind(), Some(crate::ErrorKind::Conflict));
    }
}
