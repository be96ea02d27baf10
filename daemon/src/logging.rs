//! Logging: a tracing subscriber whose level a SIGHUP can change (a reload layer), with dockerd's level names.

use std::io::IsTerminal;
use std::str::FromStr;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

/// dockerd's (logrus's) level names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// `trace`.
    Trace,
    /// `debug`.
    Debug,
    /// `info` (the default).
    Info,
    /// `warn`.
    Warn,
    /// `error`.
    Error,
    /// `fatal` (logged as error).
    Fatal,
}

impl FromStr for LogLevel {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "trace" => Self::Trace,
            "debug" => Self::Debug,
            "info" => Self::Info,
            "warn" | "warning" => Self::Warn,
            "error" => Self::Error,
            "fatal" | "panic" => Self::Fatal,
            _ => return Err(()),
        })
    }
}

impl LogLevel {
    /// The effective level: `-D` means debug, as in dockerd.
    pub fn effective(self, debug: bool) -> Self {
        if debug && self != Self::Trace {
            Self::Debug
        } else {
            self
        }
    }

    fn directive(self) -> &'static str {
        match self {
            Self::Trace => "trace",
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error | Self::Fatal => "error",
        }
    }

    /// The filter: this level for wharfd, libraries' chatter capped at info.
    pub fn filter(self) -> EnvFilter {
        let level = self.directive();
        let quiet = if matches!(self, Self::Trace | Self::Debug) {
            ",hyper=info,hyper_util=info,h2=info,rustls=info,tokio_rustls=info"
        } else {
            ""
        };
        EnvFilter::new(format!("{level}{quiet}"))
    }
}

/// Changes the log level of the running subscriber.
#[derive(Clone, Debug)]
pub struct LogControl {
    handle: Option<reload::Handle<EnvFilter, Registry>>,
}

/// The subscriber cannot be installed or changed.
#[derive(Debug, thiserror::Error)]
#[error("logging: {0}")]
pub struct LoggingError(String);

impl LogControl {
    /// A control that changes nothing (tests, or when logging was set up elsewhere).
    pub fn detached() -> Self {
        Self { handle: None }
    }

    pub fn set(&self, level: LogLevel) -> Result<(), LoggingError> {
        match &self.handle {
            Some(h) => h
                .reload(level.filter())
                .map_err(|e| LoggingError(e.to_string())),
            None => Ok(()),
        }
    }
}

/// Installs the global subscriber (stderr) at `level`.
pub fn init(level: LogLevel) -> Result<LogControl, LoggingError> {
    let (filter, handle) = reload::Layer::new(level.filter());
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(std::io::stderr().is_terminal())
                .with_writer(std::io::stderr),
        )
        .try_init()
        .map_err(|e| LoggingError(e.to_string()))?;
    Ok(LogControl {
        handle: Some(handle),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_logrus_names() {
        assert_eq!("WARNING".parse(), Ok(LogLevel::Warn));
        assert_eq!("fatal".parse(), Ok(LogLevel::Fatal));
        assert!("loud".parse::<LogLevel>().is_err());
    }

    #[test]
    fn debug_flag_raises_the_level() {
        assert_eq!(LogLevel::Error.effective(true), LogLevel::Debug);
        assert_eq!(LogLevel::Error.effective(false), LogLevel::Error);
        assert_eq!(LogLevel::Trace.effective(true), LogLevel::Trace);
        assert!(LogLevel::Debug.filter().to_string().contains("hyper=info"));
    }
}
