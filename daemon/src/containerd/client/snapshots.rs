//! Snapshots of one snapshotter: layers committed by chain ID, containers' writable layers by container ID.

use std::collections::HashMap;

use containerd_client::services::v1::snapshots::snapshots_client::SnapshotsClient;
use containerd_client::services::v1::snapshots::{
    CommitSnapshotRequest, Info as SnapshotInfo, ListSnapshotsRequest, MountsRequest,
    PrepareSnapshotRequest, RemoveSnapshotRequest, StatSnapshotRequest, UsageRequest,
    ViewSnapshotRequest,
};
use containerd_client::tonic::transport::Channel;
use containerd_client::tonic::Status;
use containerd_client::types::Mount;

use super::{rpc, Containerd, Result};
use crate::containerd::ContainerdError;

impl Containerd {
    fn snapshots(&self) -> SnapshotsClient<Channel> {
        SnapshotsClient::new(self.channel.clone())
    }

    /// Prepares an active snapshot `key` on `parent` (empty for none); answers its mounts.
    pub(crate) async fn snapshot_prepare(
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
    pub(crate) async fn snapshot_view(
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
    pub(crate) async fn snapshot_commit(
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
    pub(crate) async fn snapshot_mounts(&self, snapshotter: &str, key: &str) -> Result<Vec<Mount>> {
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
    pub(crate) async fn snapshot_remove(&self, snapshotter: &str, key: &str) -> Result<()> {
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
    pub(crate) async fn snapshot_stat(&self, snapshotter: &str, key: &str) -> Result<SnapshotInfo> {
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
    pub(crate) async fn snapshot_usage(&self, snapshotter: &str, key: &str) -> Result<i64> {
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
    pub(crate) async fn snapshot_list(
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
}
