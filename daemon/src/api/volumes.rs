//! Volume routes — moby's `api/server/router/volume`: create, list, inspect, remove, prune. The work is
//! the volume store's (`crate::volumes`), run off the async workers (it touches the disk and, for
//! removals, unmounts).

use std::collections::BTreeMap;

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use wharf_client_core::version::ApiVersion;

use super::params::Params;
use super::version::RequestedVersion;
use super::JsonBody;
use crate::error::Error;
use crate::state::AppState;
use crate::volumes::filters::{
    ListFilter, PruneFilter, LIST_FILTERS, PRUNE_FILTERS, PRUNE_FILTERS_1_42,
};
use crate::volumes::{CreateOptions, VolumeStore};

/// The volume routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/volumes", get(list))
        .route("/volumes/create", post(create))
        .route("/volumes/prune", post(prune))
        .route("/volumes/{name}", get(inspect).delete(remove))
}

/// The body of `POST /volumes/create`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct CreateBody {
    name: Option<String>,
    driver: Option<String>,
    driver_opts: Option<BTreeMap<String, String>>,
    labels: Option<BTreeMap<String, String>>,
}

/// Runs `work` on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(Error::system)?
}

async fn create(
    volumes: VolumeStore,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<Response, Error> {
    let options = CreateOptions {
        // An empty name is an anonymous volume, as with dockerd.
        name: body.name.filter(|n| !n.is_empty()),
        driver: body.driver,
        labels: body.labels,
        options: body.driver_opts,
    };
    let volume = blocking(move || volumes.create(options)).await?;
    Ok((StatusCode::CREATED, Json(volume.to_json())).into_response())
}

async fn list(volumes: VolumeStore, p: Params) -> Result<Response, Error> {
    let filter = ListFilter::new(&p.filters(LIST_FILTERS)?)?;
    let list = blocking(move || Ok(volumes.list(&filter))).await?;
    let list: Vec<Value> = list.iter().map(|v| v.to_json()).collect();
    Ok(Json(json!({"Volumes": list, "Warnings": null})).into_response())
}

async fn inspect(volumes: VolumeStore, Path(name): Path<String>) -> Result<Response, Error> {
    Ok(Json(volumes.get(&name)?.to_json()).into_response())
}

async fn remove(
    volumes: VolumeStore,
    Path(name): Path<String>,
    p: Params,
) -> Result<Response, Error> {
    let force = p.bool("force");
    blocking(move || volumes.remove(&name, force)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn prune(
    volumes: VolumeStore,
    Extension(RequestedVersion(version)): Extension<RequestedVersion>,
    p: Params,
) -> Result<Response, Error> {
    let api_1_42 = version >= ApiVersion::new(1, 42);
    let accepted = if api_1_42 {
        PRUNE_FILTERS_1_42
    } else {
        PRUNE_FILTERS
    };
    let filter = PruneFilter::new(&p.filters(accepted)?, api_1_42)?;
    let report = blocking(move || Ok(volumes.prune(&filter))).await?;
    let deleted = if report.deleted.is_empty() {
        Value::Null
    } else {
        json!(report.deleted)
    };
    Ok(
        Json(json!({"VolumesDeleted": deleted, "SpaceReclaimed": report.reclaimed}))
            .into_response(),
    )
}
