//! Leases: what a multi-step write makes is held by its lease until the write is done, and by nothing once
//! the lease is deleted or has expired.

use std::collections::HashMap;
use std::time::Duration;

use containerd_client::services::v1::{
    leases_client::LeasesClient, AddResourceRequest, CreateRequest as LeaseCreateRequest,
    DeleteRequest as LeaseDeleteRequest, Resource,
};
use containerd_client::tonic::Status;

use super::{rpc, Containerd, Result};
use crate::containerd::ContainerdError;

impl Containerd {
    /// Creates a lease that containerd drops by itself after `expire` (so a crash leaves nothing forever).
    pub(crate) async fn lease_create(&self, id: &str, expire: Duration) -> Result<String> {
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
    pub(crate) async fn lease_delete(&self, id: &str, sync: bool) -> Result<()> {
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
    pub(crate) async fn lease_add_resource(&self, id: &str, kind: &str) -> Result<()> {
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
}
