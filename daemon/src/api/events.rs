//! `GET /events` — a system route in moby (`api/server/router/system`), kept in its own module.
//!
//! Replays the history from `since` (when `since` or `until` is given), then streams live events as
//! newline-delimited JSON, each in its own chunk, until `until`, a lag (see [`crate::events::bus`]) or the
//! client going away. The body is a stream polled by hyper, not a task: when the connection closes, hyper
//! drops the body and with it the subscription.

use std::convert::Infallible;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use wharf_client_core::Filters;

use crate::error::Error;
use crate::events::{parse_event_time, EventFilter, Subscription};
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/events", get(events))
}

#[derive(Debug, Default, serde::Deserialize)]
struct EventsQuery {
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    filters: String,
}

async fn events(
    State(state): State<AppState>,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Response, Error> {
    let Query(q) = query.map_err(|e| Error::invalid(e.body_text()))?;
    let now = SystemTime::now();
    let since = parse_event_time(&q.since, now).map_err(|e| Error::invalid(e.to_string()))?;
    let until = parse_event_time(&q.until, now).map_err(|e| Error::invalid(e.to_string()))?;
    if let (Some(s), Some(u)) = (since, until) {
        if u < s {
            return Err(Error::invalid(format!(
                "`since` time ({}) cannot be after `until` time ({})",
                q.since, q.until
            )));
        }
    }
    let filters = Filters::from_json(&q.filters).map_err(|e| Error::invalid(e.to_string()))?;
    let filter = EventFilter::from(&filters);
    let subscription = state.events().subscribe(since, until, filter);
    Ok((
        [(CONTENT_TYPE, "application/json")],
        events_body(subscription),
    )
        .into_response())
}

/// The streaming body: one JSON object and a newline per event.
fn events_body(subscription: Subscription) -> Body {
    let stream = futures_util::stream::unfold(subscription, |mut sub| async move {
        loop {
            let ev = sub.next().await?;
            match serde_json::to_vec(&*ev) {
                Ok(mut line) => {
                    line.push(b'\n');
                    return Some((Ok::<_, Infallible>(Bytes::from(line)), sub));
                }
                // A map of strings and numbers always serializes; skip rather than end if it ever does not.
                Err(e) => tracing::warn!("cannot encode event: {e}"),
            }
        }
    });
    Body::from_stream(stream)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{container_actor, EventActor, EventMessage};
    use http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use std::collections::BTreeMap;
    use std::time::{Duration, UNIX_EPOCH};
    use tower::ServiceExt;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn seed(state: &AppState) {
        let bus = state.events();
        let labels = BTreeMap::from([("tier".to_owned(), "web".to_owned())]);
        bus.log_at(
            "container",
            "create",
            container_actor("c1", "web", "bb:1", &labels),
            at(100),
        );
        bus.log_at(
            "container",
            "start",
            container_actor("c1", "web", "bb:1", &labels),
            at(101),
        );
        let mut die = container_actor("c2", "db", "alpine:3", &BTreeMap::new());
        die.attributes.insert("exitCode".into(), "3".into());
        bus.log_at("container", "die", die, at(102));
        bus.log_at(
            "image",
            "tag",
            EventActor {
                id: "sha256:aa".into(),
                attributes: BTreeMap::from([("name".to_owned(), "bb:1".to_owned())]),
            },
            at(103),
        );
        bus.log_at(
            "network",
            "create",
            EventActor {
                id: "n1".into(),
                attributes: BTreeMap::from([("name".to_owned(), "front".to_owned())]),
            },
            at(104),
        );
    }

    async fn get(
        state: &AppState,
        uri: &str,
    ) -> (StatusCode, http::HeaderMap, Vec<EventMessage>, String) {
        let response = crate::api::router(state.clone())
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let (parts, body) = response.into_parts();
        let bytes = tokio::time::timeout(Duration::from_secs(5), body.collect())
            .await
            .unwrap()
            .unwrap()
            .to_bytes();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        let events = if parts.status == StatusCode::OK {
            text.lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        } else {
            Vec::new()
        };
        (parts.status, parts.headers, events, text)
    }

    fn actions(events: &[EventMessage]) -> Vec<String> {
        events.iter().map(|e| e.action.clone()).collect()
    }

    #[tokio::test]
    async fn replays_history_between_since_and_until_then_ends() {
        let state = AppState::for_tests();
        seed(&state);
        let (status, headers, events, text) = get(&state, "/v1.47/events?since=0&until=200").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(
            actions(&events),
            ["create", "start", "die", "tag", "create"]
        );
        assert!(text.ends_with("}\n") && text.lines().count() == 5);
        assert_eq!(events[2].actor.attributes["exitCode"], "3");
        assert_eq!(events[2].from, "alpine:3");
        let (_, _, events, _) = get(&state, "/events?since=101&until=102.5").await;
        assert_eq!(actions(&events), ["start", "die"]);
        let (_, _, events, _) = get(&state, "/events?since=101.000000001&until=102").await;
        assert_eq!(actions(&events), ["die"]);
        let (_, _, events, _) = get(
            &state,
            "/events?since=1970-01-01T00:01:43Z&until=1970-01-01T00:01:43Z",
        )
        .await;
        assert_eq!(actions(&events), ["tag"]);
    }

    #[tokio::test]
    async fn each_filter_narrows_the_replay() {
        let state = AppState::for_tests();
        seed(&state);
        let q = |filters: &str| {
            let mut enc = wharf_client_core::Query::new();
            enc.append("since", "0")
                .append("until", "200")
                .append("filters", filters);
            format!("/events?{}", enc.encode())
        };
        for (filters, want) in [
            (r#"{"type":["container"]}"#, vec!["create", "start", "die"]),
            (r#"{"type":{"image":true}}"#, vec!["tag"]),
            (r#"{"event":["die","tag"]}"#, vec!["die", "tag"]),
            (r#"{"container":["db"]}"#, vec!["die"]),
            (r#"{"container":["c1"],"event":["start"]}"#, vec!["start"]),
            (r#"{"image":["bb"]}"#, vec!["create", "start", "tag"]),
            (r#"{"label":["tier=web"]}"#, vec!["create", "start"]),
            (r#"{"label":["tier=db"]}"#, vec![]),
            (
                r#"{"network":["front"],"type":["network"]}"#,
                vec!["create"],
            ),
            (r#"{"scope":["swarm"]}"#, vec![]),
        ] {
            let (status, _, events, text) = get(&state, &q(filters)).await;
            assert_eq!(status, StatusCode::OK, "{filters}: {text}");
            assert_eq!(actions(&events), want, "{filters}");
        }
    }

    #[tokio::test]
    async fn bad_arguments_are_400s() {
        let state = AppState::for_tests();
        for (uri, message) in [
            (
                "/events?since=abc",
                r#"failed to parse value as time or duration: \"abc\""#,
            ),
            (
                "/events?since=5&until=3",
                "`since` time (5) cannot be after `until` time (3)",
            ),
            ("/events?filters=%7Bbad", "invalid filter"),
            // dockerd refuses filters of spaces as bad JSON; only an empty one means none.
            ("/events?filters=%20%09", "invalid filter"),
        ] {
            let (status, _, _, text) = get(&state, uri).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
            assert!(text.contains(message), "{uri}: {text}");
        }
    }

    #[tokio::test]
    async fn streams_live_events_as_they_are_published_and_stops_at_until() {
        let state = AppState::for_tests();
        let response = crate::api::router(state.clone())
            .oneshot(
                Request::get("/events?until=3s&filters=%7B%22type%22%3A%5B%22volume%22%5D%7D")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        // `until=3s` means three seconds ago: nothing to replay, and no live part.
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(body.is_empty());

        let until = SystemTime::now() + Duration::from_secs(60);
        let uri = format!(
            "/events?until={}&filters=%7B%22type%22%3A%5B%22volume%22%5D%7D",
            until.duration_since(UNIX_EPOCH).unwrap().as_secs()
        );
        let response = crate::api::router(state.clone())
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let mut body = response.into_body();
        assert_eq!(state.events().listeners(), 1);
        let bus = state.events().clone();
        bus.log("container", "start", EventActor::default());
        bus.log(
            "volume",
            "create",
            EventActor {
                id: "v1".into(),
                ..Default::default()
            },
        );
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let line = frame.into_data().unwrap();
        assert!(line.ends_with(b"\n"));
        let ev: EventMessage = serde_json::from_slice(&line).unwrap();
        assert_eq!((ev.typ.as_str(), ev.actor.id.as_str()), ("volume", "v1"));
        drop(body);
        assert_eq!(state.events().listeners(), 0);
    }

    #[tokio::test]
    async fn a_lagging_client_is_cut_off() {
        let state = AppState::for_tests();
        let response = crate::api::router(state.clone())
            .oneshot(Request::get("/events").body(Body::empty()).unwrap())
            .await
            .unwrap();
        for _ in 0..crate::events::bus::SUBSCRIBER_QUEUE + 10 {
            state
                .events()
                .log("volume", "create", EventActor::default());
        }
        let body = tokio::time::timeout(Duration::from_secs(5), response.into_body().collect())
            .await
            .expect("a lagging subscriber's stream ends")
            .unwrap()
            .to_bytes();
        assert!(body.is_empty());
        assert_eq!(state.events().listeners(), 0);
    }

    #[tokio::test]
    async fn a_client_disconnect_over_a_real_socket_ends_the_subscription() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.sock");
        let listener = crate::listeners::Listener::Unix {
            listener: tokio::net::UnixListener::bind(&path).unwrap(),
            path: Some(path.clone()),
            display: path.display().to_string(),
        };
        let state = AppState::for_tests();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let server = tokio::spawn(crate::serve::serve(
            listener,
            crate::api::router(state.clone()),
            stop_rx,
            Duration::from_secs(1),
            crate::serve::ServeOptions::default(),
        ));
        let mut client = tokio::net::UnixStream::connect(&path).await.unwrap();
        client
            .write_all(b"GET /v1.41/events HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        state.events().log(
            "volume",
            "create",
            EventActor {
                id: "v9".into(),
                ..Default::default()
            },
        );
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&seen).contains("\"v9\"") {
            // The event may be published before the subscription exists; publish until it is seen.
            let n = tokio::time::timeout(Duration::from_millis(200), client.read(&mut buf)).await;
            match n {
                Ok(n) => seen.extend_from_slice(&buf[..n.unwrap()]),
                Err(_) => {
                    state.events().log(
                        "volume",
                        "create",
                        EventActor {
                            id: "v9".into(),
                            ..Default::default()
                        },
                    );
                }
            }
        }
        let head = String::from_utf8_lossy(&seen).to_string();
        assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
        assert!(head.contains("content-type: application/json"), "{head}");
        assert_eq!(state.events().listeners(), 1);
        drop(client);
        // No event is published: the server must notice the closed connection on its own.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while state.events().listeners() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            state.events().listeners(),
            0,
            "the subscription outlived its client"
        );
        stop_tx.send(true).unwrap();
        server.await.unwrap();
    }
}
