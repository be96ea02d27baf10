//! The console's connection to wharfd: client-core's `Client` over client-wasm's fetch transport, at
//! the page's own origin, with the token the user logged in with.
//!
//! Every request is built by client-core, as the CLI's are; this module only adds what a page needs:
//! errors as one line a person can read (the daemon's own message, which for a refused action is the
//! policy's "role viewer may not ..."), and who the user is, from `/wharf/v1/whoami`, which decides
//! which actions the views offer.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use wharf_client_core::api::{Decode, TypedRequest};
use wharf_client_core::request::DUMMY_HOST;
use wharf_client_core::{Client, ClientConfig, Error, RequestFactory};
use wharf_client_wasm::fetch::FetchTransport;

use crate::views::logins::Logins;

/// What the user may do, by the daemon's roles (see the daemon's `auth::policy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Operator,
    Admin,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// Whether this role may change containers and images (start, stop, run, remove, import...).
    pub fn can_operate(self) -> bool {
        self >= Role::Operator
    }
}

/// A failure, as the console shows it.
#[derive(Clone, Debug)]
pub struct ApiError {
    /// The daemon's HTTP status, when it answered.
    pub status: Option<u16>,
    pub message: String,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        match err {
            Error::Daemon(d) => ApiError {
                status: Some(d.status),
                message: d.message,
            },
            Error::Transport(t) => ApiError {
                status: None,
                message: format!("cannot reach wharfd: {}", t.message),
            },
            other => ApiError {
                status: None,
                message: other.to_string(),
            },
        }
    }
}

/// A logged-in connection; cheap to clone.
#[derive(Clone, Debug)]
pub struct Api {
    pub client: Rc<Client<FetchTransport>>,
    /// The page's origin (`https://host:port`), the base of WebSocket URLs.
    pub base_url: Rc<str>,
    pub identity: Rc<str>,
    pub role: Role,
    /// The registry logins of this session (memory only).
    pub logins: Rc<RefCell<Logins>>,
}

/// How long a request may take before the console gives up on it (a streamed one: until it begins).
const TIMEOUT: Duration = Duration::from_secs(60);

impl Api {
    /// A client of the daemon that served the page, sending `token`.
    pub fn client(token: Option<String>) -> Result<Rc<Client<FetchTransport>>, ApiError> {
        let base = crate::dom::window().location().origin().unwrap_or_default();
        let config = ClientConfig {
            host_header: DUMMY_HOST.to_owned(),
            base_path: String::new(),
            pinned_version: None,
        };
        let client = Client::new(FetchTransport::new(&base, token, TIMEOUT), config)?;
        Ok(Rc::new(client))
    }

    /// Logs in with `token`: the daemon says who it is and with which role, or why not.
    pub async fn login(token: &str) -> Result<Api, ApiError> {
        let client = Api::client(Some(token.to_owned()))?;
        let me = client
            .call(|f| Ok(wharf_client_core::api::wharf::whoami_request(f)))
            .await?;
        let role = Role::parse(&me.role).ok_or_else(|| ApiError {
            status: None,
            message: format!("the daemon gave an unknown role: {}", me.role),
        })?;
        let base_url = crate::dom::window().location().origin().unwrap_or_default();
        Ok(Api {
            client,
            base_url: base_url.into(),
            identity: me.identity.into(),
            role,
            logins: Rc::default(),
        })
    }

    /// Sends the request `build` makes (a builder of client-core's `api`) and decodes its answer.
    pub async fn call<D: Decode>(
        &self,
        build: impl FnOnce(&RequestFactory) -> Result<TypedRequest<D>, Error>,
    ) -> Result<D::Output, ApiError> {
        Ok(self.client.call(build).await?)
    }
}

/// Cancels a streamed answer (followed logs, events, stats) when dropped: a view keeps one per stream
/// it reads, so that leaving the view closes the request at once, even while no data comes (an idle
/// event stream would otherwise hold its connection until the next event).
#[derive(Debug, Default)]
pub struct StreamGuard(Option<web_sys::ReadableStreamDefaultReader>);

impl StreamGuard {
    /// A guard of the stream `decoded` reads.
    pub fn of<D: wharf_client_core::stream::Incremental>(
        decoded: &mut wharf_client_core::stream::Decoded<wharf_client_wasm::fetch::FetchBody, D>,
    ) -> Self {
        StreamGuard(decoded.body_mut().reader())
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if let Some(reader) = self.0.take() {
            let _ = reader.cancel();
        }
    }
}
