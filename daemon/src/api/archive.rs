//! A container's files: `docker cp`'s routes (moby's `router/container/copy.go`): `HEAD
//! /containers/{id}/archive` answers the path's stat in `X-Docker-Container-Path-Stat`, `GET` the same
//! header and a tar of the path, `PUT` extracts a tar into a directory; `docker diff`'s
//! `/containers/{id}/changes`, `docker export`'s `/containers/{id}/export` and `docker commit`'s
//! `/commit`. The work is `runtime/archive/`, `runtime/changes.rs` and `runtime/commit.rs`.

use axum::body::Body;
use axum::extract::{Path, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use http::StatusCode;

use super::params::Params;
use crate::error::Error;
use crate::runtime::{CommitOptions, ExtractOptions, PathStat, Runtime};
use crate::state::AppState;

/// The header that carries a path's stat (base64 of its JSON).
const STAT_HEADER: HeaderName = HeaderName::from_static("x-docker-container-path-stat");

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/containers/{id}/archive",
            get(get_archive).head(head_archive).put(put_archive),
        )
        .route("/containers/{id}/changes", get(changes))
        .route("/containers/{id}/export", get(export))
        .route("/commit", post(commit))
}

/// `POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=`: 201 `{"Id": ...}`. `pause`
/// absent or empty is true, as dockerd reads it; the body (a config to merge) is not read.
async fn commit(rt: Runtime, p: Params) -> Result<Response, Error> {
    let opts = CommitOptions {
        repo: p.get("repo").to_owned(),
        tag: p.get("tag").to_owned(),
        comment: p.get("comment").to_owned(),
        author: p.get("author").to_owned(),
        pause: p.get("pause").is_empty() || p.bool("pause"),
        changes: p.all("changes"),
    };
    let id = rt.commit(p.get("container"), opts).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "Id": id }))).into_response())
}

/// `GET /containers/{id}/changes`: dockerd answers `null` when nothing changed.
async fn changes(rt: Runtime, Path(id): Path<String>) -> Result<Response, Error> {
    let changes = rt.changes(&id).await?;
    if changes.is_empty() {
        return Ok(Json(serde_json::Value::Null).into_response());
    }
    Ok(Json(changes).into_response())
}

async fn export(rt: Runtime, Path(id): Path<String>) -> Result<Response, Error> {
    let stream = rt.export(&id).await?;
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-tar"));
    Ok(response)
}

/// The `path` parameter, 400 as dockerd words it when missing.
fn path_param(p: &Params) -> Result<&str, Error> {
    match p.get("path") {
        "" => Err(Error::invalid("bad parameter: pathcannot be empty")),
        path => Ok(path),
    }
}

async fn head_archive(rt: Runtime, Path(id): Path<String>, p: Params) -> Result<Response, Error> {
    let stat = rt.archive_stat(&id, path_param(&p)?).await?;
    let mut response = StatusCode::OK.into_response();
    response
        .headers_mut()
        .insert(STAT_HEADER, stat_value(&stat)?);
    Ok(response)
}

fn stat_value(stat: &PathStat) -> Result<HeaderValue, Error> {
    HeaderValue::from_str(&stat.header_value()).map_err(Error::system)
}

async fn get_archive(rt: Runtime, Path(id): Path<String>, p: Params) -> Result<Response, Error> {
    let (stat, stream) = rt.archive_get(&id, path_param(&p)?).await?;
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(STAT_HEADER, stat_value(&stat)?);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-tar"));
    Ok(response)
}

async fn put_archive(
    rt: Runtime,
    Path(id): Path<String>,
    p: Params,
    request: Request,
) -> Result<Response, Error> {
    let path = path_param(&p)?.to_owned();
    let opts = ExtractOptions {
        no_overwrite_dir_non_dir: p.bool("noOverwriteDirNonDir"),
        chown: None,
    };
    let body = request.into_body().into_data_stream();
    rt.archive_put(&id, &path, opts, p.bool("copyUIDGID"), body)
        .await?;
    Ok(StatusCode::OK.into_response())
}
