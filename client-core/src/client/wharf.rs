//! [`Client`]'s methods for Wharf's own endpoints: each [`call`](Client::call)s a builder of
//! [`api::wharf`](crate::api::wharf).

use crate::api::wharf::{self, CreateToken, CreatedToken, TokenInfo, WsTicket};
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
}
