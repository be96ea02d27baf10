//! The two daemons under comparison, started the same way: a unix socket plus a mutual-TLS listener on
//! 127.0.0.1 with the same certificates, on fresh temporary directories.

use std::time::Duration;

use anyhow::Result;
use wharf_tests::{Binaries, DevCerts, Endpoints, RefDockerd, Wharfd};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Wharfd,
    /// Debian's dockerd.
    Dockerd,
}

/// A started daemon of either kind.
#[derive(Debug)]
pub enum Daemon {
    Wharfd(Wharfd),
    /// Debian's dockerd.
    Dockerd(RefDockerd),
}

impl Kind {
    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Self::Wharfd => "wharfd",
            Self::Dockerd => "dockerd",
        }
    }

    /// Starts one, ready to answer `/_ping`.
    pub fn start(self, bins: &Binaries, certs: &DevCerts) -> Result<Daemon> {
        Ok(match self {
            Self::Wharfd => Daemon::Wharfd(
                Wharfd::builder()
                    .binaries(bins.clone())
                    .tcp(true)
                    .certs(certs.clone())
                    .start()?,
            ),
            Self::Dockerd => Daemon::Dockerd(RefDockerd::builder().tls(certs.clone()).start()?),
        })
    }
}

impl Daemon {
    pub fn endpoints(&self) -> &Endpoints {
        match self {
            Self::Wharfd(d) => d.endpoints(),
            Self::Dockerd(d) => d.endpoints(),
        }
    }

    /// The daemon's own process id.
    pub fn pid(&self) -> u32 {
        match self {
            Self::Wharfd(d) => d.pid(),
            Self::Dockerd(d) => d.pid(),
        }
    }

    /// Spawn to first 200 on `/_ping` (polled every 5 ms).
    pub fn startup_time(&self) -> Duration {
        match self {
            Self::Wharfd(d) => d.startup_time(),
            Self::Dockerd(d) => d.startup_time(),
        }
    }

    /// SIGTERM and wait.
    pub fn stop(&mut self) -> Result<()> {
        match self {
            Self::Wharfd(d) => d.stop()?,
            Self::Dockerd(d) => d.stop()?,
        };
        Ok(())
    }
}
