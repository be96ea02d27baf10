//! [`Client`]'s registry methods: login and distribution [`call`](Client::call) builders of
//! [`api::registry`]; pull and push answer their progress as it arrives, over a
//! [`StreamingTransport`].

use crate::api::registry::{self, ProgressDecoder, PullOptions};
use crate::error::Error;
use crate::models::{DistributionInspect, SystemAuthResponse};
use crate::registry_auth::RegistryAuth;
use crate::stream::Decoded;
use crate::transport::{StreamingTransport, Transport};
use crate::Client;

impl<T: Transport> Client<T> {
    /// `POST /auth`: checks `auth` with its registry.
    pub async fn login(&self, auth: &RegistryAuth) -> Result<SystemAuthResponse, Error> {
        self.call(|f| registry::login_request(f, auth)).await
    }

    /// `GET /distribution/{name}/json`.
    pub async fn distribution(
        &self,
        name: &str,
        auth: &RegistryAuth,
    ) -> Result<DistributionInspect, Error> {
        self.call(|f| registry::distribution_request(f, name, auth))
            .await
    }
}

impl<T: StreamingTransport> Client<T> {
    /// `POST /images/create?fromImage=`: pulls `name`, its progress messages as they come.
    pub async fn pull_stream(
        &self,
        name: &str,
        options: &PullOptions,
        auth: &RegistryAuth,
    ) -> Result<Decoded<T::Body, ProgressDecoder>, Error> {
        self.negotiate().await?;
        let request = registry::pull_request(&self.factory(), name, options, auth)?.request;
        self.stream(request, |route, _| ProgressDecoder::new(route))
            .await
    }

    /// `POST /images/{name}/push`: pushes `name`, its progress messages as they come.
    pub async fn push_stream(
        &self,
        name: &str,
        auth: &RegistryAuth,
    ) -> Result<Decoded<T::Body, ProgressDecoder>, Error> {
        self.negotiate().await?;
        let request = registry::push_request(&self.factory(), name, auth)?.request;
        self.stream(request, |route, _| ProgressDecoder::new(route))
            .await
    }
}
