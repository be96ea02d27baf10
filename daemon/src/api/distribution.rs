//! `GET /distribution/{name}/json` (moby's `api/server/router/distribution`): the name read from the
//! path, the credentials from `X-Registry-Auth`; the registry is asked by `registry::distribution`.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use wharf_client_core::Reference;

use crate::error::Error;
use crate::registry::distribution::{self, DistributionInspect};
use crate::state::AppState;

/// `GET /distribution/{name}/json`, routed from the images' router (`/distribution/{*rest}`).
pub(crate) async fn inspect(
    State(state): State<AppState>,
    Path(rest): Path<String>,
    headers: HeaderMap,
) -> Result<Json<DistributionInspect>, Error> {
    let Some(name) = rest.strip_suffix("/json") else {
        return Err(Error::new(
            wharf_client_core::ErrorKind::NotFound,
            "page not found",
        ));
    };
    // dockerd ignores a header it cannot read here (anonymous access).
    let auth = super::images::registry_auth(&headers);
    let reference = Reference::parse_tagged(name).map_err(|e| Error::invalid(e.to_string()))?;
    distribution::inspect(state.registries(), &reference, &auth)
        .await
        .map(Json)
}
