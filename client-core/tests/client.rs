//! The async client over a scripted transport: negotiation happens once, lazily, and shapes every path.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::collections::VecDeque;
use std::sync::Mutex;

use bytes::Bytes;
use futures_executor::block_on;
use http::header::{HeaderMap, HeaderValue};
use http::Method;
use wharf_client_core::api::containers::LogsOptions;
use wharf_client_core::api::system::EventsOptions;
use wharf_client_core::models::EventMessage;
use wharf_client_core::request::DUMMY_HOST;
use wharf_client_core::stdcopy::StdStream;
use wharf_client_core::{
    ApiVersion, BodyStream, Client, ClientConfig, Error, ErrorKind, Request, Response,
    StreamingResponse, StreamingTransport, Transport, TransportError, TransportErrorKind,
};

/// Answers each request with the next scripted response and records what was sent.
#[derive(Default)]
struct Scripted {
    answers: Mutex<VecDeque<Result<Response, TransportError>>>,
    sent: Mutex<Vec<Request>>,
}

impl Scripted {
    fn new(answers: Vec<Result<Response, TransportError>>) -> Self {
        Self {
            answers: Mutex::new(answers.into()),
            sent: Mutex::default(),
        }
    }

    fn sent(&self) -> Vec<(Method, String)> {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .map(|r| (r.method.clone(), r.path_and_query.clone()))
            .collect()
    }
}

impl Transport for Scripted {
    async fn send(&self, request: Request) -> Result<Response, TransportError> {
        self.sent.lock().unwrap().push(request);
        self.answers
            .lock()
            .unwrap()
            .pop_front()
            .expect("a scripted answer for every request")
    }
}

/// A body handed out a line at a time, as a daemon flushes a followed log or an event.
#[derive(Debug)]
struct Lines(VecDeque<Bytes>);

impl BodyStream for Lines {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, TransportError> {
        Ok(self.0.pop_front())
    }
}

impl StreamingTransport for Scripted {
    type Body = Lines;

    async fn send_streaming(
        &self,
        request: Request,
    ) -> Result<StreamingResponse<Lines>, TransportError> {
        let answer = self.send(request).await?;
        let lines = answer
            .body
            .split_inclusive(|b| *b == b'\n')
            .map(Bytes::copy_from_slice)
            .collect();
        Ok(StreamingResponse {
            status: answer.status,
            headers: answer.headers,
            body: Lines(lines),
        })
    }
}

fn answer(
    status: u16,
    headers: &[(&'static str, &'static str)],
    body: &'static str,
) -> Result<Response, TransportError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(*name, HeaderValue::from_static(value));
    }
    Ok(Response {
        status,
        headers: map,
        body: Bytes::from_static(body.as_bytes()),
    })
}

fn config(pinned: Option<ApiVersion>) -> ClientConfig {
    ClientConfig {
        host_header: DUMMY_HOST.into(),
        base_path: String::new(),
        pinned_version: pinned,
    }
}

const VERSION_BODY: &str =
    r#"{"Version":"20.10.24","ApiVersion":"1.41","Os":"linux","Arch":"amd64"}"#;

#[test]
fn negotiates_once_then_prefixes_every_path_with_the_lower_version() {
    let t = Scripted::new(vec![
        answer(200, &[("api-version", "1.41"), ("ostype", "linux")], ""),
        answer(200, &[("content-type", "application/json")], VERSION_BODY),
        answer(
            200,
            &[("content-type", "application/json")],
            r#"{"ID":"x","NCPU":2}"#,
        ),
    ]);
    let client = Client::new(t, config(None)).unwrap();
    let version = block_on(client.version()).unwrap();
    assert_eq!(version.version.as_deref(), Some("20.10.24"));
    let info = block_on(client.info()).unwrap();
    assert_eq!(info.ncpu, Some(2));
    assert_eq!(client.api_version(), Some(ApiVersion::new(1, 41)));
    assert_eq!(
        client.transport().sent(),
        vec![
            (Method::HEAD, "/_ping".to_owned()),
            (Method::GET, "/v1.41/version".to_owned()),
            (Method::GET, "/v1.41/info".to_owned()),
        ]
    );
}

#[test]
fn a_refused_head_falls_back_to_get() {
    let t = Scripted::new(vec![
        answer(405, &[], ""),
        answer(200, &[("api-version", "1.50")], "OK"),
        answer(200, &[("content-type", "application/json")], VERSION_BODY),
    ]);
    let client = Client::new(t, config(None)).unwrap();
    block_on(client.version()).unwrap();
    assert_eq!(
        client.api_version(),
        Some(wharf_client_core::MAX_API_VERSION)
    );
    let methods: Vec<Method> = client
        .transport()
        .sent()
        .into_iter()
        .map(|(m, _)| m)
        .collect();
    assert_eq!(methods, vec![Method::HEAD, Method::GET, Method::GET]);
}

#[test]
fn a_pinned_version_skips_the_ping() {
    let t = Scripted::new(vec![answer(
        200,
        &[("content-type", "application/json")],
        VERSION_BODY,
    )]);
    let client = Client::new(t, config(Some(ApiVersion::new(1, 30)))).unwrap();
    block_on(client.version()).unwrap();
    assert_eq!(
        client.transport().sent(),
        vec![(Method::GET, "/v1.30/version".to_owned())]
    );
}

#[test]
fn a_server_below_the_minimum_is_a_clear_error_and_nothing_else_is_sent() {
    let t = Scripted::new(vec![answer(200, &[("api-version", "1.12")], "")]);
    let client = Client::new(t, config(None)).unwrap();
    let err = block_on(client.info()).unwrap_err();
    assert!(matches!(err, Error::ServerTooOld { .. }), "{err:?}");
    assert!(
        err.to_string().contains("1.12") && err.to_string().contains("1.24"),
        "{err}"
    );
    assert_eq!(client.transport().sent().len(), 1);
}

#[test]
fn daemon_errors_and_transport_errors_stay_typed() {
    let t = Scripted::new(vec![
        answer(200, &[("api-version", "1.47")], ""),
        answer(
            500,
            &[("content-type", "application/json")],
            r#"{"message":"boom"}"#,
        ),
        Err(TransportError::new(TransportErrorKind::Connect, "refused")),
    ]);
    let client = Client::new(t, config(None)).unwrap();
    let err = block_on(client.info()).unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::System));
    assert_eq!(err.to_string(), "Error response from daemon: boom");
    let err = block_on(client.version()).unwrap_err();
    assert!(matches!(
        err,
        Error::Transport(TransportError {
            kind: TransportErrorKind::Connect,
            ..
        })
    ));
}

#[test]
fn container_calls_send_their_requests_and_decode_their_answers() {
    use wharf_client_core::api::containers::{
        CreateOptions, LogsOptions, RemoveOptions, StopOptions, WaitCondition,
    };
    use wharf_client_core::models::{ContainerConfig, ContainerCreateBody};
    let json = [("content-type", "application/json")];
    let t = Scripted::new(vec![
        answer(201, &json, r#"{"Id":"abc","Warnings":[]}"#),
        answer(204, &[], ""),
        answer(304, &[], ""),
        answer(200, &json, "{\"Error\":null,\"StatusCode\":3}\n"),
        answer(200, &[], "\u{1}\0\0\0\0\0\0\u{3}hi\n"),
        answer(204, &[], ""),
        answer(
            409,
            &json,
            r#"{"message":"cannot stop container: abc: is paused"}"#,
        ),
    ]);
    let client = Client::new(t, config(Some(ApiVersion::new(1, 47)))).unwrap();
    let body = ContainerCreateBody {
        config: ContainerConfig {
            image: Some("busybox".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let options = CreateOptions {
        name: Some("web".into()),
        ..Default::default()
    };
    let created = block_on(client.create_container(&body, &options)).unwrap();
    assert_eq!(created.id, "abc");
    block_on(client.start_container("abc")).unwrap();
    // 304: it was running already, which the docker CLI takes as success.
    block_on(client.start_container("abc")).unwrap();
    let waited = block_on(client.wait_container("abc", Some(WaitCondition::NextExit))).unwrap();
    assert_eq!(waited.status_code, 3);
    let logs = LogsOptions {
        stdout: true,
        ..Default::default()
    };
    let frames = block_on(client.container_logs("abc", &logs, false)).unwrap();
    assert_eq!(&frames[0].payload[..], b"hi\n");
    let rm = RemoveOptions {
        force: true,
        volumes: false,
    };
    block_on(client.remove_container("abc", &rm)).unwrap();
    let err = block_on(client.stop_container("abc", &StopOptions::default())).unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::Conflict));
    // A blank ID is refused before anything is sent.
    let err = block_on(client.kill_container(" ", None)).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    assert_eq!(
        client.transport().sent(),
        vec![
            (Method::POST, "/v1.47/containers/create?name=web".to_owned()),
            (Method::POST, "/v1.47/containers/abc/start".to_owned()),
            (Method::POST, "/v1.47/containers/abc/start".to_owned()),
            (
                Method::POST,
                "/v1.47/containers/abc/wait?condition=next-exit".to_owned()
            ),
            (
                Method::GET,
                "/v1.47/containers/abc/logs?stdout=1".to_owned()
            ),
            (Method::DELETE, "/v1.47/containers/abc?force=1".to_owned()),
            (Method::POST, "/v1.47/containers/abc/stop".to_owned()),
        ]
    );
}

#[test]
fn image_calls_negotiate_first_and_import_sends_the_archive() {
    use wharf_client_core::api::images::{self, ImportOptions, RemoveOptions};
    let json = [("content-type", "application/json")];
    let t = Scripted::new(vec![
        answer(200, &[("api-version", "1.41")], ""),
        answer(200, &json, "{\"status\":\"sha256:d1bd\"}\r\n"),
        answer(201, &[], ""),
        answer(200, &json, r#"[{"Untagged":"my/app:v1"}]"#),
        answer(
            200,
            &json,
            r#"{"LayersSize":0,"Images":[],"Containers":[],"Volumes":[],"BuildCache":null,"BuilderSize":0}"#,
        ),
    ]);
    let client = Client::new(t, config(None)).unwrap();
    let options = ImportOptions {
        repo: Some("my/imp:3".into()),
        ..Default::default()
    };
    let messages =
        block_on(client.import_image(&options, Bytes::from_static(b"tar bytes"))).unwrap();
    assert_eq!(images::imported_id(&messages), Some("sha256:d1bd"));
    block_on(client.tag_image("my/imp:3", "my/app", Some("v1"))).unwrap();
    let removed = block_on(client.remove_image("my/app:v1", &RemoveOptions::default())).unwrap();
    assert_eq!(removed[0].untagged.as_deref(), Some("my/app:v1"));
    let df = block_on(client.df()).unwrap();
    assert_eq!(df.layers_size, Some(0));
    let sent = client.transport().sent.lock().unwrap().clone();
    let paths: Vec<&str> = sent.iter().map(|r| r.path_and_query.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/_ping",
            "/v1.41/images/create?fromSrc=-&repo=my%2Fimp%3A3",
            "/v1.41/images/my/imp:3/tag?repo=my%2Fapp&tag=v1",
            "/v1.41/images/my/app:v1",
            "/v1.41/system/df",
        ]
    );
    assert_eq!(sent[1].body.as_deref(), Some(&b"tar bytes"[..]));
    assert_eq!(sent[1].headers["content-type"], "application/x-tar");
}

#[test]
fn followed_logs_take_their_framing_from_the_negotiated_answer() {
    // API 1.47 names the framing: raw output of a TTY container even though the caller said no TTY.
    let t = Scripted::new(vec![
        answer(200, &[("api-version", "1.47")], ""),
        answer(
            200,
            &[("content-type", "application/vnd.docker.raw-stream")],
            "1\n2\n",
        ),
    ]);
    let client = Client::new(t, config(None)).unwrap();
    let options = LogsOptions {
        stdout: true,
        follow: true,
        ..LogsOptions::default()
    };
    let mut logs = block_on(client.logs_stream("c", &options, false)).unwrap();
    let lines: Vec<(StdStream, Bytes)> = block_on(async {
        let mut lines = Vec::new();
        while let Some(frame) = logs.next().await {
            let frame = frame.unwrap();
            lines.push((frame.stream, frame.payload));
        }
        lines
    });
    assert_eq!(
        lines,
        vec![
            (StdStream::Stdout, Bytes::from_static(b"1\n")),
            (StdStream::Stdout, Bytes::from_static(b"2\n"))
        ]
    );
    assert_eq!(
        client.transport().sent()[1],
        (
            Method::GET,
            "/v1.47/containers/c/logs?follow=1&stdout=1".to_owned()
        )
    );
}

#[test]
fn events_stream_one_by_one_and_a_refusal_is_the_daemon_s_error() {
    let t = Scripted::new(vec![
        answer(200, &[("api-version", "1.47")], ""),
        answer(
            200,
            &[("content-type", "application/json")],
            "{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"a\"}}\n{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"a\"}}\n",
        ),
        answer(
            400,
            &[("content-type", "application/json")],
            r#"{"message":"invalid filter 'x'"}"#,
        ),
    ]);
    let client = Client::new(t, config(None)).unwrap();
    let mut events = block_on(client.events::<EventMessage>(&EventsOptions::default())).unwrap();
    let first = block_on(events.next()).unwrap().unwrap();
    assert_eq!(
        (first.action.as_str(), first.actor.id.as_str()),
        ("start", "a")
    );
    assert_eq!(block_on(events.next()).unwrap().unwrap().action, "die");
    assert!(block_on(events.next()).is_none());
    let err = block_on(client.events::<EventMessage>(&EventsOptions::default())).unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::InvalidParameter));
    assert_eq!(
        err.to_string(),
        "Error response from daemon: invalid filter 'x'"
    );
}

#[test]
fn a_prepared_request_is_negotiated_and_not_sent() {
    use wharf_client_core::api::websocket::exec_ws_request;
    let t = Scripted::new(vec![answer(200, &[("api-version", "1.45")], "")]);
    let client = Client::new(t, config(None)).unwrap();
    let ws = block_on(client.prepare(|f| exec_ws_request(f, "e1", Some((24, 80))))).unwrap();
    assert_eq!(ws.path_and_query, "/v1.45/exec/e1/start/ws?h=24&w=80");
    let blank = block_on(client.prepare(|f| exec_ws_request(f, " ", None))).unwrap_err();
    assert_eq!(blank.to_string(), "invalid exec name or ID: value is empty");
    assert_eq!(
        client.transport().sent(),
        vec![(Method::HEAD, "/_ping".to_owned())]
    );
}

#[test]
fn stats_samples_stream_one_by_one() {
    let t = Scripted::new(vec![
        answer(200, &[("api-version", "1.47")], ""),
        answer(
            200,
            &[("content-type", "application/json")],
            "{\"read\":\"a\",\"pids_stats\":{\"current\":1}}\n{\"read\":\"b\",\"pids_stats\":{\"current\":2}}\n",
        ),
    ]);
    let client = Client::new(t, config(None)).unwrap();
    let mut stats = block_on(client.stats_stream::<serde_json::Value>("web")).unwrap();
    assert_eq!(block_on(stats.next()).unwrap().unwrap()["read"], "a");
    assert_eq!(
        block_on(stats.next()).unwrap().unwrap()["pids_stats"]["current"],
        2
    );
    assert!(block_on(stats.next()).is_none());
    assert_eq!(
        client.transport().sent()[1],
        (
            Method::GET,
            "/v1.47/containers/web/stats?stream=1".to_owned()
        )
    );
}
