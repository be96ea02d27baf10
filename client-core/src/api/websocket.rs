//! The WebSocket routes, for browsers (which cannot take an HTTP connection over as the docker CLI does).
//!
//! - `GET /containers/{id}/attach/ws` is dockerd's: the query of `attach` (`logs`, `stream`, `stdin`,
//!   `stdout`, `stderr`, `detachKeys`); the container's output unmultiplexed in binary messages (dockerd
//!   sent text messages before API 1.42; Wharf sends binary to every version, since a text message must
//!   be UTF-8 and output need not be), the client's messages its stdin.
//! - `GET /exec/{id}/start/ws` is Wharf's own (moby#9372 asked for it in 2014): it starts an exec created
//!   with `POST /containers/{id}/exec`, `h` and `w` sizing its TTY at start. Binary messages carry bytes
//!   both ways: the client's are the process's stdin; the server's its output, as a TTY writes it, or,
//!   without a TTY, a first byte naming the stream (1 stdout, 2 stderr) and then its bytes. Text messages
//!   are JSON [`Control`] messages: the client resizes; the server's last message is the exit code, then
//!   a normal close (1000). The server pings every 30 s, so that proxies keep an idle terminal open. A
//!   client that closes before the process ends kills the process.
//!
//! Bytes are never decoded as text on the way, so a character split across messages arrives whole.
//! What a browser cannot send (headers) it proves otherwise: see the daemon's WebSocket tickets.

use http::Method;

use super::{NoContent, Object, TypedRequest};
use crate::error::Error;
use crate::query::Query;
use crate::request::{Request, RequestFactory};
use crate::stdcopy::StdStream;

/// How often the daemon pings an exec WebSocket, in seconds.
pub const PING_INTERVAL_SECS: u64 = 30;

/// A control message of the exec WebSocket, in a text message as JSON (`{"type":"resize","h":24,"w":80}`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Control {
    /// From the client: the terminal's new size.
    Resize {
        /// Rows.
        h: u32,
        /// Columns.
        w: u32,
    },
    /// From the server, last: the process's exit code.
    Exit {
        /// The exit code.
        code: i64,
    },
}

impl Control {
    /// The JSON text of the message.
    pub fn to_text(&self) -> String {
        // An enum of integers always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a text message.
    pub fn from_text(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// The query of `attach/ws` (and of `attach`): what to stream, and the detach keys.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttachOptions {
    /// Replay the container's log first.
    pub logs: bool,
    /// Stream what comes.
    pub stream: bool,
    /// Take the client's input as stdin.
    pub stdin: bool,
    /// Send stdout.
    pub stdout: bool,
    /// Send stderr.
    pub stderr: bool,
    /// The detach keys (`ctrl-p,ctrl-q` when `None`).
    pub detach_keys: Option<String>,
}

/// `GET /containers/{id}/attach/ws`: its path and query, for the WebSocket URL.
pub fn attach_ws_request(
    factory: &RequestFactory,
    container: &str,
    options: &AttachOptions,
) -> Result<TypedRequest<NoContent>, Error> {
    let mut query = Query::new();
    for (name, on) in [
        ("logs", options.logs),
        ("stream", options.stream),
        ("stdin", options.stdin),
        ("stdout", options.stdout),
        ("stderr", options.stderr),
    ] {
        if on {
            query.append(name, "1");
        }
    }
    if let Some(keys) = &options.detach_keys {
        query.append("detachKeys", keys);
    }
    Object::Container.request(factory, Method::GET, container, "/attach/ws", &query)
}

/// `GET /exec/{id}/start/ws`, with the TTY's size at start when there is one: its path and query.
pub fn exec_ws_request(
    factory: &RequestFactory,
    exec: &str,
    size: Option<(u32, u32)>,
) -> Result<TypedRequest<NoContent>, Error> {
    let query = match size {
        Some((h, w)) => super::exec::size_query(h, w),
        None => Query::new(),
    };
    Object::Exec.request(factory, Method::GET, exec, "/start/ws", &query)
}

/// `request` (an upgrade route's) carrying a WebSocket `ticket` (from
/// [`ws_ticket_request`](super::wharf::ws_ticket_request)) in its query, which is where a browser can put
/// it. The URL then holds a secret for 30 s: open it at once, and never log it.
pub fn with_ticket(mut request: Request, ticket: &str) -> Request {
    let mut query = Query::new();
    query.append("ticket", ticket);
    let separator = if request.path_and_query.contains('?') {
        '&'
    } else {
        '?'
    };
    request.path_and_query.push(separator);
    request.path_and_query.push_str(&query.encode());
    request
}

/// A binary message of an exec's output: the bytes as they are with a TTY, else the stream's byte first.
pub fn encode_output(stream: Option<StdStream>, data: &[u8]) -> Vec<u8> {
    match stream {
        None => data.to_vec(),
        Some(stream) => {
            let mut message = Vec::with_capacity(data.len() + 1);
            message.push(stream as u8);
            message.extend_from_slice(data);
            message
        }
    }
}

/// A server message the protocol does not allow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("exec output message without a stream byte (1 stdout, 2 stderr): {0:?}")]
pub struct BadOutputMessage(pub Option<u8>);

/// Reads a binary output message: the stream (stdout with a TTY) and its bytes.
pub fn decode_output(message: &[u8], tty: bool) -> Result<(StdStream, &[u8]), BadOutputMessage> {
    if tty {
        return Ok((StdStream::Stdout, message));
    }
    match message.split_first() {
        Some((1, rest)) => Ok((StdStream::Stdout, rest)),
        Some((2, rest)) => Ok((StdStream::Stderr, rest)),
        other => Err(BadOutputMessage(other.map(|(b, _)| *b))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::ApiVersion;

    fn factory() -> RequestFactory {
        let mut f = RequestFactory::new("docker", "").unwrap();
        f.set_version(ApiVersion::new(1, 47));
        f
    }

    #[test]
    fn control_messages_are_tagged_json() {
        let resize = Control::Resize { h: 24, w: 80 };
        assert_eq!(resize.to_text(), r#"{"type":"resize","h":24,"w":80}"#);
        assert_eq!(
            Control::from_text(r#"{"type":"exit","code":3}"#).unwrap(),
            Control::Exit { code: 3 }
        );
        assert!(Control::from_text(r#"{"type":"shout"}"#).is_err());
        assert!(Control::from_text(r#"{"type":"resize","h":-1,"w":80}"#).is_err());
    }

    #[test]
    fn paths_and_queries() {
        let f = factory();
        let r = exec_ws_request(&f, "abc", Some((24, 80))).unwrap();
        assert_eq!(
            r.request.path_and_query,
            "/v1.47/exec/abc/start/ws?h=24&w=80"
        );
        let r = exec_ws_request(&f, "abc", None).unwrap();
        assert_eq!(r.request.path_and_query, "/v1.47/exec/abc/start/ws");
        let options = AttachOptions {
            stream: true,
            stdin: true,
            stdout: true,
            detach_keys: Some("ctrl-x,x".into()),
            ..AttachOptions::default()
        };
        let r = attach_ws_request(&f, "web", &options).unwrap();
        assert_eq!(
            r.request.path_and_query,
            "/v1.47/containers/web/attach/ws?detachKeys=ctrl-x%2Cx&stdin=1&stdout=1&stream=1"
        );
        assert!(exec_ws_request(&f, "", None).is_err());
    }

    #[test]
    fn a_ticket_joins_the_query_escaped() {
        let f = factory();
        let sized = exec_ws_request(&f, "abc", Some((24, 80))).unwrap().request;
        assert_eq!(
            with_ticket(sized, "t-1_x").path_and_query,
            "/v1.47/exec/abc/start/ws?h=24&w=80&ticket=t-1_x"
        );
        let bare = exec_ws_request(&f, "abc", None).unwrap().request;
        assert_eq!(
            with_ticket(bare, "a+b/c").path_and_query,
            "/v1.47/exec/abc/start/ws?ticket=a%2Bb%2Fc"
        );
    }

    #[test]
    fn output_messages_name_their_stream_without_a_tty() {
        let m = encode_output(Some(StdStream::Stderr), b"oops\n");
        assert_eq!(m, b"\x02oops\n");
        assert_eq!(
            decode_output(&m, false).unwrap(),
            (StdStream::Stderr, &b"oops\n"[..])
        );
        let raw = encode_output(None, b"\x1b[1m\xe2\x82");
        assert_eq!(
            decode_output(&raw, true).unwrap(),
            (StdStream::Stdout, &raw[..])
        );
        assert_eq!(
            decode_output(b"", false).unwrap_err(),
            BadOutputMessage(None)
        );
        assert_eq!(
            decode_output(b"\x07x", false).unwrap_err(),
            BadOutputMessage(Some(7))
        );
    }
}
