//! containerd: the supervised child process (or one named with `--containerd`), its configuration file,
//! and the typed gRPC client every image and container operation goes through.

pub(crate) mod cgroups;
pub(crate) mod client;
pub(crate) mod config;
pub(crate) mod error;
pub(crate) mod runc;
pub(crate) mod shims;
pub(crate) mod supervisor;

use std::path::Path;

pub(crate) use client::Containerd;
pub(crate) use error::ContainerdError;
pub(crate) use supervisor::Supervisor;

/// Connects to a containerd that someone else runs, waiting until it answers.
pub(crate) async fn connect_external(
    socket: &Path,
    namespace: &str,
) -> Result<Containerd, ContainerdError> {
    let client = Containerd::new(socket, namespace)?;
    let (version, _) = supervisor::wait_ready(&client, supervisor::READY_TIMEOUT, || None).await?;
    tracing::info!(socket = %socket.display(), "using containerd {version}");
    Ok(client)
}
