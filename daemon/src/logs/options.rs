//! The json-file driver's options (`--log-opt`), checked as dockerd checks them: `max-size` in Docker's
//! units (`10m`, `1.5g`, `512k`, binary multiples) and `max-file`, a count of at least 1.

use super::LogError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LogOptions {
    /// Rotate once the file reaches this many bytes; `None` never rotates.
    pub max_size: Option<u64>,
    /// Files kept, the current one included (at least 1; 1 truncates instead of rotating).
    pub max_file: u32,
}

impl Default for LogOptions {
    fn default() -> Self {
        Self {
            max_size: None,
            max_file: 1,
        }
    }
}

/// Options the json-file driver accepts (moby's `ValidateLogOpt`); the ones other than `max-size`,
/// `max-file` and `compress` concern log attributes Wharf does not write yet and are accepted and ignored.
const KNOWN: &[&str] = &[
    "max-file",
    "max-size",
    "compress",
    "labels",
    "labels-regex",
    "env",
    "env-regex",
    "tag",
];

impl LogOptions {
    /// Reads a container's `LogConfig.Config`.
    pub(crate) fn from_config<K, V>(
        config: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, LogError>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut options = Self::default();
        for (key, value) in config {
            let (key, value) = (key.as_ref(), value.as_ref());
            match key {
                "max-size" => {
                    let size = parse_size(value)?;
                    if size == 0 {
                        return Err(LogError::InvalidOption(
                            "max-size must be a positive number".to_owned(),
                        ));
                    }
                    options.max_size = Some(size);
                }
                "max-file" => {
                    let n: i64 = value.parse().map_err(|_| {
                        LogError::InvalidOption(format!(
                            "strconv.Atoi: parsing {value:?}: invalid syntax"
                        ))
                    })?;
                    if n < 1 {
                        return Err(LogError::InvalidOption(
                            "max-file cannot be less than 1".to_owned(),
                        ));
                    }
                    options.max_file = u32::try_from(n).unwrap_or(u32::MAX);
                }
                "compress" if matches!(value, "true" | "1" | "t" | "T" | "TRUE" | "True") => {
                    return Err(LogError::InvalidOption(
                        "compress is not supported by Wharf's json-file driver yet".to_owned(),
                    ))
                }
                k if KNOWN.contains(&k) => {}
                k => {
                    return Err(LogError::InvalidOption(format!(
                        "unknown log opt '{k}' for json-file log driver"
                    )))
                }
            }
        }
        Ok(options)
    }
}

/// A size in go-units' syntax (client-core's `units::ram_in_bytes`), in the daemon's words when it is not.
pub(crate) fn parse_size(value: &str) -> Result<u64, LogError> {
    wharf_client_core::units::ram_in_bytes(value)
        .ok_or_else(|| LogError::InvalidOption(format!("invalid size: '{value}'")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_docker_units() {
        for (s, n) in [
            ("10", 10),
            ("10b", 10),
            ("1k", 1024),
            ("10m", 10 << 20),
            ("10M", 10 << 20),
            ("10 MiB", 10 << 20),
            ("1.5g", 3 << 29),
            ("2KB", 2048),
        ] {
            assert_eq!(parse_size(s).unwrap(), n, "{s}");
        }
        for bad in ["", "m", "10x", "1..5m", "-1", "10mm", "1.m"] {
            assert_eq!(
                parse_size(bad).unwrap_err().to_string(),
                format!("invalid size: '{bad}'")
            );
        }
    }

    #[test]
    fn options_are_checked_as_dockerd_checks_them() {
        let o =
            LogOptions::from_config([("max-size", "1k"), ("max-file", "3"), ("tag", "x")]).unwrap();
        assert_eq!(
            o,
            LogOptions {
                max_size: Some(1024),
                max_file: 3
            }
        );
        assert_eq!(
            LogOptions::from_config(Vec::<(&str, &str)>::new()).unwrap(),
            LogOptions::default()
        );
        for (k, v, msg) in [
            ("max-file", "0", "max-file cannot be less than 1"),
            ("max-size", "0", "max-size must be a positive number"),
            ("max-size", "big", "invalid size: 'big'"),
            (
                "colour",
                "red",
                "unknown log opt 'colour' for json-file log driver",
            ),
        ] {
            assert_eq!(
                LogOptions::from_config([(k, v)]).unwrap_err().to_string(),
                msg
            );
        }
        assert!(LogOptions::from_config([("compress", "true")]).is_err());
        assert!(LogOptions::from_config([("compress", "false")]).is_ok());
    }
}
