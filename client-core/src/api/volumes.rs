//! Volume endpoints — moby's `api/server/router/volume`: create, list, inspect, remove, prune.
//!
//! Answers decode into the API's models: [`Volume`] (its `Labels` and `Options` are empty maps when the
//! daemon sends `null`, as dockerd 20.10 does for a volume made without them), [`VolumeListResponse`],
//! [`VolumePruneResponse`].

use http::Method;

use super::{Json, NoContent, Object, TypedRequest};
use crate::error::Error;
use crate::models::{Volume, VolumeCreateOptions, VolumeListResponse, VolumePruneResponse};
use crate::query::{Filters, Query};
use crate::request::RequestFactory;

/// `POST /volumes/create`: a named volume, or an anonymous one without `Name`; an existing volume of
/// that name is answered as it is. Its answer: the volume (201).
pub fn create_request(
    factory: &RequestFactory,
    options: &VolumeCreateOptions,
) -> Result<TypedRequest<Json<Volume>>, Error> {
    factory
        .build_json(Method::POST, "/volumes/create", &Query::new(), options)
        .map(TypedRequest::new)
}

/// `GET /volumes`, with `filters` (`name`, `label`, `dangling`, `driver`). Its answer:
/// `{"Volumes", "Warnings"}`.
pub fn list_request(
    factory: &RequestFactory,
    filters: &Filters,
) -> TypedRequest<Json<VolumeListResponse>> {
    let mut query = Query::new();
    query.filters(filters);
    TypedRequest::new(factory.build(Method::GET, "/volumes", &query))
}

/// `GET /volumes/{name}`.
pub fn inspect_request(
    factory: &RequestFactory,
    name: &str,
) -> Result<TypedRequest<Json<Volume>>, Error> {
    Object::Volume.request(factory, Method::GET, name, "", &Query::new())
}

/// `DELETE /volumes/{name}`; `force`: a missing volume is no error. A volume a container uses is a 409
/// (`remove NAME: volume is in use - [IDs]`), forced or not.
pub fn remove_request(
    factory: &RequestFactory,
    name: &str,
    force: bool,
) -> Result<TypedRequest<NoContent>, Error> {
    let mut query = Query::new();
    query.flag("force", force);
    Object::Volume.request(factory, Method::DELETE, name, "", &query)
}

/// `POST /volumes/prune`, with `filters` (`label`, `label!`; `all` from API 1.42, where only anonymous
/// volumes go without it). Its answer: `{"VolumesDeleted", "SpaceReclaimed"}`.
pub fn prune_request(
    factory: &RequestFactory,
    filters: &Filters,
) -> TypedRequest<Json<VolumePruneResponse>> {
    let mut query = Query::new();
    query.filters(filters);
    TypedRequest::new(factory.build(Method::POST, "/volumes/prune", &query))
}
