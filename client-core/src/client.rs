//! A Docker client over any [`Transport`]: the sans-I/O pieces driven by one `await` per request.
//!
//! The API version is negotiated lazily before the first versioned request, unless it was pinned
//! (`DOCKER_API_VERSION`), exactly as moby's client with `WithAPIVersionNegotiation` does.
//!
//! Every endpoint method is one [`Client::call`] of a builder of [`api`](crate::api): the container and
//! image ones are in `client/containers.rs` and `client/images.rs`, the streamed answers (followed logs,
//! events) in `client/stream.rs`, login, distribution, pull and push in `client/registry.rs`.

mod containers;
mod images;
mod registry;
mod stream;
mod wharf;

use std::sync::{PoisonError, RwLock};

use crate::api::{system, Decode, TypedRequest};
use crate::error::Error;
use crate::models::{SystemDataUsageResponse, SystemInfo, SystemVersion};
use crate::negotiate::{self, Ping, PingStep};
use crate::request::{Request, RequestFactory};
use crate::response::Response;
use crate::transport::Transport;
use crate::version::{ApiVersion, MAX_API_VERSION, MIN_API_VERSION};

/// Where a client talks to and how it picks its API version.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The `Host` header ([`DUMMY_HOST`](crate::request::DUMMY_HOST) for unix sockets).
    pub host_header: String,
    /// A path prefix before `/v{version}` (from `tcp://host:port/base`), or empty.
    pub base_path: String,
    /// A version to speak without negotiating (`DOCKER_API_VERSION`).
    pub pinned_version: Option<ApiVersion>,
}

/// A Docker Engine API client.
#[derive(Debug)]
pub struct Client<T> {
    transport: T,
    factory: RwLock<RequestFactory>,
    negotiated: RwLock<bool>,
}

impl<T: Transport> Client<T> {
    /// A client sending through `transport`.
    pub fn new(transport: T, config: ClientConfig) -> Result<Self, Error> {
        let mut factory = RequestFactory::new(&config.host_header, &config.base_path)?;
        let negotiated = if let Some(v) = config.pinned_version {
            factory.set_version(v);
            true
        } else {
            false
        };
        Ok(Self {
            transport,
            factory: RwLock::new(factory),
            negotiated: RwLock::new(negotiated),
        })
    }

    /// The transport underneath.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The API version requests are sent with, once negotiated or pinned.
    pub fn api_version(&self) -> Option<ApiVersion> {
        self.factory
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .version()
    }

    /// `HEAD /_ping`, falling back to `GET /_ping`.
    pub async fn ping(&self) -> Result<Ping, Error> {
        let head = negotiate::ping_request(&self.factory());
        let response = self.transport.send(head.clone()).await?;
        match negotiate::on_head_response(&head, &response) {
            PingStep::Done(ping) => Ok(ping),
            PingStep::RetryWithGet(get) => {
                let route = get.route();
                negotiate::parse_ping(&route, self.transport.send(get).await?)
            }
        }
    }

    /// Agrees on an API version with the daemon, once; later calls return the agreed one.
    pub async fn negotiate(&self) -> Result<ApiVersion, Error> {
        if let (true, Some(v)) = (
            *self
                .negotiated
                .read()
                .unwrap_or_else(PoisonError::into_inner),
            self.api_version(),
        ) {
            return Ok(v);
        }
        let ping = self.ping().await?;
        let version = negotiate::choose_version(&ping, MIN_API_VERSION, MAX_API_VERSION)?;
        self.factory
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .set_version(version);
        *self
            .negotiated
            .write()
            .unwrap_or_else(PoisonError::into_inner) = true;
        Ok(version)
    }

    /// `GET /version`.
    pub async fn version(&self) -> Result<SystemVersion, Error> {
        self.call(|f| Ok(system::version_request(f))).await
    }

    /// `GET /info`.
    pub async fn info(&self) -> Result<SystemInfo, Error> {
        self.call(|f| Ok(system::info_request(f))).await
    }

    /// `GET /system/df`.
    pub async fn df(&self) -> Result<SystemDataUsageResponse, Error> {
        self.call(|f| Ok(system::df_request(f))).await
    }

    /// Negotiates, builds with `build` (a builder of [`api`](crate::api)), sends, and decodes the answer
    /// as the request's type says.
    pub async fn call<D: Decode>(
        &self,
        build: impl FnOnce(&RequestFactory) -> Result<TypedRequest<D>, Error>,
    ) -> Result<D::Output, Error> {
        self.negotiate().await?;
        let typed = build(&self.factory())?;
        let route = typed.request.route();
        D::decode(&route, self.send(typed.request).await?)
    }

    /// Sends a request built by the caller; the answer comes back whatever its status.
    pub async fn send(&self, request: Request) -> Result<Response, Error> {
        Ok(self.transport.send(request).await?)
    }

    /// Builds a request after negotiating, so its path carries the agreed version.
    pub async fn versioned(
        &self,
        build: impl FnOnce(&RequestFactory) -> Request,
    ) -> Result<Request, Error> {
        self.negotiate().await?;
        Ok(build(&self.factory()))
    }

    /// Builds a request with a builder of [`api`](crate::api) after negotiating, without sending it: for
    /// what another channel carries (the path and query of a WebSocket URL).
    pub async fn prepare<D: Decode>(
        &self,
        build: impl FnOnce(&RequestFactory) -> Result<TypedRequest<D>, Error>,
    ) -> Result<Request, Error> {
        self.negotiate().await?;
        Ok(build(&self.factory())?.request)
    }

    /// Builds a plain request (one whose answer the caller reads its own way, such as a download) after
    /// negotiating; the builder may refuse its arguments.
    pub async fn prepare_plain(
        &self,
        build: impl FnOnce(&RequestFactory) -> Result<Request, Error>,
    ) -> Result<Request, Error> {
        self.negotiate().await?;
        build(&self.factory())
    }

    fn factory(&self) -> RequestFactory {
        self.factory
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
