//! [`Client`]'s container methods: each [`call`](Client::call)s a builder of [`api::containers`].

use crate::api::containers::{
    self, CreateOptions, ListOptions, LogsOptions, RemoveOptions, StopOptions, WaitCondition,
};
use crate::error::Error;
use crate::models::{
    ContainerCreateBody, ContainerCreateResponse, ContainerInspectResponse, ContainerPruneResponse,
    ContainerSummary, ContainerTopResponse, ContainerWaitResponse,
};
use crate::query::Filters;
use crate::stdcopy::Frame;
use crate::transport::Transport;
use crate::Client;

impl<T: Transport> Client<T> {
    /// `POST /containers/create`.
    pub async fn create_container(
        &self,
        body: &ContainerCreateBody,
        options: &CreateOptions,
    ) -> Result<ContainerCreateResponse, Error> {
        self.call(|f| containers::create_request(f, body, options))
            .await
    }

    /// `GET /containers/json`.
    pub async fn list_containers(
        &self,
        options: &ListOptions,
    ) -> Result<Vec<ContainerSummary>, Error> {
        self.call(|f| Ok(containers::list_request(f, options)))
            .await
    }

    /// `GET /containers/{id}/json`.
    pub async fn inspect_container(
        &self,
        id: &str,
        size: bool,
    ) -> Result<ContainerInspectResponse, Error> {
        self.call(|f| containers::inspect_request(f, id, size))
            .await
    }

    /// `POST /containers/{id}/start`; starting a running container succeeds, as with the docker CLI.
    pub async fn start_container(&self, id: &str) -> Result<(), Error> {
        self.call(|f| containers::start_request(f, id)).await
    }

    /// `POST /containers/{id}/stop`; stopping a stopped container succeeds, as with the docker CLI.
    pub async fn stop_container(&self, id: &str, options: &StopOptions) -> Result<(), Error> {
        self.call(|f| containers::stop_request(f, id, options))
            .await
    }

    /// `POST /containers/{id}/restart`.
    pub async fn restart_container(&self, id: &str, options: &StopOptions) -> Result<(), Error> {
        self.call(|f| containers::restart_request(f, id, options))
            .await
    }

    /// `POST /containers/{id}/kill`.
    pub async fn kill_container(&self, id: &str, signal: Option<&str>) -> Result<(), Error> {
        self.call(|f| containers::kill_request(f, id, signal)).await
    }

    /// `POST /containers/{id}/wait`: returns when `condition` is met, with the exit code.
    pub async fn wait_container(
        &self,
        id: &str,
        condition: Option<WaitCondition>,
    ) -> Result<ContainerWaitResponse, Error> {
        self.call(|f| containers::wait_request(f, id, condition))
            .await
    }

    /// `POST /containers/{id}/pause`.
    pub async fn pause_container(&self, id: &str) -> Result<(), Error> {
        self.call(|f| containers::pause_request(f, id)).await
    }

    /// `POST /containers/{id}/unpause`.
    pub async fn unpause_container(&self, id: &str) -> Result<(), Error> {
        self.call(|f| containers::unpause_request(f, id)).await
    }

    /// `POST /containers/{id}/rename`.
    pub async fn rename_container(&self, id: &str, new_name: &str) -> Result<(), Error> {
        self.call(|f| containers::rename_request(f, id, new_name))
            .await
    }

    /// `GET /containers/{id}/top`.
    pub async fn top_container(
        &self,
        id: &str,
        ps_args: Option<&str>,
    ) -> Result<ContainerTopResponse, Error> {
        self.call(|f| containers::top_request(f, id, ps_args)).await
    }

    /// `GET /containers/{id}/logs`, read whole and split into frames; `tty` is the container's
    /// (`Config.Tty`), for daemons that do not name the framing. With `follow` the answer ends only when
    /// the container does: stream it with [`containers::logs_request`] and a streaming transport instead.
    pub async fn container_logs(
        &self,
        id: &str,
        options: &LogsOptions,
        tty: bool,
    ) -> Result<Vec<Frame>, Error> {
        self.negotiate().await?;
        let request = containers::logs_request(&self.factory(), id, options)?;
        let route = request.route();
        containers::decode_logs(&route, self.send(request).await?, tty)
    }

    /// `DELETE /containers/{id}`.
    pub async fn remove_container(&self, id: &str, options: &RemoveOptions) -> Result<(), Error> {
        self.call(|f| containers::remove_request(f, id, options))
            .await
    }

    /// `POST /containers/prune`.
    pub async fn prune_containers(
        &self,
        filters: &Filters,
    ) -> Result<ContainerPruneResponse, Error> {
        self.call(|f| Ok(containers::prune_request(f, filters)))
            .await
    }
}
