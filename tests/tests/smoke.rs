//! Smoke tests of the fixtures: a real `wharfd` and the reference `dockerd` start on private paths and
//! answer `GET /_ping` over their unix sockets.

use wharf_tests::{http, RefDockerd, Wharfd};

#[test]
fn wharfd_answers_ping_over_its_unix_socket() {
    let mut wharfd = Wharfd::start().unwrap();
    assert!(wharfd.unix_host().starts_with("unix:///tmp/"));
    let response = http::get(wharfd.socket(), "/_ping").unwrap();
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.body_text(), "OK");
    let (status, killed) = wharfd.stop().unwrap();
    assert!(
        status.success() && !killed,
        "{status}; logs:\n{}",
        wharfd.logs()
    );
}

#[test]
fn reference_dockerd_answers_ping_over_its_unix_socket() {
    let Some(dockerd) = RefDockerd::builder().start_if_available().unwrap() else {
        return;
    };
    let response = http::get(dockerd.socket(), "/_ping").unwrap();
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.body_text(), "OK");
}
