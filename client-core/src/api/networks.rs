//! Network endpoints (moby's `api/server/router/network`): list, inspect, create, remove, prune,
//! connect and disconnect.

use http::Method;

use super::{Json, NoContent, Object, TypedRequest};
use crate::error::Error;
use crate::models::{
    Network, NetworkConnectRequest, NetworkCreateRequest, NetworkCreateResponse,
    NetworkDisconnectRequest, NetworkPruneResponse,
};
use crate::query::{Filters, Query};
use crate::request::RequestFactory;

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
    Object::Network.request(factory, Method::GET, id, "", &Query::new())
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
    Object::Network.request(factory, Method::DELETE, id, "", &Query::new())
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
        .build_json(
            Method::POST,
            &Object::Network.path(id, "/connect")?,
            &Query::new(),
            body,
        )
        .map(TypedRequest::new)
}

/// `POST /networks/{id}/disconnect`.
pub fn disconnect_request(
    factory: &RequestFactory,
    id: &str,
    body: &NetworkDisconnectRequest,
) -> Result<TypedRequest<NoContent>, Error> {
    factory
        .build_json(
            Method::POST,
            &Object::Network.path(id, "/disconnect")?,
            &Query::new(),
            body,
        )
        .map(TypedRequest::new)
}
