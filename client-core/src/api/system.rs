//! System endpoints: `/version`, `/info`. (`/_ping` lives in [`negotiate`](crate::negotiate).)

use http::Method;

use crate::error::Error;
use crate::models::{SystemInfo, SystemVersion};
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
