//! Network endpoints (moby's `api/server/router/network`): list, inspect, create, remove, prune,
//! connect and disconnect.

use http::Method;

use super::{Json, NoContent, TypedRequest};
use crate::error::Error;
use crate::models::{
    Network, NetworkConnectRequest, NetworkCreateRequest, NetworkCreateResponse,
    NetworkDisconnectRequest, NetworkPruneResponse,
};
use crate::query::{escape_path, Filters, Query};
use crate::request::RequestFactory;

/// `/networks/{id}{suffix}`; a blank ID is refused before anything is sent, as moby's client does.
fn path(id: &str, suffix: &str) -> Result<String, Error> {
    let id = id.trim();
    if id.is_empty() || id.split('/').any(|s| s == "." || s == "..") {
        return Err(Error::InvalidArgument(format!(
            "invalid network name or ID: {id:?}"
        )));
    }
    Ok(format!("/networks/{}{suffix}", escape_path(id)))
}

/// `GET /networks`, with `filters` (`name`, `id`, `driver`, `label`, `type`).
pub fn list_request(
    factory: &RequestFactory,
    filters: &Filters,
) -> TypedRequest<Json<Vec<Network>>> {
    let mut query = Query::new();
    query.filters(filters);
    TypedRequest::new(factory.build(Method::GET, "/networks", &query))
}

/// `GET /networks/{id}`.
pub fn inspect_request(
    factory: &RequestFactory,
    id: &str,
) -> Result<TypedRequest<Json<Network>>, Error> {
    Ok(TypedRequest::new(factory.build(
        Method::GET,
        &path(id, "")?,
        &Query::new(),
    )))
}

/// `POST /networks/create`.
pub fn create_request(
    factory: &RequestFactory,
    body: &NetworkCreateRequest,
) -> Result<TypedRequest<Json<NetworkCreateResponse>>, Error> {
    factory
        .build_json(Method::POST, "/networks/create", &Query::new(), body)
        .map(TypedRequest::new)
}

/// `DELETE /networks/{id}`.
pub fn remove_request(
    factory: &RequestFactory,
    id: &str,
) -> Result<TypedRequest<NoContent>, Error> {
    Ok(TypedRequest::new(factory.build(
        Method::DELETE,
        &path(id, "")?,
        &Query::new(),
    )))
}

/// `POST /networks/prune`, with `filters` (`label`, `until`).
pub fn prune_request(
    factory: &RequestFactory,
    filters: &Filters,
) -> TypedRequest<Json<NetworkPruneResponse>> {
    let mut query = Query::new();
    query.filters(filters);
    TypedRequest::new(factory.build(Method::POST, "/networks/prune", &query))
}

/// `POST /networks/{id}/connect`.
pub fn connect_request(
    factory: &RequestFactory,
    id: &str,
    body: &NetworkConnectRequest,
) -> Result<TypedRequest<NoContent>, Error> {
    factory
        .build_json(Method::POST, &path(id, "/connect")?, &Query::new(), body)
        .map(TypedRequest::new)
}

/// `POST /networks/{id}/disconnect`.
pub fn disconnect_request(
    factory: &RequestFactory,
    id: &str,
    body: &NetworkDisconnectRequest,
) -> Result<TypedRequest<NoContent>, Error> {
    factory
        .build_json(Method::POST, &path(id, "/disconnect")?, &Query::new(), body)
        .map(TypedRequest::new)
}
