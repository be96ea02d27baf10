//! Registry endpoints — moby's `api/server/router/image` (pull, push) and `system` (`/auth`) and
//! `distribution`: `POST /images/create?fromImage=` (pull), `POST /images/{name}/push`, `POST /auth`,
//! `GET /distribution/{name}/json`.
//!
//! Pull and push answer with a stream of JSON progress messages (`status`, `id`, `progressDetail`,
//! `progress`) that may end in an error message after the 200: [`ProgressMessages`] reads a whole
//! answer, [`ProgressDecoder`] one as it arrives, and both turn an error message into
//! [`Error::Stream`]. Credentials travel in `X-Registry-Auth` ([`RegistryAuth::to_header`]), which a push
//! always carries (dockerd refuses one without it) and a pull only when there is something to send.

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::Method;

use super::{Decode, Json, Object, TypedRequest};
use crate::error::Error;
use crate::models::{CreateImageInfo, DistributionInspect, SystemAuthResponse};
use crate::query::Query;
use crate::reference::Reference;
use crate::registry_auth::RegistryAuth;
use crate::request::RequestFactory;
use crate::response::Response;
use crate::stream::{Incremental, MessageDecoder};

/// The header that carries a registry's credentials.
pub const REGISTRY_AUTH_HEADER: &str = "x-registry-auth";

/// One message of a pull's or a push's progress. bollard's `PushImageInfo` has neither `id` nor
/// `errorDetail`, which a push's messages carry, so both answers are read as `CreateImageInfo`.
pub type ProgressMessage = CreateImageInfo;

/// `name` split as moby's client sends it in a pull's query: the familiar repository, and the tag or
/// digest (`latest` when it names neither, as the docker CLI adds it).
fn repository_and_tag(name: &str) -> Result<(String, String), Error> {
    let reference =
        Reference::parse(name.trim()).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    let tag = match (reference.digest(), reference.tag()) {
        (Some(digest), _) => digest.to_owned(),
        (None, Some(tag)) => tag.to_owned(),
        (None, None) => "latest".to_owned(),
    };
    Ok((reference.familiar_name(), tag))
}

fn with_auth(request: crate::Request, auth: &RegistryAuth) -> Result<crate::Request, Error> {
    let value = HeaderValue::from_str(&auth.to_header())
        .map_err(|e| Error::InvalidArgument(format!("invalid registry credentials: {e}")))?;
    Ok(RequestFactory::with_header(
        request,
        HeaderName::from_static(REGISTRY_AUTH_HEADER),
        value,
    ))
}

/// Parameters of a pull.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PullOptions {
    /// `platform`: `os[/arch[/variant]]`, for an index; the daemon's own when `None`.
    pub platform: Option<String>,
}

/// `POST /images/create?fromImage=&tag=[&platform=]`: pulls `name` (`busybox`, `host:5000/a:1`,
/// `a@sha256:...`). `auth` goes as `X-Registry-Auth` unless it is anonymous. Its answer:
/// [`ProgressMessages`].
pub fn pull_request(
    factory: &RequestFactory,
    name: &str,
    options: &PullOptions,
    auth: &RegistryAuth,
) -> Result<TypedRequest<ProgressMessages>, Error> {
    let (repository, tag) = repository_and_tag(name)?;
    let mut query = Query::new();
    query
        .append("fromImage", repository)
        .append("tag", tag)
        .optional("platform", options.platform.as_deref());
    let request = factory.build(Method::POST, "/images/create", &query);
    let request = if auth.is_anonymous() {
        request
    } else {
        with_auth(request, auth)?
    };
    Ok(TypedRequest::new(request))
}

/// `POST /images/{name}/push?tag=`: pushes `name`'s tag (every tag of the repository when it names
/// none, as dockerd does). A digest cannot be pushed. `X-Registry-Auth` is always sent (`{}` when
/// anonymous). Its answer: [`ProgressMessages`].
pub fn push_request(
    factory: &RequestFactory,
    name: &str,
    auth: &RegistryAuth,
) -> Result<TypedRequest<ProgressMessages>, Error> {
    let reference =
        Reference::parse(name.trim()).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    if reference.digest().is_some() {
        return Err(Error::InvalidArgument(
            "cannot push a digest reference".to_owned(),
        ));
    }
    let mut query = Query::new();
    query.optional("tag", reference.tag());
    let path = Object::Image.path(&reference.familiar_name(), "/push")?;
    let request = factory.build(Method::POST, &path, &query);
    Ok(TypedRequest::new(with_auth(request, auth)?))
}

/// `POST /auth`: checks `auth` against its `serveraddress` (Docker Hub when empty). Its answer:
/// `{"Status": "Login Succeeded", "IdentityToken"?}`; wrong credentials are a 401 from the daemon.
pub fn login_request(
    factory: &RequestFactory,
    auth: &RegistryAuth,
) -> Result<TypedRequest<Json<SystemAuthResponse>>, Error> {
    factory
        .build_json(Method::POST, "/auth", &Query::new(), auth)
        .map(TypedRequest::new)
}

/// `GET /distribution/{name}/json`: what the registry holds for `name` (its descriptor and platforms),
/// asked with `auth` unless it is anonymous.
pub fn distribution_request(
    factory: &RequestFactory,
    name: &str,
    auth: &RegistryAuth,
) -> Result<TypedRequest<Json<DistributionInspect>>, Error> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::InvalidArgument(
            "invalid image name or ID: value is empty".to_owned(),
        ));
    }
    let path = format!("/distribution/{}/json", crate::query::escape_path(name));
    let request = factory.build(Method::GET, &path, &Query::new());
    let request = if auth.is_anonymous() {
        request
    } else {
        with_auth(request, auth)?
    };
    Ok(TypedRequest::new(request))
}

/// The error a progress message carries: its `errorDetail.message`, else its `error`.
pub fn message_error(message: &ProgressMessage) -> Option<String> {
    message
        .error_detail
        .as_ref()
        .and_then(|d| d.message.clone())
        .or_else(|| message.error.clone())
}

/// A whole pull or push answer: its messages in order; an error message ends it as [`Error::Stream`].
#[derive(Clone, Copy, Debug)]
pub struct ProgressMessages;

impl Decode for ProgressMessages {
    type Output = Vec<ProgressMessage>;

    fn decode(route: &str, response: Response) -> Result<Self::Output, Error> {
        let response = response.error_for_status(route)?;
        let mut decoder = ProgressDecoder::new(route);
        decoder.push(response.body);
        let mut messages = Vec::new();
        while let Some(message) = decoder.next_item()? {
            messages.push(message);
        }
        decoder.finish()?;
        Ok(messages)
    }
}

/// A pull's or a push's answer decoded as it arrives, for a terminal or a page that draws progress.
#[derive(Debug)]
pub struct ProgressDecoder {
    route: String,
    messages: MessageDecoder<ProgressMessage>,
}

impl ProgressDecoder {
    /// A decoder for the answer to `route`.
    pub fn new(route: impl Into<String>) -> Self {
        let route = route.into();
        Self {
            messages: MessageDecoder::new(route.clone()),
            route,
        }
    }
}

impl Incremental for ProgressDecoder {
    type Item = ProgressMessage;

    fn push(&mut self, chunk: Bytes) {
        self.messages.push(chunk);
    }

    fn next_item(&mut self) -> Result<Option<ProgressMessage>, Error> {
        match self.messages.next_item()? {
            Some(message) => match message_error(&message) {
                Some(error) => Err(Error::Stream {
                    route: self.route.clone(),
                    message: error,
                }),
                None => Ok(Some(message)),
            },
            None => Ok(None),
        }
    }

    fn finish(&mut self) -> Result<(), Error> {
        self.messages.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::DUMMY_HOST;
    use http::HeaderMap;

    fn factory() -> RequestFactory {
        RequestFactory::new(DUMMY_HOST, "").unwrap()
    }

    #[test]
    fn a_pull_names_the_repository_and_its_tag_or_digest() {
        let f = factory();
        let anonymous = RegistryAuth::default();
        let r = pull_request(&f, "busybox", &PullOptions::default(), &anonymous).unwrap();
        assert_eq!(
            r.request.path_and_query,
            "/images/create?fromImage=busybox&tag=latest"
        );
        assert!(!r.request.headers.contains_key(REGISTRY_AUTH_HEADER));
        let digest = format!("sha256:{}", "a".repeat(64));
        let r = pull_request(
            &f,
            &format!("127.0.0.1:5000/x/y@{digest}"),
            &PullOptions::default(),
            &anonymous,
        )
        .unwrap();
        assert_eq!(
            r.request.path_and_query,
            format!(
                "/images/create?fromImage=127.0.0.1%3A5000%2Fx%2Fy&tag=sha256%3A{}",
                "a".repeat(64)
            )
        );
        assert!(pull_request(&f, "Upper", &PullOptions::default(), &anonymous).is_err());
    }

    #[test]
    fn a_push_always_carries_credentials_and_never_a_digest() {
        let f = factory();
        let r = push_request(&f, "h:5000/app", &RegistryAuth::default()).unwrap();
        assert_eq!(r.request.path_and_query, "/images/h:5000/app/push");
        assert_eq!(r.request.headers[REGISTRY_AUTH_HEADER], "e30=");
        let digest = format!("h:5000/app@sha256:{}", "b".repeat(64));
        assert!(push_request(&f, &digest, &RegistryAuth::default()).is_err());
    }

    fn answer(body: &'static str) -> Response {
        Response {
            status: 200,
            headers: HeaderMap::new(),
            body: Bytes::from_static(body.as_bytes()),
        }
    }

    #[test]
    fn an_error_inside_the_stream_is_an_error() {
        let ok = "{\"status\":\"Pulling from x\",\"id\":\"1\"}\r\n{\"status\":\"Digest: sha256:ab\"}\r\n";
        let messages = ProgressMessages::decode("POST /x", answer(ok)).unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].id.as_deref(), Some("1"));
        let failed = "{\"status\":\"Pulling fs layer\",\"id\":\"ab\"}\r\n{\"errorDetail\":{\"message\":\"manifest unknown\"},\"error\":\"manifest unknown\"}\r\n";
        let err = ProgressMessages::decode("POST /x", answer(failed)).unwrap_err();
        assert!(matches!(err, Error::Stream { .. }), "{err:?}");
        assert_eq!(err.to_string(), "manifest unknown");
    }

    #[test]
    fn the_incremental_decoder_gives_messages_as_their_bytes_arrive() {
        let mut d = ProgressDecoder::new("POST /x");
        d.push(Bytes::from_static(b"{\"status\":\"Down"));
        assert!(d.next_item().unwrap().is_none());
        d.push(Bytes::from_static(b"loading\",\"id\":\"l1\",\"progressDetail\":{\"current\":1,\"total\":2}}\n{\"error\":\"boom\"}"));
        let m = d.next_item().unwrap().unwrap();
        assert_eq!(m.progress_detail.unwrap().total, Some(2));
        assert_eq!(d.next_item().unwrap_err().to_string(), "boom");
    }
}
