//! Requests as data: what a transport sends, built the way moby's client builds them.
//!
//! [`RequestFactory`] knows where the daemon is (the `Host` header, a base path) and which API version was
//! agreed, and turns a method, a path, a query and an optional JSON body into a [`Request`].

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, HOST, USER_AGENT};
use http::Method;

use crate::error::Error;
use crate::query::Query;
use crate::version::ApiVersion;

/// The `Host` header moby's client sends over unix sockets and named pipes, where there is no host name.
pub const DUMMY_HOST: &str = "api.moby.localhost";

/// The `User-Agent` this crate's requests carry.
pub const USER_AGENT_VALUE: &str = concat!("wharf/", env!("CARGO_PKG_VERSION"));

/// One HTTP request, ready for any transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The path and query, such as `/v1.47/containers/json?all=1`.
    pub path_and_query: String,
    /// Headers in the order they are sent.
    pub headers: HeaderMap,
    /// The body; `None` sends no body and no `Content-Type`.
    pub body: Option<Bytes>,
}

impl Request {
    /// The request in HTTP/1.1 wire form. Test vectors compare these bytes across targets.
    pub fn to_http1_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(self.method.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.path_and_query.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if let Some(body) = &self.body {
            out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        if let Some(body) = &self.body {
            out.extend_from_slice(body);
        }
        out
    }

    /// `METHOD /path?query`, for logs and error messages.
    pub fn route(&self) -> String {
        format!("{} {}", self.method, self.path_and_query)
    }
}

/// Builds requests for one daemon: its `Host` header, base path and negotiated API version.
#[derive(Clone, Debug)]
pub struct RequestFactory {
    host_header: HeaderValue,
    base_path: String,
    version: Option<ApiVersion>,
}

impl RequestFactory {
    /// A factory for a daemon reached with this `Host` header and base path (`""` or `/prefix`).
    pub fn new(host_header: &str, base_path: &str) -> Result<Self, Error> {
        let host_header = HeaderValue::from_str(host_header)
            .map_err(|_| Error::InvalidArgument(format!("invalid host name {host_header:?}")))?;
        Ok(Self {
            host_header,
            base_path: base_path.trim_end_matches('/').to_owned(),
            version: None,
        })
    }

    /// The API version paths are prefixed with, once known.
    pub fn version(&self) -> Option<ApiVersion> {
        self.version
    }

    /// Prefixes every later path with `/v{version}`.
    pub fn set_version(&mut self, version: ApiVersion) {
        self.version = Some(version);
    }

    /// `base/v1.47/path?query`, as moby's `getAPIPath`.
    pub fn api_path(&self, path: &str, query: &Query) -> String {
        let mut out = self.base_path.clone();
        if let Some(v) = self.version {
            out.push_str(&format!("/v{v}"));
        }
        out.push_str(path);
        if !query.is_empty() {
            out.push('?');
            out.push_str(&query.encode());
        }
        out
    }

    /// A request with no body, its path versioned.
    pub fn build(&self, method: Method, path: &str, query: &Query) -> Request {
        self.raw(method, self.api_path(path, query), None)
    }

    /// A request with `body` as its JSON body, its path versioned.
    ///
    /// The JSON is canonical: object keys sorted at every level. The models keep maps (labels, exposed
    /// ports...) in `HashMap`s, whose order changes from one run to the next; sorted, the same value
    /// always builds the same bytes, on every target.
    pub fn build_json<T: serde::Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: &Query,
        body: &T,
    ) -> Result<Request, Error> {
        let value = canonical(serde_json::to_value(body).map_err(Error::Encode)?);
        let body = serde_json::to_vec(&value).map_err(Error::Encode)?;
        Ok(self.build_with_body(
            method,
            path,
            query,
            Bytes::from(body),
            HeaderValue::from_static("application/json"),
        ))
    }

    /// A request carrying `body` exactly as given, with `content_type`, its path versioned.
    pub fn build_with_body(
        &self,
        method: Method,
        path: &str,
        query: &Query,
        body: Bytes,
        content_type: HeaderValue,
    ) -> Request {
        let mut request = self.raw(method, self.api_path(path, query), Some(body));
        request.headers.insert(CONTENT_TYPE, content_type);
        request
    }

    /// A request to `path` under the base path but never versioned, as `/_ping` is sent before negotiation.
    pub fn build_unversioned(&self, method: Method, path: &str) -> Request {
        self.raw(method, format!("{}{path}", self.base_path), None)
    }

    /// A request to `path` under the base path, never versioned, with `body` as its canonical JSON body:
    /// for Wharf's own endpoints (`/wharf/v1/...`).
    pub fn build_json_unversioned<T: serde::Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: &T,
    ) -> Result<Request, Error> {
        let value = canonical(serde_json::to_value(body).map_err(Error::Encode)?);
        let body = serde_json::to_vec(&value).map_err(Error::Encode)?;
        let mut request = self.raw(
            method,
            format!("{}{path}", self.base_path),
            Some(body.into()),
        );
        request
            .headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Ok(request)
    }

    /// Adds a header to a built request; for headers such as `X-Registry-Auth`.
    pub fn with_header(mut request: Request, name: HeaderName, value: HeaderValue) -> Request {
        request.headers.insert(name, value);
        request
    }

    fn raw(&self, method: Method, path_and_query: String, body: Option<Bytes>) -> Request {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, self.host_header.clone());
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        Request {
            method,
            path_and_query,
            headers,
            body,
        }
    }
}

/// `value` with the keys of every object sorted, whatever order its map type keeps.
fn canonical(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, canonical(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioned_path_with_base_and_query() {
        let mut f = RequestFactory::new("example.com:2376", "/base/").unwrap();
        let mut q = Query::new();
        q.flag("all", true);
        assert_eq!(
            f.api_path("/containers/json", &q),
            "/base/containers/json?all=1"
        );
        f.set_version(ApiVersion::new(1, 41));
        assert_eq!(
            f.api_path("/containers/json", &q),
            "/base/v1.41/containers/json?all=1"
        );
        assert_eq!(
            f.build_unversioned(Method::HEAD, "/_ping").path_and_query,
            "/base/_ping"
        );
    }

    #[test]
    fn json_body_sets_content_type_and_empty_body_sets_none() {
        let f = RequestFactory::new(DUMMY_HOST, "").unwrap();
        let get = f.build(Method::GET, "/info", &Query::new());
        assert!(get.body.is_none());
        assert!(get.headers.get(CONTENT_TYPE).is_none());
        let post = f
            .build_json(
                Method::POST,
                "/x",
                &Query::new(),
                &serde_json::json!({"a": 1}),
            )
            .unwrap();
        assert_eq!(post.headers[CONTENT_TYPE], "application/json");
        assert_eq!(post.body.as_deref(), Some(&b"{\"a\":1}"[..]));
        let wire = String::from_utf8(post.to_http1_bytes()).unwrap();
        assert!(
            wire.starts_with("POST /x HTTP/1.1\r\nhost: api.moby.localhost\r\nuser-agent: wharf/")
        );
        assert!(
            wire.ends_with("content-type: application/json\r\ncontent-length: 7\r\n\r\n{\"a\":1}")
        );
    }

    #[test]
    fn json_bodies_sort_keys_even_from_hash_maps() {
        let f = RequestFactory::new(DUMMY_HOST, "").unwrap();
        let labels: std::collections::HashMap<String, String> = (0..32)
            .map(|i| (format!("k{i:02}"), i.to_string()))
            .collect();
        let body = serde_json::json!({"Z": 1, "A": {"Labels": labels, "B": [{"d": 1, "c": 2}]}});
        let post = f
            .build_json(Method::POST, "/x", &Query::new(), &body)
            .unwrap();
        let text = std::str::from_utf8(post.body.as_deref().unwrap()).unwrap();
        assert!(text.starts_with(r#"{"A":{"B":[{"c":2,"d":1}],"Labels":{"k00":"0","k01":"1","#));
        assert!(text.ends_with(r#""k31":"31"}},"Z":1}"#));
    }

    #[test]
    fn a_body_as_given_keeps_its_bytes_and_content_type() {
        let f = RequestFactory::new(DUMMY_HOST, "").unwrap();
        let r = f.build_with_body(
            Method::POST,
            "/images/create",
            &Query::new(),
            Bytes::from_static(b"\0\xffraw"),
            HeaderValue::from_static("application/x-tar"),
        );
        assert_eq!(r.headers[CONTENT_TYPE], "application/x-tar");
        assert!(r
            .to_http1_bytes()
            .ends_with(b"content-length: 5\r\n\r\n\0\xffraw"));
    }

    #[test]
    fn rejects_a_host_header_with_control_characters() {
        assert!(RequestFactory::new("a\nb", "").is_err());
    }
}
