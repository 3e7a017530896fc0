//! Malformed HTTP framing, through the real binary and a raw socket. actix-http answers these
//! itself, before any request exists, with a bare 400 or 431 (no envelope, no X-Request-Id:
//! the documented exception in docs/api.md); codexd counts each such connection once, as a
//! `request_head_rejected` line and `codexd_http_request_heads_rejected_total`, and never
//! counts a connection that carried a request or sent nothing.

use crate::support::daemon::{Config, Daemon};
use crate::support::{eventually, http};
use codexd_test_support::metrics_text::Scrape;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn heads_rejected(d: &Daemon) -> f64 {
    Scrape::parse(&d.metrics()).sum("codexd_http_request_heads_rejected_total", &[])
}

/// Sends `raw` on a fresh connection and reads until the server closes it.
fn send_raw(d: &Daemon, raw: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(d.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // A head larger than the socket buffers may be cut short by the server's answer.
    let _ = s.write_all(raw);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

fn status_of(raw: &[u8]) -> u16 {
    let text = String::from_utf8_lossy(raw);
    text.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"))
}

/// Waits until the counter and the log both show `n` rejected heads.
fn wait_rejected(d: &Daemon, n: usize) {
    eventually(Duration::from_secs(10), "request_head_rejected", || {
        (d.events_named("request_head_rejected").len() == n && heads_rejected(d) == n as f64)
            .then_some(())
    });
}

#[test]
fn malformed_request_heads_get_actix_statuses_and_are_counted() {
    let d = Daemon::start_ready(Config::default().set("workers.count", "1"));
    assert_eq!(heads_rejected(&d), 0.0);

    let control = b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n".to_vec();
    let mut many = b"GET /v1/models HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..120 {
        many.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    let mut huge = b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    huge.resize(huge.len() + 140 * 1024, b'a');
    huge.extend_from_slice(b"\r\n\r\n");

    for (n, (what, raw, want)) in [
        ("control character in a header value", control, 400),
        ("120 headers", many, 431),
        ("a 140 KiB head", huge, 431),
    ]
    .into_iter()
    .enumerate()
    {
        let out = send_raw(&d, &raw);
        assert_eq!(status_of(&out), want, "{what}");
        let r = http::parse_response(&out);
        assert_eq!(
            r.header("x-request-id"),
            None,
            "{what}: the documented exception"
        );
        wait_rejected(&d, n + 1);
    }
    assert!(
        d.events_named("request_head_rejected")
            .iter()
            .all(|e| e["level"] == "info" && e["component"] == "http"),
        "{:?}",
        d.events_named("request_head_rejected")
    );
    assert!(
        d.events_named("request_completed").is_empty()
            || d.events_named("request_completed")
                .iter()
                .all(|e| e["route"] == "/readyz" || e["route"] == "/metrics"),
        "no request was completed for a malformed head"
    );

    // A good request and a connection that sends nothing are not counted.
    assert_eq!(http::get(d.addr, "/v1/models").status, 200);
    drop(TcpStream::connect(d.addr).unwrap());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(heads_rejected(&d), 3.0);
    assert_eq!(d.events_named("request_head_rejected").len(), 3);
}

#[test]
fn request_head_that_never_completes_gets_actix_408_and_is_counted() {
    let d = Daemon::start_ready(Config::default().set("workers.count", "1"));
    let t = std::time::Instant::now();
    let out = send_raw(&d, b"GET /v1/models HTTP/1.1\r\nHost: x\r\n");
    assert_eq!(status_of(&out), 408, "actix-web's 5 s head timeout");
    assert!(t.elapsed() >= Duration::from_secs(4), "{:?}", t.elapsed());
    wait_rejected(&d, 1);
}
