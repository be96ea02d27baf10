//! Exec endpoints — moby's `api/server/router/container` exec part: create, start, inspect, resize.
//!
//! Starting without `Detach` turns the connection into the process's stdio (an upgrade to `tcp`, as
//! attaching does): what flows then is the transport's to carry, in stdcopy frames
//! ([`crate::stdcopy`]) unless the exec has a TTY. After its output ends the exit code is read with
//! [`inspect_request`], as the docker CLI reads it.

use http::Method;

use super::{Json, NoContent, Object, TypedRequest};
use crate::error::Error;
use crate::models::{ExecConfig, ExecInspectResponse, ExecStartConfig};
use crate::query::Query;
use crate::request::RequestFactory;

/// The answer to `POST /containers/{id}/exec`: `{"Id"}` (the models' `IdResponse` spells it `ID`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExecCreated {
    /// The new exec's ID.
    #[serde(rename = "Id")]
    pub id: String,
}

/// `POST /containers/{id}/exec`, `config` as its JSON body. Its answer: `{"Id"}`.
pub fn create_request(
    factory: &RequestFactory,
    container: &str,
    config: &ExecConfig,
) -> Result<TypedRequest<Json<ExecCreated>>, Error> {
    Object::Container.json_request(factory, container, "/exec", config)
}

/// [`create_request`] with a config of JSON standing for an [`ExecConfig`], passed on as given (see
/// [`containers::create_request_json`](super::containers::create_request_json)).
pub fn create_request_json(
    factory: &RequestFactory,
    container: &str,
    config: &serde_json::Value,
) -> Result<TypedRequest<Json<ExecCreated>>, Error> {
    Object::Container.json_request(factory, container, "/exec", config)
}

/// `POST /exec/{id}/start`, `config` as its JSON body. Detached, its answer is [`NoContent`]; attached,
/// the process's stdio (see above).
pub fn start_request(
    factory: &RequestFactory,
    id: &str,
    config: &ExecStartConfig,
) -> Result<TypedRequest<NoContent>, Error> {
    Object::Exec.json_request(factory, id, "/start", config)
}

/// `GET /exec/{id}/json`. Its answer's `ExitCode` is `None` until the process ended.
pub fn inspect_request(
    factory: &RequestFactory,
    id: &str,
) -> Result<TypedRequest<Json<ExecInspectResponse>>, Error> {
    Object::Exec.request(factory, Method::GET, id, "/json", &Query::new())
}

/// `POST /exec/{id}/resize?h=&w=`: the size of the exec's TTY. Its answer: [`NoContent`].
pub fn resize_request(
    factory: &RequestFactory,
    id: &str,
    height: u32,
    width: u32,
) -> Result<TypedRequest<NoContent>, Error> {
    Object::Exec.request(
        factory,
        Method::POST,
        id,
        "/resize",
        &size_query(height, width),
    )
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
