//! Network routes — moby's `api/server/router/network`: list, inspect, create, remove, prune, connect,
//! disconnect. The work is the runtime's (`runtime/networks.rs`); the shapes are dockerd 20.10's.

use axum::extract::{Path, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use http::StatusCode;
use serde_json::{json, Value};

use super::params::Params;
use super::{invalid_json, json_bytes};
use crate::error::Error;
use crate::network::defs::CreateNetwork;
use crate::runtime::networks::NETWORK_FILTERS;
use crate::runtime::Runtime;
use crate::state::AppState;

/// The network routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/networks", get(list))
        .route("/networks/create", post(create))
        .route("/networks/prune", post(prune))
        .route("/networks/{id}", get(inspect))
        .route("/networks/{id}", delete(remove))
        .route("/networks/{id}/connect", post(connect))
        .route("/networks/{id}/disconnect", post(disconnect))
}

async fn list(rt: Runtime, p: Params) -> Result<Response, Error> {
    let filters = p.filters(NETWORK_FILTERS)?;
    Ok(Json(rt.network_list(&filters)).into_response())
}

async fn inspect(rt: Runtime, Path(id): Path<String>) -> Result<Response, Error> {
    Ok(Json(rt.network_inspect(&id)?).into_response())
}

async fn create(rt: Runtime, request: Request) -> Result<Response, Error> {
    let bytes = json_bytes(request).await?;
    let body: CreateNetwork = serde_json::from_slice(&bytes).map_err(|e| invalid_json(&e))?;
    let id = rt.network_create(body)?;
    Ok((StatusCode::CREATED, Json(json!({"Id": id, "Warning": ""}))).into_response())
}

async fn remove(rt: Runtime, Path(id): Path<String>) -> Result<Response, Error> {
    rt.network_remove(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn prune(rt: Runtime, p: Params) -> Result<Response, Error> {
    let filters = p.filters(NETWORK_FILTERS)?;
    let deleted = rt.network_prune(&filters).await?;
    let deleted = if deleted.is_empty() {
        Value::Null
    } else {
        json!(deleted)
    };
    Ok(Json(json!({"NetworksDeleted": deleted})).into_response())
}

/// The body of connect and disconnect.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Endpoint {
    container: String,
    endpoint_config: Option<wharf_client_core::models::EndpointSettings>,
}

async fn connect(rt: Runtime, Path(id): Path<String>, request: Request) -> Result<Response, Error> {
    let bytes = json_bytes(request).await?;
    let body: Endpoint = serde_json::from_slice(&bytes).map_err(|e| invalid_json(&e))?;
    rt.network_connect(&id, &body.container, body.endpoint_config)
        .await?;
    Ok(StatusCode::OK.into_response())
}

async fn disconnect(
    rt: Runtime,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, Error> {
    let bytes = json_bytes(request).await?;
    let body: Endpoint = serde_json::from_slice(&bytes).map_err(|e| invalid_json(&e))?;
    rt.network_disconnect(&id, &body.container).await?;
    Ok(StatusCode::OK.into_response())
}
