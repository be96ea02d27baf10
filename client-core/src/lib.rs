//! Wharf's client core: the Docker Engine API protocol, both sides of the wire, with no I/O.
//!
//! It builds [`Request`]s and decodes [`Response`]s; a [`Transport`] moves them. Everything here compiles
//! unchanged for native targets and wasm32, and the daemon uses the same pieces (error kinds, versions,
//! models, stream codecs) so that wire knowledge lives in one place.

pub mod api;
pub mod client;
pub mod detach;
pub mod error;
pub mod host;
pub mod jsonstream;
pub mod models;
pub mod negotiate;
pub mod progress;
pub mod query;
pub mod reference;
pub mod registry_auth;
pub mod request;
pub mod response;
pub mod stats;
pub mod stdcopy;
pub mod stream;
pub mod tarframe;
pub mod transport;
pub mod units;
pub mod version;

pub use client::{Client, ClientConfig};
pub use error::{DaemonError, Error, ErrorKind};
pub use host::DockerHost;
pub use query::{Filters, FiltersError, Query};
pub use reference::{Reference, ReferenceError};
pub use request::{Request, RequestFactory};
pub use response::Response;
pub use transport::{
    BodyStream, StreamingResponse, StreamingTransport, Transport, TransportError,
    TransportErrorKind,
};
pub use version::{ApiVersion, MAX_API_VERSION, MIN_API_VERSION};
