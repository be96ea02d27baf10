//! A typed client over containerd's gRPC services: every call carries wharfd's namespace (and, for writes
//! that must not be collected half-way, a lease), and every failure is a [`ContainerdError`] that knows its
//! Docker error class.
//!
//! The channel connects lazily and reconnects by itself, so a client made before containerd listens, or
//! kept across a containerd restart, works as soon as containerd answers again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use containerd_client::services::v1::snapshots::snapshots_client::SnapshotsClient;
use containerd_client::services::v1::snapshots::{
    CommitSnapshotRequest, Info as SnapshotInfo, ListSnapshotsRequest, MountsRequest,
    PrepareSnapshotRequest, RemoveSnapshotRequest, StatSnapshotRequest, UsageRequest,
    ViewSnapshotRequest,
};
use containerd_client::services::v1::{
    containers_client::ContainersClient, content_client::ContentClient, diff_client::DiffClient,
    images_client::ImagesClient, introspection_client::IntrospectionClient,
    leases_client::LeasesClient, tasks_client::TasksClient, version_client::VersionClient,
    AddResourceRequest, ApplyRequest, CloseIoRequest, Container, CreateContainerRequest,
    CreateImageRequest, CreateRequest as LeaseCreateRequest, CreateTaskRequest,
    DeleteContainerRequest, DeleteContentRequest, DeleteImageRequest, DeleteProcessRequest,
    DeleteRequest as LeaseDeleteRequest, DeleteTaskRequest, ExecProcessRequest,
    GetContainerRequest, GetImageRequest, GetRequest as TaskGetRequest, Image, Info as ContentInfo,
    InfoRequest, KillRequest, ListContainersRequest, ListContentRequest, ListImagesRequest,
    ListPidsRequest, PauseTaskRequest, PluginsRequest, ReadContentRequest, ResizePtyRequest,
    Resource, ResumeTaskRequest, StartRequest, UpdateImageRequest, WaitRequest,
    WriteContentRequest,
};
use containerd_client::tonic::metadata::AsciiMetadataValue;
use containerd_client::tonic::transport::{Channel, Endpoint};
use containerd_client::tonic::{IntoRequest, Request, Status};
use containerd_client::types::v1::{Process, ProcessInfo};
use containerd_client::types::{Descriptor, Mount};
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncReadExt};

use super::error::{valid_namespace, ContainerdError};

/// A connection to containerd in one namespace, cheap to clone.
#[derive(Clone, Debug)]
pub struct Containerd {
    channel: Channel,
    namespace: AsciiMetadataValue,
    lease: Option<AsciiMetadataValue>,
    socket: PathBuf,
}

/// The bytes written to the content store in one message.
const WRITE_CHUNK: usize = 1024 * 1024;

/// How long a unary call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// `WriteContentRequest.action`: write data.
const WRITE_ACTION_WRITE: i32 = 1;
/// `WriteContentRequest.action`: commit what was written.
const WRITE_ACTION_COMMIT: i32 = 2;

type Result<T> = std::result::Result<T, ContainerdError>;

fn rpc(op: &'static str) -> impl FnOnce(Status) -> ContainerdError {
    move |status| ContainerdError::rpc(op, status)
}

impl Containerd {
    /// A client for the containerd at `socket`, in `namespace`; nothing is connected until the first call.
    pub fn new(socket: &Path, namespace: &str) -> Result<Self> {
        if !valid_namespace(namespace) {
            return Err(ContainerdError::Namespace(namespace.to_owned()));
        }
        let namespace = namespace
            .parse()
            .map_err(|_| ContainerdError::Namespace(namespace.to_owned()))?;
        let path = socket.to_owned();
        let endpoint = Endpoint::from_static("http://[::]")
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true);
        let channel = endpoint.connect_with_connector_lazy(tower::service_fn(move |_| {
            let path = path.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(path).await?;
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
            }
        }));
        Ok(Self {
            channel,
            namespace,
            lease: None,
            socket: socket.to_owned(),
        })
    }

    /// The socket this client talks to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The same connection with every call made under lease `id`.
    pub fn with_lease(&self, id: &str) -> Result<Self> {
        let lease = id
            .parse()
            .map_err(|_| ContainerdError::rpc("lease", Status::invalid_argument("lease id")))?;
        Ok(Self {
            lease: Some(lease),
            ..self.clone()
        })
    }

    fn req<T>(&self, message: T) -> Request<T> {
        let mut request = message.into_request();
        let md = request.metadata_mut();
        md.insert("containerd-namespace", self.namespace.clone());
        if let Some(lease) = &self.lease {
            md.insert("containerd-lease", lease.clone());
        }
        request
    }

    fn unary<T>(&self, message: T) -> Request<T> {
        let mut request = self.req(message);
        request.set_timeout(CALL_TIMEOUT);
        request
    }

    // --- version and plugins ---

    /// containerd's version and revision.
    pub async fn version(&self) -> Result<(String, String)> {
        let r = VersionClient::new(self.channel.clone())
            .version(self.unary(()))
            .await
            .map_err(rpc("version"))?
            .into_inner();
        Ok((r.version, r.revision))
    }

    /// Whether snapshotter `name` is loaded and initialised.
    pub async fn snapshotter_available(&self, name: &str) -> Result<bool> {
        let r = IntrospectionClient::new(self.channel.clone())
            .plugins(self.unary(PluginsRequest {
                filters: vec![format!("type==io.containerd.snapshotter.v1,id=={name}")],
            }))
            .await
            .map_err(rpc("plugins"))?
            .into_inner();
        Ok(r.plugins.iter().any(|p| p.init_err.is_none()))
    }

    // --- content ---

    /// Writes a blob of `size` bytes that must hash to `digest`, with `labels`. A blob that exists already
    /// is fine (its labels are left as they are, and it is added to the lease).
    pub async fn write_blob<R>(
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
    pub async fn write_bytes(
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
    pub async fn read_blob(&self, digest: &str, max: u64) -> Result<Vec<u8>> {
        let info = self.content_info(digest).await?;
        if u64::try_from(info.size).unwrap_or(u64::MAX) > max {
            return Err(ContainerdError::rpc(
                "content read",
                Status::out_of_range(format!("blob {digest} is larger than {max} bytes")),
            ));
        }
        let mut out = Vec::with_capacity(usize::try_from(info.size).unwrap_or(0));
        let mut stream = ContentClient::new(self.channel.clone())
            .read(self.req(ReadContentRequest {
                digest: digest.to_owned(),
                offset: 0,
                size: 0,
            }))
            .await
            .map_err(rpc("content read"))?
            .into_inner();
        while let Some(chunk) = stream.message().await.map_err(rpc("content read"))? {
            out.extend_from_slice(&chunk.data);
            if out.len() as u64 > max {
                return Err(ContainerdError::rpc(
                    "content read",
                    Status::out_of_range(format!("blob {digest} is larger than {max} bytes")),
                ));
            }
        }
        Ok(out)
    }

    /// Streams a blob in chunks of at most 1 MiB, for exporting.
    pub async fn read_blob_stream(
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
    pub async fn content_info(&self, digest: &str) -> Result<ContentInfo> {
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

    /// Deletes a blob.
    pub async fn content_delete(&self, digest: &str) -> Result<()> {
        ContentClient::new(self.channel.clone())
            .delete(self.unary(DeleteContentRequest {
                digest: digest.to_owned(),
            }))
            .await
            .map_err(rpc("content delete"))?;
        Ok(())
    }

    /// Every blob matching `filters` (containerd's filter syntax; empty for all).
    pub async fn content_list(&self, filters: Vec<String>) -> Result<Vec<ContentInfo>> {
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

    // --- images ---

    /// Creates an image record.
    pub async fn image_create(&self, image: Image) -> Result<Image> {
        ImagesClient::new(self.channel.clone())
            .create(self.unary(CreateImageRequest {
                image: Some(image),
                ..Default::default()
            }))
            .await
            .map_err(rpc("image create"))?
            .into_inner()
            .image
            .ok_or_else(|| ContainerdError::rpc("image create", Status::internal("no image")))
    }

    /// Replaces an image record's target and labels.
    pub async fn image_update(&self, image: Image) -> Result<Image> {
        ImagesClient::new(self.channel.clone())
            .update(self.unary(UpdateImageRequest {
                image: Some(image),
                ..Default::default()
            }))
            .await
            .map_err(rpc("image update"))?
            .into_inner()
            .image
            .ok_or_else(|| ContainerdError::rpc("image update", Status::internal("no image")))
    }

    /// One image record by its name.
    pub async fn image_get(&self, name: &str) -> Result<Image> {
        ImagesClient::new(self.channel.clone())
            .get(self.unary(GetImageRequest {
                name: name.to_owned(),
            }))
            .await
            .map_err(rpc("image get"))?
            .into_inner()
            .image
            .ok_or_else(|| ContainerdError::rpc("image get", Status::not_found(name)))
    }

    /// Every image record matching `filters`.
    pub async fn image_list(&self, filters: Vec<String>) -> Result<Vec<Image>> {
        Ok(ImagesClient::new(self.channel.clone())
            .list(self.unary(ListImagesRequest { filters }))
            .await
            .map_err(rpc("image list"))?
            .into_inner()
            .images)
    }

    /// Deletes an image record; `sync` waits for the garbage collection it triggers.
    pub async fn image_delete(&self, name: &str, sync: bool) -> Result<()> {
        ImagesClient::new(self.channel.clone())
            .delete(self.unary(DeleteImageRequest {
                name: name.to_owned(),
                sync,
                target: None,
            }))
            .await
            .map_err(rpc("image delete"))?;
        Ok(())
    }

    // --- snapshots ---

    fn snapshots(&self) -> SnapshotsClient<Channel> {
        SnapshotsClient::new(self.channel.clone())
    }

    /// Prepares an active snapshot `key` on `parent` (empty for none); answers its mounts.
    pub async fn snapshot_prepare(
        &self,
        snapshotter: &str,
        key: &str,
        parent: &str,
        labels: HashMap<String, String>,
    ) -> Result<Vec<Mount>> {
        Ok(self
            .snapshots()
            .prepare(self.unary(PrepareSnapshotRequest {
                snapshotter: snapshotter.to_owned(),
                key: key.to_owned(),
                parent: parent.to_owned(),
                labels,
            }))
            .await
            .map_err(rpc("snapshot prepare"))?
            .into_inner()
            .mounts)
    }

    /// A read-only view `key` of `parent`; answers its mounts.
    pub async fn snapshot_view(
        &self,
        snapshotter: &str,
        key: &str,
        parent: &str,
    ) -> Result<Vec<Mount>> {
        Ok(self
            .snapshots()
            .view(self.unary(ViewSnapshotRequest {
                snapshotter: snapshotter.to_owned(),
                key: key.to_owned(),
                parent: parent.to_owned(),
                labels: HashMap::new(),
            }))
            .await
            .map_err(rpc("snapshot view"))?
            .into_inner()
            .mounts)
    }

    /// Commits active snapshot `key` as `name`.
    pub async fn snapshot_commit(
        &self,
        snapshotter: &str,
        name: &str,
        key: &str,
        labels: HashMap<String, String>,
    ) -> Result<()> {
        self.snapshots()
            .commit(self.unary(CommitSnapshotRequest {
                snapshotter: snapshotter.to_owned(),
                name: name.to_owned(),
                key: key.to_owned(),
                labels,
            }))
            .await
            .map_err(rpc("snapshot commit"))?;
        Ok(())
    }

    /// The mounts of snapshot `key`.
    pub async fn snapshot_mounts(&self, snapshotter: &str, key: &str) -> Result<Vec<Mount>> {
        Ok(self
            .snapshots()
            .mounts(self.unary(MountsRequest {
                snapshotter: snapshotter.to_owned(),
                key: key.to_owned(),
            }))
            .await
            .map_err(rpc("snapshot mounts"))?
            .into_inner()
            .mounts)
    }

    /// Removes snapshot `key`.
    pub async fn snapshot_remove(&self, snapshotter: &str, key: &str) -> Result<()> {
        self.snapshots()
            .remove(self.unary(RemoveSnapshotRequest {
                snapshotter: snapshotter.to_owned(),
                key: key.to_owned(),
            }))
            .await
            .map_err(rpc("snapshot remove"))?;
        Ok(())
    }

    /// Snapshot `key`'s record.
    pub async fn snapshot_stat(&self, snapshotter: &str, key: &str) -> Result<SnapshotInfo> {
        self.snapshots()
            .stat(self.unary(StatSnapshotRequest {
                snapshotter: snapshotter.to_owned(),
                key: key.to_owned(),
            }))
            .await
            .map_err(rpc("snapshot stat"))?
            .into_inner()
            .info
            .ok_or_else(|| ContainerdError::rpc("snapshot stat", Status::not_found(key)))
    }

    /// The bytes snapshot `key` uses on disk.
    pub async fn snapshot_usage(&self, snapshotter: &str, key: &str) -> Result<i64> {
        Ok(self
            .snapshots()
            .usage(self.unary(UsageRequest {
                snapshotter: snapshotter.to_owned(),
                key: key.to_owned(),
            }))
            .await
            .map_err(rpc("snapshot usage"))?
            .into_inner()
            .size)
    }

    /// Every snapshot matching `filters`.
    pub async fn snapshot_list(
        &self,
        snapshotter: &str,
        filters: Vec<String>,
    ) -> Result<Vec<SnapshotInfo>> {
        let mut stream = self
            .snapshots()
            .list(self.unary(ListSnapshotsRequest {
                snapshotter: snapshotter.to_owned(),
                filters,
            }))
            .await
            .map_err(rpc("snapshot list"))?
            .into_inner();
        let mut out = Vec::new();
        while let Some(m) = stream.message().await.map_err(rpc("snapshot list"))? {
            out.extend(m.info);
        }
        Ok(out)
    }

    // --- leases ---

    /// Creates a lease that containerd drops by itself after `expire` (so a crash leaves nothing forever).
    pub async fn lease_create(&self, id: &str, expire: Duration) -> Result<String> {
        let deadline = std::time::SystemTime::now() + expire;
        let labels = HashMap::from([(
            "containerd.io/gc.expire".to_owned(),
            crate::timefmt::rfc3339_seconds(
                deadline
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
            ),
        )]);
        let lease = LeasesClient::new(self.channel.clone())
            .create(self.unary(LeaseCreateRequest {
                id: id.to_owned(),
                labels,
            }))
            .await
            .map_err(rpc("lease create"))?
            .into_inner()
            .lease
            .ok_or_else(|| ContainerdError::rpc("lease create", Status::internal("no lease")))?;
        Ok(lease.id)
    }

    /// Deletes a lease; `sync` waits for the garbage collection that frees what only it held.
    pub async fn lease_delete(&self, id: &str, sync: bool) -> Result<()> {
        LeasesClient::new(self.channel.clone())
            .delete(self.unary(LeaseDeleteRequest {
                id: id.to_owned(),
                sync,
            }))
            .await
            .map_err(rpc("lease delete"))?;
        Ok(())
    }

    /// Adds a resource (`content`, `snapshots/<snapshotter>`...) to this client's lease; nothing without one.
    pub async fn lease_add_resource(&self, id: &str, kind: &str) -> Result<()> {
        let Some(lease) = &self.lease else {
            return Ok(());
        };
        let lease = lease.to_str().unwrap_or_default().to_owned();
        LeasesClient::new(self.channel.clone())
            .add_resource(self.unary(AddResourceRequest {
                id: lease,
                resource: Some(Resource {
                    id: id.to_owned(),
                    r#type: kind.to_owned(),
                }),
            }))
            .await
            .map_err(rpc("lease add resource"))?;
        Ok(())
    }

    // --- diff ---

    /// Applies the layer blob `diff` onto `mounts`; answers the applied (uncompressed) descriptor.
    pub async fn diff_apply(&self, diff: Descriptor, mounts: Vec<Mount>) -> Result<Descriptor> {
        let mut request = self.req(ApplyRequest {
            diff: Some(diff),
            mounts,
            ..Default::default()
        });
        request.set_timeout(Duration::from_secs(3600));
        DiffClient::new(self.channel.clone())
            .apply(request)
            .await
            .map_err(rpc("diff apply"))?
            .into_inner()
            .applied
            .ok_or_else(|| ContainerdError::rpc("diff apply", Status::internal("nothing applied")))
    }

    // --- containers ---

    /// Creates a container record.
    pub async fn container_create(&self, container: Container) -> Result<Container> {
        ContainersClient::new(self.channel.clone())
            .create(self.unary(CreateContainerRequest {
                container: Some(container),
            }))
            .await
            .map_err(rpc("container create"))?
            .into_inner()
            .container
            .ok_or_else(|| ContainerdError::rpc("container create", Status::internal("none")))
    }

    /// One container record.
    pub async fn container_get(&self, id: &str) -> Result<Container> {
        ContainersClient::new(self.channel.clone())
            .get(self.unary(GetContainerRequest { id: id.to_owned() }))
            .await
            .map_err(rpc("container get"))?
            .into_inner()
            .container
            .ok_or_else(|| ContainerdError::rpc("container get", Status::not_found(id)))
    }

    /// Every container record matching `filters`.
    pub async fn container_list(&self, filters: Vec<String>) -> Result<Vec<Container>> {
        Ok(ContainersClient::new(self.channel.clone())
            .list(self.unary(ListContainersRequest { filters }))
            .await
            .map_err(rpc("container list"))?
            .into_inner()
            .containers)
    }

    /// Deletes a container record.
    pub async fn container_delete(&self, id: &str) -> Result<()> {
        ContainersClient::new(self.channel.clone())
            .delete(self.unary(DeleteContainerRequest { id: id.to_owned() }))
            .await
            .map_err(rpc("container delete"))?;
        Ok(())
    }

    // --- tasks ---

    fn tasks(&self) -> TasksClient<Channel> {
        TasksClient::new(self.channel.clone())
    }

    /// Creates a container's task; answers its pid.
    pub async fn task_create(&self, request: CreateTaskRequest) -> Result<u32> {
        Ok(self
            .tasks()
            .create(self.unary(request))
            .await
            .map_err(rpc("task create"))?
            .into_inner()
            .pid)
    }

    /// Starts a task (or, with `exec_id`, an exec process); answers its pid.
    pub async fn task_start(&self, container_id: &str, exec_id: &str) -> Result<u32> {
        Ok(self
            .tasks()
            .start(self.unary(StartRequest {
                container_id: container_id.to_owned(),
                exec_id: exec_id.to_owned(),
            }))
            .await
            .map_err(rpc("task start"))?
            .into_inner()
            .pid)
    }

    /// Signals a task's process (`all`: every process in it).
    pub async fn task_kill(&self, container_id: &str, signal: u32, all: bool) -> Result<()> {
        self.tasks()
            .kill(self.unary(KillRequest {
                container_id: container_id.to_owned(),
                exec_id: String::new(),
                signal,
                all,
            }))
            .await
            .map_err(rpc("task kill"))?;
        Ok(())
    }

    /// Waits, without a deadline, until a task exits; answers its exit status.
    pub async fn task_wait(&self, container_id: &str) -> Result<u32> {
        Ok(self
            .tasks()
            .wait(self.req(WaitRequest {
                container_id: container_id.to_owned(),
                exec_id: String::new(),
            }))
            .await
            .map_err(rpc("task wait"))?
            .into_inner()
            .exit_status)
    }

    /// Deletes an exited task; answers its exit status.
    pub async fn task_delete(&self, container_id: &str) -> Result<u32> {
        Ok(self
            .tasks()
            .delete(self.unary(DeleteTaskRequest {
                container_id: container_id.to_owned(),
            }))
            .await
            .map_err(rpc("task delete"))?
            .into_inner()
            .exit_status)
    }

    /// Closes a task's stdin (the shim keeps the FIFO open, so closing our end alone is not an EOF).
    pub async fn task_close_stdin(&self, container_id: &str) -> Result<()> {
        self.process_close_stdin(container_id, "").await
    }

    /// Closes the stdin of a task's process: its init with an empty `exec_id`, else that exec process.
    pub async fn process_close_stdin(&self, container_id: &str, exec_id: &str) -> Result<()> {
        self.tasks()
            .close_io(self.unary(CloseIoRequest {
                container_id: container_id.to_owned(),
                exec_id: exec_id.to_owned(),
                stdin: true,
            }))
            .await
            .map_err(rpc("task close io"))?;
        Ok(())
    }

    /// Adds an exec process to a running task (started with [`Self::task_start`] and its `exec_id`).
    pub async fn process_exec(&self, request: ExecProcessRequest) -> Result<()> {
        self.tasks()
            .exec(self.unary(request))
            .await
            .map_err(rpc("task exec"))?;
        Ok(())
    }

    /// Waits, without a deadline, until a task's exec process exits; answers its exit status.
    pub async fn process_wait(&self, container_id: &str, exec_id: &str) -> Result<u32> {
        Ok(self
            .tasks()
            .wait(self.req(WaitRequest {
                container_id: container_id.to_owned(),
                exec_id: exec_id.to_owned(),
            }))
            .await
            .map_err(rpc("task wait"))?
            .into_inner()
            .exit_status)
    }

    /// Deletes an exited exec process.
    pub async fn process_delete(&self, container_id: &str, exec_id: &str) -> Result<()> {
        self.tasks()
            .delete_process(self.unary(DeleteProcessRequest {
                container_id: container_id.to_owned(),
                exec_id: exec_id.to_owned(),
            }))
            .await
            .map_err(rpc("task delete process"))?;
        Ok(())
    }

    /// Resizes the terminal of a task's process (its init with an empty `exec_id`).
    pub async fn process_resize(
        &self,
        container_id: &str,
        exec_id: &str,
        width: u32,
        height: u32,
    ) -> Result<()> {
        self.tasks()
            .resize_pty(self.unary(ResizePtyRequest {
                container_id: container_id.to_owned(),
                exec_id: exec_id.to_owned(),
                width,
                height,
            }))
            .await
            .map_err(rpc("task resize pty"))?;
        Ok(())
    }

    /// Freezes a task.
    pub async fn task_pause(&self, container_id: &str) -> Result<()> {
        self.tasks()
            .pause(self.unary(PauseTaskRequest {
                container_id: container_id.to_owned(),
            }))
            .await
            .map_err(rpc("task pause"))?;
        Ok(())
    }

    /// Thaws a task.
    pub async fn task_resume(&self, container_id: &str) -> Result<()> {
        self.tasks()
            .resume(self.unary(ResumeTaskRequest {
                container_id: container_id.to_owned(),
            }))
            .await
            .map_err(rpc("task resume"))?;
        Ok(())
    }

    /// The processes in a task.
    pub async fn task_pids(&self, container_id: &str) -> Result<Vec<ProcessInfo>> {
        Ok(self
            .tasks()
            .list_pids(self.unary(ListPidsRequest {
                container_id: container_id.to_owned(),
            }))
            .await
            .map_err(rpc("task pids"))?
            .into_inner()
            .processes)
    }

    /// A task's state (status, pid, exit status).
    pub async fn task_state(&self, container_id: &str) -> Result<Process> {
        self.tasks()
            .get(self.unary(TaskGetRequest {
                container_id: container_id.to_owned(),
                exec_id: String::new(),
            }))
            .await
            .map_err(rpc("task state"))?
            .into_inner()
            .process
            .ok_or_else(|| ContainerdError::rpc("task state", Status::not_found(container_id)))
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

/// A descriptor.
pub fn descriptor(media_type: &str, digest: &str, size: i64) -> Descriptor {
    Descriptor {
        media_type: media_type.to_owned(),
        digest: digest.to_owned(),
        size,
        annotations: HashMap::new(),
    }
}
