//! Container records: what a task is created from. wharfd makes one only while a container runs.

use containerd_client::services::v1::{
    containers_client::ContainersClient, Container, CreateContainerRequest, DeleteContainerRequest,
    GetContainerRequest, ListContainersRequest,
};
use containerd_client::tonic::Status;

use super::{rpc, Containerd, Result};
use crate::containerd::ContainerdError;

impl Containerd {
    /// Creates a container record.
    pub(crate) async fn container_create(&self, container: Container) -> Result<Container> {
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
    pub(crate) async fn container_get(&self, id: &str) -> Result<Container> {
        ContainersClient::new(self.channel.clone())
            .get(self.unary(GetContainerRequest { id: id.to_owned() }))
            .await
            .map_err(rpc("container get"))?
            .into_inner()
            .container
            .ok_or_else(|| ContainerdError::rpc("container get", Status::not_found(id)))
    }

    /// Every container record matching `filters`.
    pub(crate) async fn container_list(&self, filters: Vec<String>) -> Result<Vec<Container>> {
        Ok(ContainersClient::new(self.channel.clone())
            .list(self.unary(ListContainersRequest { filters }))
            .await
            .map_err(rpc("container list"))?
            .into_inner()
            .containers)
    }

    /// Deletes a container record.
    pub(crate) async fn container_delete(&self, id: &str) -> Result<()> {
        ContainersClient::new(self.channel.clone())
            .delete(self.unary(DeleteContainerRequest { id: id.to_owned() }))
            .await
            .map_err(rpc("container delete"))?;
        Ok(())
    }
}
