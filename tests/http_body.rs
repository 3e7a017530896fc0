//! Request bodies that do not arrive, through the real binary and a raw TCP client: a body
//! that stalls, or trickles, past `server.body_timeout_ms` gets a 408 envelope and the
//! connection closes; a client that closes (FIN or RST) in the middle of its body is a 499
//! client abort, never a 400 `invalid_json`.

use crate::api_errors::{assert_error, CHAT};
use crate::support::daemon::{Config, Daemon, KEY};
use crate::support::http;
use codexd_test_support::metrics_text::Scrape;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const BODY_TIMEOUT_MS: u64 = 1_500;

fn daemon() -> Daemon {
    Daemon::start_ready(
        Config::default()
            .set("workers.count", "1")
            .set("server.body_timeout_ms", &BODY_TIMEOUT_MS.to_string()),
    )
}

/// Connects and sends a complete, authorised head announcing `Content-Length: 1000`.
fn open_body(d: &Daemon, req_id: &str) -> TcpStream {
    let mut s = TcpStream::connect(d.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let head = format!(
        "POST {CHAT} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {KEY}\r\n\
         X-Request-Id: {req_id}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    s
}

fn completed(d: &Daemon, req_id: &str) -> Value {
    d.wait_event(Duration::from_secs(10), "request_completed", |e| {
        e["event"] == "request_completed" && e["req_id"] == req_id
    })
}

fn requests_4xx(d: &Daemon) -> f64 {
    Scrape::parse(&d.metrics()).sum(
        "codexd_http_requests_total",
        &[("route", CHAT), ("status_class", "4xx")],
    )
}

/// The daemon's open descriptors.
fn fds(d: &Daemon) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", d.pid()))
        .unwrap()
        .count()
}

fn in_flight(d: &Daemon) -> f64 {
    Scrape::parse(&d.metrics()).sum("codexd_http_requests_in_flight", &[])
}

/// Reads the whole response (the server must close the connection); returns it with the
/// times its first byte arrived and the connection closed, measured from `since`.
fn read_until_closed(mut s: TcpStream, since: Instant) -> (http::Response, Duration, Duration) {
    let mut raw = vec![0u8; 64 * 1024];
    let n = s.read(&mut raw).expect("a response");
    let first_byte = since.elapsed();
    raw.truncate(n);
    s.read_to_end(&mut raw)
        .expect("the server closes the connection after the 408");
    (http::parse_response(&raw), first_byte, since.elapsed())
}

fn assert_timed_out(d: &Daemon, req_id: &str, r: &http::Response, took: Duration) {
    let floor = Duration::from_millis(BODY_TIMEOUT_MS);
    assert!(
        took >= floor && took < floor + Duration::from_millis(1_500),
        "the 408 came after {took:?}, not ~{floor:?}"
    );
    assert_error(r, 408, "invalid_request_error", "request_timeout", None);
    assert_eq!(r.header("x-request-id"), Some(req_id));
    assert_eq!(r.header("connection"), Some("close"));
    let line = completed(d, req_id);
    assert_eq!(line["status"], 408, "{line}");
    assert_eq!(line["error_code"], "request_timeout", "{line}");
    assert_eq!(line["outcome"], "rejected", "{line}");
}

#[test]
fn body_that_never_arrives_gets_a_408_after_the_body_timeout() {
    let d = daemon();
    let before = requests_4xx(&d);
    let fds_before = fds(&d);
    let s = open_body(&d, "stalled-body");
    let t = Instant::now();
    let (r, took, closed) = read_until_closed(s, t);
    eprintln!(
        "stalled body: 408 after {took:?}, closed after {closed:?} (body_timeout_ms {BODY_TIMEOUT_MS})"
    );
    assert_timed_out(&d, "stalled-body", &r, took);
    assert_eq!(requests_4xx(&d), before + 1.0);
    assert_eq!(in_flight(&d), 0.0, "the in-flight gauge is back to 0");
    crate::support::eventually(Duration::from_secs(5), "descriptors freed", || {
        (fds(&d) <= fds_before).then_some(())
    });
}

#[test]
fn body_that_trickles_gets_a_408_after_the_body_timeout() {
    let d = daemon();
    let s = open_body(&d, "trickled-body");
    let t = Instant::now();
    let writer = s.try_clone().unwrap();
    // One byte every 400 ms: the body keeps moving but never arrives in time.
    let trickle = std::thread::spawn(move || {
        let mut w = writer;
        for _ in 0..20 {
            if w.write_all(b" ").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(400));
        }
    });
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let (r, took, closed) = read_until_closed(s, t);
    eprintln!(
        "trickled body: 408 after {took:?}, closed after {closed:?} (body_timeout_ms {BODY_TIMEOUT_MS})"
    );
    assert_timed_out(&d, "trickled-body", &r, took);
    let _ = trickle.join();
    assert_eq!(in_flight(&d), 0.0);
}

/// Sends half a body, then closes: with FIN (`rst` false) or with RST (`rst` true).
fn hang_up_mid_body(d: &Daemon, req_id: &str, rst: bool) {
    let mut s = open_body(d, req_id);
    s.write_all(br#"{"model":"codex-demo","messages":[{"role":"user","#)
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    if rst {
        socket2::SockRef::from(&s)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
    }
    drop(s);
}

#[test]
fn client_that_closes_mid_body_is_a_client_abort_with_fin_or_rst() {
    let d = daemon();
    let before = requests_4xx(&d);
    for (req_id, rst) in [("fin-mid-body", false), ("rst-mid-body", true)] {
        hang_up_mid_body(&d, req_id, rst);
        let line = completed(&d, req_id);
        assert_eq!(
            (line["status"].as_u64(), line["outcome"].as_str()),
            (Some(499), Some("client_abort")),
            "{req_id}: {line}"
        );
        assert_ne!(line["error_code"], "invalid_json", "{req_id}: {line}");
    }
    assert_eq!(requests_4xx(&d), before + 2.0, "both counted as 4xx (499)");
    assert_eq!(in_flight(&d), 0.0);
    assert!(
        d.events_named("request_completed")
            .iter()
            .all(|e| e["error_code"] != "invalid_json"),
        "no hang-up is recorded as invalid_json"
    );
}
