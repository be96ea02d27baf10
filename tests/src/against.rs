//! Which daemon a docker-CLI scenario runs against: `wharfd` (the tests proper), or Debian's `dockerd`
//! when `WHARF_E2E_AGAINST=dockerd` — to check that a scenario asserts what dockerd really does, so that
//! wharfd passing it means wharfd behaves as dockerd.
//!
//! ```sh
//! WHARF_E2E_AGAINST=dockerd cargo test -p wharf-tests --test containers
//! ```

use std::ffi::OsString;
use std::fmt;
use std::path::Path;

use anyhow::{bail, Result};

use crate::{prereq, RefDockerd, Wharfd};

/// The environment variable that picks the daemon: unset, empty or `wharfd`, or `dockerd`.
pub const AGAINST_ENV: &str = "WHARF_E2E_AGAINST";

/// The daemon under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Against {
    /// The real wharfd (the default).
    Wharfd,
    /// The reference dockerd ([`RefDockerd`]).
    Dockerd,
}

impl Against {
    /// The daemon [`AGAINST_ENV`] names; an error for a value it does not know.
    pub fn from_env() -> Result<Self> {
        let value = std::env::var(AGAINST_ENV).unwrap_or_default();
        Self::parse(&value)
    }

    fn parse(value: &str) -> Result<Self> {
        match value {
            "" | "wharfd" => Ok(Self::Wharfd),
            "dockerd" => Ok(Self::Dockerd),
            other => bail!("{AGAINST_ENV}={other:?}: expected `wharfd` or `dockerd`"),
        }
    }

    /// Why this daemon cannot run containers here, or `None` when it can.
    pub fn missing(self) -> Option<String> {
        match self {
            Self::Wharfd => prereq::missing_runtime(),
            Self::Dockerd => RefDockerd::unavailable(),
        }
    }

    /// Starts this daemon with extra command-line arguments (both take e.g. `--seccomp-profile`).
    pub fn start<I, S>(self, args: I) -> Result<Daemon>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Ok(match self {
            Self::Wharfd => Daemon::Wharfd(Wharfd::builder().args(args).start()?),
            Self::Dockerd => Daemon::Dockerd(RefDockerd::builder().args(args).start()?),
        })
    }
}

impl fmt::Display for Against {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Wharfd => "wharfd",
            Self::Dockerd => "dockerd",
        })
    }
}

/// A started daemon under test, stopped on drop.
#[derive(Debug)]
pub enum Daemon {
    /// wharfd.
    Wharfd(Wharfd),
    /// The reference dockerd.
    Dockerd(RefDockerd),
}

impl Daemon {
    /// Which daemon it is.
    pub fn against(&self) -> Against {
        match self {
            Self::Wharfd(_) => Against::Wharfd,
            Self::Dockerd(_) => Against::Dockerd,
        }
    }

    /// The docker CLI's environment for its unix socket.
    pub fn docker_env(&self) -> Vec<(String, String)> {
        match self {
            Self::Wharfd(d) => d.endpoints().docker_env_unix(),
            Self::Dockerd(d) => d.endpoints().docker_env_unix(),
        }
    }

    /// Its private directory (removed when it stops).
    pub fn dir(&self) -> &Path {
        match self {
            Self::Wharfd(d) => d.dir(),
            Self::Dockerd(d) => d.dir(),
        }
    }

    /// Everything it has logged so far.
    pub fn logs(&self) -> String {
        match self {
            Self::Wharfd(d) => d.logs(),
            Self::Dockerd(d) => d.logs(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_daemon_names_and_refuses_others() {
        assert_eq!(Against::parse("").unwrap(), Against::Wharfd);
        assert_eq!(Against::parse("wharfd").unwrap(), Against::Wharfd);
        assert_eq!(Against::parse("dockerd").unwrap(), Against::Dockerd);
        let err = Against::parse("docker").unwrap_err().to_string();
        assert!(err.contains("WHARF_E2E_AGAINST=\"docker\""), "{err}");
        assert_eq!(Against::Dockerd.to_string(), "dockerd");
    }
}
