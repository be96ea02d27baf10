//! Registries: the distribution API (manifests, blobs, uploads) over HTTPS, with the logins, TLS,
//! mirrors and insecure-registry rules dockerd applies. The image store (`images/pull.rs`,
//! `images/push.rs`) decides what to move; this module only moves it, so it knows nothing of
//! containerd. Errors are the daemon's kinds with dockerd's wording ("manifest unknown",
//! "unauthorized: ..."), never HTTP statuses of our own API.
//!
//! The parts:
//! - `config.rs`: the insecure-registry rules drawn from [`RegistryConfig`] (names and CIDRs,
//!   127.0.0.0/8 and ::1/128 always, as dockerd); the settings are read in `crate::config::registry`.
//! - `endpoints.rs`: where a registry is reached, in order (mirrors, HTTPS, unverified, plain HTTP).
//! - `tls.rs`: our rustls configuration per registry (system CAs, `certs.d` CAs and client pairs).
//! - `auth.rs`: the `WWW-Authenticate` challenge, basic credentials, bearer tokens from the token server
//!   (scoped per repository and action, cached until they expire), identity (refresh) tokens.
//! - `session.rs`: a repository's chosen endpoint and its authenticated, retried requests.
//! - `client.rs`: [`Repository`]: manifests and blobs; `upload.rs`: blob uploads; `login.rs`.
//! - `retry.rs`: which failures are retried, and the backoff.
//! - `errors.rs`: dockerd's wording of what registries and the network answer.

mod auth;
mod blob;
mod client;
pub(crate) mod config;
pub(crate) mod distribution;
mod endpoints;
mod errors;
mod known;
mod login;
mod retry;
mod session;
mod tls;
mod upload;

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use wharf_client_core::registry_auth::RegistryAuth;
use wharf_client_core::Reference;

use crate::error::Error;
pub(crate) use client::Repository;
use config::InsecureRules;
pub(crate) use config::RegistryConfig;
use endpoints::{Endpoint, Mirror};

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

/// How long a connection to a registry may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a registry may stay silent (no answer's head yet, no byte of a body, no byte of an
/// upload taken) before the request is given up (and retried where it can be). reqwest's own read
/// timeout is not used: it bounds the whole wait for the head, which a long upload exceeds.
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The registry service of the daemon: its configuration, HTTP clients per registry (with that
/// registry's TLS), the token cache. Cheap to clone; the clones share all of it.
#[derive(Clone, Debug)]
pub(crate) struct Registries {
    shared: Arc<Shared>,
}

/// What every repository of every registry shares.
#[derive(Debug)]
pub(crate) struct Shared {
    config: RegistryConfig,
    rules: InsecureRules,
    /// One client per registry host and verification mode, made on first use (its `certs.d` read then).
    clients: Mutex<HashMap<(String, bool), reqwest::Client>>,
    tokens: auth::TokenCache,
    /// The endpoint each registry answered with lately.
    known: known::KnownEndpoints,
}

impl Registries {
    /// The service for `config` (reads nothing yet; a registry's `certs.d` is read when it is first used).
    pub(crate) fn new(config: RegistryConfig) -> Self {
        Self {
            shared: Arc::new(Shared {
                rules: InsecureRules::new(&config),
                config,
                clients: Mutex::default(),
                tokens: auth::TokenCache::default(),
                known: known::KnownEndpoints::default(),
            }),
        }
    }

    /// The configuration (for `GET /info`'s `RegistryConfig`).
    pub(crate) fn config(&self) -> &RegistryConfig {
        &self.shared.config
    }

    /// The insecure-registry rules (for `GET /info`).
    pub(crate) fn insecure_rules(&self) -> &InsecureRules {
        &self.shared.rules
    }

    /// Opens the repository `reference` names (its domain and path; the tag or digest is not used) with
    /// `auth`, for `access`. Nothing is sent yet: the first request picks the endpoint and logs in.
    pub(crate) fn repository(
        &self,
        reference: &Reference,
        auth: &RegistryAuth,
        access: Access,
    ) -> Result<Repository, Error> {
        Ok(Repository::new(
            self.shared.clone(),
            reference.domain(),
            reference.path(),
            auth.clone(),
            access,
        ))
    }

    /// Checks `auth` against its `serveraddress` (Docker Hub when empty), as `docker login` does.
    pub(crate) async fn login(&self, auth: &RegistryAuth) -> Result<LoginOutcome, Error> {
        login::login(&self.shared, auth).await
    }
}

impl Shared {
    /// The endpoints of registry `index`, in the order they are tried.
    async fn endpoints(&self, index: &str, access: Access) -> Vec<Endpoint> {
        let mut mirrors = Vec::new();
        if index == config::INDEX_NAME && access == Access::Pull {
            for url in &self.config.mirrors {
                let host = url
                    .split_once("://")
                    .map_or(url.as_str(), |(_, h)| h)
                    .trim_end_matches('/');
                mirrors.push(Mirror {
                    url: url.clone(),
                    insecure: self.rules.is_insecure(host).await,
                });
            }
        }
        let insecure = self.rules.is_insecure(index).await;
        endpoints::endpoints(index, insecure, &mirrors, access)
    }

    /// The HTTP client for `endpoint`: its host's TLS (verified or not), timeouts on connect and on
    /// silent reads, proxies from the environment.
    fn client(&self, endpoint: &Endpoint) -> Result<reqwest::Client, Error> {
        let key = (endpoint.tls_host.clone(), endpoint.verify);
        if let Some(c) = self.clients.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(c);
        }
        let certs = tls::read_certs_dir(&self.config.certs_dir.join(&endpoint.tls_host))?;
        let tls = tls::client_config(&certs, endpoint.verify)?;
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(format!("wharf/{}", crate::buildinfo::VERSION))
            .build()
            .map_err(|e| Error::system(format!("cannot make an HTTP client: {e}")))?;
        if let Ok(mut m) = self.clients.lock() {
            m.insert(key, client.clone());
        }
        Ok(client)
    }
}
