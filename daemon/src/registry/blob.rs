//! Downloading a blob as a stream: redirects followed (to a CDN or object store, without our
//! `Authorization`), and a connection that breaks mid-blob resumed from the last byte received with
//! a `Range` request (a registry that ignores the range is read from the start, the bytes already
//! given skipped), so a long layer survives a hiccup without starting over.

use std::sync::Arc;

use bytes::Bytes;
use reqwest::header::RANGE;
use reqwest::{Method, StatusCode};

use super::client::Repository;
use super::session::Session;
use super::{errors, retry, BlobStream};
use crate::error::Error;

/// How often one download may be resumed.
const MAX_RESUMES: u32 = 5;

struct Download {
    session: Arc<Session>,
    url: String,
    scopes: Vec<String>,
    response: Option<reqwest::Response>,
    /// Bytes given to the caller so far.
    offset: u64,
    /// Bytes still to drop from the answer (a registry that answered a range with the whole blob).
    skip: u64,
    size: Option<u64>,
    resumes: u32,
    done: bool,
}

/// Asks for the blob from `offset` on: the answer, and how many of its bytes to drop.
async fn request(
    session: &Session,
    url: &str,
    scopes: &[String],
    offset: u64,
) -> Result<(reqwest::Response, u64), Error> {
    let range = format!("bytes={offset}-");
    let headers: Vec<_> = if offset > 0 {
        vec![(RANGE, range.as_str())]
    } else {
        Vec::new()
    };
    let response = session
        .send(Method::GET, url, &headers, None, scopes)
        .await?;
    match response.status() {
        StatusCode::OK => Ok((response, offset)),
        StatusCode::PARTIAL_CONTENT if offset > 0 => Ok((response, 0)),
        status => {
            let body = errors::read_bounded(response, 1 << 20)
                .await
                .unwrap_or_default();
            Err(errors::failure(status, &body).into_error())
        }
    }
}

async fn step(mut d: Download) -> Option<(Result<Bytes, Error>, Download)> {
    if d.done {
        return None;
    }
    loop {
        let response = d.response.as_mut()?;
        let cause = match errors::next_chunk(response).await {
            Ok(Some(mut chunk)) => {
                if d.skip > 0 {
                    let n = d.skip.min(chunk.len() as u64);
                    d.skip -= n;
                    chunk = chunk.slice(n as usize..);
                    if chunk.is_empty() {
                        continue;
                    }
                }
                d.offset += chunk.len() as u64;
                return Some((Ok(chunk), d));
            }
            Ok(None) if d.size.is_some_and(|s| d.offset < s) => "unexpected EOF".to_owned(),
            Ok(None) => {
                d.done = true;
                return None;
            }
            Err(cause) => cause,
        };
        if d.resumes >= MAX_RESUMES {
            d.done = true;
            let e = Error::system(format!("Get \"{}\": {cause}", d.url));
            return Some((Err(e), d));
        }
        d.resumes += 1;
        tracing::info!(url = %d.url, offset = d.offset, "blob download broke ({cause}); resuming");
        tokio::time::sleep(retry::delay(d.resumes, None)).await;
        match request(&d.session, &d.url, &d.scopes, d.offset).await {
            Ok((r, skip)) => {
                d.response = Some(r);
                d.skip = skip;
            }
            Err(e) => {
                d.done = true;
                return Some((Err(e), d));
            }
        }
    }
}

impl Repository {
    /// Streams blob `digest` (redirects followed, resumed from where it stopped on a broken
    /// connection). `size` (when positive) tells a short answer from a whole one. The caller
    /// verifies the digest as the bytes land.
    pub(crate) async fn blob(&self, digest: &str, size: i64) -> Result<BlobStream, Error> {
        let session = self.session().await?;
        let url = self.url(&session, &format!("blobs/{digest}"));
        let scopes = self.scopes();
        let (response, skip) = request(&session, &url, &scopes, 0).await?;
        let download = Download {
            session,
            url,
            scopes,
            response: Some(response),
            offset: 0,
            skip,
            size: u64::try_from(size).ok().filter(|s| *s > 0),
            resumes: 0,
            done: false,
        };
        Ok(Box::pin(futures_util::stream::unfold(download, step)))
    }
}
