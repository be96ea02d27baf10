//! Exec endpoints — moby's `api/server/router/container` exec part: create, start, inspect, resize.
//!
//! Starting without `Detach` turns the connection into the process's stdio (an upgrade to `tcp`, as
//! attaching does): what flows then is the transport's to carry, in stdcopy frames
//! ([`crate::stdcopy`]) unless the exec has a TTY. After its output ends the exit code is read with
//! [`inspect_request`], as the docker CLI reads it.

use http::Method;

use super::path_id;
use crate::error::Error;
use crate::models::{ExecConfig, ExecInspectResponse, ExecStartConfig};
use crate::query::Query;
use crate::request::{Request, RequestFactory};
use crate::response::Response;

/// The answer to `POST /containers/{id}/exec`: `{"Id"}` (the models' `IdResponse` spells it `ID`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExecCreated {
    /// The new exec's ID.
    #[serde(rename = "Id")]
    pub id: String,
}

fn exec_path(id: &str, suffix: &str) -> Result<String, Error> {
    Ok(format!("/exec/{}{suffix}", path_id("exec", id)?))
}

/// `POST /containers/{id}/exec`, `config` as its JSON body.
pub fn create_request(
    factory: &RequestFactory,
    container: &str,
    config: &ExecConfig,
) -> Result<Request, Error> {
    let path = format!("/containers/{}/exec", path_id("container", container)?);
    factory.build_json(Method::POST, &path, &Query::new(), config)
}

/// Decodes the answer to `POST /containers/{id}/exec`: `{"Id"}`.
pub fn decode_create(route: &str, response: Response) -> Result<ExecCreated, Error> {
    response.json(route)
}

/// `POST /exec/{id}/start`, `config` as its JSON body. Detached, its answer is
/// [`decode_no_content`](super::decode_no_content).
pub fn start_request(
    factory: &RequestFactory,
    id: &str,
    config: &ExecStartConfig,
) -> Result<Request, Error> {
    factory.build_json(
        Method::POST,
        &exec_path(id, "/start")?,
        &Query::new(),
        config,
    )
}

/// `GET /exec/{id}/json`.
pub fn inspect_request(factory: &RequestFactory, id: &str) -> Result<Request, Error> {
    Ok(factory.build(Method::GET, &exec_path(id, "/json")?, &Query::new()))
}

/// Decodes the answer to `GET /exec/{id}/json`; `ExitCode` is `None` until the process ended.
pub fn decode_inspect(route: &str, response: Response) -> Result<ExecInspectResponse, Error> {
    response.json(route)
}

/// `POST /exec/{id}/resize?h=&w=`: the size of the exec's TTY. Its answer:
/// [`decode_no_content`](super::decode_no_content).
pub fn resize_request(
    factory: &RequestFactory,
    id: &str,
    height: u32,
    width: u32,
) -> Result<Request, Error> {
    Ok(factory.build(
        Method::POST,
        &exec_path(id, "/resize")?,
        &size_query(height, width),
    ))
}

/// `h` and `w`, as moby's client sends a terminal size.
pub(crate) fn size_query(height: u32, width: u32) -> Query {
    let mut query = Query::new();
    query.append("h", height.to_string());
    query.append("w", width.to_string());
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blank_exec_id_is_refused_before_anything_is_sent() {
        let factory = RequestFactory::new("api.moby.localhost", "").unwrap();
        let err = inspect_request(&factory, " ").unwrap_err();
        assert_eq!(err.to_string(), "invalid exec name or ID: value is empty");
    }
}
