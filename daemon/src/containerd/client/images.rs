//! The image store: named records pointing at a manifest, held against collection by their labels.

use containerd_client::services::v1::{
    images_client::ImagesClient, CreateImageRequest, DeleteImageRequest, GetImageRequest, Image,
    ListImagesRequest, UpdateImageRequest,
};
use containerd_client::tonic::Status;

use super::{rpc, Containerd, Result};
use crate::containerd::ContainerdError;

impl Containerd {
    /// Creates an image record.
    pub(crate) async fn image_create(&self, image: Image) -> Result<Image> {
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
    pub(crate) async fn image_update(&self, image: Image) -> Result<Image> {
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
    pub(crate) async fn image_get(&self, name: &str) -> Result<Image> {
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
    pub(crate) async fn image_list(&self, filters: Vec<String>) -> Result<Vec<Image>> {
        Ok(ImagesClient::new(self.channel.clone())
            .list(self.unary(ListImagesRequest { filters }))
            .await
            .map_err(rpc("image list"))?
            .into_inner()
            .images)
    }

    /// Deletes an image record; `sync` waits for the garbage collection it triggers.
    pub(crate) async fn image_delete(&self, name: &str, sync: bool) -> Result<()> {
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
}
