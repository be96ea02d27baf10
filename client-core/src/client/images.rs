//! [`Client`]'s image methods: each [`call`](Client::call)s a builder of [`api::images`].

use bytes::Bytes;

use crate::api::images::{self, ImportOptions, ListOptions, RemoveOptions};
use crate::error::Error;
use crate::models::{
    CreateImageInfo, HistoryResponseItem, ImageDeleteResponseItem, ImageInspect,
    ImagePruneResponse, ImageSummary,
};
use crate::query::Filters;
use crate::transport::Transport;
use crate::Client;

impl<T: Transport> Client<T> {
    /// `GET /images/json`.
    pub async fn list_images(&self, options: &ListOptions) -> Result<Vec<ImageSummary>, Error> {
        self.call(|f| Ok(images::list_request(f, options))).await
    }

    /// `GET /images/{name}/json`.
    pub async fn inspect_image(&self, name: &str) -> Result<ImageInspect, Error> {
        self.call(|f| images::inspect_request(f, name)).await
    }

    /// `GET /images/{name}/history`.
    pub async fn image_history(&self, name: &str) -> Result<Vec<HistoryResponseItem>, Error> {
        self.call(|f| images::history_request(f, name)).await
    }

    /// `POST /images/{name}/tag`.
    pub async fn tag_image(&self, name: &str, repo: &str, tag: Option<&str>) -> Result<(), Error> {
        self.call(|f| images::tag_request(f, name, repo, tag)).await
    }

    /// `DELETE /images/{name}`.
    pub async fn remove_image(
        &self,
        name: &str,
        options: &RemoveOptions,
    ) -> Result<Vec<ImageDeleteResponseItem>, Error> {
        self.call(|f| images::remove_request(f, name, options))
            .await
    }

    /// `POST /images/prune`.
    pub async fn prune_images(&self, filters: &Filters) -> Result<ImagePruneResponse, Error> {
        self.call(|f| Ok(images::prune_request(f, filters))).await
    }

    /// `POST /images/create?fromSrc=-` with `archive` as the body; the messages end with the new
    /// image's ID ([`images::imported_id`]).
    pub async fn import_image(
        &self,
        options: &ImportOptions,
        archive: Bytes,
    ) -> Result<Vec<CreateImageInfo>, Error> {
        self.call(|f| Ok(images::import_request(f, options, archive)))
            .await
    }
}
