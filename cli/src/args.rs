//! The command line, declared with clap: global flags (logging and where the daemon is) and subcommands.

use clap::{Parser, Subcommand};

use crate::config::ConnectionFlags;
use crate::logging::LogLevel;

/// A self-sufficient runtime for containers.
#[derive(Clone, Debug, Parser)]
#[command(name = "wharf", version, about, propagate_version = true)]
pub struct Cli {
    /// Flags every command accepts.
    #[command(flatten)]
    pub global: GlobalFlags,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Logging and connection flags, accepted before or after the subcommand.
#[derive(Clone, Debug, clap::Args)]
pub struct GlobalFlags {
    /// Enable debug mode.
    #[arg(short = 'D', long, global = true)]
    pub debug: bool,
    /// Set the logging level.
    #[arg(
        short = 'l',
        long = "log-level",
        global = true,
        value_enum,
        default_value_t = LogLevel::Warn,
        value_name = "LEVEL"
    )]
    pub log_level: LogLevel,
    /// Where the daemon is.
    #[command(flatten)]
    pub connection: ConnectionFlags,
}

/// The subcommands.
#[derive(Clone, Debug, Subcommand)]
pub enum Command {
    /// Show the wharf version information.
    Version(FormatFlag),
    /// Display system-wide information.
    Info(FormatFlag),
    /// Check that the daemon answers.
    Ping(FormatFlag),
    /// Display a live stream of container(s) resource usage statistics.
    Stats(StatsArgs),
    /// Manage the daemon's bearer tokens (admin only).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Show who the daemon takes you for, and your role.
    Whoami(FormatFlag),
    /// Show the daemon's audit log, newest first (admin only).
    Audit(AuditArgs),
    /// Download an image from a registry.
    Pull(PullArgs),
    /// Upload an image to a registry.
    Push(PushArgs),
    /// Log in to a registry (kept in the docker CLI's config.json).
    Login(LoginArgs),
    /// Log out from a registry.
    Logout(LogoutArgs),
}

/// `wharf pull`'s arguments.
#[derive(Clone, Debug, clap::Args)]
pub struct PullArgs {
    /// Set platform if server is multi-platform capable (os[/arch[/variant]]).
    #[arg(long)]
    pub platform: Option<String>,
    /// The image: NAME[:TAG|@DIGEST].
    #[arg(value_name = "NAME")]
    pub name: String,
}

/// `wharf push`'s arguments.
#[derive(Clone, Debug, clap::Args)]
pub struct PushArgs {
    /// The image: NAME[:TAG].
    #[arg(value_name = "NAME")]
    pub name: String,
}

/// `wharf login`'s arguments.
#[derive(Clone, Debug, clap::Args)]
pub struct LoginArgs {
    /// Username.
    #[arg(short = 'u', long)]
    pub username: Option<String>,
    /// Password.
    #[arg(short = 'p', long)]
    pub password: Option<String>,
    /// Take the password from stdin.
    #[arg(long)]
    pub password_stdin: bool,
    /// The registry (Docker Hub when none).
    #[arg(value_name = "SERVER")]
    pub server: Option<String>,
}

/// `wharf logout`'s arguments.
#[derive(Clone, Debug, clap::Args)]
pub struct LogoutArgs {
    /// The registry (Docker Hub when none).
    #[arg(value_name = "SERVER")]
    pub server: Option<String>,
}

/// `wharf audit`'s filters.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct AuditArgs {
    /// Only this identity: token:NAME, cert:CN, unix or anonymous.
    #[arg(long)]
    pub identity: Option<String>,
    /// Only this method (POST, DELETE ...).
    #[arg(long)]
    pub method: Option<String>,
    /// Only paths containing this.
    #[arg(long)]
    pub path: Option<String>,
    /// Only this status (404) or class (4xx).
    #[arg(long)]
    pub status: Option<String>,
    /// Only records since this time: RFC 3339, Unix seconds or a duration ago (10m).
    #[arg(long)]
    pub since: Option<String>,
    /// Only records until this time, in the same forms.
    #[arg(long)]
    pub until: Option<String>,
    /// Show at most this many records (the daemon answers 500 by default, 5000 at most).
    #[arg(short = 'n', long)]
    pub limit: Option<u32>,
    /// Format the output.
    #[command(flatten)]
    pub format: FormatFlag,
}

/// `wharf stats`' flags and containers.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct StatsArgs {
    /// Disable streaming stats and only pull the first result.
    #[arg(long)]
    pub no_stream: bool,
    /// The containers (all running ones when none are named).
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `wharf token ...`.
#[derive(Clone, Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it, once.
    Create(TokenCreate),
    /// List the tokens (never their secrets).
    #[command(visible_alias = "list")]
    Ls(FormatFlag),
    /// Remove tokens: they stop working at once.
    #[command(visible_alias = "remove")]
    Rm {
        /// The tokens' names.
        #[arg(required = true, value_name = "NAME")]
        names: Vec<String>,
    },
}

/// `wharf token create`'s flags.
#[derive(Clone, Debug, clap::Args)]
pub struct TokenCreate {
    /// The token's name (letters, digits, '_', '.', '-').
    #[arg(long)]
    pub name: String,
    /// What it may do.
    #[arg(long, value_parser = ["viewer", "operator", "admin"])]
    pub role: String,
    /// Expire after this long: 30d, 12h, 90m, 45s.
    #[arg(long, value_name = "DURATION", value_parser = crate::commands::token::parse_duration)]
    pub expires: Option<u64>,
    /// Format the output.
    #[command(flatten)]
    pub format: FormatFlag,
}

/// `--format`: text by default, or JSON.
#[derive(Clone, Copy, Debug, Default, clap::Args)]
pub struct FormatFlag {
    /// Format the output: "json" prints the daemon's answer as JSON.
    #[arg(short = 'f', long = "format", value_enum, value_name = "FORMAT")]
    pub format: Option<OutputFormat>,
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Pretty-printed JSON.
    Json,
}

impl FormatFlag {
    /// Whether JSON was asked for.
    pub fn is_json(self) -> bool {
        self.format == Some(OutputFormat::Json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_go_before_or_after_the_subcommand() {
        let cli = Cli::try_parse_from([
            "wharf",
            "-H",
            "unix:///a.sock",
            "info",
            "--tlsverify",
            "-D",
            "--format",
            "json",
        ])
        .unwrap();
        assert_eq!(
            cli.global.connection.host.as_deref(),
            Some("unix:///a.sock")
        );
        assert_eq!(cli.global.connection.tlsverify, Some(true));
        assert!(cli.global.debug);
        assert!(matches!(cli.command, Command::Info(f) if f.is_json()));
    }

    #[test]
    fn tlsverify_takes_an_optional_bool_with_equals() {
        let cli = Cli::try_parse_from(["wharf", "--tlsverify=false", "ping"]).unwrap();
        assert_eq!(cli.global.connection.tlsverify, Some(false));
        let cli = Cli::try_parse_from(["wharf", "ping"]).unwrap();
        assert_eq!(cli.global.connection.tlsverify, None);
        assert!(matches!(cli.command, Command::Ping(f) if !f.is_json()));
        assert!(Cli::try_parse_from(["wharf", "version", "--format", "yaml"]).is_err());
    }

    #[test]
    fn stats_takes_no_stream_and_containers() {
        let cli = Cli::try_parse_from(["wharf", "stats", "--no-stream", "a", "b"]).unwrap();
        assert!(
            matches!(&cli.command, Command::Stats(s) if s.no_stream && s.containers == ["a", "b"])
        );
        let cli = Cli::try_parse_from(["wharf", "stats"]).unwrap();
        assert!(
            matches!(&cli.command, Command::Stats(s) if !s.no_stream && s.containers.is_empty())
        );
    }

    #[test]
    fn token_commands_parse() {
        let cli = Cli::try_parse_from([
            "wharf",
            "token",
            "create",
            "--name",
            "ci",
            "--role",
            "viewer",
            "--expires",
            "30d",
        ])
        .unwrap();
        let Command::Token(TokenCommand::Create(c)) = cli.command else {
            panic!("{cli:?}")
        };
        assert_eq!((c.name.as_str(), c.role.as_str()), ("ci", "viewer"));
        assert_eq!(c.expires, Some(30 * 86_400));
        assert!(
            Cli::try_parse_from(["wharf", "token", "create", "--name", "x", "--role", "root"])
                .is_err()
        );
        assert!(Cli::try_parse_from(["wharf", "token", "rm"]).is_err());
        let cli = Cli::try_parse_from([
            "wharf",
            "audit",
            "--identity",
            "token:ci",
            "--status",
            "4xx",
            "-n",
            "20",
        ])
        .unwrap();
        let Command::Audit(a) = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert_eq!(
            (a.identity.as_deref(), a.status.as_deref(), a.limit),
            (Some("token:ci"), Some("4xx"), Some(20))
        );
        let cli = Cli::try_parse_from(["wharf", "token", "rm", "a", "b"]).unwrap();
        assert!(
            matches!(cli.command, Command::Token(TokenCommand::Rm { names }) if names == ["a", "b"])
        );
    }
}
