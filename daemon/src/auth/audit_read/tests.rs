use std::io::Write;
use std::time::{Duration, UNIX_EPOCH};

use super::*;

/// A line as the writer writes it, at second `secs`.
fn line(secs: u64, identity: &str, method: &str, path: &str, status: u16) -> String {
    let record = super::super::audit::Record {
        time: timefmt::rfc3339_seconds(secs),
        identity: identity.into(),
        role: Some("operator"),
        method: method.into(),
        path: path.into(),
        id: None,
        status,
    };
    let mut text = serde_json::to_string(&record).unwrap();
    text.push('\n');
    text
}

fn write(path: &Path, lines: &[String]) {
    let mut f = std::fs::File::create(path).unwrap();
    for l in lines {
        f.write_all(l.as_bytes()).unwrap();
    }
}

/// A log of three files: `.2` holds seconds 1-3, `.1` 4-6, the live file 7-9; odd seconds are
/// `token:ci` stopping, even ones `unix` removing with a 404.
fn three_files() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let make = |range: std::ops::RangeInclusive<u64>| -> Vec<String> {
        range
            .map(|s| {
                if s % 2 == 1 {
                    line(
                        s,
                        "token:ci",
                        "POST",
                        &format!("/containers/c{s}/stop"),
                        204,
                    )
                } else {
                    line(s, "unix", "DELETE", &format!("/containers/c{s}"), 404)
                }
            })
            .collect()
    };
    write(&dir.path().join("audit.log.2"), &make(1..=3));
    write(&dir.path().join("audit.log.1"), &make(4..=6));
    write(&path, &make(7..=9));
    (dir, path)
}

fn seconds(page: &Page) -> Vec<u64> {
    page.records
        .iter()
        .map(|e| {
            timefmt::parse_rfc3339(&e.time)
                .unwrap()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs()
        })
        .collect()
}

#[test]
fn rotated_files_are_read_newest_first() {
    let (_dir, path) = three_files();
    let page = read(&path, &Query::default()).unwrap();
    assert_eq!(seconds(&page), [9, 8, 7, 6, 5, 4, 3, 2, 1]);
    assert_eq!(page.skipped, 0);
    assert_eq!(page.records[0].path, "/containers/c9/stop");
    assert_eq!(page.records[0].role.as_deref(), Some("operator"));
}

#[test]
fn the_limit_keeps_the_newest() {
    let (_dir, path) = three_files();
    let q = Query {
        limit: 4,
        ..Query::default()
    };
    assert_eq!(seconds(&read(&path, &q).unwrap()), [9, 8, 7, 6]);
    let q = Query {
        limit: 0,
        ..Query::default()
    };
    assert_eq!(seconds(&read(&path, &q).unwrap()), [9], "at least one");
}

#[test]
fn filters_combine() {
    let (_dir, path) = three_files();
    let get = |q: Query| seconds(&read(&path, &q).unwrap());
    let ci = Query {
        identity: Some("token:ci".into()),
        ..Query::default()
    };
    assert_eq!(get(ci.clone()), [9, 7, 5, 3, 1]);
    assert_eq!(
        get(Query {
            identity: Some("token:c".into()),
            ..Query::default()
        }),
        Vec::<u64>::new(),
        "the identity is matched whole"
    );
    assert_eq!(
        get(Query {
            method: Some("delete".into()),
            ..Query::default()
        }),
        [8, 6, 4, 2]
    );
    assert_eq!(
        get(Query {
            path: Some("c5/".into()),
            ..Query::default()
        }),
        [5]
    );
    assert_eq!(
        get(Query {
            status: Some(StatusFilter::parse("4xx").unwrap()),
            ..Query::default()
        }),
        [8, 6, 4, 2]
    );
    assert_eq!(
        get(Query {
            status: Some(StatusFilter::parse("204").unwrap()),
            since: Some(UNIX_EPOCH + Duration::from_secs(3)),
            until: Some(UNIX_EPOCH + Duration::from_secs(7)),
            ..ci
        }),
        [7, 5, 3],
        "since and until are inclusive"
    );
}

#[test]
fn status_filters_parse() {
    assert_eq!(
        StatusFilter::parse("404").unwrap(),
        StatusFilter::Exact(404)
    );
    assert_eq!(StatusFilter::parse("5XX").unwrap(), StatusFilter::Class(5));
    for bad in ["", "4x", "600", "40", "abc", "4xy", "0xx"] {
        assert!(StatusFilter::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn bad_and_huge_lines_are_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let huge = format!("{{\"time\":\"{}\"}}\n", "x".repeat(MAX_LINE * 4));
    write(
        &path,
        &[
            line(1, "unix", "POST", "/a", 200),
            "not json\n".into(),
            "\n".into(),
            huge,
            "{\"time\":\"2026-12-06T07:00:00Z\"}\n".into(),
            line(2, "unix", "POST", "/b", 200),
            // A torn last line, as a crash mid-write leaves it.
            "{\"time\":\"2026-12-06T07:0".into(),
        ],
    );
    let page = read(&path, &Query::default()).unwrap();
    assert_eq!(seconds(&page), [2, 1]);
    assert_eq!(page.skipped, 4);
}

#[test]
fn a_huge_line_is_never_held() {
    let mut text = vec![b'x'; MAX_LINE * 8];
    text.extend_from_slice(b"\nok\n");
    // A small buffer, so the long line arrives in many pieces.
    let mut reader = BufReader::with_capacity(64, &text[..]);
    let mut buf = Vec::new();
    assert_eq!(next_line(&mut reader, &mut buf).unwrap(), Line::TooLong);
    assert!(buf.capacity() <= MAX_LINE + 64, "{}", buf.capacity());
    assert_eq!(next_line(&mut reader, &mut buf).unwrap(), Line::Read);
    assert_eq!(buf, b"ok");
    assert_eq!(next_line(&mut reader, &mut buf).unwrap(), Line::End);
}

#[test]
fn a_missing_log_is_empty_and_a_file_rotated_while_reading_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    assert!(read(&path, &Query::default()).unwrap().records.is_empty());
    // The same file under two names, as when the writer renames between two opens.
    write(&path, &[line(1, "unix", "POST", "/a", 200)]);
    std::fs::hard_link(&path, dir.path().join("audit.log.1")).unwrap();
    assert_eq!(seconds(&read(&path, &Query::default()).unwrap()), [1]);
}
