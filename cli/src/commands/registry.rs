//! `wharf pull`, `wharf push`, `wharf login` and `wharf logout`, as the docker CLI words them.
//!
//! Pull and push draw the daemon's progress as it arrives: in a terminal one line per layer, rewritten in
//! place (client-core's [`Board`] says which); otherwise, as the docker CLI does, only the messages
//! without a progress bar, one line each, so a log holds what happened and not thousands of bars.
//! Credentials come from (and go to) the docker CLI's config file ([`crate::credentials`]).

use std::io::{self, Read as _, Write};

use wharf_client_core::api::registry::{ProgressMessage, PullOptions};
use wharf_client_core::progress::{self, Board, Change};
use wharf_client_core::registry_auth::RegistryAuth;
use wharf_client_core::{Client, Reference, StreamingTransport, Transport};

use super::CommandError;
use crate::credentials::{self, ConfigFile};

/// How progress is shown.
#[derive(Debug)]
pub struct ProgressView {
    board: Board,
    terminal: bool,
}

impl ProgressView {
    /// A view for a terminal (lines rewritten in place) or not (plain lines).
    pub fn new(terminal: bool) -> Self {
        Self {
            board: Board::new(terminal),
            terminal,
        }
    }

    /// Shows `message` on `out`.
    pub fn show(&mut self, message: &ProgressMessage, out: &mut impl Write) -> io::Result<()> {
        if self.terminal {
            match self.board.apply(message) {
                Some(Change::Append(text)) => writeln!(out, "{text}")?,
                Some(Change::Rewrite { up, text }) => {
                    let n = up + 1;
                    write!(out, "\x1b[{n}A\r\x1b[2K{text}\r\x1b[{n}B")?;
                }
                None => {}
            }
            return out.flush();
        }
        let status = message.status.as_deref().unwrap_or_default();
        let id = message.id.as_deref().filter(|id| !id.is_empty());
        let bar = message
            .progress_detail
            .as_ref()
            .map(|d| progress::progress(d, false))
            .unwrap_or_default();
        if !bar.is_empty() || (status.is_empty() && id.is_none()) {
            return Ok(());
        }
        writeln!(out, "{}", progress::line(id, status, None, false))
    }
}

/// The login kept for the registry `image` lives in, if any.
pub fn stored_auth(config: &ConfigFile, image: &str) -> Result<RegistryAuth, CommandError> {
    let Some(server) = credentials::server_of_image(image) else {
        return Ok(RegistryAuth::default());
    };
    Ok(config.get(&server)?.unwrap_or_default())
}

fn parse(name: &str) -> Result<Reference, CommandError> {
    Reference::parse(name.trim()).map_err(|e| CommandError::Usage(e.to_string()))
}

/// `wharf pull [--platform P] NAME`.
pub async fn pull<T: StreamingTransport>(
    client: &Client<T>,
    name: &str,
    platform: Option<String>,
    auth: &RegistryAuth,
    view: &mut ProgressView,
    out: &mut impl Write,
) -> Result<(), CommandError> {
    let reference = parse(name)?;
    if reference.tag().is_none() && reference.digest().is_none() {
        writeln!(out, "Using default tag: latest")?;
    }
    let options = PullOptions { platform };
    let mut messages = client.pull_stream(name, &options, auth).await?;
    while let Some(message) = messages.next().await {
        view.show(&message?, out)?;
    }
    let full = match (reference.digest(), reference.tag()) {
        (Some(digest), _) => format!("{}@{digest}", reference.name()),
        (None, tag) => format!("{}:{}", reference.name(), tag.unwrap_or("latest")),
    };
    writeln!(out, "{full}")?;
    Ok(())
}

/// `wharf push NAME`.
pub async fn push<T: StreamingTransport>(
    client: &Client<T>,
    name: &str,
    auth: &RegistryAuth,
    view: &mut ProgressView,
    out: &mut impl Write,
) -> Result<(), CommandError> {
    let reference = parse(name)?;
    if reference.tag().is_none() && reference.digest().is_none() {
        writeln!(
            out,
            "Using default tag: latest\nThe push refers to repository [{}]",
            reference.name()
        )?;
    }
    let mut messages = client.push_stream(name, auth).await?;
    while let Some(message) = messages.next().await {
        view.show(&message?, out)?;
    }
    Ok(())
}

/// What `wharf login` was given.
#[derive(Debug, Default)]
pub struct LoginInput {
    /// The registry; Docker Hub when `None`.
    pub server: Option<String>,
    /// `-u`.
    pub username: Option<String>,
    /// `-p`.
    pub password: Option<String>,
    /// `--password-stdin`.
    pub password_stdin: bool,
}

/// `wharf login`: checks the credentials with the daemon (`POST /auth`), then keeps them in `config`.
pub async fn login<T: Transport>(
    client: &Client<T>,
    input: LoginInput,
    config: &mut ConfigFile,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<(), CommandError> {
    let server = credentials::server_key(input.server.as_deref());
    config.check_no_helper(&server)?;
    let password =
        match (input.password, input.password_stdin) {
            (Some(_), true) => {
                return Err(CommandError::Usage(
                    "--password and --password-stdin are mutually exclusive".to_owned(),
                ))
            }
            (Some(p), false) => {
                writeln!(
                    err,
                    "WARNING! Using --password via the CLI is insecure. Use --password-stdin."
                )?;
                p
            }
            (None, true) => {
                if input.username.is_none() {
                    return Err(CommandError::Usage(
                        "Must provide --username with --password-stdin".to_owned(),
                    ));
                }
                let mut text = String::new();
                io::stdin().read_to_string(&mut text)?;
                text.trim_end_matches(['\n', '\r']).to_owned()
            }
            (None, false) => return Err(CommandError::Usage(
                "Cannot perform an interactive login: give --username with --password-stdin or \
                 --password"
                    .to_owned(),
            )),
        };
    let username = input.username.unwrap_or_default();
    let mut auth = RegistryAuth {
        username,
        password,
        serveraddress: server.clone(),
        ..RegistryAuth::default()
    };
    let answer = client.login(&auth).await?;
    if let Some(token) = answer.identity_token.filter(|t| !t.is_empty()) {
        auth.identitytoken = token;
        auth.password.clear();
    }
    writeln!(
        err,
        "WARNING! Your password will be stored unencrypted in {}.",
        config.path().display()
    )?;
    config.set(&server, &auth)?;
    writeln!(out, "{}", answer.status)?;
    Ok(())
}

/// `wharf logout [SERVER]`: forgets the login kept for the server.
pub fn logout(
    server: Option<&str>,
    config: &mut ConfigFile,
    out: &mut impl Write,
) -> Result<(), CommandError> {
    let server = credentials::server_key(server);
    if config.remove(&server)? {
        writeln!(out, "Removing login credentials for {server}")?;
    } else {
        writeln!(out, "Not logged in to {server}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_client_core::models::ProgressDetail;

    fn msg(id: &str, status: &str, detail: Option<(i64, i64)>) -> ProgressMessage {
        ProgressMessage {
            id: (!id.is_empty()).then(|| id.to_owned()),
            status: Some(status.to_owned()),
            progress_detail: detail.map(|(c, t)| ProgressDetail {
                current: Some(c),
                total: Some(t),
            }),
            ..ProgressMessage::default()
        }
    }

    #[test]
    fn without_a_terminal_bars_are_left_out_and_the_rest_is_one_line_each() {
        let mut view = ProgressView::new(false);
        let mut out = Vec::new();
        for m in [
            msg("1", "Pulling from app", None),
            msg("aa", "Pulling fs layer", Some((0, 0))),
            msg("aa", "Downloading", Some((5, 10))),
            msg("aa", "Pull complete", Some((0, 0))),
            msg("", "Digest: sha256:ab", None),
        ] {
            view.show(&m, &mut out).unwrap();
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "1: Pulling from app\naa: Pulling fs layer\naa: Pull complete\nDigest: sha256:ab\n"
        );
    }

    #[test]
    fn in_a_terminal_a_layer_is_rewritten_in_place() {
        let mut view = ProgressView::new(true);
        let mut out = Vec::new();
        view.show(&msg("aa", "Pulling fs layer", Some((0, 0))), &mut out)
            .unwrap();
        view.show(&msg("bb", "Pulling fs layer", Some((0, 0))), &mut out)
            .unwrap();
        out.clear();
        view.show(&msg("aa", "Downloading", Some((5, 10))), &mut out)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("\x1b[2A\r\x1b[2Kaa: Downloading ["),
            "{text:?}"
        );
        assert!(text.ends_with("5B/10B\r\x1b[2B"), "{text:?}");
    }
}
