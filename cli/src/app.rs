//! One run of `wharf`: settle where the daemon is, build the transport and client, run the subcommand, and
//! turn any failure into the message the user reads.

use std::io::Write;

use wharf_client_core::api::wharf::{AuditQuery, CreateToken};
use wharf_client_core::Client;

use crate::args::{Cli, Command, TokenCommand};
use crate::commands::{self, CommandError};
use crate::config::{self, ConfigError, Target};
use crate::credentials::{self, ConfigFile};
use crate::message::user_message;
use crate::transport::{NativeTransport, TransportOptions};

/// Why a run failed; its `Display` is the message for the user.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Flags or environment are unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Talking to the daemon failed; `message` is worded for the user.
    #[error("{message}")]
    Daemon {
        /// What the user reads.
        message: String,
        /// The failure.
        #[source]
        source: wharf_client_core::Error,
    },
    /// Writing the output failed.
    #[error("cannot write the output: {0}")]
    Output(#[source] std::io::Error),
    /// Encoding the output as JSON failed.
    #[error("cannot encode the output as JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// The docker CLI's config file (registry logins) cannot be used.
    #[error(transparent)]
    Credentials(#[from] crate::credentials::CredentialsError),
    /// The command was given something it cannot use.
    #[error("{0}")]
    Usage(String),
}

impl AppError {
    /// Whether the output's reader went away (`wharf info | head`): nothing to report, as for other tools.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Self::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }

    fn from_command(err: CommandError, target: &Target) -> Self {
        match err {
            CommandError::Client(source) => Self::Daemon {
                message: user_message(&source, &target.host_label, target.uses_tls()),
                source,
            },
            CommandError::Output(e) => Self::Output(e),
            CommandError::Json(e) => Self::Json(e),
            CommandError::Credentials(e) => Self::Credentials(e),
            CommandError::Usage(m) => Self::Usage(m),
        }
    }
}

/// Runs `cli`, reading the environment through `env`; `is_root` picks the default socket.
pub async fn run(
    cli: &Cli,
    env: impl Fn(&str) -> Option<String>,
    is_root: bool,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<(), AppError> {
    let target = config::resolve(&cli.global.connection, &env, is_root)?;
    tracing::debug!(host = %target.host, tls = target.uses_tls(), pinned = ?target.pinned_version, "resolved the daemon");
    let client = connect(&target).map_err(|e| AppError::from_command(e, &target))?;
    let result = match &cli.command {
        Command::Version(f) => commands::version::run(&client, f.is_json(), out).await,
        Command::Info(f) => {
            commands::info::run(&client, f.is_json(), cli.global.debug, out, err).await
        }
        Command::Ping(f) => commands::ping::run(&client, f.is_json(), out).await,
        Command::Stats(s) => commands::stats::run(&client, s.no_stream, &s.containers, out).await,
        Command::Token(TokenCommand::Create(ref c)) => {
            let body = CreateToken {
                name: c.name.clone(),
                role: c.role.clone(),
                expires_in: c.expires,
            };
            commands::token::create(&client, &body, c.format.is_json(), out, err).await
        }
        Command::Token(TokenCommand::Ls(f)) => {
            commands::token::list(&client, f.is_json(), out).await
        }
        Command::Token(TokenCommand::Rm { ref names }) => {
            commands::token::remove(&client, names, out).await
        }
        Command::Whoami(f) => commands::audit::whoami(&client, f.is_json(), out).await,
        Command::Audit(a) => {
            let query = AuditQuery {
                identity: a.identity.clone(),
                method: a.method.clone(),
                path: a.path.clone(),
                status: a.status.clone(),
                since: a.since.clone(),
                until: a.until.clone(),
                limit: a.limit,
            };
            commands::audit::audit(&client, &query, a.format.is_json(), out).await
        }
        Command::Pull(_) | Command::Push(_) | Command::Login(_) | Command::Logout(_) => {
            registry_command(&client, &cli.command, &env, out, err).await
        }
    };
    result.map_err(|e| AppError::from_command(e, &target))
}

/// The registry commands, which read and write the docker CLI's config file.
async fn registry_command(
    client: &Client<NativeTransport>,
    command: &Command,
    env: impl Fn(&str) -> Option<String>,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<(), CommandError> {
    use commands::registry as r;
    let mut config = ConfigFile::load(credentials::config_path(env)?)?;
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    match command {
        Command::Pull(p) => {
            let auth = r::stored_auth(&config, &p.name)?;
            let mut view = r::ProgressView::new(terminal);
            r::pull(client, &p.name, p.platform.clone(), &auth, &mut view, out).await
        }
        Command::Push(p) => {
            let auth = r::stored_auth(&config, &p.name)?;
            let mut view = r::ProgressView::new(terminal);
            r::push(client, &p.name, &auth, &mut view, out).await
        }
        Command::Login(l) => {
            let input = r::LoginInput {
                server: l.server.clone(),
                username: l.username.clone(),
                password: l.password.clone(),
                password_stdin: l.password_stdin,
            };
            r::login(client, input, &mut config, out, err).await
        }
        Command::Logout(l) => r::logout(l.server.as_deref(), &mut config, out),
        _ => Ok(()),
    }
}

fn connect(target: &Target) -> Result<Client<NativeTransport>, CommandError> {
    let transport = NativeTransport::new(
        &target.host,
        target.tls.as_ref(),
        TransportOptions::default(),
    )
    .map_err(wharf_client_core::Error::from)?;
    Ok(Client::new(transport, target.client_config())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[tokio::test]
    async fn a_daemon_that_is_down_gets_the_docker_message() {
        let cli =
            Cli::try_parse_from(["wharf", "-H", "unix:///nonexistent/wharf.sock", "ping"]).unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let e = run(&cli, |_| None, true, &mut out, &mut err)
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Cannot connect to the daemon at unix:///nonexistent/wharf.sock. Is it running?"
        );
        assert!(out.is_empty());
    }

    #[tokio::test]
    async fn version_prints_the_client_even_when_the_daemon_is_down() {
        let cli = Cli::try_parse_from(["wharf", "version"]).unwrap();
        let env =
            |name: &str| (name == "DOCKER_HOST").then(|| "unix:///nonexistent.sock".to_owned());
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let e = run(&cli, env, true, &mut out, &mut err).await.unwrap_err();
        assert!(matches!(e, AppError::Daemon { .. }));
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("Client:\n Version:"), "{text}");
        assert!(!text.contains("Server:"), "{text}");
    }

    #[test]
    fn broken_pipes_are_recognised() {
        let e = AppError::Output(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(e.is_broken_pipe());
        assert!(
            !AppError::Output(std::io::Error::from(std::io::ErrorKind::Other)).is_broken_pipe()
        );
    }
}
