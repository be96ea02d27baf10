//! A typed client over containerd's gRPC services: every call carries wharfd's namespace (and, for writes
//! that must not be collected half-way, a lease), and every failure is a [`ContainerdError`] that knows its
//! Docker error class.
//!
//! The channel connects lazily and reconnects by itself, so a client made before containerd listens, or
//! kept across a containerd restart, works as soon as containerd answers again.
//!
//! One file per containerd service, each an `impl Containerd` block: `content`, `images`, `snapshots`,
//! `leases`, `diff`, `containers`, `tasks`; this one holds the connection and what every call shares.

mod containers;
mod content;
mod diff;
mod images;
mod leases;
mod snapshots;
mod tasks;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use containerd_client::services::v1::{
    introspection_client::IntrospectionClient, version_client::VersionClient, PluginsRequest,
};
use containerd_client::tonic::metadata::AsciiMetadataValue;
use containerd_client::tonic::transport::{Channel, Endpoint};
use containerd_client::tonic::{IntoRequest, Request, Status};
use containerd_client::types::Descriptor;

use super::error::{valid_namespace, ContainerdError};

/// A connection to containerd in one namespace, cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Containerd {
    channel: Channel,
    namespace: AsciiMetadataValue,
    lease: Option<AsciiMetadataValue>,
    socket: PathBuf,
}

/// How long a unary call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

type Result<T> = std::result::Result<T, ContainerdError>;

fn rpc(op: &'static str) -> impl FnOnce(Status) -> ContainerdError {
    move |status| ContainerdError::rpc(op, status)
}

impl Containerd {
    /// A client for the containerd at `socket`, in `namespace`; nothing is connected until the first call.
    pub(crate) fn new(socket: &Path, namespace: &str) -> Result<Self> {
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
    pub(crate) fn socket(&self) -> &Path {
        &self.socket
    }

    /// The namespace every call is made in.
    pub(crate) fn namespace(&self) -> &str {
        self.namespace.to_str().unwrap_or_default()
    }

    /// The same connection with every call made under lease `id`.
    pub(crate) fn with_lease(&self, id: &str) -> Result<Self> {
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

    /// containerd's version and revision.
    pub(crate) async fn version(&self) -> Result<(String, String)> {
        let r = VersionClient::new(self.channel.clone())
            .version(self.unary(()))
            .await
            .map_err(rpc("version"))?
            .into_inner();
        Ok((r.version, r.revision))
    }

    /// Whether snapshotter `name` is loaded and initialised.
    pub(crate) async fn snapshotter_available(&self, name: &str) -> Result<bool> {
        let r = IntrospectionClient::new(self.channel.clone())
            .plugins(self.unary(PluginsRequest {
                filters: vec![format!("type==io.containerd.snapshotter.v1,id=={name}")],
            }))
            .await
            .map_err(rpc("plugins"))?
            .into_inner();
        Ok(r.plugins.iter().any(|p| p.init_err.is_none()))
    }
}

/// A descriptor without annotations.
pub(crate) fn descriptor(media_type: &str, digest: &str, size: i64) -> Descriptor {
    Descriptor {
        media_type: media_type.to_owned(),
        digest: digest.to_owned(),
        size,
        annotations: HashMap::new(),
    }
}
