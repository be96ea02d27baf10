//! [`Repository`]: one repository on one registry, for the image store's pulls and pushes. The first
//! request chooses the endpoint (the first that answers, in `endpoints.rs`' order) and keeps it; a
//! Docker Hub mirror that lacks a manifest hands over to the next endpoint, as dockerd's fallback.

use std::sync::Arc;

use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, OnceCell};
use wharf_client_core::registry_auth::RegistryAuth;
use wharf_client_core::ErrorKind;

use super::endpoints::Endpoint;
use super::known::Known;
use super::session::Session;
use super::{errors, Access, FetchedManifest, RemoteDescriptor, Shared, MANIFEST_ACCEPT};
use crate::error::Error;

/// The largest manifest or index read (containerd's limit).
pub(crate) const MAX_MANIFEST: usize = 4 << 20;

/// The registry's header naming a manifest's or blob's digest.
pub(crate) const DIGEST_HEADER: &str = "docker-content-digest";

/// `Content-Type`s that say nothing of a manifest's kind.
const GENERIC_TYPES: &[&str] = &[
    "",
    "application/json",
    "text/plain",
    "application/octet-stream",
];

/// One repository on one registry (or on a mirror of it), opened for pull or push.
#[derive(Clone, Debug)]
pub(crate) struct Repository {
    /// `host[:port]` as the user wrote it (`docker.io` for Docker Hub).
    pub domain: String,
    /// The repository path (`library/alpine`).
    pub path: String,
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    shared: Arc<Shared>,
    auth: RegistryAuth,
    access: Access,
    endpoints: OnceCell<Vec<Endpoint>>,
    session: Mutex<Option<Arc<Session>>>,
}

/// `sha256:<hex>` of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

impl Repository {
    pub(super) fn new(
        shared: Arc<Shared>,
        domain: &str,
        path: &str,
        auth: RegistryAuth,
        access: Access,
    ) -> Self {
        Self {
            domain: domain.to_owned(),
            path: path.to_owned(),
            inner: Arc::new(Inner {
                shared,
                auth,
                access,
                endpoints: OnceCell::new(),
                session: Mutex::new(None),
            }),
        }
    }

    /// The token scopes of this repository: `repository:<path>:pull` or `pull,push`.
    pub(super) fn scopes(&self) -> Vec<String> {
        let actions = match self.inner.access {
            Access::Pull => "pull",
            Access::Push => "pull,push",
        };
        vec![format!("repository:{}:{actions}", self.path)]
    }

    async fn endpoints(&self) -> &[Endpoint] {
        self.inner
            .endpoints
            .get_or_init(|| self.inner.shared.endpoints(&self.domain, self.inner.access))
            .await
    }

    /// The session in use, opening the first endpoint that answers (from `from` on) when there is
    /// none or when `after` is the one that failed. The last endpoint's error when none answers.
    async fn open_from(&self, from: usize) -> Result<Arc<Session>, Error> {
        let endpoints = self.endpoints().await;
        let mut last = Error::system(format!("no endpoint left for {}", self.domain));
        for (i, endpoint) in endpoints.iter().enumerate().skip(from) {
            match Session::open(
                self.inner.shared.clone(),
                self.inner.auth.clone(),
                endpoint.clone(),
                i,
            )
            .await
            {
                Ok(s) => return Ok(Arc::new(s)),
                Err(e) => {
                    tracing::debug!(endpoint = %endpoint.base, "registry endpoint failed: {e}");
                    last = e;
                }
            }
        }
        Err(last)
    }

    /// The session in use (the first endpoint that answers).
    pub(super) async fn session(&self) -> Result<Arc<Session>, Error> {
        let mut current = self.inner.session.lock().await;
        if let Some(s) = &*current {
            return Ok(s.clone());
        }
        let push = self.inner.access == Access::Push;
        let shared = &self.inner.shared;
        let s = match self.remembered(push).await {
            Some(s) => Arc::new(s),
            None => {
                let s = self.open_from(0).await?;
                let known = Known {
                    index: s.index,
                    base: s.endpoint.base.clone(),
                    challenge: s.challenge().cloned(),
                };
                shared.known.put(&self.domain, push, known);
                s
            }
        };
        *current = Some(s.clone());
        Ok(s)
    }

    /// A session on the endpoint this registry answered with lately, without pinging it.
    async fn remembered(&self, push: bool) -> Option<Session> {
        let known = self.inner.shared.known.get(&self.domain, push)?;
        let endpoint = self.endpoints().await.get(known.index)?.clone();
        if endpoint.base != known.base {
            return None;
        }
        let index = known.index;
        let (shared, auth) = (self.inner.shared.clone(), self.inner.auth.clone());
        Session::resume(shared, auth, endpoint, index, known.challenge).ok()
    }

    /// Moves past mirror `failed` to the next endpoint; `None` when `failed` was no mirror.
    async fn fall_back(&self, failed: &Session) -> Result<Option<Arc<Session>>, Error> {
        if !failed.endpoint.mirror {
            return Ok(None);
        }
        let mut current = self.inner.session.lock().await;
        let s = self.open_from(failed.index + 1).await?;
        *current = Some(s.clone());
        Ok(Some(s))
    }

    /// `<base>/v2/<path>/<tail>`.
    pub(super) fn url(&self, session: &Session, tail: &str) -> String {
        format!("{}/v2/{}/{tail}", session.endpoint.base, self.path)
    }

    /// The reference as dockerd's messages show it (`alpine:3`, `reg:5000/x@sha256:…`).
    fn familiar(&self, reference: &str) -> (String, String) {
        let name = match (self.domain.as_str(), self.path.strip_prefix("library/")) {
            ("docker.io", Some(short)) => short.to_owned(),
            ("docker.io", None) => self.path.clone(),
            (domain, _) => format!("{domain}/{}", self.path),
        };
        let sep = if reference.contains(':') { '@' } else { ':' };
        (format!("{name}{sep}{reference}"), name)
    }

    /// GET of a manifest, with mirror fallback; the registry's refusal as it words it.
    async fn get_manifest(&self, reference: &str) -> Result<FetchedManifest, errors::Failure> {
        let as_failure = |e: Error| errors::Failure {
            status: if e.kind == ErrorKind::NotFound {
                404
            } else {
                500
            },
            code: None,
            message: e.message,
        };
        let accept = MANIFEST_ACCEPT.join(", ");
        let mut session = self.session().await.map_err(as_failure)?;
        loop {
            let url = self.url(&session, &format!("manifests/{reference}"));
            let sent = session
                .send(
                    Method::GET,
                    &url,
                    &[(ACCEPT, &accept)],
                    None,
                    &self.scopes(),
                )
                .await;
            let failure = match sent {
                Ok(r) if r.status() == StatusCode::OK => {
                    return self.read_manifest(r, reference).await.map_err(as_failure)
                }
                Ok(r) => {
                    let status = r.status();
                    let body = errors::read_bounded(r, 1 << 20).await.unwrap_or_default();
                    errors::failure(status, &body)
                }
                Err(e) => as_failure(e),
            };
            match self.fall_back(&session).await {
                Ok(Some(next)) => {
                    tracing::info!(
                        "mirror {} failed ({}); trying the next endpoint",
                        session.endpoint.base,
                        failure.message
                    );
                    session = next;
                }
                Ok(None) => return Err(failure),
                Err(e) => return Err(as_failure(e)),
            }
        }
    }

    async fn read_manifest(
        &self,
        response: reqwest::Response,
        reference: &str,
    ) -> Result<FetchedManifest, Error> {
        let header_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().trim().to_owned());
        let bytes = errors::read_bounded(response, MAX_MANIFEST)
            .await
            .map_err(|e| match e.message.starts_with("registry answer larger") {
                true => Error::invalid(format!(
                    "manifest {reference} is larger than {MAX_MANIFEST} bytes"
                )),
                false => e,
            })?;
        let digest = sha256(&bytes);
        if reference.starts_with("sha256:") && digest != reference {
            return Err(Error::invalid(format!(
                "manifest verification failed for digest {reference}"
            )));
        }
        Ok(FetchedManifest {
            media_type: media_type(header_type.as_deref(), &bytes),
            digest,
            bytes,
        })
    }

    /// Fetches the manifest or index `reference` (a tag or a `sha256:` digest) names.
    /// Unknown → NotFound `manifest for <ref> not found: manifest unknown: manifest unknown` (dockerd's
    /// whole pull error); a digest mismatch → InvalidParameter.
    pub(crate) async fn manifest(&self, reference: &str) -> Result<FetchedManifest, Error> {
        self.get_manifest(reference).await.map_err(|f| {
            let (full, name) = self.familiar(reference);
            let message = match f.code.as_deref() {
                Some("MANIFEST_UNKNOWN") => format!("manifest for {full} not found: {}", f.message),
                Some("NAME_UNKNOWN") => format!("repository {name} not found: {}", f.message),
                Some("DENIED") => format!("pull access denied for {name}, repository does not exist or may require 'docker login': {}", f.message),
                _ => return f.into_error(),
            };
            Error::new(ErrorKind::NotFound, message)
        })
    }

    /// What a tag or digest points at, without fetching it (`HEAD`; a GET when the registry's answer
    /// lacks the digest, or to word a refusal). Unknown → NotFound `manifest unknown: manifest unknown`.
    pub(crate) async fn manifest_descriptor(
        &self,
        reference: &str,
    ) -> Result<RemoteDescriptor, Error> {
        let accept = MANIFEST_ACCEPT.join(", ");
        let session = self.session().await?;
        let url = self.url(&session, &format!("manifests/{reference}"));
        let head = session
            .send(
                Method::HEAD,
                &url,
                &[(ACCEPT, &accept)],
                None,
                &self.scopes(),
            )
            .await?;
        {
            let r = &head;
            let h = r.headers();
            let text = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
            let found = (
                text(CONTENT_TYPE.as_str()),
                text(DIGEST_HEADER),
                text(CONTENT_LENGTH.as_str()).and_then(|l| l.parse::<i64>().ok()),
            );
            if let (true, Some(media_type), Some(digest), Some(size)) =
                (r.status() == StatusCode::OK, found.0, found.1, found.2)
            {
                let media_type = media_type.split(';').next().unwrap_or_default().trim();
                if !GENERIC_TYPES.contains(&media_type)
                    && (!reference.starts_with("sha256:") || digest == reference)
                {
                    return Ok(RemoteDescriptor {
                        media_type: media_type.to_owned(),
                        digest: digest.to_owned(),
                        size,
                    });
                }
            }
        }
        let m = self
            .get_manifest(reference)
            .await
            .map_err(errors::Failure::into_error)?;
        Ok(RemoteDescriptor {
            media_type: m.media_type,
            digest: m.digest,
            size: m.bytes.len() as i64,
        })
    }

    /// Puts a manifest under `reference` (a tag, or its digest); answers the digest the registry gives
    /// (else the document's own).
    pub(crate) async fn put_manifest(
        &self,
        reference: &str,
        media_type: &str,
        bytes: Bytes,
    ) -> Result<String, Error> {
        let session = self.session().await?;
        let url = self.url(&session, &format!("manifests/{reference}"));
        let own = sha256(&bytes);
        let response = session
            .send(
                Method::PUT,
                &url,
                &[(CONTENT_TYPE, media_type)],
                Some(bytes),
                &self.scopes(),
            )
            .await?;
        let status = response.status();
        if !status.is_success() {
            let body = errors::read_bounded(response, 1 << 20)
                .await
                .unwrap_or_default();
            return Err(errors::failure(status, &body).into_error());
        }
        Ok(response
            .headers()
            .get(DIGEST_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|d| d.starts_with("sha256:"))
            .map_or(own, str::to_owned))
    }
}

/// A manifest's media type: the `Content-Type` unless it is generic, else the document's own
/// `mediaType`, else guessed from its shape (OCI documents may omit it).
pub(crate) fn media_type(header: Option<&str>, bytes: &[u8]) -> String {
    let header = header.unwrap_or_default();
    if !GENERIC_TYPES.contains(&header) {
        return header.to_owned();
    }
    #[derive(serde::Deserialize)]
    struct Shape {
        #[serde(default, rename = "mediaType")]
        media_type: String,
        #[serde(default)]
        manifests: Option<serde_json::Value>,
        #[serde(default)]
        layers: Option<serde_json::Value>,
        #[serde(default, rename = "schemaVersion")]
        schema_version: i64,
    }
    match serde_json::from_slice::<Shape>(bytes) {
        Ok(s) if !s.media_type.is_empty() => s.media_type,
        Ok(s) if s.manifests.is_some() => "application/vnd.oci.image.index.v1+json".to_owned(),
        Ok(s) if s.layers.is_some() => "application/vnd.oci.image.manifest.v1+json".to_owned(),
        Ok(s) if s.schema_version == 1 => {
            "application/vnd.docker.distribution.manifest.v1+json".to_owned()
        }
        _ if header.is_empty() => "application/octet-stream".to_owned(),
        _ => header.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_come_from_the_header_or_the_document() {
        let v2 = "application/vnd.docker.distribution.manifest.v2+json";
        assert_eq!(media_type(Some(v2), b"{}"), v2);
        assert_eq!(
            media_type(Some("application/json"), br#"{"mediaType":"x/y"}"#),
            "x/y"
        );
        assert_eq!(
            media_type(None, br#"{"schemaVersion":2,"manifests":[]}"#),
            "application/vnd.oci.image.index.v1+json"
        );
        assert_eq!(
            media_type(Some("text/plain"), br#"{"schemaVersion":2,"layers":[]}"#),
            "application/vnd.oci.image.manifest.v1+json"
        );
        assert_eq!(
            sha256(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
