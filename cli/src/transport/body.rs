//! Streamed answers over the native transport: the head at once, the body chunk by chunk as hyper reads
//! it, for answers that take as long as their work does (a pull's progress, followed logs).
//!
//! No whole-answer timeout applies (a pull of a large image takes minutes); instead each chunk must come
//! within the transport's response timeout, so a daemon that stops answering is still noticed.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use wharf_client_core::{
    BodyStream, Request, StreamingResponse, StreamingTransport, TransportError, TransportErrorKind,
};

use super::classify::{self, Context};
use super::NativeTransport;

/// A streamed answer's body.
#[derive(Debug)]
pub struct NativeBody {
    body: Incoming,
    idle: Duration,
    context: Context,
}

impl BodyStream for NativeBody {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, TransportError> {
        loop {
            let frame = tokio::time::timeout(self.idle, self.body.frame())
                .await
                .map_err(|_| {
                    TransportError::new(
                        TransportErrorKind::Timeout,
                        format!("nothing received for {}s", self.idle.as_secs_f32()),
                    )
                })?;
            match frame {
                None => return Ok(None),
                Some(Err(e)) => return Err(classify::classify(&e, self.context)),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        if !data.is_empty() {
                            return Ok(Some(data));
                        }
                    }
                }
            }
        }
    }
}

impl StreamingTransport for NativeTransport {
    type Body = NativeBody;

    async fn send_streaming(
        &self,
        request: Request,
    ) -> Result<StreamingResponse<NativeBody>, TransportError> {
        let limit = self.options.response_timeout;
        let (parts, body) = tokio::time::timeout(limit, self.head(request))
            .await
            .unwrap_or_else(|_| {
                Err(TransportError::new(
                    TransportErrorKind::Timeout,
                    format!("no answer within {}s", limit.as_secs_f32()),
                ))
            })?;
        Ok(StreamingResponse {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: NativeBody {
                body,
                idle: limit,
                context: self.context(),
            },
        })
    }
}
