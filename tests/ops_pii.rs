//! PII policy: the content capture's reach. Captured content appears only on its own
//! `content_captured` log lines: never in a span, `/metrics`, a probe body or another line.

use crate::support::daemon::{Config, Daemon};
use crate::support::http::{self, chat_body};
use crate::support::mock_provider::{MockProvider, Reply};
use crate::support::otlp::spans;
use serde_json::Value;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(15);

#[test]
fn ops_pii_captured_content_reaches_only_its_own_log_lines_never_spans_metrics_or_health() {
    let receiver = MockProvider::start(Reply::default()).unwrap();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let c = format!("piicanary{nanos:x}");
    let d = Daemon::start_ready(
        Config::default()
            .set("workers.count", "1")
            .set("log.capture_content", "true")
            .set(
                "tracing.endpoint",
                &format!("\"http://{}\"", receiver.addr()),
            ),
    );
    let cookie = format!("session={c}");
    for stream in [false, true] {
        let r = http::request(
            d.addr,
            "POST",
            "/v1/chat/completions",
            &[
                ("Authorization", "Bearer sk-test"),
                ("X-Request-Id", &format!("pii-{stream}")),
                ("Cookie", &cookie),
                ("X-Secret", &c),
            ],
            chat_body(&format!("my secret is {c}"), stream)
                .to_string()
                .as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let spans = crate::support::eventually(WAIT, "the requests' spans", || {
        let s = spans(&receiver);
        let chats = s.iter().filter(|x| x.name.starts_with("chat ")).count();
        (chats >= 2).then_some(s)
    });
    let mut problems = Vec::new();
    for s in &spans {
        if s.name.contains(&c) {
            problems.push(format!("span name {:?} carries the prompt", s.name));
        }
        for kv in &s.attributes {
            let v = s.attr(&kv.key).unwrap_or_default();
            if v.contains(&c) {
                problems.push(format!("span {:?} attribute {} = {v:?}", s.name, kv.key));
            }
        }
    }
    if d.metrics().contains(&c) {
        problems.push("/metrics carries the prompt".into());
    }
    for path in ["/healthz", "/readyz", "/livez"] {
        if http::get(d.addr, path).text().contains(&c) {
            problems.push(format!("{path} carries the prompt"));
        }
    }
    d.wait_event(WAIT, "captured content", |e| {
        e["event"] == "content_captured" && e["req_id"] == "pii-true"
    });
    let mut captured = 0;
    for line in d.lines() {
        if line.contains(&c) {
            let v: Value = serde_json::from_str(&line).unwrap();
            if v["event"] == "content_captured" && v["level"] == "debug" {
                captured += 1;
            } else {
                problems.push(format!("a non-capture log line carries the prompt: {line}"));
            }
        }
    }
    if captured != 2 {
        problems.push(format!(
            "expected the prompt in exactly 2 content_captured lines, found {captured}"
        ));
    }
    if !d.events_named("content_captured").iter().all(|e| {
        e.as_object()
            .is_some_and(|o| !o.keys().any(|k| k == "cookie" || k == "x_secret"))
    }) {
        problems.push("content_captured carries headers".into());
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
