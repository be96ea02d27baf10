//! One repository's way into its registry: the endpoint chosen (the first that answers `GET /v2/`),
//! its challenge, and requests sent with the right `Authorization` (basic, a bearer token from the
//! cache or the token server, the client's registry token), retried with backoff when the registry
//! fails for a moment.

use std::sync::Arc;

use bytes::Bytes;
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE,
};
use reqwest::{Method, Response};
use wharf_client_core::registry_auth::RegistryAuth;

use super::auth::{self, Challenge, TokenCache};
use super::endpoints::Endpoint;
use super::{errors, retry, Shared};
use crate::error::Error;

/// An endpoint in use, with how it wants to be authenticated.
#[derive(Debug)]
pub(crate) struct Session {
    pub endpoint: Endpoint,
    /// Its position in the repository's list of endpoints.
    pub index: usize,
    client: reqwest::Client,
    challenge: Option<Challenge>,
    shared: Arc<Shared>,
    auth: RegistryAuth,
}

impl Session {
    /// Pings `endpoint` (`GET /v2/`) and reads its challenge. No answer at all is an error (the
    /// caller falls back to the next endpoint).
    pub(crate) async fn open(
        shared: Arc<Shared>,
        auth: RegistryAuth,
        endpoint: Endpoint,
        index: usize,
    ) -> Result<Self, Error> {
        let client = shared.client(&endpoint)?;
        let url = format!("{}/v2/", endpoint.base);
        let response = errors::send(&Method::GET, &url, client.get(&url))
            .await
            .map_err(|(e, _)| e)?;
        let challenge = if response.status() == reqwest::StatusCode::UNAUTHORIZED {
            auth::pick_challenge(
                response
                    .headers()
                    .get_all(WWW_AUTHENTICATE)
                    .iter()
                    .filter_map(|v| v.to_str().ok()),
            )
        } else {
            None
        };
        tracing::debug!(registry = %endpoint.base, ?challenge, "registry endpoint chosen");
        Self::resume(shared, auth, endpoint, index, challenge)
    }

    /// A session on `endpoint` as a recent ping found it (`known.rs`), without pinging again.
    pub(crate) fn resume(
        shared: Arc<Shared>,
        auth: RegistryAuth,
        endpoint: Endpoint,
        index: usize,
        challenge: Option<Challenge>,
    ) -> Result<Self, Error> {
        let client = shared.client(&endpoint)?;
        Ok(Self {
            endpoint,
            index,
            client,
            challenge,
            shared,
            auth,
        })
    }

    /// How the endpoint asked to be authenticated when it was pinged.
    pub(crate) fn challenge(&self) -> Option<&Challenge> {
        self.challenge.as_ref()
    }

    /// Forgets that this endpoint answered (a request failed or was refused), so the next repository
    /// opened on its registry pings it again.
    fn distrust(&self) {
        self.shared.known.forget(&self.endpoint.base);
    }

    /// The `Authorization` value for `scopes` (fetching a token when none is cached, or when
    /// `fresh`), with the cache key of a bearer token.
    async fn authorization(
        &self,
        scopes: &[String],
        fresh: bool,
    ) -> Result<Option<(HeaderValue, Option<[u8; 32]>)>, Error> {
        let value = |s: String| {
            let mut v = HeaderValue::from_str(&s)
                .map_err(|_| Error::system("credentials that cannot be sent in a header"))?;
            v.set_sensitive(true);
            Ok::<_, Error>(v)
        };
        match &self.challenge {
            None => Ok(None),
            Some(Challenge::Basic) => match self.auth.credentials() {
                Some((user, password)) => {
                    Ok(Some((value(auth::basic_header(&user, &password))?, None)))
                }
                None => Err(auth::no_basic_credentials()),
            },
            Some(Challenge::Bearer { realm, service }) => {
                if !self.auth.registrytoken.is_empty() {
                    let v = value(format!("Bearer {}", self.auth.registrytoken))?;
                    return Ok(Some((v, None)));
                }
                let key = TokenCache::key(realm, service.as_deref(), scopes, &self.auth);
                let cached = if fresh {
                    None
                } else {
                    self.shared.tokens.get(&key)
                };
                let token = match cached {
                    Some(t) => t,
                    None => {
                        let t = auth::fetch_token(
                            &self.client,
                            realm,
                            service.as_deref(),
                            scopes,
                            &self.auth,
                            false,
                        )
                        .await?;
                        let access = t.access.clone();
                        self.shared.tokens.put(key, t);
                        access
                    }
                };
                Ok(Some((value(format!("Bearer {token}"))?, Some(key))))
            }
        }
    }

    /// Sends a request once, authorised for `scopes`; `body` is sent as it is (a stream cannot be
    /// sent twice). No answer is `Get "<url>": <cause>`. No time limit here: the caller bounds how
    /// long the registry may go without taking a byte of `body` or answering.
    pub(crate) async fn send_once(
        &self,
        method: Method,
        url: &str,
        headers: &HeaderMap,
        body: Option<reqwest::Body>,
        scopes: &[String],
    ) -> Result<Response, Error> {
        let wrap = |e: Error| e.context(format!("{} \"{url}\"", errors::go_op(&method)));
        let authz = self.authorization(scopes, false).await.map_err(wrap)?;
        let mut request = self
            .client
            .request(method.clone(), url)
            .headers(headers.clone());
        if let Some((v, _)) = authz {
            request = request.header(AUTHORIZATION, v);
        }
        if let Some(b) = body {
            request = request.body(b);
        }
        let sent = request
            .send()
            .await
            .map_err(|e| errors::transport(&method, url, &e));
        if !matches!(&sent, Ok(r) if r.status() != reqwest::StatusCode::UNAUTHORIZED) {
            self.distrust();
        }
        sent
    }

    /// Sends a request with a body that can be sent again (or none), retrying a registry that fails
    /// for a moment, and once with a new token when a cached one is refused. The last answer is
    /// returned whatever its status; no answer after the attempts is an error.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(HeaderName, &str)],
        body: Option<Bytes>,
        scopes: &[String],
    ) -> Result<Response, Error> {
        let wrap = |e: Error| e.context(format!("{} \"{url}\"", errors::go_op(&method)));
        let mut fresh = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let authz = self.authorization(scopes, fresh).await.map_err(wrap)?;
            let mut request = self.client.request(method.clone(), url);
            for (name, value) in headers {
                request = request.header(name, *value);
            }
            let mut key = None;
            if let Some((v, k)) = authz {
                request = request.header(AUTHORIZATION, v);
                key = k;
            }
            if let Some(b) = &body {
                request = request.body(b.clone());
            }
            match errors::send(&method, url, request).await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    if status == 401 && !fresh {
                        if let Some(k) = key {
                            // A cached token the registry no longer takes: once more with a new one.
                            self.shared.tokens.forget(&k);
                            fresh = true;
                            continue;
                        }
                    }
                    if retry::retryable_status(status) && attempt < retry::ATTEMPTS {
                        let after = response
                            .headers()
                            .get(RETRY_AFTER)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned);
                        tracing::info!(%url, status, attempt, "registry failed; retrying");
                        tokio::time::sleep(retry::delay(attempt, after.as_deref())).await;
                        continue;
                    }
                    if status == 401 {
                        self.distrust();
                    }
                    return Ok(response);
                }
                Err((e, true)) if attempt < retry::ATTEMPTS => {
                    tracing::info!(%url, attempt, "registry request failed ({e}); retrying");
                    tokio::time::sleep(retry::delay(attempt, None)).await;
                }
                Err((e, _)) => {
                    self.distrust();
                    return Err(e);
                }
            }
        }
    }
}
