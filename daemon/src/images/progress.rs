//! The progress messages of pulls and pushes, as dockerd 20.10 writes them (its `jsonmessage`): a
//! status line (`{"status":"Digest: ..."}`), a layer's step (`{"status":"Pull complete","progressDetail":{},
//! "id":"<12 hex>"}`), a transfer's progress with the text bar clients without a terminal print, and the
//! error that ends a stream. Transfers report at most every 512 KiB (1% of small blobs) and 100 ms, as
//! dockerd's progress reader, so a fast pull does not drown its client.

use std::time::{Duration, Instant};

use serde::Serialize;
use wharf_client_core::models::ProgressDetail;

/// One message of the stream.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Progress {
    /// The layer's short digest, or the tag for "Pulling from".
    pub id: Option<String>,
    pub status: String,
    /// `None` for a plain status; `Some` for a step (`{}`) or a transfer (`{current,total}`).
    pub detail: Option<Detail>,
    /// The push's `{"Tag","Digest","Size"}`.
    pub aux: Option<PushAux>,
}

/// `progressDetail`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Detail {
    #[serde(skip_serializing_if = "is_zero")]
    pub current: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub total: u64,
}

/// The 12 hex digits dockerd names a layer by.
pub(crate) fn short_id(digest: &str) -> String {
    let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
    hex.get(..12).unwrap_or(hex).to_owned()
}

impl Progress {
    /// A status line (`"Digest: ..."`), with an `id` for "Pulling from".
    pub(crate) fn status(id: Option<&str>, status: impl Into<String>) -> Self {
        Self {
            id: id.map(str::to_owned),
            status: status.into(),
            detail: None,
            aux: None,
        }
    }

    /// A layer's step ("Pulling fs layer", "Pull complete").
    pub(crate) fn step(id: &str, action: &str) -> Self {
        Self {
            id: Some(id.to_owned()),
            status: action.to_owned(),
            detail: Some(Detail::default()),
            aux: None,
        }
    }

    /// A transfer's progress ("Downloading", "Extracting", "Pushing").
    pub(crate) fn bytes(id: &str, action: &str, current: u64, total: u64) -> Self {
        Self {
            id: Some(id.to_owned()),
            status: action.to_owned(),
            detail: Some(Detail { current, total }),
            aux: None,
        }
    }

    /// The push's aux message.
    pub(crate) fn aux(aux: PushAux) -> Self {
        Self {
            id: None,
            status: String::new(),
            detail: Some(Detail::default()),
            aux: Some(aux),
        }
    }

    /// The message as dockerd encodes it (field order status, progressDetail, progress, id, aux).
    pub(crate) fn to_json(&self) -> String {
        let wire = Wire {
            status: &self.status,
            progress_detail: self.detail,
            progress: self
                .detail
                .map(|d| bar(d.current, d.total))
                .unwrap_or_default(),
            id: self.id.as_deref(),
            aux: self.aux.as_ref(),
        };
        go_escape(serde_json::to_string(&wire).unwrap_or_default())
    }
}

/// The push's result, in dockerd's field order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PushAux {
    pub tag: String,
    pub digest: String,
    pub size: i64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Serialize)]
struct Wire<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    status: &'a str,
    #[serde(rename = "progressDetail", skip_serializing_if = "Option::is_none")]
    progress_detail: Option<Detail>,
    #[serde(skip_serializing_if = "String::is_empty")]
    progress: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aux: Option<&'a PushAux>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    message: &'a str,
}

#[derive(Serialize)]
struct WireError<'a> {
    #[serde(rename = "errorDetail")]
    error_detail: ErrorDetail<'a>,
    error: &'a str,
}

/// The error message that ends a stream once it has begun.
pub(crate) fn error_json(message: &str) -> String {
    go_escape(
        serde_json::to_string(&WireError {
            error_detail: ErrorDetail { message },
            error: message,
        })
        .unwrap_or_default(),
    )
}

/// Go's `encoding/json` escapes `<`, `>` and `&` (they can only be inside strings in JSON text).
fn go_escape(json: String) -> String {
    if !json.contains(['<', '>', '&']) {
        return json;
    }
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// dockerd's progress text for a daemon without a terminal (the bar, then `current/total`; no time
/// left, as dockerd sets no start time): client-core's, which the CLI and the console draw too.
pub(crate) fn bar(current: u64, total: u64) -> String {
    let detail = ProgressDetail {
        current: Some(i64::try_from(current).unwrap_or(i64::MAX)),
        total: Some(i64::try_from(total).unwrap_or(i64::MAX)),
    };
    wharf_client_core::progress::progress(&detail, true)
}

/// When a transfer reports: past a step of min(512 KiB, 1% of the blob) and at most every 100 ms, and
/// always at the end.
#[derive(Debug)]
pub(crate) struct Throttle {
    total: u64,
    last_bytes: u64,
    last_sent: Option<Instant>,
}

impl Throttle {
    pub(crate) fn new(total: u64) -> Self {
        Self {
            total,
            last_bytes: 0,
            last_sent: None,
        }
    }

    /// Whether `current` bytes at `now` deserve a message.
    pub(crate) fn should_send(&mut self, current: u64, now: Instant) -> bool {
        if current == self.total {
            self.last_bytes = current;
            return true;
        }
        let every = if self.total > 0 {
            (self.total / 100).min(512 * 1024)
        } else {
            512 * 1024
        };
        if current.saturating_sub(self.last_bytes) <= every {
            return false;
        }
        self.last_bytes = current;
        let due = self
            .last_sent
            .is_none_or(|t| now.duration_since(t) >= Duration::from_millis(100));
        if due {
            self.last_sent = Some(now);
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_encode_as_dockerd_encodes_them() {
        // Lines from dockerd 20.10's own pull of a 3-layer image from a local registry.
        let cases = [
            (
                Progress::status(Some("t"), "Pulling from small"),
                r#"{"status":"Pulling from small","id":"t"}"#,
            ),
            (
                Progress::step("2db10a02194f", "Pulling fs layer"),
                r#"{"status":"Pulling fs layer","progressDetail":{},"id":"2db10a02194f"}"#,
            ),
            (
                Progress::bytes("2db10a02194f", "Downloading", 104, 104),
                r#"{"status":"Downloading","progressDetail":{"current":104,"total":104},"progress":"[==================================================\u003e]     104B/104B","id":"2db10a02194f"}"#,
            ),
            (
                Progress::bytes("b4cf57d98dbd", "Downloading", 36445, 3001120),
                r#"{"status":"Downloading","progressDetail":{"current":36445,"total":3001120},"progress":"[\u003e                                                  ]  36.45kB/3.001MB","id":"b4cf57d98dbd"}"#,
            ),
            (
                Progress::bytes("b4cf57d98dbd", "Extracting", 32768, 3001120),
                r#"{"status":"Extracting","progressDetail":{"current":32768,"total":3001120},"progress":"[\u003e                                                  ]  32.77kB/3.001MB","id":"b4cf57d98dbd"}"#,
            ),
            (
                Progress::status(
                    None,
                    "Status: Downloaded newer image for 127.0.0.1:5111/small:t",
                ),
                r#"{"status":"Status: Downloaded newer image for 127.0.0.1:5111/small:t"}"#,
            ),
        ];
        for (p, want) in cases {
            assert_eq!(p.to_json(), want);
        }
        assert_eq!(
            error_json("boom"),
            r#"{"errorDetail":{"message":"boom"},"error":"boom"}"#
        );
        assert_eq!(short_id("sha256:2db10a02194f0123"), "2db10a02194f");
        let aux = Progress::aux(PushAux {
            tag: "t".into(),
            digest: "sha256:ab".into(),
            size: 527,
        });
        assert_eq!(
            aux.to_json(),
            r#"{"progressDetail":{},"aux":{"Tag":"t","Digest":"sha256:ab","Size":527}}"#
        );
    }

    #[test]
    fn sizes_and_bars_read_as_go_units_prints_them() {
        use wharf_client_core::progress::human_size;
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(1000), "1kB");
        assert_eq!(human_size(1500), "1.5kB");
        assert_eq!(human_size(40_000_000), "40MB");
        assert_eq!(human_size(12_345_678), "12.35MB");
        assert_eq!(human_size(209_715_200), "209.7MB");
        assert_eq!(bar(0, 0), "");
        assert_eq!(bar(5, 0), "      5B");
        let half = bar(50, 100);
        assert!(half.starts_with(&format!("[{}>{}] ", "=".repeat(25), " ".repeat(25))));
        assert!(half.ends_with("     50B/100B"));
        // More than announced: the total is left out.
        assert!(bar(200, 100).ends_with("]     200B"));
    }

    #[test]
    fn transfers_report_every_step_and_100ms_and_always_at_the_end() {
        let t0 = Instant::now();
        let mut t = Throttle::new(100 * 1024 * 1024);
        assert!(!t.should_send(100 * 1024, t0), "under 512 KiB");
        assert!(t.should_send(600 * 1024, t0), "first step");
        assert!(
            !t.should_send(1200 * 1024, t0 + Duration::from_millis(50)),
            "within 100 ms"
        );
        assert!(t.should_send(1800 * 1024, t0 + Duration::from_millis(150)));
        assert!(
            t.should_send(100 * 1024 * 1024, t0 + Duration::from_millis(151)),
            "the end"
        );
        // A small blob reports every 1%.
        let mut t = Throttle::new(1000);
        assert!(t.should_send(11, t0));
        assert!(!t.should_send(15, t0 + Duration::from_secs(1)));
    }
}
