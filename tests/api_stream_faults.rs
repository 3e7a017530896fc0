//! Faults around a running turn, through the real binary: clients that hang up (stream and
//! non-stream), a worker that crashes mid-stream, approval and other server→client requests,
//! and exactly one `request_completed` line per request.

use crate::api_errors::{assert_error, completed, one_worker, post_as, CHAT, RESPONSES};
use crate::api_streaming::{
    assert_chat_error_end, assert_responses_failed, responses_body, stream_all,
};
use crate::support::daemon::{Config, Daemon, KEY};
use crate::support::{eventually, http};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Sends a request with a chosen request id and returns the open socket, unread.
fn send(addr: SocketAddr, path: &str, req_id: &str, body: &Value) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    let body = body.to_string();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {KEY}\r\nX-Request-Id: {req_id}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    s
}

/// Reads from `s` until `needle` has arrived (bounded).
fn read_until(s: &mut TcpStream, needle: &str) {
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains(needle) {
        assert!(
            Instant::now() < deadline,
            "never saw {needle}: {}",
            String::from_utf8_lossy(&seen)
        );
        let mut buf = [0u8; 4096];
        match s.read(&mut buf) {
            Ok(0) => panic!("closed before {needle}: {}", String::from_utf8_lossy(&seen)),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
}

fn wait_for(d: &Daemon, event: &str, req_id: &str) -> Value {
    d.wait_event(Duration::from_secs(10), event, |e| {
        e["event"] == event && e["req_id"] == req_id
    })
}

/// The turn of `req_id` was interrupted because its client left, and the request was
/// recorded as a client abort.
fn assert_client_abort(d: &Daemon, req_id: &str, stream: bool) {
    assert_eq!(
        wait_for(d, "turn_interrupt_sent", req_id)["cause"],
        "client_abort"
    );
    wait_for(d, "turn_interrupt_confirmed", req_id);
    let ended = wait_for(d, "stream_ended", req_id);
    assert_eq!(ended["outcome"], "client_abort");
    assert!(
        ended["chunks"].as_u64().unwrap() < 20,
        "the turn did not run to its end"
    );
    let line = completed(d, req_id);
    assert_eq!(
        (line["status"].as_u64(), line["outcome"].as_str()),
        (Some(499), Some("client_abort"))
    );
    assert_eq!(line["stream"], stream);
}

fn slow() -> Config {
    one_worker()
        .worker_env("CODEXD_DEMO_CHUNK_INTERVAL_MS", "200")
        .worker_env("CODEXD_DEMO_CHUNKS", "20")
}

#[test]
fn a_client_that_hangs_up_mid_stream_gets_its_turn_interrupted() {
    let d = Daemon::start_ready(slow());
    let mut s = send(d.addr, CHAT, "chat-gone", &http::chat_body("x", true));
    read_until(&mut s, "\"content\":\"Y");
    drop(s);
    assert_client_abort(&d, "chat-gone", true);
    let mut s = send(
        d.addr,
        RESPONSES,
        "responses-gone",
        &responses_body("x", true),
    );
    read_until(&mut s, "response.output_text.delta");
    drop(s);
    assert_client_abort(&d, "responses-gone", true);
}

#[test]
fn a_client_that_hangs_up_before_its_answer_has_headers_gets_its_turn_interrupted() {
    let d = Daemon::start_ready(
        slow()
            .set("streaming.header_hold_ms", "3000")
            .worker_env("CODEXD_DEMO_FIRST_TOKEN_DELAY_MS", "3000"),
    );
    let s = send(d.addr, CHAT, "unary-gone", &http::chat_body("x", false));
    wait_for(&d, "turn_started", "unary-gone");
    drop(s);
    assert_client_abort(&d, "unary-gone", false);
    let s = send(d.addr, CHAT, "held-gone", &http::chat_body("x", true));
    wait_for(&d, "turn_started", "held-gone");
    drop(s);
    assert_client_abort(&d, "held-gone", true);
}

fn worker_ready_count(d: &Daemon, n: usize) {
    eventually(Duration::from_secs(10), "worker ready again", || {
        (d.events_named("worker_ready").len() >= n).then_some(())
    });
}

#[test]
fn a_worker_crash_mid_stream_is_an_error_frame_and_a_clean_end_never_a_hang() {
    let d = Daemon::start_ready(
        one_worker()
            .worker_env("CODEXD_DEMO_CRASH_AFTER_CHUNKS", "2")
            .worker_env("CODEXD_DEMO_CHUNK_INTERVAL_MS", "50"),
    );
    let body = stream_all(&d, CHAT, &http::chat_body("x", true));
    let e = assert_chat_error_end(&body, "worker_lost", 2);
    assert_eq!(e["type"], "upstream_error");
    let message = e["message"].as_str().unwrap();
    assert!(message.starts_with("The worker stopped while serving the request. (request id: req_"));
    let ended = d.wait_event(Duration::from_secs(5), "stream_ended", |e| {
        e["event"] == "stream_ended"
    });
    assert_eq!(ended["outcome"], "worker_lost");
    worker_ready_count(&d, 2);
    let body = stream_all(&d, RESPONSES, &responses_body("x", true));
    assert_responses_failed(&body, "worker_lost");
    worker_ready_count(&d, 3);
    let r = post_as(
        d.addr,
        CHAT,
        "unary-crash",
        http::chat_body("x", false).to_string().as_bytes(),
    );
    let e = assert_error(&r, 502, "upstream_error", "worker_lost", None);
    assert!(
        !e["message"].as_str().unwrap().contains("101"),
        "no exit code"
    );
    assert_eq!(
        wait_for(&d, "stream_ended", "unary-crash")["outcome"],
        "worker_lost"
    );
}

/// Runs one turn against a worker that sends the server→client request `kind` first, and
/// returns the reply text and the `server_request_answered` line.
fn answer_to(kind: &str, config: Config) -> (String, Value) {
    let d = Daemon::start_ready(config.worker_env("CODEXD_DEMO_APPROVAL_REQUEST", kind));
    let r = post_as(
        d.addr,
        CHAT,
        "asks",
        http::chat_body("run ls", false).to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let reply = r.json()["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    let stream = stream_all(&d, CHAT, &http::chat_body("run ls", true));
    let text: String = http::sse_data(&stream)
        .iter()
        .filter_map(|f| {
            f["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(text, reply, "streams get the same answer");
    (reply, wait_for(&d, "server_request_answered", "asks"))
}

#[test]
fn command_approvals_are_declined_by_default() {
    let (reply, answered) = answer_to("command", one_worker());
    assert_eq!(reply, "approval: decline");
    assert_eq!(
        (answered["kind"].as_str(), answered["answer"].as_str()),
        (Some("command_approval"), Some("declined"))
    );
}

#[test]
fn file_change_approvals_are_accepted_only_when_the_operator_says_so() {
    let (reply, answered) = answer_to("file_change", one_worker());
    assert_eq!(
        (reply.as_str(), answered["answer"].as_str()),
        ("approval: decline", Some("declined"))
    );
    let (reply, answered) = answer_to(
        "file_change",
        one_worker().set("codex.approvals", "\"accept\""),
    );
    assert_eq!(reply, "approval: accept");
    assert_eq!(
        (answered["kind"].as_str(), answered["answer"].as_str()),
        (Some("file_change_approval"), Some("accepted"))
    );
}

#[test]
fn user_input_and_unknown_requests_get_a_json_rpc_error_and_the_turn_completes() {
    for (kind, label) in [("user_input", "user_input"), ("unknown", "tool_call")] {
        let (reply, answered) = answer_to(kind, one_worker());
        assert_eq!(reply, "approval: error", "{kind}");
        assert_eq!(
            (answered["kind"].as_str(), answered["answer"].as_str()),
            (Some(label), Some("unsupported"))
        );
    }
}

#[test]
fn every_request_is_one_request_completed_line_aborted_and_rejected_ones_included() {
    let mut d = Daemon::start_ready(
        one_worker()
            .worker_env("CODEXD_DEMO_CHUNK_INTERVAL_MS", "100")
            .worker_env("CODEXD_DEMO_CHUNKS", "10"),
    );
    let chat = |stream: bool| http::chat_body("x", stream).to_string().into_bytes();
    let mut sizes = Vec::new();
    for (id, path, body) in [
        ("ok-unary", CHAT, chat(false)),
        ("ok-stream", CHAT, chat(true)),
        (
            "ok-responses",
            RESPONSES,
            responses_body("x", true).to_string().into_bytes(),
        ),
        ("invalid", CHAT, b"{bad".to_vec()),
        (
            "unknown-model",
            RESPONSES,
            br#"{"model":"nope","input":"x"}"#.to_vec(),
        ),
    ] {
        sizes.push((id, post_as(d.addr, path, id, &body).body.len() as u64));
    }
    let r = http::request(
        d.addr,
        "POST",
        CHAT,
        &[("X-Request-Id", "unauthorized")],
        &chat(false),
    );
    assert_eq!(r.status, 401);
    let r = http::request(
        d.addr,
        "GET",
        "/nope",
        &[("X-Request-Id", "unknown-route")],
        b"",
    );
    sizes.push(("unknown-route", r.body.len() as u64));
    let r = http::request(
        d.addr,
        "GET",
        "/v1/models",
        &[("X-Request-Id", "models")],
        b"",
    );
    sizes.push(("models", r.body.len() as u64));
    let mut s = send(d.addr, CHAT, "aborted", &http::chat_body("x", true));
    read_until(&mut s, "\"content\":\"Y");
    drop(s);
    wait_for(&d, "request_completed", "aborted");
    assert_eq!(d.terminate().code(), Some(0));

    let expected = [
        (
            "ok-unary",
            "POST",
            "/v1/chat/completions",
            200,
            false,
            "completed",
        ),
        (
            "ok-stream",
            "POST",
            "/v1/chat/completions",
            200,
            true,
            "completed",
        ),
        (
            "ok-responses",
            "POST",
            "/v1/responses",
            200,
            true,
            "completed",
        ),
        (
            "invalid",
            "POST",
            "/v1/chat/completions",
            400,
            false,
            "rejected",
        ),
        (
            "unknown-model",
            "POST",
            "/v1/responses",
            404,
            false,
            "rejected",
        ),
        (
            "unauthorized",
            "POST",
            "/v1/chat/completions",
            401,
            false,
            "rejected",
        ),
        ("unknown-route", "GET", "other", 404, false, "rejected"),
        ("models", "GET", "/v1/models", 200, false, "completed"),
        (
            "aborted",
            "POST",
            "/v1/chat/completions",
            499,
            true,
            "client_abort",
        ),
    ];
    let lines = d.events_named("request_completed");
    for (id, method, route, status, stream, outcome) in expected {
        let mine: Vec<&Value> = lines.iter().filter(|e| e["req_id"] == id).collect();
        assert_eq!(mine.len(), 1, "exactly one request_completed for {id}");
        let e = mine[0];
        assert_eq!(
            (
                e["method"].as_str(),
                e["route"].as_str(),
                e["status"].as_u64(),
                e["stream"].as_bool(),
                e["outcome"].as_str()
            ),
            (
                Some(method),
                Some(route),
                Some(status),
                Some(stream),
                Some(outcome)
            ),
            "{id}: {e}"
        );
        assert!(e["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{e}");
        let trace = e["trace_id"].as_str().unwrap();
        assert!(
            trace.len() == 32 && trace.bytes().all(|b| b.is_ascii_hexdigit()),
            "{e}"
        );
        if let Some((_, size)) = sizes.iter().find(|(i, _)| *i == id) {
            assert_eq!(e["bytes_out"].as_u64(), Some(*size), "bytes_out of {id}");
        }
        assert_eq!(e["level"], "info");
    }
}

#[test]
fn a_stream_that_goes_quiet_ends_with_an_idle_timeout() {
    let d = Daemon::start_ready(
        one_worker()
            .set("streaming.idle_timeout_ms", "300")
            .worker_env("CODEXD_DEMO_CHUNK_INTERVAL_MS", "2000")
            .worker_env("CODEXD_DEMO_CHUNKS", "3"),
    );
    let body = stream_all(&d, CHAT, &http::chat_body("x", true));
    let e = assert_chat_error_end(&body, "timeout_idle", 1);
    assert_eq!(e["type"], "timeout");
    let r = post_as(
        d.addr,
        CHAT,
        "quiet",
        http::chat_body("x", false).to_string().as_bytes(),
    );
    assert_error(&r, 504, "timeout", "timeout_idle", None);
    assert_eq!(
        wait_for(&d, "turn_interrupt_sent", "quiet")["cause"],
        "timeout_idle"
    );
    assert_eq!(
        wait_for(&d, "stream_ended", "quiet")["outcome"],
        "timeout_idle"
    );
}
