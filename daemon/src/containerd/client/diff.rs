//! The diff service: unpacking a layer blob onto a snapshot's mounts.

use std::time::Duration;

use containerd_client::services::v1::{diff_client::DiffClient, ApplyRequest};
use containerd_client::tonic::Status;
use containerd_client::types::{Descriptor, Mount};

use super::{rpc, Containerd, Result};
use crate::containerd::ContainerdError;

impl Containerd {
    /// Applies the layer blob `diff` onto `mounts`; answers the applied (uncompressed) descriptor.
    pub(crate) async fn diff_apply(
        &self,
        diff: Descriptor,
        mounts: Vec<Mount>,
    ) -> Result<Descriptor> {
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
}
