//! Who is at the other end of a connection, found once when it is accepted and put into each of its
//! requests' extensions, where the API's authentication reads it: the unix socket, a TLS client with the
//! certificate the CA verified (by its subject's common name), or an anonymous TCP client that will need
//! a bearer token.

use std::convert::Infallible;
use std::net::IpAddr;
use std::task::{Context, Poll};

use tokio::net::TcpStream;

use crate::auth::{cert, Peer};

/// A connection's service: `inner`, with `peer` in every request's extensions.
#[derive(Clone, Debug)]
pub(crate) struct WithPeer<S> {
    inner: S,
    peer: Peer,
}

impl<S> WithPeer<S> {
    pub(crate) fn new(inner: S, peer: Peer) -> Self {
        Self { inner, peer }
    }
}

impl<S, B, R> tower::Service<http::Request<B>> for WithPeer<S>
where
    S: tower::Service<http::Request<B>, Response = R, Error = Infallible>,
{
    type Response = R;
    type Error = Infallible;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        request.extensions_mut().insert(self.peer.clone());
        self.inner.call(request)
    }
}

/// The peer of a finished TLS handshake from `ip`: its verified certificate's subject, or anonymous.
pub(crate) fn tls_peer(tls: &tokio_rustls::server::TlsStream<TcpStream>, ip: IpAddr) -> Peer {
    let (_, session) = tls.get_ref();
    // rustls only hands over certificates it verified against the CA. One whose subject has no common
    // name this parser reads is no identity of its own (else it would escape `client-cert-roles`, whose
    // unmapped names are admin): its requests need a token, as without a certificate.
    match session
        .peer_certificates()
        .and_then(|c| c.first())
        .and_then(|leaf| cert::subject_cn(leaf))
        .filter(|cn| !cn.is_empty())
    {
        Some(cn) => Peer::cert(&cn),
        None => Peer::Anonymous { ip },
    }
}
