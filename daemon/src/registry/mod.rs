//! Registries: the distribution API (manifests, blobs, uploads) over HTTPS, with the logins, TLS,
//! mirrors and insecure-registry rules dockerd applies. The image store (`images/pull.rs`,
//! `images/push.rs`) decides what to move; this module only moves it, so it knows nothing of
//! containerd. Errors are the daemon's kinds with dockerd's wording ("manifest unknown",
//! "unauthorized: ..."), never HTTP statuses of our own API.
//!
//! The shape (filled in by the registry work of issue 12):
//! - `config.rs`: [`RegistryConfig`]: insecure registries (names and CIDRs, 127.0.0.0/8 by default as
//!   dockerd), mirrors for Docker Hub, the `certs.d` directory, concurrency limits.
//! - `auth.rs`: the `WWW-Authenticate` challenge, basic credentials, bearer tokens from the token server
//!   (scoped per repository and action, cached until they expire), identity (refresh) tokens.
//! - `client.rs`: [`Repository`]: one repository on one registry, with retries and backoff.

// Until pull, push and login use the whole interface (issue 12's work in progress).
#![allow(dead_code)]

pub(crate) mod config;

use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::Stream;
use wharf_client_core::registry_auth::RegistryAuth;
use wharf_client_core::{ErrorKind, Reference};

use crate::error::Error;
pub(crate) use config::RegistryConfig;

/// The media types a pull asks for, in the order of preference (manifest lists and indexes first).
pub(crate) const MANIFEST_ACCEPT: &[&str] = &[
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
];

/// A stream of a blob's bytes as they arrive; an error ends it.
pub(crate) type BlobStream = Pin<Box<dyn Stream<Item = Result<Bytes, Error>> + Send>>;

/// What an upload reads, opened again for each attempt (a retry starts the blob over).
pub(crate) type OpenBlob = Arc<
    dyn Fn() -> Pin<Box<dyn std::future::Future<Output = Result<BlobStream, Error>> + Send>>
        + Send
        + Sync,
>;

/// What a repository is opened for: the scope of the token asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// `repository:<name>:pull`.
    Pull,
    /// `repository:<name>:pull,push`.
    Push,
}

/// A manifest or index as the registry sent it.
#[derive(Clone, Debug)]
pub(crate) struct FetchedManifest {
    /// The `Content-Type` (or the document's own `mediaType` when the header is generic).
    pub media_type: String,
    /// `sha256:` of `bytes` (checked against the digest asked for, when one was).
    pub digest: String,
    /// The document, at most 4 MiB (as containerd's limit for manifests).
    pub bytes: Bytes,
}

/// What the registry says a tag or digest points at (`HEAD` of a manifest).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RemoteDescriptor {
    pub media_type: String,
    pub digest: String,
    pub size: i64,
}

/// `POST /auth`'s outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LoginOutcome {
    /// A refresh token the registry's token server issued, for the client to send instead of the
    /// password from now on.
    pub identity_token: Option<String>,
}

/// The registry service of the daemon: its configuration, HTTP clients per registry (with that
/// registry's TLS), the token cache.
#[derive(Clone, Debug)]
pub(crate) struct Registries {
    config: Arc<RegistryConfig>,
}

impl Registries {
    /// The service for `config` (reads nothing yet; a registry's `certs.d` is read when it is first used).
    pub(crate) fn new(config: RegistryConfig) -> Self {
        Self {
            config: Arc::new(config),
        }
    }

    /// The configuration (for `GET /info`'s `RegistryConfig`).
    pub(crate) fn config(&self) -> &RegistryConfig {
        &self.config
    }

    /// Opens the repository `reference` names (its domain and path; the tag or digest is not used) with
    /// `auth`, for `access`.
    pub(crate) fn repository(
        &self,
        reference: &Reference,
        auth: &RegistryAuth,
        access: Access,
    ) -> Result<Repository, Error> {
        let _ = (reference, auth, access);
        Err(not_yet())
    }

    /// Checks `auth` against its `serveraddress` (Docker Hub when empty), as `docker login` does.
    pub(crate) async fn login(&self, auth: &RegistryAuth) -> Result<LoginOutcome, Error> {
        let _ = auth;
        Err(not_yet())
    }
}

/// One repository on one registry (or on a mirror of it), opened for pull or push.
#[derive(Clone, Debug)]
pub(crate) struct Repository {
    /// `host[:port]` as the user wrote it (`docker.io` for Docker Hub).
    pub domain: String,
    /// The repository path (`library/alpine`).
    pub path: String,
}

impl Repository {
    /// Fetches the manifest or index `reference` (a tag or a `sha256:` digest) names.
    /// Unknown → NotFound "manifest unknown"; a digest mismatch → InvalidParameter.
    pub(crate) async fn manifest(&self, reference: &str) -> Result<FetchedManifest, Error> {
        let _ = reference;
        Err(not_yet())
    }

    /// What a tag or digest points at, without fetching it (`HEAD`).
    pub(crate) async fn manifest_descriptor(
        &self,
        reference: &str,
    ) -> Result<RemoteDescriptor, Error> {
        let _ = reference;
        Err(not_yet())
    }

    /// Streams blob `digest` (redirects followed, retried from where it stopped on a broken
    /// connection). The caller verifies the digest as the bytes land.
    pub(crate) async fn blob(&self, digest: &str, size: i64) -> Result<BlobStream, Error> {
        let _ = (digest, size);
        Err(not_yet())
    }

    /// Whether the registry has blob `digest` in this repository (`HEAD`).
    pub(crate) async fn blob_exists(&self, digest: &str) -> Result<bool, Error> {
        let _ = digest;
        Err(not_yet())
    }

    /// Asks the registry to mount blob `digest` from repository `from` (same registry); false when it
    /// would rather have it uploaded.
    pub(crate) async fn mount_blob(&self, digest: &str, from: &str) -> Result<bool, Error> {
        let _ = (digest, from);
        Err(not_yet())
    }

    /// Uploads blob `digest` of `size` bytes read from `open` (monolithic or chunked as the registry
    /// allows), calling `progress` with the bytes sent so far.
    pub(crate) async fn upload_blob(
        &self,
        digest: &str,
        size: i64,
        open: OpenBlob,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<(), Error> {
        let _ = (digest, size, open, progress);
        Err(not_yet())
    }

    /// Puts a manifest under `reference` (a tag, or its digest); answers the digest the registry gives.
    pub(crate) async fn put_manifest(
        &self,
        reference: &str,
        media_type: &str,
        bytes: Bytes,
    ) -> Result<String, Error> {
        let _ = (reference, media_type, bytes);
        Err(not_yet())
    }
}

fn not_yet() -> Error {
    Error::new(
        ErrorKind::NotImplemented,
        "registries are not supported yet: wharfd does not talk to registries",
    )
}
