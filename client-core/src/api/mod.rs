//! Endpoints, one module per area as in moby's router: each builds its [`Request`](crate::Request)s and decodes
//! their answers, with no I/O.

pub mod system;
