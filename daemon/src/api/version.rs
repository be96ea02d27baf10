//! The `/v{version}` prefix and the headers dockerd puts on every answer.
//!
//! Runs before routing: it checks the requested version against Wharf's range, strips the prefix so that the
//! routers see one path per route, records the version for handlers, and stamps `Api-Version`, `Ostype`,
//! `Docker-Experimental` and `Server` on every response, 404s and errors included.

use std::sync::LazyLock;

use http::header::SERVER;
use http::{HeaderMap, HeaderValue, Uri};
use wharf_client_core::negotiate::{API_VERSION_HEADER, EXPERIMENTAL_HEADER, OSTYPE_HEADER};
use wharf_client_core::{ApiVersion, MAX_API_VERSION, MIN_API_VERSION};

use crate::error::Error;

/// The API version a request asked for (the newest when it named none), for handlers that vary by version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RequestedVersion(pub ApiVersion);

static API_VERSION: LazyLock<HeaderValue> = LazyLock::new(|| {
    HeaderValue::from_str(&MAX_API_VERSION.to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("1.47"))
});
static SERVER_VALUE: LazyLock<HeaderValue> = LazyLock::new(|| {
    HeaderValue::from_str(&crate::buildinfo::server_header())
        .unwrap_or_else(|_| HeaderValue::from_static("Wharf (linux)"))
});

/// Stamps the headers every dockerd answer carries.
pub(crate) fn stamp_headers(headers: &mut HeaderMap) {
    // One growth at most, rather than one per insert past the map's capacity.
    headers.reserve(4);
    headers.insert(API_VERSION_HEADER, API_VERSION.clone());
    headers.insert(EXPERIMENTAL_HEADER, HeaderValue::from_static("false"));
    headers.insert(OSTYPE_HEADER, HeaderValue::from_static("linux"));
    headers.insert(SERVER, SERVER_VALUE.clone());
}

/// Checks and strips the version prefix of `request`, recording the version for handlers; the error is
/// the answer for a version out of range.
pub(crate) fn route_version<B>(request: &mut http::Request<B>) -> Result<(), Error> {
    let (version, uri) = split_version(request.uri())?;
    if let Some(uri) = uri {
        *request.uri_mut() = uri;
    }
    if let Some(uri) = utf8_uri(request.uri()) {
        *request.uri_mut() = uri;
    }
    request
        .extensions_mut()
        .insert(RequestedVersion(version.unwrap_or(MAX_API_VERSION)));
    Ok(())
}

/// `uri` with its percent escapes that decode to invalid UTF-8 replaced by the escapes of U+FFFD, as Go
/// reads such a path: `/containers/%ff/json` looks for a container named U+FFFD and answers 404 "No such
/// container: �" as dockerd does, rather than a plain-text 400 from the router; `None` when the path
/// decodes to UTF-8.
fn utf8_uri(uri: &Uri) -> Option<Uri> {
    let path = uri.path();
    if !path.contains('%') {
        return None;
    }
    let hex = |b: u8| char::from(b).to_digit(16).map(|d| d as u8);
    let escape_at = |bytes: &[u8], i: usize| -> Option<u8> {
        match bytes.get(i..i + 3) {
            Some([b'%', h, l]) => Some(hex(*h)? << 4 | hex(*l)?),
            _ => None,
        }
    };
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut changed = false;
    let mut i = 0;
    while i < bytes.len() {
        let mut run = Vec::new();
        while let Some(b) = escape_at(bytes, i) {
            run.push(b);
            i += 3;
        }
        if run.is_empty() {
            out.push(char::from(bytes[i]));
            i += 1;
            continue;
        }
        let text = String::from_utf8_lossy(&run);
        changed |= matches!(text, std::borrow::Cow::Owned(_));
        for b in text.bytes() {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if !changed {
        return None;
    }
    let path_and_query = match uri.query() {
        Some(q) => format!("{out}?{q}"),
        None => out,
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(path_and_query.parse().ok()?);
    Uri::from_parts(parts).ok()
}

/// The version a path names, if any, and the URI without the prefix.
fn split_version(uri: &Uri) -> Result<(Option<ApiVersion>, Option<Uri>), Error> {
    let path = uri.path();
    let (version, rest) = versioned_path(path)?;
    if version.is_none() {
        return Ok((None, None));
    }
    let path_and_query = match uri.query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(
        path_and_query
            .parse()
            .map_err(|_| Error::invalid(format!("invalid request path: {path}")))?,
    );
    let uri = Uri::from_parts(parts)
        .map_err(|_| Error::invalid(format!("invalid request path: {path}")))?;
    Ok((version, Some(uri)))
}

/// The version `path` names (checked against Wharf's range), if any, and the path after it.
pub(crate) fn versioned_path(path: &str) -> Result<(Option<ApiVersion>, &str), Error> {
    let Some(after_v) = path.strip_prefix("/v") else {
        return Ok((None, path));
    };
    if !after_v.starts_with(|c: char| c.is_ascii_digit()) {
        return Ok((None, path)); // `/version`, `/volumes`
    }
    let (text, rest) = match after_v.find('/') {
        Some(i) => (&after_v[..i], &after_v[i..]),
        None => (after_v, "/"),
    };
    let version: ApiVersion =
        text.parse()
            .map_err(|e: wharf_client_core::version::InvalidApiVersion| {
                Error::invalid(e.to_string())
            })?;
    check_range(version)?;
    Ok((Some(version), rest))
}

/// dockerd's answers for versions outside the supported range.
fn check_range(version: ApiVersion) -> Result<(), Error> {
    if version < MIN_API_VERSION {
        return Err(Error::invalid(format!(
            "client version {version} is too old. Minimum supported API version is {MIN_API_VERSION}, please upgrade your client to a newer version"
        )));
    }
    if version > MAX_API_VERSION {
        return Err(Error::invalid(format!(
            "client version {version} is too new. Maximum supported API version is {MAX_API_VERSION}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Result<(Option<ApiVersion>, Option<String>), Error> {
        let uri: Uri = s.parse().unwrap();
        split_version(&uri).map(|(v, u)| (v, u.map(|u| u.to_string())))
    }

    #[test]
    fn strips_the_prefix_and_keeps_the_query() {
        assert_eq!(
            split("/v1.41/containers/json?all=1").unwrap(),
            (
                Some(ApiVersion::new(1, 41)),
                Some("/containers/json?all=1".into())
            )
        );
        assert_eq!(
            split("/v1.47").unwrap(),
            (Some(ApiVersion::new(1, 47)), Some("/".into()))
        );
        assert_eq!(split("/version").unwrap(), (None, None));
        assert_eq!(split("/volumes/x").unwrap(), (None, None));
        assert_eq!(split("/_ping").unwrap(), (None, None));
    }

    #[test]
    fn out_of_range_versions_use_dockerd_wording() {
        assert_eq!(
            split("/v1.10/info").unwrap_err().message,
            "client version 1.10 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"
        );
        assert_eq!(
            split("/v1.99/info").unwrap_err().message,
            "client version 1.99 is too new. Maximum supported API version is 1.47"
        );
        assert!(split("/v1.24/info").is_ok());
        let bad = split("/v1.x/info").unwrap_err();
        assert!(
            bad.message.starts_with("invalid API version"),
            "{}",
            bad.message
        );
        assert_eq!(bad.kind, wharf_client_core::ErrorKind::InvalidParameter);
    }

    #[test]
    fn escapes_of_invalid_utf8_become_the_replacement_character() {
        let fixed = |uri: &str| utf8_uri(&uri.parse().unwrap()).map(|u| u.to_string());
        assert_eq!(
            fixed("/containers/%ff/json?x=%ff").as_deref(),
            Some("/containers/%EF%BF%BD/json?x=%ff")
        );
        assert_eq!(
            fixed("/containers/a%C3%A9%ffb/json").as_deref(),
            Some("/containers/a%C3%A9%EF%BF%BDb/json")
        );
        assert_eq!(fixed("/containers/%C3%A9/json"), None);
        assert_eq!(fixed("/containers/abc/json"), None);
        assert_eq!(fixed("/containers/%zz/json"), None);
    }
}
