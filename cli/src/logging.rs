//! Diagnostics on stderr through `tracing`: `--log-level` picks the level, `-D/--debug` forces `debug`,
//! and `RUST_LOG`, when set, wins over both for fine-grained filtering.

use tracing_subscriber::EnvFilter;

/// The log levels `--log-level` accepts, as the docker CLI names them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogLevel {
    /// Everything, including per-request traces.
    Debug,
    /// Progress worth noting.
    Info,
    /// Only problems (the default).
    #[default]
    Warn,
    /// Only failures.
    Error,
    /// Only failures (the docker CLI's name for the quietest level).
    Fatal,
}

/// The `tracing` filter directive for the flags.
pub fn directive(level: LogLevel, debug: bool) -> &'static str {
    if debug {
        return "debug";
    }
    match level {
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error | LogLevel::Fatal => "error",
    }
}

/// Installs the stderr subscriber; a second call does nothing.
pub fn init(level: LogLevel, debug: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(directive(level, debug)));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_flag_beats_the_level() {
        assert_eq!(directive(LogLevel::Error, true), "debug");
        assert_eq!(directive(LogLevel::Warn, false), "warn");
        assert_eq!(directive(LogLevel::Fatal, false), "error");
    }
}
