//! System endpoints: `/version`, `/info`, `/system/df`. (`/_ping` lives in [`negotiate`](crate::negotiate).)

use http::Method;

use super::{Json, TypedRequest};
use crate::models::{SystemDataUsageResponse, SystemInfo, SystemVersion};
use crate::query::Query;
use crate::request::RequestFactory;

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
