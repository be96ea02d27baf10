//! Image routes — moby's `api/server/router/image`: import, list, inspect, history, tag, delete, prune —
//! and `/system/df`. Names may contain `/`, so the per-image routes are one wildcard dispatched on suffix.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use bytes::Bytes;
use http::StatusCode;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use wharf_client_core::registry_auth::RegistryAuth;
use wharf_client_core::ErrorKind;

use super::params::{glob, Params};
use crate::error::Error;
use crate::images::import::ImportOptions;
use crate::images::progress::{self, Progress};
use crate::images::pull::platform::Platform;
use crate::images::pull::PullOptions;
use crate::images::push::push_reference;
use crate::images::{ImageEntry, ImageStore};
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/images/create", post(create))
        .route("/images/json", get(list))
        .route("/images/prune", post(prune))
        .route("/images/load", post(load))
        .route("/images/get", get(save_many))
        .route("/images/search", get(not_yet))
        .route("/images/{*name}", get(get_named).post(post_named))
        .route("/images/{*name}", delete(remove))
        .route("/system/df", get(df))
        .route("/distribution/{*rest}", get(super::distribution::inspect))
}

async fn not_yet() -> Error {
    Error::new(
        ErrorKind::NotImplemented,
        "registry search is not supported yet: wharfd pulls and pushes, but does not search registries",
    )
}

/// `POST /images/load`: answers dockerd's JSON message lines.
async fn load(images: ImageStore, body: Body) -> Result<Response, Error> {
    let lines = images.load(body.into_data_stream()).await?;
    let text: String = lines
        .iter()
        .map(|l| format!("{}\r\n", json!({ "stream": format!("{l}\n") })))
        .collect();
    Ok(([(http::header::CONTENT_TYPE, "application/json")], text).into_response())
}

async fn save(images: ImageStore, names: Vec<String>) -> Result<Response, Error> {
    let stream = images.save(&names).await?;
    Ok((
        [(http::header::CONTENT_TYPE, "application/x-tar")],
        Body::from_stream(stream),
    )
        .into_response())
}

/// `GET /images/get?names=a&names=b`.
async fn save_many(images: ImageStore, p: Params) -> Result<Response, Error> {
    let names = p.all("names");
    if names.is_empty() {
        return Err(Error::invalid("no images named: give names=<image>"));
    }
    save(images, names).await
}

/// `POST /images/create`: `fromSrc=-` imports the body; `fromImage` pulls.
async fn create(
    images: ImageStore,
    p: Params,
    headers: http::HeaderMap,
    body: Body,
) -> Result<Response, Error> {
    match (p.get("fromSrc"), p.get("fromImage")) {
        ("-", _) => {}
        ("", "") => return Err(Error::invalid("either fromSrc or fromImage must be given")),
        ("", image) => return pull(images, &p, &headers, image).await,
        (src, _) => {
            return Err(Error::new(
                ErrorKind::NotImplemented,
                format!("importing from {src} is not supported: send the archive as the request body (fromSrc=-)"),
            ))
        }
    }
    let opts = ImportOptions {
        repo: p.get("repo").to_owned(),
        tag: p.get("tag").to_owned(),
        message: p.get("message").to_owned(),
        changes: p.all("changes"),
    };
    let id = images.import(body.into_data_stream(), opts).await?;
    let line = format!("{}\r\n", json!({ "status": id }));
    Ok(([(http::header::CONTENT_TYPE, "application/json")], line).into_response())
}

/// The `X-Registry-Auth` credentials; as dockerd, an unreadable header counts as none.
pub(super) fn registry_auth(headers: &http::HeaderMap) -> RegistryAuth {
    headers
        .get("X-Registry-Auth")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .and_then(|v| RegistryAuth::from_header(v).ok())
        .unwrap_or_default()
}

/// A stream of progress messages from a backend task, ended by its error message if it fails. The task
/// runs to its end even when the client goes away (a pull or push is not left half-done).
fn progress_stream(
    rx: mpsc::Receiver<Progress>,
    task: tokio::task::JoinHandle<Result<(), Error>>,
) -> Response {
    let line = |v: String| Bytes::from(format!("{v}\r\n"));
    let stream = futures_util::stream::unfold((rx, Some(task)), move |(mut rx, task)| async move {
        if let Some(p) = rx.recv().await {
            return Some((
                Ok::<_, std::convert::Infallible>(line(p.to_json())),
                (rx, task),
            ));
        }
        let outcome = task?.await;
        let message = match outcome {
            Ok(Ok(())) => return None,
            Ok(Err(e)) => e.message,
            Err(e) => e.to_string(),
        };
        Some((Ok(line(progress::error_json(&message))), (rx, None)))
    });
    (
        [(http::header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response()
}

/// `POST /images/create?fromImage=&tag=&platform=`: errors before the pull starts (an unknown tag,
/// credentials) are the answer's status; later ones end the stream as dockerd's error message.
async fn pull(
    images: ImageStore,
    p: &Params,
    headers: &http::HeaderMap,
    image: &str,
) -> Result<Response, Error> {
    let platform = match p.get("platform") {
        "" => None,
        spec => Some(Platform::parse(spec)?),
    };
    let opts = PullOptions {
        image: image.to_owned(),
        tag: p.get("tag").to_owned(),
        platform,
        auth: registry_auth(headers),
    };
    let job = images.pull_prepare(&opts).await?;
    let (tx, rx) = mpsc::channel(64);
    let task = tokio::spawn(async move { images.pull_run(job, tx).await });
    Ok(progress_stream(rx, task))
}

fn summary(e: &ImageEntry, containers: i64, shared: i64) -> Value {
    let tags = e.repo_tags();
    let digests = e.repo_digests();
    let (tags, digests) = match (tags.is_empty(), digests.is_empty()) {
        (true, true) => (json!(["<none>:<none>"]), json!(["<none>@<none>"])),
        (true, false) => (json!(["<none>:<none>"]), json!(digests)),
        (false, true) => (json!(tags), Value::Null),
        (false, false) => (json!(tags), json!(digests)),
    };
    json!({
        "Containers": containers,
        "Created": e.created_unix(),
        "Id": e.id,
        "Labels": labels(e),
        "ParentId": "",
        "RepoDigests": digests,
        "RepoTags": tags,
        "SharedSize": shared,
        "Size": e.size,
        "VirtualSize": e.size,
    })
}

fn labels(e: &ImageEntry) -> Value {
    match e
        .meta
        .config
        .config
        .as_ref()
        .and_then(|c| c.labels.as_ref())
    {
        Some(l) => json!(l),
        None => Value::Null,
    }
}

fn has_label(e: &ImageEntry, want: &str) -> bool {
    let Some(l) = e
        .meta
        .config
        .config
        .as_ref()
        .and_then(|c| c.labels.as_ref())
    else {
        return false;
    };
    match want.split_once('=') {
        Some((k, v)) => l.get(k).is_some_and(|x| x == v),
        None => l.contains_key(want),
    }
}

/// `GET /images/json`.
async fn list(images: ImageStore, p: Params) -> Result<Json<Value>, Error> {
    let f = p.filters(&["reference", "dangling", "label", "before", "since"])?;
    let all_images = images.list().await?;
    let dangling = match f.get("dangling").first().map(String::as_str) {
        None => None,
        Some("true" | "1") => Some(true),
        Some("false" | "0") => Some(false),
        Some(other) => return Err(Error::invalid(format!("Invalid filter 'dangling={other}'"))),
    };
    let bound = |key: &str| {
        let name = f.get(key).first().cloned();
        let images = images.clone();
        async move {
            match name {
                None => Ok::<_, Error>(None),
                Some(n) => Ok(Some(images.resolve(&n).await?.created_unix())),
            }
        }
    };
    let before = bound("before").await?;
    let since = bound("since").await?;
    // `all` also lists intermediate images, which only builds make: there are none.
    let out: Vec<Value> = all_images
        .iter()
        .filter(|e| dangling.is_none_or(|d| e.dangling() == d))
        .filter(|e| f.get("label").iter().all(|l| has_label(e, l)))
        .filter(|e| before.is_none_or(|b| e.created_unix() < b))
        .filter(|e| since.is_none_or(|s| e.created_unix() > s))
        .filter_map(|e| {
            if !f.contains("reference") {
                return Some(summary(e, -1, -1));
            }
            let refs = f.get("reference");
            // As dockerd: only the tags that match are listed, and an image with none is left out.
            let matching: Vec<String> = e
                .repo_tags()
                .into_iter()
                .filter(|t| {
                    refs.iter().any(|r| {
                        glob(r, t) || t.rsplit_once(':').is_some_and(|(name, _)| glob(r, name))
                    })
                })
                .collect();
            if matching.is_empty() {
                return None;
            }
            let mut s = summary(e, -1, -1);
            s["RepoTags"] = json!(matching);
            Some(s)
        })
        .collect();
    Ok(Json(Value::Array(out)))
}

fn inspect_body(e: &ImageEntry, driver: &str) -> Value {
    let c = &e.meta.config;
    let run = |r: &Option<crate::images::oci::RunConfig>| {
        serde_json::to_value(r.clone().unwrap_or_default()).unwrap_or(Value::Null)
    };
    json!({
        "Id": e.id,
        "RepoTags": e.repo_tags(),
        "RepoDigests": e.repo_digests(),
        "Parent": "",
        "Comment": c.comment,
        "Created": c.created.clone().unwrap_or_default(),
        "Container": c.container,
        "ContainerConfig": run(&c.container_config),
        "DockerVersion": c.docker_version,
        "Author": c.author,
        "Config": run(&c.config),
        "Architecture": c.architecture,
        "Os": c.os,
        "Size": e.size,
        "VirtualSize": e.size,
        "GraphDriver": {"Data": null, "Name": driver},
        "RootFS": {"Type": c.rootfs.kind, "Layers": c.rootfs.diff_ids},
        "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
    })
}

fn history_body(e: &ImageEntry) -> Value {
    let c = &e.meta.config;
    let layers = &e.meta.manifest.layers;
    let non_empty = c
        .history
        .iter()
        .filter(|h| !h.empty_layer.unwrap_or(false))
        .count();
    let mut layer_index = 0usize;
    let mut rows: Vec<Value> = c
        .history
        .iter()
        .map(|h| {
            let empty = h.empty_layer.unwrap_or(false);
            let size = if empty {
                0
            } else {
                let s = if non_empty == 1 {
                    e.size
                } else {
                    layers.get(layer_index).map_or(0, |l| l.size)
                };
                layer_index += 1;
                s
            };
            json!({
                "Comment": h.comment.clone().unwrap_or_default(),
                "Created": h.created.as_deref().and_then(crate::timefmt::parse_rfc3339_seconds).unwrap_or(0),
                "CreatedBy": h.created_by.clone().unwrap_or_default(),
                "Id": "<missing>",
                "Size": size,
                "Tags": Value::Null,
            })
        })
        .collect();
    rows.reverse();
    if let Some(top) = rows.first_mut() {
        top["Id"] = json!(e.id);
        let tags = e.repo_tags();
        top["Tags"] = if tags.is_empty() {
            Value::Null
        } else {
            json!(tags)
        };
    }
    Value::Array(rows)
}

/// `GET /images/{name}/json`, `/images/{name}/history`, `/images/{name}/get`.
async fn get_named(images: ImageStore, Path(path): Path<String>) -> Result<Response, Error> {
    if let Some(name) = path.strip_suffix("/json") {
        let e = images.resolve(name).await?;
        return Ok(Json(inspect_body(&e, images.snapshotter())).into_response());
    }
    if let Some(name) = path.strip_suffix("/history") {
        let e = images.resolve(name).await?;
        return Ok(Json(history_body(&e)).into_response());
    }
    if let Some(name) = path.strip_suffix("/get") {
        return save(images, vec![name.to_owned()]).await;
    }
    Err(super::error::page_not_found())
}

/// `POST /images/{name}/tag` and `POST /images/{name}/push?tag=` (with `X-Registry-Auth`).
async fn post_named(
    images: ImageStore,
    Path(path): Path<String>,
    p: Params,
    headers: http::HeaderMap,
) -> Result<Response, Error> {
    if let Some(name) = path.strip_suffix("/tag") {
        if p.get("repo").is_empty() {
            return Err(Error::invalid(
                "repository name must have at least one component",
            ));
        }
        images.tag(name, p.get("repo"), p.get("tag")).await?;
        return Ok(StatusCode::CREATED.into_response());
    }
    if let Some(name) = path.strip_suffix("/push") {
        // As dockerd: only a malformed name is the request's error; the rest ends the stream.
        let reference = push_reference(name, p.get("tag"))?;
        let auth = registry_auth(&headers);
        let (tx, rx) = mpsc::channel(64);
        let task = tokio::spawn(async move { images.push(reference, auth, tx).await });
        return Ok(progress_stream(rx, task));
    }
    Err(super::error::page_not_found())
}

/// `DELETE /images/{name}`.
async fn remove(
    images: ImageStore,
    Path(name): Path<String>,
    p: Params,
) -> Result<Json<Value>, Error> {
    let items = images.delete(&name, p.bool("force")).await?;
    Ok(Json(serde_json::to_value(items).unwrap_or(Value::Null)))
}

/// `POST /images/prune`.
async fn prune(images: ImageStore, p: Params) -> Result<Json<Value>, Error> {
    let f = p.filters(&["dangling", "label", "label!", "until"])?;
    let all = f
        .get("dangling")
        .first()
        .is_some_and(|v| matches!(v.as_str(), "false" | "0"));
    let (labels, not_labels) = (f.get("label"), f.get("label!"));
    let (items, reclaimed) = images
        .prune(all, |e| {
            !labels.iter().all(|l| has_label(e, l)) || not_labels.iter().any(|l| has_label(e, l))
        })
        .await?;
    let deleted = if items.is_empty() {
        Value::Null
    } else {
        serde_json::to_value(items).unwrap_or(Value::Null)
    };
    Ok(Json(
        json!({"ImagesDeleted": deleted, "SpaceReclaimed": reclaimed}),
    ))
}

/// `GET /system/df`: images, containers and volumes (with `UsageData`: the containers referring to each
/// and its size; dockerd leaves out volumes with driver options); the build cache is empty.
async fn df(State(state): State<AppState>, images: ImageStore) -> Result<Json<Value>, Error> {
    let volumes = match state.backend() {
        Some(b) => {
            let store = b.volumes.clone();
            tokio::task::spawn_blocking(move || {
                store
                    .usage()
                    .into_iter()
                    .map(|(v, refs, size)| {
                        let mut json = v.to_json();
                        json["UsageData"] = json!({"RefCount": refs, "Size": size});
                        json
                    })
                    .collect::<Vec<Value>>()
            })
            .await
            .map_err(Error::system)?
        }
        None => Vec::new(),
    };
    let containers = match state.backend() {
        Some(b) => {
            let options = crate::runtime::ListOptions {
                all: true,
                size: true,
                ..Default::default()
            };
            b.containers.list(&options).await?
        }
        None => Vec::new(),
    };
    let all = images.list().await?;
    let layers: i64 = all.iter().map(|e| e.size).sum();
    let list: Vec<Value> = all
        .iter()
        .map(|e| summary(e, images.users().containers_using(&e.id).len() as i64, 0))
        .collect();
    Ok(Json(json!({
        "LayersSize": layers,
        "Images": list,
        "Containers": containers,
        "Volumes": volumes,
        "BuildCache": null,
        "BuilderSize": 0,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    #[tokio::test]
    async fn without_containerd_image_routes_are_unavailable_not_crashes() {
        let app = crate::api::router(AppState::for_tests());
        for (method, uri) in [
            ("GET", "/v1.47/images/json"),
            ("GET", "/v1.47/images/user/app:1/json"),
            ("DELETE", "/v1.47/images/x"),
            ("POST", "/v1.47/images/create?fromSrc=-"),
        ] {
            let req = http::Request::builder()
                .method(method)
                .uri(uri)
                .body(Body::empty())
                .unwrap();
            let res = app.clone().oneshot(req).await.unwrap();
            assert_eq!(
                res.status(),
                StatusCode::SERVICE_UNAVAILABLE,
                "{method} {uri}"
            );
            let body = res.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], br#"{"message":"containerd is not available"}"#);
        }
    }
}
