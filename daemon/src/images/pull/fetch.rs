//! Moving one blob from a registry into containerd's content store: streamed (the registry's chunks go
//! straight into the content writer, a few MiB in flight at most), counted for progress, verified by
//! containerd at commit. Two pulls that need the same blob at once share one download: the first starts
//! it, the others watch its progress and add the blob to their own lease when it is committed (or start
//! again themselves if it failed or went away).

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::{watch, Semaphore};
use wharf_client_core::ErrorKind;

use crate::containerd::Containerd;
use crate::error::Error;
use crate::registry::{BlobStream, Repository};

/// A download's state, as its watchers see it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Transfer {
    /// Bytes received.
    pub current: u64,
    /// Set once: committed, or why not.
    pub done: Option<Result<(), Error>>,
}

/// Downloads under way (by blob digest) and the daemon-wide download slots.
#[derive(Debug)]
pub(crate) struct Transfers {
    inflight: Mutex<HashMap<String, watch::Receiver<Transfer>>>,
    /// `max-concurrent-downloads` slots.
    pub downloads: Arc<Semaphore>,
    /// `max-concurrent-uploads` slots.
    pub uploads: Arc<Semaphore>,
}

impl Transfers {
    pub(crate) fn new(downloads: usize, uploads: usize) -> Self {
        Self {
            inflight: Mutex::default(),
            downloads: Arc::new(Semaphore::new(downloads.max(1))),
            uploads: Arc::new(Semaphore::new(uploads.max(1))),
        }
    }
}

/// What one blob download needs.
#[derive(Clone, Debug)]
pub(crate) struct BlobJob {
    pub digest: String,
    pub size: u64,
    pub labels: HashMap<String, String>,
}

/// Removes a finished download from the in-flight map (also when its task is aborted).
struct Unlist {
    transfers: Arc<Transfers>,
    digest: String,
}

impl Drop for Unlist {
    fn drop(&mut self) {
        if let Ok(mut map) = self.transfers.inflight.lock() {
            map.remove(&self.digest);
        }
    }
}

/// Whether this pull started the download (and must run it) or joined another's.
pub(crate) enum Joined {
    /// Run [`run_download`] with this sender.
    Started(watch::Sender<Transfer>, DownloadTicket),
    /// Another pull's download: watch it.
    Watching(watch::Receiver<Transfer>),
}

/// Held by the pull running a download; dropping it unlists the download.
pub(crate) struct DownloadTicket {
    _unlist: Unlist,
}

/// Joins the download of `digest` under way, or registers a new one.
pub(crate) fn join(
    transfers: &Arc<Transfers>,
    digest: &str,
) -> (Joined, watch::Receiver<Transfer>) {
    let mut map = match transfers.inflight.lock() {
        Ok(m) => m,
        Err(poisoned) => poisoned.into_inner(),
    };
    if let Some(rx) = map.get(digest) {
        if rx.has_changed().is_ok() {
            return (Joined::Watching(rx.clone()), rx.clone());
        }
    }
    let (tx, rx) = watch::channel(Transfer::default());
    map.insert(digest.to_owned(), rx.clone());
    let ticket = DownloadTicket {
        _unlist: Unlist {
            transfers: transfers.clone(),
            digest: digest.to_owned(),
        },
    };
    (Joined::Started(tx, ticket), rx)
}

/// Streams blob `job` from `repo` into `cd`'s content store (under `cd`'s lease), reporting on `tx`.
pub(crate) async fn run_download(
    cd: Containerd,
    repo: Repository,
    job: BlobJob,
    tx: watch::Sender<Transfer>,
    _ticket: DownloadTicket,
) -> Result<(), Error> {
    let outcome = download(&cd, &repo, &job, &tx).await;
    tx.send_modify(|t| t.done = Some(outcome.clone()));
    outcome
}

async fn download(
    cd: &Containerd,
    repo: &Repository,
    job: &BlobJob,
    tx: &watch::Sender<Transfer>,
) -> Result<(), Error> {
    let size = i64::try_from(job.size).unwrap_or(i64::MAX);
    let stream = repo.blob(&job.digest, size).await?;
    let failure: Arc<Mutex<Option<Error>>> = Arc::default();
    let reader = CountingReader {
        stream,
        current: Bytes::new(),
        ended: false,
        count: 0,
        tx: tx.clone(),
        failure: failure.clone(),
    };
    let written = cd
        .write_blob(&job.digest, job.size, reader, job.labels.clone())
        .await;
    if let Some(e) = failure.lock().ok().and_then(|mut f| f.take()) {
        return Err(e);
    }
    written.map_err(|e| {
        let text = e.to_string();
        if text.contains("unexpected commit digest") || text.contains("unexpected commit size") {
            // dockerd's wording for a blob whose bytes are not what its digest says.
            Error::invalid(format!(
                "filesystem layer verification failed for digest {}",
                job.digest
            ))
        } else {
            Error::from(e)
        }
    })
}

/// An `AsyncRead` over a registry blob stream, counting bytes for progress and keeping the registry's
/// error (the content writer only sees an I/O error).
struct CountingReader {
    stream: BlobStream,
    current: Bytes,
    /// The stream ended (it must not be polled again).
    ended: bool,
    count: u64,
    tx: watch::Sender<Transfer>,
    failure: Arc<Mutex<Option<Error>>>,
}

impl AsyncRead for CountingReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        while self.current.is_empty() {
            if self.ended {
                return Poll::Ready(Ok(()));
            }
            match self.stream.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    self.ended = true;
                    return Poll::Ready(Ok(()));
                }
                Poll::Ready(Some(Ok(chunk))) => {
                    self.count += chunk.len() as u64;
                    let count = self.count;
                    self.tx.send_modify(|t| t.current = count);
                    self.current = chunk;
                }
                Poll::Ready(Some(Err(e))) => {
                    self.ended = true;
                    let text = e.to_string();
                    if let Ok(mut f) = self.failure.lock() {
                        *f = Some(e);
                    }
                    return Poll::Ready(Err(io::Error::other(text)));
                }
            }
        }
        let n = buf.remaining().min(self.current.len());
        buf.put_slice(&self.current[..n]);
        self.current.advance(n);
        Poll::Ready(Ok(()))
    }
}

/// Fetches a small blob (a config) whole, checking its size and digest.
pub(crate) async fn small_blob(
    repo: &Repository,
    digest: &str,
    size: i64,
) -> Result<Vec<u8>, Error> {
    const MAX: usize = 16 * 1024 * 1024;
    use futures_util::StreamExt;
    let mut stream = repo.blob(digest, size).await?;
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk?);
        if out.len() > MAX {
            return Err(Error::invalid(format!(
                "blob {digest} is larger than {MAX} bytes"
            )));
        }
    }
    if super::super::oci::sha256_digest(&out) != digest {
        return Err(Error::new(
            ErrorKind::InvalidParameter,
            format!("image config verification failed for digest {digest}"),
        ));
    }
    Ok(out)
}
