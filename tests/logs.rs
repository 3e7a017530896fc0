//! The log contract: every stdout line is JSON with the canonical fields, nothing on stderr.

use crate::support::daemon::{Config, Daemon};
use crate::support::{http, signal};
use std::time::Duration;

/// The canonical fields every log line carries (observability spec, section 1).
pub const CANONICAL: &[&str] = &[
    "ts",
    "level",
    "msg",
    "event",
    "component",
    "service",
    "version",
    "seq",
];
const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error"];
const COMPONENTS: &[&str] = &[
    "runtime",
    "config",
    "http",
    "stream",
    "worker",
    "supervisor",
    "health",
    "metrics",
    "tracing",
];

#[test]
fn every_line_is_json_with_the_canonical_fields() {
    let mut d =
        Daemon::start_ready(Config::default().worker_env("CODEXD_DEMO_STDERR_FLOOD_LINES", "5"));
    assert_eq!(
        http::post(
            d.addr,
            "/v1/chat/completions",
            &http::chat_body("hello", false)
        )
        .status,
        200
    );
    assert_eq!(
        http::post(
            d.addr,
            "/v1/chat/completions",
            &serde_json::json!({"bad": true})
        )
        .status,
        400
    );
    assert_eq!(http::get(d.addr, "/nope").status, 404);
    signal(d.worker_pids()[0], 9);
    d.wait_event(Duration::from_secs(3), "worker back", |e| {
        e["event"] == "worker_ready" && e["worker"] == 0 && e["seq"].as_u64() > Some(20)
    });
    assert_eq!(d.terminate().code(), Some(0));
    let events = d.events();
    assert!(events.len() > 30);
    let mut last_seq = 0;
    for e in &events {
        for f in CANONICAL {
            assert!(e.get(*f).is_some(), "missing {f}: {e}");
        }
        assert!(LEVELS.contains(&e["level"].as_str().unwrap()), "{e}");
        assert!(
            COMPONENTS.contains(&e["component"].as_str().unwrap()),
            "{e}"
        );
        assert_eq!(e["service"], "codexd");
        let ts = e["ts"].as_str().unwrap();
        assert!(
            ts.len() == 24 && ts.ends_with('Z') && ts.as_bytes()[19] == b'.',
            "{ts}"
        );
        let msg = e["msg"].as_str().unwrap();
        assert!(
            msg.chars()
                .all(|c| c.is_ascii_lowercase() || c == ' ' || c == '/'),
            "{msg}"
        );
        let seq = e["seq"].as_u64().unwrap();
        assert!(seq > last_seq, "seq not increasing: {e}");
        last_seq = seq;
    }
    assert!(!d.lines().join("\n").contains("demo-stderr-canary-7f3a91"));
    assert_eq!(d.stderr(), "", "the daemon wrote to stderr");
}

#[test]
fn every_request_completes_with_exactly_one_line_joined_by_request_id() {
    let d = Daemon::start_ready(Config::default());
    let r = http::request(
        d.addr,
        "POST",
        "/v1/chat/completions",
        &[
            ("Authorization", "Bearer sk-test"),
            ("X-Request-Id", "my-req-42"),
        ],
        http::chat_body("hi", false).to_string().as_bytes(),
    );
    assert_eq!(r.header("x-request-id"), Some("my-req-42"));
    let r2 = http::request(
        d.addr,
        "GET",
        "/v1/models",
        &[("X-Request-Id", "bad id with spaces")],
        b"",
    );
    let generated = r2.header("x-request-id").unwrap().to_owned();
    assert_ne!(generated, "bad id with spaces");
    d.wait_event(Duration::from_secs(2), "completion of my-req-42", |e| {
        e["event"] == "request_completed" && e["req_id"] == "my-req-42"
    });
    let mine: Vec<_> = d
        .events()
        .into_iter()
        .filter(|e| e["req_id"] == "my-req-42")
        .collect();
    let completed: Vec<_> = mine
        .iter()
        .filter(|e| e["event"] == "request_completed")
        .collect();
    assert_eq!(completed.len(), 1);
    let c = completed[0];
    assert_eq!(
        (
            c["status"].as_u64(),
            c["route"].as_str(),
            c["method"].as_str()
        ),
        (Some(200), Some("/v1/chat/completions"), Some("POST"))
    );
    assert_eq!(c["outcome"], "completed");
    let names: Vec<&str> = mine.iter().map(|e| e["event"].as_str().unwrap()).collect();
    for expected in [
        "request_received",
        "lease_granted",
        "stream_started",
        "turn_started",
        "first_token_received",
        "stream_ended",
        "request_completed",
    ] {
        assert!(names.contains(&expected), "missing {expected} in {names:?}");
    }
    let trace_ids: std::collections::HashSet<&str> = mine
        .iter()
        .map(|e| e["trace_id"].as_str().unwrap())
        .collect();
    assert_eq!(trace_ids.len(), 1, "one trace id per request");
    d.wait_event(Duration::from_secs(2), "generated id completion", |e| {
        e["event"] == "request_completed" && e["req_id"] == generated.as_str()
    });
}

#[test]
fn a_failed_request_logs_its_detail_while_the_client_sees_a_fixed_message() {
    let d = Daemon::start_ready(Config::default());
    let r = http::request(
        d.addr,
        "POST",
        "/v1/chat/completions",
        &[
            ("Authorization", "Bearer sk-test"),
            ("X-Request-Id", "bad-field-1"),
        ],
        br#"{"model":"codex-demo","messages":[{"role":"user","content":7}]}"#,
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["param"], "messages[0].content");
    let line = d.wait_event(Duration::from_secs(2), "completion", |e| {
        e["event"] == "request_completed" && e["req_id"] == "bad-field-1"
    });
    assert_eq!(line["error_code"], "invalid_value");
    assert_eq!(
        line["error"],
        "400 invalid_value (param messages[0].content)"
    );
    assert_eq!(line["outcome"], "rejected");
}

#[test]
fn content_capture_is_opt_in_and_announced() {
    let d = Daemon::start_ready(Config::default().set("log.capture_content", "true"));
    assert_eq!(d.events_named("content_capture_enabled").len(), 1);
    let r = http::post(
        d.addr,
        "/v1/chat/completions",
        &http::chat_body("capture me", false),
    );
    assert_eq!(r.status, 200);
    let line = d.wait_event(Duration::from_secs(2), "captured content", |e| {
        e["event"] == "content_captured"
    });
    assert_eq!(line["level"], "debug");
    assert_eq!(line["input"], "capture me");
    assert_eq!(line["output"], "You said: capture me");
    let off = Daemon::start_ready(Config::default());
    assert_eq!(
        http::post(
            off.addr,
            "/v1/chat/completions",
            &http::chat_body("not me", false)
        )
        .status,
        200
    );
    off.wait_event(Duration::from_secs(2), "completion", |e| {
        e["event"] == "request_completed" && e["route"] == "/v1/chat/completions"
    });
    assert!(off.events_named("content_captured").is_empty());
    assert!(!off.lines().join("\n").contains("not me"));
}
