//! containerd: the supervised child process (or one named with `--containerd`), its configuration file,
//! and the typed gRPC client every image and container operation goes through.

pub mod client;
pub mod config;
pub mod error;
pub mod runc;
pub mod supervisor;

use std::path::Path;

pub use client::Containerd;
pub use error::ContainerdError;
pub use supervisor::Supervisor;

/// Connects to a containerd that someone else runs, waiting until it answers.
pub async fn connect_external(
    socket: &Path,
    namespace: &str,
) -> Result<Containerd, ContainerdError> {
    let client = Containerd::new(socket, namespace)?;
    let (version, _) = supervisor::wait_ready(&client, supervisor::READY_TIMEOUT, || None).await?;
    tracing::info!(socket = %socket.display(), "using containerd {version}");
    Ok(client)
}
