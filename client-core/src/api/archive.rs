//! A container's files: `docker cp`'s endpoints — `HEAD /containers/{id}/archive` (a path's stat, in the
//! `X-Docker-Container-Path-Stat` header as base64 of JSON), `GET` (the same header and a tar of the
//! path, the body the caller's to read) and `PUT` (a tar extracted into a directory) — `docker diff`'s
//! `GET /containers/{id}/changes` and `docker export`'s `GET /containers/{id}/export`.

use base64::Engine as _;
use bytes::Bytes;
use http::header::HeaderValue;
use http::Method;
use serde::{Deserialize, Serialize};

use super::{Decode, Json, NoContent, Object, TypedRequest};
use crate::error::Error;
use crate::models::FilesystemChange;
use crate::query::Query;
use crate::request::{Request, RequestFactory};
use crate::response::Response;

/// The header that carries a path's stat.
pub const PATH_STAT_HEADER: &str = "X-Docker-Container-Path-Stat";

/// A path's stat in a container (moby's `types.ContainerPathStat`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerPathStat {
    /// The base name of the path as asked (`/` for the root).
    pub name: String,
    pub size: i64,
    /// Go's `os.FileMode` bits: the permissions, and the type in the high bits.
    pub mode: u32,
    /// RFC 3339, as Go encodes a time.
    pub mtime: String,
    /// For a symlink: where it leads in the container, every link followed.
    #[serde(rename = "linkTarget", default)]
    pub link_target: String,
}

/// Go's `os.ModeDir`.
pub const MODE_DIR: u32 = 1 << 31;
/// Go's `os.ModeSymlink`.
pub const MODE_SYMLINK: u32 = 1 << 27;

impl ContainerPathStat {
    /// Whether the path is a directory.
    pub fn is_dir(&self) -> bool {
        self.mode & MODE_DIR != 0
    }

    /// Whether the path is a symlink.
    pub fn is_symlink(&self) -> bool {
        self.mode & MODE_SYMLINK != 0
    }
}

/// Decodes the value of [`PATH_STAT_HEADER`]; `route` names the request for messages.
pub fn decode_path_stat(route: &str, value: &str) -> Result<ContainerPathStat, Error> {
    let decode_error = |source| Error::Decode {
        route: route.to_owned(),
        source,
    };
    let json = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|e| decode_error(serde::de::Error::custom(format!("{PATH_STAT_HEADER}: {e}"))))?;
    serde_json::from_slice(&json).map_err(decode_error)
}

/// The answer to a stat: the path's stat from its header.
#[derive(Clone, Copy, Debug)]
pub struct PathStatAnswer;

impl Decode for PathStatAnswer {
    type Output = ContainerPathStat;

    fn decode(route: &str, response: Response) -> Result<ContainerPathStat, Error> {
        let response = response.error_for_status(route)?;
        let value = response.header(PATH_STAT_HEADER).unwrap_or("");
        decode_path_stat(route, value)
    }
}

fn path_query(path: &str) -> Result<Query, Error> {
    if path.is_empty() {
        return Err(Error::InvalidArgument(
            "the path in the container is empty".to_owned(),
        ));
    }
    let mut query = Query::new();
    query.append("path", path);
    Ok(query)
}

/// `HEAD /containers/{id}/archive?path=`: the stat of `path` in the container (`docker cp`'s first
/// question).
pub fn stat_path_request(
    factory: &RequestFactory,
    id: &str,
    path: &str,
) -> Result<TypedRequest<PathStatAnswer>, Error> {
    Object::Container.request(factory, Method::HEAD, id, "/archive", &path_query(path)?)
}

/// `GET /containers/{id}/archive?path=`: a tar of `path`, the answer's body (the caller's to read, it can
/// be large), its stat in [`PATH_STAT_HEADER`] (see [`decode_path_stat`]).
pub fn get_archive_request(
    factory: &RequestFactory,
    id: &str,
    path: &str,
) -> Result<Request, Error> {
    let query = path_query(path)?;
    Ok(factory.build(
        Method::GET,
        &Object::Container.path(id, "/archive")?,
        &query,
    ))
}

/// Parameters of `PUT /containers/{id}/archive`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CopyToOptions {
    /// `noOverwriteDirNonDir`: refuse to replace a directory with a file or the reverse (the docker CLI
    /// always sets it).
    pub no_overwrite_dir_non_dir: bool,
    /// `copyUIDGID`: own the files by the container's user (`docker cp -a`).
    pub copy_uid_gid: bool,
}

/// `PUT /containers/{id}/archive?path=`, with `tar` extracted into the directory `path`. Its answer:
/// [`NoContent`].
pub fn put_archive_request(
    factory: &RequestFactory,
    id: &str,
    path: &str,
    options: &CopyToOptions,
    tar: Bytes,
) -> Result<TypedRequest<NoContent>, Error> {
    let mut query = path_query(path)?;
    query
        .flag("noOverwriteDirNonDir", options.no_overwrite_dir_non_dir)
        .flag("copyUIDGID", options.copy_uid_gid);
    Ok(TypedRequest::new(factory.build_with_body(
        Method::PUT,
        &Object::Container.path(id, "/archive")?,
        &query,
        tar,
        HeaderValue::from_static("application/x-tar"),
    )))
}

/// `GET /containers/{id}/changes`: what the container changed in its file system; `null` (nothing
/// changed, as dockerd answers it) decodes as an empty list.
pub fn changes_request(
    factory: &RequestFactory,
    id: &str,
) -> Result<TypedRequest<Json<Option<Vec<FilesystemChange>>>>, Error> {
    Object::Container.request(factory, Method::GET, id, "/changes", &Query::new())
}

/// `GET /containers/{id}/export`: the container's root file system as a tar, the answer's body (the
/// caller's to read).
pub fn export_request(factory: &RequestFactory, id: &str) -> Result<Request, Error> {
    Ok(factory.build(
        Method::GET,
        &Object::Container.path(id, "/export")?,
        &Query::new(),
    ))
}

/// Parameters of `POST /commit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitOptions {
    /// `repo` and `tag` of the new image (none: a dangling image).
    pub repo: Option<String>,
    pub tag: Option<String>,
    /// `comment` (`-m`) and `author` (`-a`).
    pub comment: Option<String>,
    pub author: Option<String>,
    /// `pause`: freeze a running container meanwhile (the daemon's default); sent only when false, as
    /// the docker CLI sends it.
    pub pause: bool,
    /// `changes`: Dockerfile instructions for the new image's config (`CMD ["cat","/x"]`).
    pub changes: Vec<String>,
}

impl Default for CommitOptions {
    fn default() -> Self {
        Self {
            repo: None,
            tag: None,
            comment: None,
            author: None,
            pause: true,
            changes: Vec::new(),
        }
    }
}

/// The answer to a commit: `{"Id": "sha256:..."}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitResponse {
    #[serde(rename = "Id")]
    pub id: String,
}

/// `POST /commit?container=`: a new image from the container's changes.
pub fn commit_request(
    factory: &RequestFactory,
    container: &str,
    options: &CommitOptions,
) -> Result<TypedRequest<Json<CommitResponse>>, Error> {
    let container = container.trim();
    if container.is_empty() {
        return Err(Error::InvalidArgument(
            "invalid container name or ID: value is empty".to_owned(),
        ));
    }
    let mut query = Query::new();
    query
        .append("container", container)
        .optional("repo", options.repo.as_deref())
        .optional("tag", options.tag.as_deref())
        .optional("comment", options.comment.as_deref())
        .optional("author", options.author.as_deref());
    if !options.pause {
        query.append("pause", "0");
    }
    for change in &options.changes {
        query.append("changes", change.as_str());
    }
    Ok(TypedRequest::new(factory.build(
        Method::POST,
        "/commit",
        &query,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stat_header_decodes_as_dockerd_sends_it() {
        // dockerd 20.10's answer for a symlink `/dl -> /d`.
        let value = "eyJuYW1lIjoiZGwiLCJzaXplIjoyLCJtb2RlIjoxMzQyMTgyMzksIm10aW1lIjoiMjAyNi0xMi0wNlQxNjo0MjoyNi41Mzk4Nzc5NzVaIiwibGlua1RhcmdldCI6Ii9kIn0=";
        let stat = decode_path_stat("HEAD x", value).unwrap();
        assert_eq!(stat.name, "dl");
        assert_eq!(stat.link_target, "/d");
        assert!(stat.is_symlink() && !stat.is_dir());
        assert_eq!(stat.mtime, "2026-12-06T16:42:26.539877975Z");
        assert!(decode_path_stat("HEAD x", "not base64!").is_err());
    }
}
