//! Admission through the real binary: a full queue (429), a queue wait timeout (503), no
//! ready worker (503) and a draining daemon (503), each with `Retry-After` and no internal detail.

use crate::api_errors::{assert_error, chat, completed, one_worker, post_as, CHAT, RESPONSES};
use crate::support::daemon::{Config, Daemon};
use crate::support::http::{self, Response};
use crate::support::{eventually, signal};
use serde_json::json;
use std::time::Duration;

/// The value of an unlabelled gauge on `/metrics`.
fn gauge(d: &Daemon, name: &str) -> f64 {
    d.metrics()
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from /metrics"))
}

/// Occupies the only turn slot with a slow non-stream request, in the background.
fn occupy(d: &Daemon, id: &'static str) -> std::thread::JoinHandle<Response> {
    let addr = d.addr;
    let t = std::thread::spawn(move || post_as(addr, CHAT, id, &chat("slow")));
    d.wait_event(Duration::from_secs(5), "lease granted", |e| {
        e["event"] == "lease_granted" && e["req_id"] == id
    });
    t
}

fn admission(queue_size: u32, queue_timeout_ms: u64) -> Config {
    one_worker()
        .set("workers.max_turns_per_worker", "1")
        .set("admission.queue_size", &queue_size.to_string())
        .set("admission.queue_timeout_ms", &queue_timeout_ms.to_string())
        .set("admission.retry_after_s", "7")
        .worker_env("CODEXD_DEMO_FIRST_TOKEN_DELAY_MS", "1500")
}

#[test]
fn a_full_queue_is_a_429_with_retry_after() {
    let d = Daemon::start_ready(admission(1, 10_000));
    let first = occupy(&d, "first");
    let addr = d.addr;
    let queued = std::thread::spawn(move || post_as(addr, CHAT, "queued", &chat("wait")));
    eventually(Duration::from_secs(5), "one queued request", || {
        (gauge(&d, "codexd_admission_queue_depth") == 1.0).then_some(())
    });
    let r = post_as(d.addr, CHAT, "turned-away", &chat("no room"));
    let e = assert_error(&r, 429, "rate_limit_exceeded", "rate_limit_exceeded", None);
    assert_eq!(e["message"], "Too many concurrent requests; retry later.");
    assert_eq!(r.header("retry-after"), Some("7"));
    let rejected = d.wait_event(Duration::from_secs(2), "admission_rejected", |e| {
        e["event"] == "admission_rejected" && e["req_id"] == "turned-away"
    });
    assert_eq!(rejected["reason"], "queue_full");
    assert_eq!(first.join().unwrap().status, 200);
    assert_eq!(
        queued.join().unwrap().status,
        200,
        "the queued request is served next"
    );
    assert_eq!(completed(&d, "turned-away")["status"], 429);
}

#[test]
fn waiting_past_the_queue_timeout_is_a_503_with_the_request_id() {
    let d = Daemon::start_ready(admission(4, 300));
    let first = occupy(&d, "first");
    let r = post_as(
        d.addr,
        RESPONSES,
        "too-late",
        br#"{"model":"codex-demo","input":"x"}"#,
    );
    let e = assert_error(&r, 503, "service_unavailable", "service_unavailable", None);
    assert_eq!(
        e["message"],
        "Timed out waiting for a free worker. (request id: too-late)"
    );
    assert_eq!(r.header("retry-after"), Some("7"));
    let rejected = d.wait_event(Duration::from_secs(2), "admission_rejected", |e| {
        e["event"] == "admission_rejected" && e["req_id"] == "too-late"
    });
    assert_eq!(rejected["reason"], "queue_timeout");
    assert_eq!(first.join().unwrap().status, 200);
    let line = completed(&d, "too-late");
    assert_eq!(
        (line["status"].as_u64(), line["outcome"].as_str()),
        (Some(503), Some("failed"))
    );
}

#[test]
fn no_ready_worker_is_a_503_without_internal_detail() {
    let d = Daemon::start(
        one_worker()
            .worker_env("CODEXD_DEMO_EXIT_ON_START", "1")
            .set("workers.backoff.initial_ms", "200"),
    );
    d.wait_event(Duration::from_secs(5), "a worker exit", |e| {
        e["event"] == "worker_exited"
    });
    for path in [CHAT, RESPONSES] {
        let body = json!({"model": "codex-demo", "input": "x", "stream": true,
            "messages": [{"role": "user", "content": "x"}]});
        let r = post_as(d.addr, path, "nobody-home", body.to_string().as_bytes());
        let e = assert_error(&r, 503, "service_unavailable", "service_unavailable", None);
        assert_eq!(
            e["message"],
            "No worker is available to serve the request. (request id: nobody-home)"
        );
        assert!(!r.text().contains("demo-stderr-canary") && !r.text().contains("exit"));
    }
    let rejected = eventually(Duration::from_secs(5), "two admission_rejected", || {
        Some(d.events_named("admission_rejected")).filter(|r| r.len() == 2)
    });
    assert!(rejected.iter().all(|e| e["reason"] == "no_worker"));
}

#[test]
fn a_draining_daemon_refuses_new_requests_with_503_after_validation() {
    let mut d = Daemon::start_ready(
        one_worker()
            .worker_env("CODEXD_DEMO_CHUNK_INTERVAL_MS", "200")
            .worker_env("CODEXD_DEMO_CHUNKS", "8"),
    );
    let mut s = http::Streaming::open(d.addr, CHAT, &http::chat_body("keep me busy", true));
    s.read_until(Duration::from_secs(5), |b| b.contains("\"content\":\"You"));
    signal(d.pid(), 15);
    d.wait_event(Duration::from_secs(5), "stop_accepting done", |e| {
        e["event"] == "shutdown_phase_completed" && e["phase"] == "stop_accepting"
    });
    let r = post_as(d.addr, CHAT, "late", &chat("too late"));
    let e = assert_error(&r, 503, "service_unavailable", "draining", None);
    assert_eq!(
        e["message"],
        "The server is shutting down; retry on another instance. (request id: late)"
    );
    let r = post_as(d.addr, CHAT, "late-and-bad", b"{bad");
    assert_error(&r, 400, "invalid_request_error", "invalid_json", None);
    let r = http::request(d.addr, "POST", CHAT, &[], &chat("no key"));
    assert_error(&r, 401, "authentication_error", "invalid_api_key", None);
    let body = s.read_to_end(Duration::from_secs(10));
    assert!(
        body.ends_with("data: [DONE]\n\n"),
        "the in-flight stream finishes: {body}"
    );
    assert_eq!(d.wait_exit(Duration::from_secs(10)).code(), Some(0));
    let rejected = d.events_named("admission_rejected");
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["reason"], "draining");
}

/// A streamed request's header hold runs from its grant, not from its arrival: one that waits
/// in the queue longer than the hold still gets a real status when the wait runs out, and one
/// granted from the queue streams as any other.
#[test]
fn a_queued_stream_keeps_its_status_until_it_is_granted() {
    let stream = http::chat_body("queued stream", true)
        .to_string()
        .into_bytes();
    let d = Daemon::start_ready(admission(4, 600).set("streaming.header_hold_ms", "200"));
    let first = occupy(&d, "first");
    let r = post_as(d.addr, CHAT, "queued-too-long", &stream);
    let e = assert_error(&r, 503, "service_unavailable", "service_unavailable", None);
    assert_eq!(
        e["message"],
        "Timed out waiting for a free worker. (request id: queued-too-long)"
    );
    assert_eq!(first.join().unwrap().status, 200);

    let d = Daemon::start_ready(admission(4, 10_000).set("streaming.header_hold_ms", "200"));
    let first = occupy(&d, "first");
    let r = post_as(d.addr, CHAT, "queued-then-served", &stream);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let body = String::from_utf8_lossy(&r.body);
    let text: String = body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(text, "You said: queued stream", "{body}");
    assert!(body.trim_end().ends_with("data: [DONE]"), "{body}");
    let granted = d.wait_event(Duration::from_secs(2), "the queued lease", |e| {
        e["event"] == "lease_granted" && e["req_id"] == "queued-then-served"
    });
    assert!(granted["in_flight"].as_u64().is_some());
    assert_eq!(first.join().unwrap().status, 200);
}
