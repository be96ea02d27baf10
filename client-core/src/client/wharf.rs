//! [`Client`]'s methods for Wharf's own endpoints: each [`call`](Client::call)s a builder of
//! [`api::wharf`](crate::api::wharf).

use crate::api::wharf::{
    self, AuditQuery, AuditRecord, CreateToken, CreatedToken, DaemonInfo, TokenInfo, WhoAmI,
    WsTicket,
};
use crate::error::Error;
use crate::transport::Transport;
use crate::Client;

impl<T: Transport> Client<T> {
    /// `GET /wharf/v1/tokens`.
    pub async fn list_tokens(&self) -> Result<Vec<TokenInfo>, Error> {
        self.call(|f| Ok(wharf::list_tokens_request(f))).await
    }

    /// `POST /wharf/v1/tokens`.
    pub async fn create_token(&self, body: &CreateToken) -> Result<CreatedToken, Error> {
        self.call(|f| wharf::create_token_request(f, body)).await
    }

    /// `DELETE /wharf/v1/tokens/{name}`.
    pub async fn remove_token(&self, name: &str) -> Result<(), Error> {
        self.call(|f| wharf::remove_token_request(f, name)).await
    }

    /// `POST /wharf/v1/ws-ticket`.
    pub async fn ws_ticket(&self) -> Result<WsTicket, Error> {
        self.call(|f| Ok(wharf::ws_ticket_request(f))).await
    }

    /// `GET /wharf/v1/whoami`.
    pub async fn whoami(&self) -> Result<WhoAmI, Error> {
        self.call(|f| Ok(wharf::whoami_request(f))).await
    }

    /// `GET /wharf/v1/audit`, newest record first.
    pub async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, Error> {
        self.call(|f| Ok(wharf::audit_request(f, query))).await
    }

    /// `GET /wharf/v1/daemon`.
    pub async fn daemon_info(&self) -> Result<DaemonInfo, Error> {
        self.call(|f| Ok(wharf::daemon_request(f))).await
    }
}
