//! [`Client`]'s streamed answers, over a [`StreamingTransport`]: each item reaches the caller when its
//! bytes arrive (a followed log line, an event, a stats sample), through the incremental decoders of
//! [`stream`](crate::stream).

use serde::de::DeserializeOwned;

use crate::api::containers::{self, LogsOptions};
use crate::api::system::{self, EventsOptions};
use crate::error::Error;
use crate::request::Request;
use crate::stream::{Decoded, Incremental, LogFraming, LogsDecoder, MessageDecoder};
use crate::transport::{StreamingResponse, StreamingTransport};
use crate::Client;

impl<T: StreamingTransport> Client<T> {
    /// `GET /containers/{id}/logs` as frames while they arrive; with `follow`, until the container ends
    /// (or the caller drops the stream). `tty` is the container's `Config.Tty`, which only daemons older
    /// than API 1.42 need (they do not name the framing).
    pub async fn logs_stream(
        &self,
        id: &str,
        options: &LogsOptions,
        tty: bool,
    ) -> Result<Decoded<T::Body, LogsDecoder>, Error> {
        self.negotiate().await?;
        let request = containers::logs_request(&self.factory(), id, options)?;
        let version = self.api_version();
        self.stream(request, |route, response| {
            let framing = LogFraming::of(response.header("content-type"), version, tty);
            LogsDecoder::new(route, framing)
        })
        .await
    }

    /// `GET /events` as messages while they happen: `M` is
    /// [`EventMessage`](crate::models::EventMessage), or `serde_json::Value` to pass them on untouched.
    pub async fn events<M: DeserializeOwned>(
        &self,
        options: &EventsOptions,
    ) -> Result<Decoded<T::Body, MessageDecoder<M>>, Error> {
        self.negotiate().await?;
        let request = system::events_request(&self.factory(), options);
        self.stream(request, |route, _| MessageDecoder::new(route))
            .await
    }

    /// `GET /containers/{id}/stats?stream=1` as samples while they come (one a second, until the caller
    /// drops the stream): `M` is [`ContainerStatsResponse`](crate::stats::ContainerStatsResponse), or
    /// `serde_json::Value`.
    pub async fn stats_stream<M: DeserializeOwned>(
        &self,
        id: &str,
    ) -> Result<Decoded<T::Body, MessageDecoder<M>>, Error> {
        self.negotiate().await?;
        let request = containers::stats_stream_request(&self.factory(), id)?;
        self.stream(request, |route, _| MessageDecoder::new(route))
            .await
    }

    /// Sends `request` and, when it succeeds, decodes its body as it arrives with the decoder `decoder`
    /// makes from the answer's head; a failure's body is read into the daemon's error.
    pub async fn stream<D: Incremental>(
        &self,
        request: Request,
        decoder: impl FnOnce(String, &StreamingResponse<T::Body>) -> D,
    ) -> Result<Decoded<T::Body, D>, Error> {
        let route = request.route();
        let response = self
            .transport()
            .send_streaming(request)
            .await?
            .error_for_status(&route)
            .await?;
        let decoder = decoder(route, &response);
        Ok(Decoded::new(response.body, decoder))
    }
}
