//! System endpoints: `/version`, `/info`, `/system/df`, `/events`. (`/_ping` lives in
//! [`negotiate`](crate::negotiate).)

use http::Method;

use super::{Json, TypedRequest};
use crate::models::{SystemDataUsageResponse, SystemInfo, SystemVersion};
use crate::query::{Filters, Query};
use crate::request::{Request, RequestFactory};

/// `GET /version`.
pub fn version_request(factory: &RequestFactory) -> TypedRequest<Json<SystemVersion>> {
    TypedRequest::new(factory.build(Method::GET, "/version", &Query::new()))
}

/// `GET /info`.
pub fn info_request(factory: &RequestFactory) -> TypedRequest<Json<SystemInfo>> {
    TypedRequest::new(factory.build(Method::GET, "/info", &Query::new()))
}

/// `GET /system/df`: what images, containers, volumes and the build cache take on disk.
pub fn df_request(factory: &RequestFactory) -> TypedRequest<Json<SystemDataUsageResponse>> {
    TypedRequest::new(factory.build(Method::GET, "/system/df", &Query::new()))
}

/// Parameters of `GET /events`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventsOptions {
    /// `since`: replay events from this Unix time (seconds, possibly with a fraction), sent as given.
    pub since: Option<String>,
    /// `until`: end the stream at this Unix time; without it the stream lasts until the client leaves.
    pub until: Option<String>,
    /// `filters`: `type`, `event`, `container`, `image`, `label`, `daemon`...
    pub filters: Filters,
}

/// `GET /events`. Its answer is a stream of JSON messages ([`EventMessage`](crate::models::EventMessage)),
/// one per event as it happens: read it with a [`StreamingTransport`](crate::StreamingTransport) and a
/// [`MessageDecoder`](crate::stream::MessageDecoder).
pub fn events_request(factory: &RequestFactory, options: &EventsOptions) -> Request {
    let mut query = Query::new();
    query
        .optional("since", options.since.as_deref())
        .optional("until", options.until.as_deref())
        .filters(&options.filters);
    factory.build(Method::GET, "/events", &query)
}
