//! API version negotiation, as moby's client does it: ping, then take the lower of what both sides speak.
//!
//! `HEAD /_ping` first (cheap, no body); when that fails for any reason but a dead connection, `GET /_ping`.
//! The daemon's `Api-Version` header caps the client's maximum; a daemon below the client's minimum is a
//! clear error rather than requests that would fail one by one.

use http::{HeaderName, Method};

use crate::error::Error;
use crate::request::{Request, RequestFactory};
use crate::response::Response;
use crate::version::ApiVersion;

/// The version assumed when a daemon announces none (Docker 1.12 and older).
pub const FALLBACK_SERVER_VERSION: ApiVersion = ApiVersion::new(1, 24);

// The headers a daemon describes itself with, as constants: a `&str` name is parsed again on every insert,
// and the daemon stamps some on every answer.

/// `Api-Version`: the newest API version a daemon speaks, on every answer.
pub const API_VERSION_HEADER: HeaderName = HeaderName::from_static("api-version");
/// `Ostype`: the daemon's OS, on every answer.
pub const OSTYPE_HEADER: HeaderName = HeaderName::from_static("ostype");
/// `Docker-Experimental`: `true` when experimental features are on, on every answer.
pub const EXPERIMENTAL_HEADER: HeaderName = HeaderName::from_static("docker-experimental");
/// `Builder-Version`: the default builder, on pings.
pub const BUILDER_VERSION_HEADER: HeaderName = HeaderName::from_static("builder-version");
/// `Swarm`: the node's swarm state, on pings.
pub const SWARM_HEADER: HeaderName = HeaderName::from_static("swarm");

/// What `/_ping` tells about a daemon, from its headers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ping {
    /// `Api-Version`: the newest API version the daemon speaks.
    pub api_version: Option<ApiVersion>,
    /// `Ostype`: `linux` or `windows`.
    pub os_type: Option<String>,
    /// `Docker-Experimental`: whether experimental features are on.
    pub experimental: bool,
    /// `Builder-Version`: the default builder, when announced.
    pub builder_version: Option<String>,
    /// `Swarm`: `inactive`, or `active/manager`...
    pub swarm: Option<String>,
}

/// The first ping request: `HEAD /_ping`, unversioned.
pub fn ping_request(factory: &RequestFactory) -> Request {
    factory.build_unversioned(Method::HEAD, "/_ping")
}

/// What to do with the answer to a `HEAD /_ping`.
#[derive(Debug)]
pub enum PingStep {
    /// The HEAD was answered: here is the ping.
    Done(Ping),
    /// The HEAD was refused; send this `GET /_ping` and read its answer with [`parse_ping`].
    RetryWithGet(Request),
}

/// Reads the answer to `HEAD /_ping`: a 200 or 500 is a ping (dockerd answers 500 with headers set when it is
/// unhealthy), anything else means an old daemon without HEAD, so retry with GET.
pub fn on_head_response(head: &Request, response: &Response) -> PingStep {
    match response.status {
        200 | 500 => PingStep::Done(ping_from_headers(response)),
        _ => {
            let mut get = head.clone();
            get.method = Method::GET;
            PingStep::RetryWithGet(get)
        }
    }
}

/// Reads the answer to `GET /_ping`: headers when 2xx, else the daemon's error.
pub fn parse_ping(route: &str, response: Response) -> Result<Ping, Error> {
    let ping = ping_from_headers(&response);
    response.error_for_status(route)?;
    Ok(ping)
}

fn ping_from_headers(response: &Response) -> Ping {
    let header = |name: HeaderName| response.header(name.as_str());
    Ping {
        api_version: header(API_VERSION_HEADER).and_then(|v| v.parse().ok()),
        os_type: header(OSTYPE_HEADER).map(str::to_owned),
        experimental: header(EXPERIMENTAL_HEADER) == Some("true"),
        builder_version: header(BUILDER_VERSION_HEADER).map(str::to_owned),
        swarm: header(SWARM_HEADER).map(str::to_owned),
    }
}

/// The version to speak with a daemon that answered `ping`: the lower of the two maxima.
pub fn choose_version(
    ping: &Ping,
    client_min: ApiVersion,
    client_max: ApiVersion,
) -> Result<ApiVersion, Error> {
    let server = ping.api_version.unwrap_or(FALLBACK_SERVER_VERSION);
    if server < client_min {
        return Err(Error::ServerTooOld {
            server,
            minimum: client_min,
        });
    }
    Ok(server.min(client_max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::DUMMY_HOST;
    use bytes::Bytes;
    use http::{HeaderMap, HeaderValue};

    fn answer(status: u16, api_version: Option<&'static str>) -> Response {
        let mut headers = HeaderMap::new();
        if let Some(v) = api_version {
            headers.insert("api-version", HeaderValue::from_static(v));
        }
        headers.insert("ostype", HeaderValue::from_static("linux"));
        Response {
            status,
            headers,
            body: Bytes::new(),
        }
    }

    #[test]
    fn takes_the_lower_of_both_maxima() {
        let (min, max) = (ApiVersion::new(1, 24), ApiVersion::new(1, 47));
        let ping = |v: &str| Ping {
            api_version: Some(v.parse().unwrap()),
            ..Ping::default()
        };
        assert_eq!(
            choose_version(&ping("1.41"), min, max).unwrap(),
            ApiVersion::new(1, 41)
        );
        assert_eq!(choose_version(&ping("1.50"), min, max).unwrap(), max);
        assert!(matches!(
            choose_version(&ping("1.12"), min, max),
            Err(Error::ServerTooOld { .. })
        ));
        assert_eq!(
            choose_version(&Ping::default(), min, max).unwrap(),
            FALLBACK_SERVER_VERSION
        );
    }

    #[test]
    fn head_refused_falls_back_to_get() {
        let f = RequestFactory::new(DUMMY_HOST, "").unwrap();
        let head = ping_request(&f);
        assert_eq!(head.method, Method::HEAD);
        match on_head_response(&head, &answer(405, None)) {
            PingStep::RetryWithGet(get) => {
                assert_eq!(get.method, Method::GET);
                assert_eq!(get.path_and_query, "/_ping");
            }
            PingStep::Done(_) => panic!("a 405 must retry with GET"),
        }
        match on_head_response(&head, &answer(200, Some("1.41"))) {
            PingStep::Done(p) => {
                assert_eq!(p.api_version, Some(ApiVersion::new(1, 41)));
                assert_eq!(p.os_type.as_deref(), Some("linux"));
            }
            PingStep::RetryWithGet(_) => panic!("a 200 is a ping"),
        }
        assert!(parse_ping("GET /_ping", answer(404, None)).is_err());
    }
}
