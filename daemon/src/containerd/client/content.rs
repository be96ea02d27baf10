//! The content store: blobs by digest. A write streams the blob under a per-write ingest reference and is
//! committed only after containerd has checked its digest and size; a blob that exists already is only
//! added to the client's lease.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

#[cfg(test)]
use containerd_client::services::v1::ListContentRequest;
use containerd_client::services::v1::{
    content_client::ContentClient, Info as ContentInfo, InfoRequest, ReadContentRequest,
    WriteContentRequest,
};
use containerd_client::tonic::Status;
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncReadExt};

use super::{rpc, Containerd, Result};
use crate::containerd::ContainerdError;

/// The bytes written to the content store in one message.
const WRITE_CHUNK: usize = 1024 * 1024;

/// `WriteContentRequest.action`: write data.
const WRITE_ACTION_WRITE: i32 = 1;
/// `WriteContentRequest.action`: commit what was written.
const WRITE_ACTION_COMMIT: i32 = 2;

impl Containerd {
    /// Writes a blob of `size` bytes that must hash to `digest`, with `labels`. A blob that exists already
    /// is fine (its labels are left as they are, and it is added to the lease).
    pub(crate) async fn write_blob<R>(
        &self,
        digest: &str,
        size: u64,
        reader: R,
        labels: HashMap<String, String>,
    ) -> Result<()>
    where
        R: AsyncRead + Send + Unpin + 'static,
    {
        // Unique per write: two imports of the same blob at once must not lock each other's ingest.
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let reference = format!(
            "wharf-{digest}-{}-{}",
            std::process::id(),
            WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let read_error: Arc<Mutex<Option<std::io::Error>>> = Arc::default();
        let total = i64::try_from(size).unwrap_or(i64::MAX);
        let state = WriteState {
            reader,
            offset: 0,
            done: false,
            labels: Some(labels),
            reference,
            expected: digest.to_owned(),
            total,
            error: read_error.clone(),
        };
        let requests = futures_util::stream::unfold(state, WriteState::next);
        let result = ContentClient::new(self.channel.clone())
            .write(self.req(requests))
            .await;
        let outcome = match result {
            Ok(response) => {
                let mut stream = response.into_inner();
                let mut committed = false;
                loop {
                    match stream.message().await {
                        Ok(Some(m)) => committed |= m.action == WRITE_ACTION_COMMIT,
                        Ok(None) => break Ok(committed),
                        Err(status) => break Err(status),
                    }
                }
            }
            Err(status) => Err(status),
        };
        if let Some(e) = read_error.lock().ok().and_then(|mut slot| slot.take()) {
            return Err(ContainerdError::Io {
                what: "cannot read the blob for",
                path: PathBuf::from(digest),
                source: e,
            });
        }
        match outcome {
            Ok(true) => Ok(()),
            Ok(false) => Err(ContainerdError::rpc(
                "content write",
                Status::aborted(format!("the write of {digest} was not committed")),
            )),
            Err(status) if status.code() == containerd_client::tonic::Code::AlreadyExists => {
                self.lease_add_resource(digest, "content").await
            }
            Err(status) => Err(ContainerdError::rpc("content write", status)),
        }
    }

    /// Writes a small blob held in memory.
    pub(crate) async fn write_bytes(
        &self,
        digest: &str,
        bytes: Vec<u8>,
        labels: HashMap<String, String>,
    ) -> Result<()> {
        let size = bytes.len() as u64;
        self.write_blob(digest, size, std::io::Cursor::new(bytes), labels)
            .await
    }

    /// Reads a whole blob, refusing one larger than `max` bytes.
    pub(crate) async fn read_blob(&self, digest: &str, max: u64) -> Result<Vec<u8>> {
        let too_large = || {
            ContainerdError::rpc(
                "content read",
                Status::out_of_range(format!("blob {digest} is larger than {max} bytes")),
            )
        };
        let info = self.content_info(digest).await?;
        if u64::try_from(info.size).unwrap_or(u64::MAX) > max {
            return Err(too_large());
        }
        let mut out = Vec::with_capacity(usize::try_from(info.size).unwrap_or(0));
        let mut stream = self.read_blob_stream(digest).await?;
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk?);
            if out.len() as u64 > max {
                return Err(too_large());
            }
        }
        Ok(out)
    }

    /// Streams a blob in chunks of at most 1 MiB, for exporting.
    pub(crate) async fn read_blob_stream(
        &self,
        digest: &str,
    ) -> Result<impl futures_util::Stream<Item = Result<bytes::Bytes>>> {
        let stream = ContentClient::new(self.channel.clone())
            .read(self.req(ReadContentRequest {
                digest: digest.to_owned(),
                offset: 0,
                size: 0,
            }))
            .await
            .map_err(rpc("content read"))?
            .into_inner();
        Ok(stream.map(|r| {
            r.map(|m| bytes::Bytes::from(m.data))
                .map_err(rpc("content read"))
        }))
    }

    /// A blob's size and labels.
    pub(crate) async fn content_info(&self, digest: &str) -> Result<ContentInfo> {
        ContentClient::new(self.channel.clone())
            .info(self.unary(InfoRequest {
                digest: digest.to_owned(),
            }))
            .await
            .map_err(rpc("content info"))?
            .into_inner()
            .info
            .ok_or_else(|| ContainerdError::rpc("content info", Status::not_found(digest)))
    }

    /// Every blob matching `filters` (containerd's filter syntax; empty for all).
    #[cfg(test)]
    pub(crate) async fn content_list(&self, filters: Vec<String>) -> Result<Vec<ContentInfo>> {
        let mut stream = ContentClient::new(self.channel.clone())
            .list(self.unary(ListContentRequest { filters }))
            .await
            .map_err(rpc("content list"))?
            .into_inner();
        let mut out = Vec::new();
        while let Some(m) = stream.message().await.map_err(rpc("content list"))? {
            out.extend(m.info);
        }
        Ok(out)
    }
}

/// The content writer's state between messages.
struct WriteState<R> {
    reader: R,
    offset: i64,
    done: bool,
    labels: Option<HashMap<String, String>>,
    reference: String,
    expected: String,
    total: i64,
    error: Arc<Mutex<Option<std::io::Error>>>,
}

impl<R: AsyncRead + Unpin> WriteState<R> {
    /// The next message: data while the reader has some, then the commit; nothing after a read error
    /// (which is kept for the caller, and leaves the write uncommitted).
    async fn next(mut self) -> Option<(WriteContentRequest, Self)> {
        if self.done {
            return None;
        }
        let mut buf = vec![0u8; WRITE_CHUNK];
        let mut filled = 0;
        while filled < buf.len() {
            match self.reader.read(&mut buf[filled..]).await {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) => {
                    if let Ok(mut slot) = self.error.lock() {
                        *slot = Some(e);
                    }
                    return None;
                }
            }
        }
        let message = if filled == 0 {
            self.done = true;
            WriteContentRequest {
                action: WRITE_ACTION_COMMIT,
                r#ref: self.reference.clone(),
                total: self.total,
                expected: self.expected.clone(),
                offset: self.offset,
                labels: self.labels.take().unwrap_or_default(),
                ..Default::default()
            }
        } else {
            buf.truncate(filled);
            let m = WriteContentRequest {
                action: WRITE_ACTION_WRITE,
                r#ref: self.reference.clone(),
                total: self.total,
                offset: self.offset,
                data: buf,
                ..Default::default()
            };
            self.offset += filled as i64;
            m
        };
        Some((message, self))
    }
}
