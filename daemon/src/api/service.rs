//! The API as one tower service: the request log and counters, the browser's origin (`origin.rs`: refused
//! unless the daemon's own or allowed; CORS for allowed ones), the browser console's public files
//! (`console.rs`), authentication (before `/_ping`, which
//! stays cheap: the unix socket and certificates are identities of their own), `/_ping`, the
//! `/v{version}` prefix, authorization and audit (`auth.rs`) and dockerd's headers, around the routers — one hand-written layer rather than two boxed middlewares and
//! an outer router, because it runs on every request.

use std::convert::Infallible;
use std::future::{Future, Ready};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::Bytes;
use futures_util::future::Either;
use http::Request;
use tower::{Service, ServiceExt};

use super::access_log::RequestLog;
use super::auth;
use super::console;
use super::extract::{IdleBody, BODY_IDLE_TIMEOUT};
use super::origin;
use super::ping;
use super::version::{route_version, stamp_headers};
use crate::auth::Refusal;
use crate::state::AppState;

/// The whole API: routes with their state, wrapped in the per-request work.
#[derive(Clone, Debug)]
pub(crate) struct ApiService {
    routes: Router,
    state: AppState,
}

impl ApiService {
    /// Wraps `routes` (already given their state and 404 fallbacks).
    pub(crate) fn new(routes: Router, state: AppState) -> Self {
        Self { routes, state }
    }
}

impl ApiService {
    /// An answer given before authentication (a refused origin, a CORS preflight), logged.
    fn answer_now<B, F>(
        &self,
        request: &Request<B>,
        mut response: Response,
    ) -> Either<Ready<Result<Response, Infallible>>, F> {
        let log = RequestLog::begin(self.state.counters(), request);
        stamp_headers(response.headers_mut());
        log.end(response.status());
        Either::Left(std::future::ready(Ok(response)))
    }
}

impl<B> Service<Request<B>> for ApiService
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    /// A ping is answered at once; everything else goes through the router.
    type Future = Either<
        Ready<Result<Response, Infallible>>,
        Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>,
    >;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let cross = match origin::check(&request, self.state.allowed_origins()) {
            Ok(cross) => cross,
            Err(refused) => return self.answer_now(&request, refused.into_response()),
        };
        // The console's files are public (the policy's public class): a browser loads the login page
        // before it has a token. Other methods on its paths are answered 405 here too; they change
        // nothing, whoever sends them.
        if let Some(response) = console::answer(self.state.console(), &request) {
            return self.answer_now(&request, response);
        }
        if let Some(response) = cross.as_ref().and_then(|c| origin::preflight(&request, c)) {
            return self.answer_now(&request, response);
        }
        let identity = match auth::authenticate(self.state.auth(), &request) {
            Ok(identity) => identity,
            Err(refusal) => {
                let log = RequestLog::begin(self.state.counters(), &request);
                // Plain HTTP on loopback answers a ping without a token: a liveness probe on this host.
                let ping = (refusal == Refusal::Missing && auth::is_plain(&request))
                    .then(|| ping::answer(&request))
                    .flatten();
                if let Some(mut response) = ping {
                    origin::allow(response.headers_mut(), cross.as_ref());
                    log.end(response.status());
                    return Either::Left(std::future::ready(Ok(response)));
                }
                let mut response = auth::refuse(self.state.auth(), refusal, &request);
                stamp_headers(response.headers_mut());
                origin::allow(response.headers_mut(), cross.as_ref());
                log.end(response.status());
                return Either::Left(std::future::ready(Ok(response)));
            }
        };
        if let Some(mut response) = ping::answer(&request) {
            origin::allow(response.headers_mut(), cross.as_ref());
            let counters = self.state.counters();
            RequestLog::begin(counters, &request).end(response.status());
            return Either::Left(std::future::ready(Ok(response)));
        }
        let mut request = request.map(|b| IdleBody::wrap(Body::new(b), BODY_IDLE_TIMEOUT));
        let routes = self.routes.clone();
        let state = self.state.clone();
        Either::Right(Box::pin(async move {
            let log = RequestLog::begin(state.counters(), &request);
            let mut audit = None;
            let mut response = match route_version(&mut request) {
                Err(e) => e.into_response(),
                Ok(()) => {
                    let (allowed, pending) = auth::authorize(identity, &mut request);
                    audit = pending;
                    match allowed {
                        Err(denied) => denied.into_response(),
                        Ok(()) => match routes.oneshot(request).await {
                            Ok(r) => r,
                            Err(never) => match never {},
                        },
                    }
                }
            };
            stamp_headers(response.headers_mut());
            origin::allow(response.headers_mut(), cross.as_ref());
            if let Some(audit) = audit {
                audit.finish(state.auth(), response.status());
            }
            log.end(response.status());
            Ok(response)
        }))
    }
}
