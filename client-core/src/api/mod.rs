//! Endpoints, one module per area as in moby's router: each builds its [`Request`](crate::Request)s and decodes
//! their answers, with no I/O.
//!
//! Builders take the [`RequestFactory`](crate::RequestFactory) (which knows the agreed API version, for the
//! few parameters moby's client sends only to newer daemons) and typed options; decoders take the request's
//! route (for messages) and the [`Response`].

pub mod containers;
pub mod exec;
pub mod images;
pub mod system;

use crate::error::Error;
use crate::query::escape_path;
use crate::response::Response;

/// `id` as a path segment: trimmed, refused when blank (as moby's client refuses it, before sending
/// anything), then escaped. `object` names what it identifies (`container`, `image`).
pub(crate) fn path_id(object: &str, id: &str) -> Result<String, Error> {
    let id = id.trim();
    if id.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "invalid {object} name or ID: value is empty"
        )));
    }
    Ok(escape_path(id))
}

/// Decodes an answer that carries nothing: 2xx, or 304 — the daemon had nothing to do (starting a started
/// container, stopping a stopped one), which moby's client takes as success, as the docker CLI does.
pub fn decode_no_content(route: &str, response: Response) -> Result<(), Error> {
    if response.status == 304 {
        return Ok(());
    }
    response.error_for_status(route).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::HeaderMap;

    fn answer(status: u16) -> Response {
        Response {
            status,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    #[test]
    fn blank_ids_are_refused_and_others_trimmed_and_escaped() {
        let err = path_id("container", " \t").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid container name or ID: value is empty"
        );
        assert_eq!(path_id("image", " user/app:1 ").unwrap(), "user/app:1");
        assert_eq!(path_id("container", "a b").unwrap(), "a%20b");
    }

    #[test]
    fn no_content_accepts_204_and_304_only() {
        assert!(decode_no_content("POST /x", answer(204)).is_ok());
        assert!(decode_no_content("POST /x", answer(304)).is_ok());
        let err = decode_no_content("POST /x", answer(409)).unwrap_err();
        assert_eq!(err.kind(), Some(crate::ErrorKind::Conflict));
    }
}
