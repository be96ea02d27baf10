//! Fixtures for Wharf's end-to-end tests and for `cargo xtask bench`: they find the built binaries,
//! make development certificates, start `wharfd` and a reference `dockerd` on private temporary paths,
//! and talk raw HTTP to them.
//!
//! [`Against`] picks the daemon a docker-CLI scenario runs against: wharfd, or dockerd to validate the
//! scenario itself.
//!
//! Every daemon fixture stops its process (SIGTERM, then SIGKILL) and removes its directory on drop.
//!
//! [`registry`] starts a real image registry (Debian's `docker-registry`) and [`oci`] makes images
//! to put in it; [`cutproxy`] cuts a registry's connections mid-transfer.
//!
//! [`cli`] and [`checks`](mod@checks) are for the test files: the docker CLI's commands as assertions,
//! scenarios cut into named checks, and [`eventually`]. They fail by panicking, where the fixtures return
//! errors.

pub mod against;
pub mod bins;
pub mod browser;
pub mod certs;
pub mod checks;
pub mod cli;
pub mod command;
pub mod cutproxy;
pub mod dockerd;
pub mod endpoints;
pub mod flood;
pub mod http;
pub mod net;
pub mod oci;
pub mod prereq;
pub mod process;
pub mod registry;
pub mod rootfs;
pub mod tmp;
pub mod wharfd;

pub use against::{Against, Daemon};
pub use bins::Binaries;
pub use certs::DevCerts;
pub use checks::{eventually, run_checks, Check};
pub use command::{docker, CommandOutput, RunCommand};
pub use dockerd::{RefDockerd, RefDockerdBuilder};
pub use endpoints::Endpoints;
pub use flood::Flood;
pub use http::RawResponse;
pub use tmp::TempDir;
pub use wharfd::{FailedStart, Wharfd, WharfdBuilder};
