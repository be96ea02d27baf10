//! Pushing blobs: whether the registry has one (`HEAD`), a cross-repository mount (`POST
//! ?mount=&from=`; a registry that would rather have the bytes opens an upload, which is cancelled),
//! and uploads as the docker client sends them: `POST` opens a session, one streamed `PATCH` carries
//! the bytes, `PUT ?digest=` closes it. A failed attempt cancels its session and starts over from a
//! freshly opened source.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use reqwest::{Method, Response, StatusCode, Url};

use super::client::Repository;
use super::session::Session;
use super::{errors, retry, OpenBlob};
use crate::error::Error;

/// How often upload progress is reported.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// A failed upload attempt, and whether another could succeed.
struct Failed {
    error: Error,
    retry: bool,
}

impl From<Error> for Failed {
    fn from(error: Error) -> Self {
        Self {
            error,
            retry: false,
        }
    }
}

/// An error answer, retryable when the registry failed for a moment.
async fn refused(response: Response) -> Failed {
    let status = response.status();
    let body = errors::read_bounded(response, 1 << 20)
        .await
        .unwrap_or_default();
    Failed {
        error: errors::failure(status, &body).into_error(),
        retry: retry::retryable_status(status.as_u16()),
    }
}

/// The `Location` of an upload session, resolved against the request's URL.
fn location(url: &str, response: &Response) -> Result<Url, Error> {
    let base = Url::parse(url).map_err(Error::system)?;
    let value = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Error::system("the registry opened an upload without a Location"))?;
    base.join(value)
        .map_err(|e| Error::system(format!("invalid upload location {value:?}: {e}")))
}

impl Repository {
    /// Whether the registry has blob `digest` in this repository (`HEAD`).
    pub(crate) async fn blob_exists(&self, digest: &str) -> Result<bool, Error> {
        let session = self.session().await?;
        let url = self.url(&session, &format!("blobs/{digest}"));
        let response = session
            .send(Method::HEAD, &url, &[], None, &self.scopes())
            .await?;
        match response.status() {
            StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            status => Err(errors::failure(status, b"").into_error()),
        }
    }

    /// Asks the registry to mount blob `digest` from repository `from` (same registry); false when it
    /// would rather have it uploaded (its upload session is cancelled).
    pub(crate) async fn mount_blob(&self, digest: &str, from: &str) -> Result<bool, Error> {
        let session = self.session().await?;
        let mut url = Url::parse(&self.url(&session, "blobs/uploads/")).map_err(Error::system)?;
        url.query_pairs_mut()
            .append_pair("mount", digest)
            .append_pair("from", from);
        let mut scopes = self.scopes();
        scopes.push(format!("repository:{from}:pull"));
        let response = session
            .send(
                Method::POST,
                url.as_str(),
                &[(CONTENT_LENGTH, "0")],
                None,
                &scopes,
            )
            .await?;
        match response.status() {
            StatusCode::CREATED => Ok(true),
            StatusCode::ACCEPTED => {
                if let Ok(session_url) = location(url.as_str(), &response) {
                    cancel(&session, session_url.as_str(), &self.scopes()).await;
                }
                Ok(false)
            }
            _ => Err(refused(response).await.error),
        }
    }

    /// Uploads blob `digest` of `size` bytes read from `open`, calling `progress` with the bytes sent
    /// so far. A registry that fails for a moment gets the whole blob again from a reopened source.
    pub(crate) async fn upload_blob(
        &self,
        digest: &str,
        size: i64,
        open: OpenBlob,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<(), Error> {
        let session = self.session().await?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self
                .upload_once(&session, digest, size, &open, progress)
                .await
            {
                Ok(()) => return Ok(()),
                Err(f) if f.retry && attempt < retry::ATTEMPTS => {
                    tracing::info!(%digest, attempt, "blob upload failed ({}); starting over", f.error);
                    tokio::time::sleep(retry::delay(attempt, None)).await;
                }
                Err(f) => return Err(f.error),
            }
        }
    }

    async fn upload_once(
        &self,
        session: &Session,
        digest: &str,
        size: i64,
        open: &OpenBlob,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<(), Failed> {
        let scopes = self.scopes();
        let url = self.url(session, "blobs/uploads/");
        let response = session
            .send(Method::POST, &url, &[(CONTENT_LENGTH, "0")], None, &scopes)
            .await?;
        if response.status() != StatusCode::ACCEPTED {
            return Err(refused(response).await);
        }
        let upload = location(&url, &response)?;
        let result = self
            .send_bytes(session, &upload, digest, size, open, progress, &scopes)
            .await;
        if result.is_err() {
            cancel(session, upload.as_str(), &scopes).await;
        }
        result
    }

    /// The `PATCH` with the bytes and the closing `PUT ?digest=` of upload session `upload`.
    #[allow(clippy::too_many_arguments)]
    async fn send_bytes(
        &self,
        session: &Session,
        upload: &Url,
        digest: &str,
        size: i64,
        open: &OpenBlob,
        progress: &(dyn Fn(u64) + Send + Sync),
        scopes: &[String],
    ) -> Result<(), Failed> {
        let source = open().await?;
        let sent = Arc::new(AtomicU64::new(0));
        let counter = sent.clone();
        let counted = source.inspect(move |chunk| {
            if let Ok(b) = chunk {
                counter.fetch_add(b.len() as u64, Ordering::Relaxed);
            }
        });
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        let patch = session.send_once(
            Method::PATCH,
            upload.as_str(),
            &headers,
            Some(reqwest::Body::wrap_stream(counted)),
            scopes,
        );
        tokio::pin!(patch);
        let mut tick = tokio::time::interval(PROGRESS_EVERY);
        let (mut last, mut idle_since) = (0, tokio::time::Instant::now());
        let response = loop {
            tokio::select! {
                r = &mut patch => break r,
                _ = tick.tick() => {
                    let now = sent.load(Ordering::Relaxed);
                    progress(now);
                    if now != last {
                        (last, idle_since) = (now, tokio::time::Instant::now());
                    } else if idle_since.elapsed() > super::READ_TIMEOUT {
                        // Nothing taken and no answer for that long: give up this attempt.
                        break Err(Error::system(format!(
                            "Patch \"{}\": i/o timeout",
                            upload.as_str().split('?').next().unwrap_or_default()
                        )));
                    }
                }
            }
        };
        let response = response.map_err(|error| Failed { error, retry: true })?;
        let total = sent.load(Ordering::Relaxed);
        progress(total);
        if !response.status().is_success() {
            return Err(refused(response).await);
        }
        if let Ok(expected) = u64::try_from(size) {
            if expected > 0 && total != expected {
                return Err(Error::system(format!(
                    "upload of {digest}: read {total} bytes, expected {expected}"
                ))
                .into());
            }
        }
        let mut close = location(upload.as_str(), &response)?;
        close.query_pairs_mut().append_pair("digest", digest);
        let response = session
            .send(
                Method::PUT,
                close.as_str(),
                &[(CONTENT_LENGTH, "0")],
                None,
                scopes,
            )
            .await?;
        match response.status() {
            StatusCode::CREATED | StatusCode::NO_CONTENT | StatusCode::OK => Ok(()),
            _ => Err(refused(response).await),
        }
    }
}

/// Cancels upload session `url` (best effort: the registry expires it anyway).
async fn cancel(session: &Session, url: &str, scopes: &[String]) {
    let headers = HeaderMap::new();
    let delete = session.send_once(Method::DELETE, url, &headers, None, scopes);
    match tokio::time::timeout(super::READ_TIMEOUT, delete).await {
        Ok(Ok(r)) if r.status().is_success() || r.status() == StatusCode::NOT_FOUND => {}
        Ok(Ok(r)) => tracing::debug!(status = %r.status(), "cancelling an upload session"),
        Ok(Err(e)) => tracing::debug!("cancelling an upload session: {e}"),
        Err(_) => tracing::debug!("cancelling an upload session: no answer"),
    }
}
