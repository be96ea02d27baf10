//! API versions: the `1.47` in `/v1.47/containers/json`.
//!
//! Both sides of the wire agree on one ordered version type and on the range Wharf speaks, so the
//! client's negotiation and the daemon's version middleware cannot drift apart.

use std::fmt;
use std::str::FromStr;

/// A Docker Engine API version, `major.minor`, ordered numerically (`1.9 < 1.10`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    major: u16,
    minor: u16,
}

/// The oldest API version Wharf's client speaks and wharfd serves (Docker 1.12).
pub const MIN_API_VERSION: ApiVersion = ApiVersion::new(1, 24);

/// The newest API version Wharf implements (Docker 27).
pub const MAX_API_VERSION: ApiVersion = ApiVersion::new(1, 47);

impl ApiVersion {
    /// Builds a version from its parts.
    pub const fn new(major: u16, minor: u16) -> Self {
        Self { major, minor }
    }

    /// The major part (always 1 today).
    pub const fn major(self) -> u16 {
        self.major
    }

    /// The minor part.
    pub const fn minor(self) -> u16 {
        self.minor
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// A string that is not `major.minor` with decimal parts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid API version {0:?}: expected MAJOR.MINOR, such as 1.47")]
pub struct InvalidApiVersion(pub String);

impl FromStr for ApiVersion {
    type Err = InvalidApiVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidApiVersion(s.to_owned());
        let (major, minor) = s.split_once('.').ok_or_else(invalid)?;
        let part = |p: &str| -> Result<u16, InvalidApiVersion> {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            p.parse().map_err(|_| invalid())
        };
        Ok(Self::new(part(major)?, part(minor)?))
    }
}

impl serde::Serialize for ApiVersion {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ApiVersion {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders_numerically() {
        let v9: ApiVersion = "1.9".parse().unwrap();
        let v10: ApiVersion = "1.10".parse().unwrap();
        assert!(v9 < v10);
        assert_eq!(v10.to_string(), "1.10");
        assert!(MIN_API_VERSION < MAX_API_VERSION);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "", "1", "1.", ".4", "1.4.1", "v1.41", "1.-1", "1. 4", "99999.1",
        ] {
            assert!(bad.parse::<ApiVersion>().is_err(), "{bad:?} parsed");
        }
    }
}
