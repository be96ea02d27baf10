//! Image endpoints — moby's `api/server/router/image`: list, inspect, history, tag, remove, prune,
//! import (`POST /images/create?fromSrc=-`), load (`POST /images/load`) and save (`GET /images/get`).
//!
//! Names go into the path as moby's client puts them there: `user/app:1` keeps its `/` and `:`
//! (`/images/user/app:1/json`), anything that could end the path is escaped.
//!
//! Import sends an archive the caller already holds, as [`Bytes`]: a [`Request`](crate::Request)'s body
//! is a whole body, so the archive is in memory once (`Bytes` shares it, it is never copied). Streaming an
//! archive larger than memory needs a streaming body in [`Transport`](crate::Transport), which none has
//! yet.

use bytes::Bytes;
use http::header::HeaderValue;
use http::Method;

use super::{Decode, Json, NoContent, Object, TypedRequest};
use crate::error::Error;
use crate::jsonstream::JsonStreamDecoder;
use crate::models::{
    CreateImageInfo, ErrorDetail, HistoryResponseItem, ImageDeleteResponseItem, ImageInspect,
    ImagePruneResponse, ImageSummary,
};
use crate::query::{Filters, Query};
use crate::request::RequestFactory;
use crate::response::Response;

/// The `Content-Type` an import's archive is sent with.
///
/// dockerd parses the query with Go's `ParseForm`, which also reads a body sent as
/// `application/x-www-form-urlencoded` (curl's default) and fails on the archive's bytes; any other type
/// is left alone. moby's client sends `text/plain`; this names what the body is.
pub const IMPORT_CONTENT_TYPE: &str = "application/x-tar";

/// Parameters of `GET /images/json`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// `all`: intermediate images too.
    pub all: bool,
    /// `filters`: `reference`, `dangling`, `label`, `before`, `since`.
    pub filters: Filters,
}

/// `GET /images/json`.
pub fn list_request(
    factory: &RequestFactory,
    options: &ListOptions,
) -> TypedRequest<Json<Vec<ImageSummary>>> {
    let mut query = Query::new();
    query.flag("all", options.all).filters(&options.filters);
    TypedRequest::new(factory.build(Method::GET, "/images/json", &query))
}

/// `GET /images/{name}/json`.
pub fn inspect_request(
    factory: &RequestFactory,
    name: &str,
) -> Result<TypedRequest<Json<ImageInspect>>, Error> {
    Object::Image.request(factory, Method::GET, name, "/json", &Query::new())
}

/// `GET /images/{name}/history`. Its answer: the layers, newest first.
pub fn history_request(
    factory: &RequestFactory,
    name: &str,
) -> Result<TypedRequest<Json<Vec<HistoryResponseItem>>>, Error> {
    Object::Image.request(factory, Method::GET, name, "/history", &Query::new())
}

/// `POST /images/{name}/tag?repo=&tag=`: tags the image `name` as `repo:tag` (`latest` without a tag).
/// `repo` is sent as given; the docker CLI sends it normalised (`docker.io/my/app`). Its answer (201):
/// [`NoContent`].
pub fn tag_request(
    factory: &RequestFactory,
    name: &str,
    repo: &str,
    tag: Option<&str>,
) -> Result<TypedRequest<NoContent>, Error> {
    let mut query = Query::new();
    query.append("repo", repo).optional("tag", tag);
    Object::Image.request(factory, Method::POST, name, "/tag", &query)
}

/// Parameters of `DELETE /images/{name}`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoveOptions {
    /// `force`: remove it even when containers use it or it has several tags.
    pub force: bool,
    /// `noprune`: keep its untagged parents.
    pub noprune: bool,
}

/// `DELETE /images/{name}`. Its answer: what was untagged (`{"Untagged"}`) and what deleted
/// (`{"Deleted"}`), in order.
pub fn remove_request(
    factory: &RequestFactory,
    name: &str,
    options: &RemoveOptions,
) -> Result<TypedRequest<Json<Vec<ImageDeleteResponseItem>>>, Error> {
    let mut query = Query::new();
    query
        .flag("force", options.force)
        .flag("noprune", options.noprune);
    Object::Image.request(factory, Method::DELETE, name, "", &query)
}

/// `POST /images/prune`, with `filters` (`dangling`, `label`, `label!`, `until`). Its answer:
/// `{"ImagesDeleted", "SpaceReclaimed"}`.
pub fn prune_request(
    factory: &RequestFactory,
    filters: &Filters,
) -> TypedRequest<Json<ImagePruneResponse>> {
    let mut query = Query::new();
    query.filters(filters);
    TypedRequest::new(factory.build(Method::POST, "/images/prune", &query))
}

/// Parameters of an import, `POST /images/create?fromSrc=-`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// `repo`: the name to give the image, possibly with its tag (`my/app:1`, as the docker CLI sends it).
    pub repo: Option<String>,
    /// `tag`: the tag, when `repo` has none.
    pub tag: Option<String>,
    /// `message`: the comment of the image's history entry.
    pub message: Option<String>,
    /// `changes`: Dockerfile instructions applied to its config (`CMD ["sh"]`, `ENV A=b`...), one
    /// parameter each.
    pub changes: Vec<String>,
}

/// `POST /images/create?fromSrc=-`, with `archive` (a tar of the root file system, possibly compressed)
/// as its body, exactly as given, sent as [`IMPORT_CONTENT_TYPE`]. Its answer: [`ImportMessages`].
pub fn import_request(
    factory: &RequestFactory,
    options: &ImportOptions,
    archive: Bytes,
) -> TypedRequest<ImportMessages> {
    let mut query = Query::new();
    query
        .append("fromSrc", "-")
        .optional("repo", options.repo.as_deref())
        .optional("tag", options.tag.as_deref())
        .optional("message", options.message.as_deref());
    for change in &options.changes {
        query.append("changes", change.as_str());
    }
    TypedRequest::new(factory.build_with_body(
        Method::POST,
        "/images/create",
        &query,
        archive,
        HeaderValue::from_static(IMPORT_CONTENT_TYPE),
    ))
}

/// `POST /images/load`, with `archive` (a `docker save` tar, possibly compressed) as its body, sent as
/// [`IMPORT_CONTENT_TYPE`]; `quiet` as `docker load -q`. Its answer: [`LoadMessages`].
pub fn load_request(
    factory: &RequestFactory,
    quiet: bool,
    archive: Bytes,
) -> TypedRequest<LoadMessages> {
    let mut query = Query::new();
    query.flag("quiet", quiet);
    TypedRequest::new(factory.build_with_body(
        Method::POST,
        "/images/load",
        &query,
        archive,
        HeaderValue::from_static(IMPORT_CONTENT_TYPE),
    ))
}

/// `GET /images/get?names=...`: the images `names` (names or IDs) as one `docker save` tar, the answer's
/// body. The body is the caller's to read (it can be large): this is a plain request.
pub fn save_request(factory: &RequestFactory, names: &[String]) -> Result<crate::Request, Error> {
    if names.iter().all(|n| n.trim().is_empty()) {
        return Err(Error::InvalidArgument(
            "save needs at least one image name".to_owned(),
        ));
    }
    let mut query = Query::new();
    for name in names {
        query.append("names", name.as_str());
    }
    Ok(factory.build(Method::GET, "/images/get", &query))
}

/// The answer to a load: JSON messages whose `stream` says what was loaded (`Loaded image: x:1`); an
/// error the daemon reports in the stream is [`Error::Stream`].
#[derive(Clone, Copy, Debug)]
pub struct LoadMessages;

/// One message of a load's answer: its lines come as `stream`, or as `status` in quiet mode.
#[derive(Debug, Default, serde::Deserialize)]
struct LoadMessage {
    #[serde(default)]
    stream: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default, rename = "errorDetail")]
    error_detail: Option<ErrorDetail>,
}

impl Decode for LoadMessages {
    /// The lines of the messages' `stream` (or `status`), without their newlines.
    type Output = Vec<String>;

    fn decode(route: &str, response: Response) -> Result<Self::Output, Error> {
        let messages = json_messages(route, response, |m: &LoadMessage| {
            stream_error(m.error_detail.as_ref(), m.error.as_ref())
        })?;
        let mut lines = Vec::new();
        for message in messages {
            if let Some(status) = message.status {
                lines.push(status.trim_end().to_owned());
            }
            if let Some(stream) = message.stream {
                lines.extend(stream.lines().filter(|l| !l.is_empty()).map(str::to_owned));
            }
        }
        Ok(lines)
    }
}

/// The answer to an import: JSON messages, the last one's `status` the new image's ID (see
/// [`imported_id`]). An error the daemon reports in the stream, after its success status, is
/// [`Error::Stream`].
#[derive(Clone, Copy, Debug)]
pub struct ImportMessages;

impl Decode for ImportMessages {
    type Output = Vec<CreateImageInfo>;

    fn decode(route: &str, response: Response) -> Result<Self::Output, Error> {
        json_messages(route, response, |m: &CreateImageInfo| {
            stream_error(m.error_detail.as_ref(), m.error.as_ref())
        })
    }
}

/// The JSON messages of a successful answer, in order; the first that carries an error (`error_of`)
/// ends it as [`Error::Stream`].
fn json_messages<T: serde::de::DeserializeOwned>(
    route: &str,
    response: Response,
    error_of: impl Fn(&T) -> Option<String>,
) -> Result<Vec<T>, Error> {
    let response = response.error_for_status(route)?;
    let malformed = |source| Error::JsonStream {
        route: route.to_owned(),
        source,
    };
    let mut decoder = JsonStreamDecoder::default();
    decoder.push(&response.body);
    let mut messages = Vec::new();
    while let Some(message) = decoder.next_value::<T>().map_err(malformed)? {
        if let Some(error) = error_of(&message) {
            return Err(Error::Stream {
                route: route.to_owned(),
                message: error,
            });
        }
        messages.push(message);
    }
    decoder.finish().map_err(malformed)?;
    Ok(messages)
}

/// The error a JSON message carries: its `errorDetail.message`, else its older `error` field.
fn stream_error(detail: Option<&ErrorDetail>, error: Option<&String>) -> Option<String> {
    detail
        .and_then(|d| d.message.clone())
        .or_else(|| error.cloned())
}

/// The imported image's ID: the last message's `status` when it is a digest (`sha256:...`), as `docker
/// import` prints it.
pub fn imported_id(messages: &[CreateImageInfo]) -> Option<&str> {
    messages
        .last()
        .and_then(|m| m.status.as_deref())
        .filter(|s| s.starts_with("sha256:"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::DUMMY_HOST;
    use http::header::{HeaderMap, CONTENT_TYPE};

    fn answer(body: &'static str) -> Response {
        Response {
            status: 200,
            headers: HeaderMap::new(),
            body: Bytes::from_static(body.as_bytes()),
        }
    }

    #[test]
    fn a_load_answers_its_lines_and_its_errors() {
        let lines = LoadMessages::decode(
            "/images/load",
            answer("{\"stream\":\"Loaded image: l:1\\n\"}\n{\"stream\":\"Loaded image ID: sha256:ab\\n\"}\n"),
        )
        .unwrap();
        assert_eq!(lines, ["Loaded image: l:1", "Loaded image ID: sha256:ab"]);
        let err = LoadMessages::decode(
            "/images/load",
            answer("{\"errorDetail\":{\"message\":\"bad tar\"},\"error\":\"bad tar\"}\n"),
        )
        .unwrap_err();
        assert!(
            matches!(err, Error::Stream { ref message, .. } if message == "bad tar"),
            "{err:?}"
        );
        assert!(save_request(&RequestFactory::new(DUMMY_HOST, "").unwrap(), &[]).is_err());
    }

    #[test]
    fn an_import_carries_the_archive_as_given_and_never_as_a_form() {
        let f = RequestFactory::new(DUMMY_HOST, "").unwrap();
        let archive = Bytes::from(vec![0u8, b';', b'&', 0xff]);
        let r = import_request(&f, &ImportOptions::default(), archive.clone());
        assert_eq!(r.request.path_and_query, "/images/create?fromSrc=-");
        assert_eq!(r.request.headers[CONTENT_TYPE], IMPORT_CONTENT_TYPE);
        // The same bytes, shared rather than copied.
        assert_eq!(
            r.request.body.as_ref().map(|b| b.as_ptr()),
            Some(archive.as_ptr())
        );
    }

    #[test]
    fn an_import_answer_gives_the_id_or_the_error_in_the_stream() {
        let ok = "{\"status\":\"sha256:ffc0\"}\r\n";
        let messages = ImportMessages::decode("POST /i", answer(ok)).unwrap();
        assert_eq!(imported_id(&messages), Some("sha256:ffc0"));
        let failed = "{\"status\":\"Importing\"}\r\n{\"errorDetail\":{\"message\":\"unexpected EOF\"},\"error\":\"unexpected EOF\"}\r\n";
        let err = ImportMessages::decode("POST /i", answer(failed)).unwrap_err();
        assert!(matches!(err, Error::Stream { .. }));
        assert_eq!(err.to_string(), "unexpected EOF");
        let legacy = ImportMessages::decode("POST /i", answer("{\"error\":\"old\"}")).unwrap_err();
        assert_eq!(legacy.to_string(), "old");
        let cut = ImportMessages::decode("POST /i", answer("{\"status\":")).unwrap_err();
        assert!(matches!(cut, Error::JsonStream { .. }), "{cut:?}");
        assert_eq!(imported_id(&[]), None);
    }

    #[test]
    fn names_keep_slashes_and_colons_in_the_path() {
        let f = RequestFactory::new(DUMMY_HOST, "").unwrap();
        let r = tag_request(&f, "example.com/user/bb:2", "my/app", Some("v1")).unwrap();
        assert_eq!(
            r.request.path_and_query,
            "/images/example.com/user/bb:2/tag?repo=my%2Fapp&tag=v1"
        );
        assert!(inspect_request(&f, "").is_err());
    }
}
