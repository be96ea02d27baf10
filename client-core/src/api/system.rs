//! System endpoints: `/version`, `/info`, `/system/df`. (`/_ping` lives in [`negotiate`](crate::negotiate).)

use http::Method;

use crate::error::Error;
use crate::models::{SystemDataUsageResponse, SystemInfo, SystemVersion};
use crate::query::Query;
use crate::request::{Request, RequestFactory};
use crate::response::Response;

/// `GET /version`.
pub fn version_request(factory: &RequestFactory) -> Request {
    factory.build(Method::GET, "/version", &Query::new())
}

/// Decodes the answer to `GET /version`.
pub fn decode_version(route: &str, response: Response) -> Result<SystemVersion, Error> {
    response.json(route)
}

/// `GET /info`.
pub fn info_request(factory: &RequestFactory) -> Request {
    factory.build(Method::GET, "/info", &Query::new())
}

/// Decodes the answer to `GET /info`.
pub fn decode_info(route: &str, response: Response) -> Result<SystemInfo, Error> {
    response.json(route)
}

/// `GET /system/df`: what images, containers, volumes and the build cache take on disk.
pub fn df_request(factory: &RequestFactory) -> Request {
    factory.build(Method::GET, "/system/df", &Query::new())
}

/// Decodes the answer to `GET /system/df`.
pub fn decode_df(route: &str, response: Response) -> Result<SystemDataUsageResponse, Error> {
    response.json(route)
}
