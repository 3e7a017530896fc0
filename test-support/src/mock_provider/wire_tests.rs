//! The mock's wire behaviour, checked over raw sockets: the SSE answer's head and chunks, an
//! error status with `Retry-After`, a disconnect before any byte, a held stream ended by the
//! client, keep-alive connection ids, and the other routes.

use super::{MockProvider, Reply, StreamState, Usage};
use crate::http;
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

fn post_responses(mock: &MockProvider) -> http::Response {
    http::request(
        mock.addr(),
        "POST",
        "/v1/responses",
        &[("Content-Type", "application/json")],
        json!({"model": "m1", "input": []}).to_string().as_bytes(),
    )
}

#[test]
fn a_stream_reply_is_chunked_sse_with_the_scripted_events() {
    let mock = MockProvider::start(Reply::text(&["a", "b"], Usage::new(2, 1))).unwrap();
    let r = post_responses(&mock);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert_eq!(r.header("x-request-id"), Some("mock-req-0"));
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    let kinds: Vec<String> = r
        .text()
        .lines()
        .filter_map(|l| l.strip_prefix("event: ").map(str::to_owned))
        .collect();
    assert_eq!(
        kinds,
        [
            "response.created",
            "response.output_item.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_item.done",
            "response.completed"
        ]
    );
    assert!(r.text().contains(r#""model":"m1""#), "{}", r.text());
    assert_eq!(mock.wait_stream_done(0, WAIT), Some(StreamState::Finished));
    let req = &mock.response_requests()[0];
    assert_eq!(req.model(), Some("m1"));
    assert_eq!(req.header("content-type"), Some("application/json"));
}

#[test]
fn a_status_reply_carries_retry_after_and_a_json_body() {
    let mock = MockProvider::start(Reply::rate_limited(7)).unwrap();
    let r = post_responses(&mock);
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("7"));
    assert_eq!(r.json()["error"]["code"], "rate_limit_exceeded");
    assert_eq!(mock.wait_stream_done(0, WAIT), Some(StreamState::Finished));
}

#[test]
fn a_disconnect_reply_closes_the_connection_before_any_byte() {
    let mock = MockProvider::start(Reply::Disconnect).unwrap();
    let mut s = TcpStream::connect(mock.addr()).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let body = b"{}";
    let head = format!(
        "POST /v1/responses HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    assert!(got.is_empty(), "{:?}", String::from_utf8_lossy(&got));
}

#[test]
fn a_held_stream_ends_closed_by_client_when_the_client_hangs_up() {
    let mock = MockProvider::start(Reply::hang(&["partial"])).unwrap();
    let mut s = TcpStream::connect(mock.addr()).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(b"POST /v1/responses HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains(": keepalive") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed early");
        seen.extend_from_slice(&buf[..n]);
    }
    assert_eq!(mock.stream_state(0), Some(StreamState::Open));
    assert_eq!(mock.open_streams(), 1);
    drop(s);
    assert!(mock.wait_stream_closed_by_client(0, Duration::from_secs(2)));
}

#[test]
fn keep_alive_requests_share_a_connection_id_and_other_routes_answer() {
    let mock = MockProvider::start(Reply::default()).unwrap();
    let mut s = TcpStream::connect(mock.addr()).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    for _ in 0..2 {
        s.write_all(b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut buf = [0u8; 4096];
        let n = s.read(&mut buf).unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    }
    let other = http::get(mock.addr(), "/nope?x=1");
    assert_eq!(other.status, 404);
    let otlp = http::request(mock.addr(), "POST", "/v1/traces", &[], b"\x0a\x00");
    assert_eq!(otlp.status, 200);
    assert_eq!(otlp.header("content-type"), Some("application/x-protobuf"));
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 4);
    assert_eq!(reqs[0].connection, reqs[1].connection);
    assert_ne!(reqs[1].connection, reqs[2].connection);
    assert_eq!(reqs[2].query.as_deref(), Some("x=1"));
    assert!(reqs[3].raw_body_contains(b"\x0a"));
    assert_eq!(mock.requests_to("/v1/traces").len(), 1);
}
