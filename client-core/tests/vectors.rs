//! Test vectors: the same calls must build the same bytes, and the same bytes decode the same way,
//! natively and on wasm32. `cargo xtask test` runs this file on both targets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::collections::BTreeMap;

use http::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use http::Method;
use serde::Deserialize;
use wharf_client_core::api::system;
use wharf_client_core::host::Side;
use wharf_client_core::request::USER_AGENT_VALUE;
use wharf_client_core::stdcopy::{StdStream, StdcopyDecoder};
use wharf_client_core::{
    negotiate, response, DockerHost, ErrorKind, Filters, Query, RequestFactory,
};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const VECTORS: &str = include_str!("vectors.json");

#[derive(Deserialize)]
struct Vectors {
    requests: Vec<RequestVector>,
    errors: Vec<ErrorVector>,
    stdcopy: Vec<StdcopyVector>,
}

#[derive(Deserialize)]
struct RequestVector {
    name: String,
    host: String,
    #[serde(default)]
    tls: bool,
    version: Option<String>,
    call: Call,
    expect: String,
}

#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum Call {
    Ping,
    Version,
    Info,
    Get(Raw),
    Post(Raw),
}

#[derive(Deserialize)]
struct Raw {
    path: String,
    #[serde(default)]
    flags: BTreeMap<String, bool>,
    #[serde(default)]
    params: BTreeMap<String, String>,
    #[serde(default)]
    filters: BTreeMap<String, Vec<String>>,
    body: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ErrorVector {
    name: String,
    status: u16,
    content_type: Option<String>,
    body: String,
    kind: String,
    display: String,
}

#[derive(Deserialize)]
struct StdcopyVector {
    name: String,
    hex: String,
    frames: Vec<(u8, String)>,
}

fn vectors() -> Vectors {
    serde_json::from_str(VECTORS).expect("vectors.json parses")
}

fn query(raw: &Raw) -> Query {
    let mut q = Query::new();
    for (k, on) in &raw.flags {
        q.flag(k, *on);
    }
    for (k, v) in &raw.params {
        q.append(k, v.clone());
    }
    let mut f = Filters::new();
    for (name, values) in &raw.filters {
        for v in values {
            f.add(name, v.clone());
        }
    }
    q.filters(&f);
    q
}

#[test]
fn every_call_builds_the_expected_bytes() {
    let vectors = vectors();
    assert!(!vectors.requests.is_empty());
    for v in vectors.requests {
        let host = DockerHost::parse(&v.host, v.tls, Side::Client).expect(&v.name);
        let mut factory =
            RequestFactory::new(&host.host_header(), host.base_path()).expect(&v.name);
        if let Some(version) = &v.version {
            factory.set_version(version.parse().expect(&v.name));
        }
        let request = match &v.call {
            Call::Ping => negotiate::ping_request(&factory),
            Call::Version => system::version_request(&factory),
            Call::Info => system::info_request(&factory),
            Call::Get(raw) => factory.build(Method::GET, &raw.path, &query(raw)),
            Call::Post(raw) => match &raw.body {
                Some(body) => factory
                    .build_json(Method::POST, &raw.path, &query(raw), body)
                    .expect(&v.name),
                None => factory.build(Method::POST, &raw.path, &query(raw)),
            },
        };
        let got = String::from_utf8(request.to_http1_bytes()).expect("requests are UTF-8 here");
        let want = v.expect.replace("{user_agent}", USER_AGENT_VALUE);
        assert_eq!(got, want, "vector {:?}", v.name);
    }
}

#[test]
fn every_error_answer_decodes_to_the_expected_kind_and_message() {
    for v in vectors().errors {
        let mut headers = HeaderMap::new();
        if let Some(ct) = &v.content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_str(ct).expect(&v.name));
        }
        let err = response::daemon_error(v.status, &headers, v.body.as_bytes(), "GET /v1.47/info");
        assert_eq!(format!("{:?}", err.kind), v.kind, "vector {:?}", v.name);
        assert_eq!(err.kind, ErrorKind::from_status(v.status));
        assert_eq!(err.to_string(), v.display, "vector {:?}", v.name);
    }
}

#[test]
fn every_stdcopy_stream_decodes_to_the_expected_frames() {
    for v in vectors().stdcopy {
        let bytes: Vec<u8> = (0..v.hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&v.hex[i..i + 2], 16).expect(&v.name))
            .collect();
        let mut decoder = StdcopyDecoder::default();
        decoder.push(&bytes);
        let mut got = Vec::new();
        while let Some(frame) = decoder.next_frame().expect(&v.name) {
            let stream = match frame.stream {
                StdStream::Stdin => 0,
                StdStream::Stdout => 1,
                StdStream::Stderr => 2,
                StdStream::SystemErr => 3,
            };
            got.push((
                stream,
                String::from_utf8(frame.payload.to_vec()).expect(&v.name),
            ));
        }
        decoder.finish().expect(&v.name);
        assert_eq!(got, v.frames, "vector {:?}", v.name);
    }
}
