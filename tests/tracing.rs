//! OpenTelemetry tracing through the real binary: spans arrive at a real OTLP/HTTP receiver
//! (decoded with the standard protobuf messages), nest as documented, join inbound traces,
//! and a dead collector never slows or fails a request.

use crate::support::daemon::{Config, Daemon};
use crate::support::mock_provider::{MockProvider, Reply};
use crate::support::otlp::{spans, ReceivedSpan};
use crate::support::{eventually, http};
use std::time::{Duration, Instant};

const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const SERVER: i32 = 2;
const CLIENT: i32 = 3;

fn traced(receiver_url: &str) -> Config {
    Config::default()
        .set("workers.count", "1")
        .set("tracing.endpoint", &format!("{receiver_url:?}"))
}

fn chat_with_headers(d: &Daemon, headers: &[(&str, &str)]) -> http::Response {
    let mut h = vec![("Authorization", "Bearer sk-test")];
    h.extend_from_slice(headers);
    http::request(
        d.addr,
        "POST",
        "/v1/chat/completions",
        &h,
        http::chat_body("trace me", false).to_string().as_bytes(),
    )
}

fn wait_spans(
    receiver: &MockProvider,
    what: &str,
    pred: impl Fn(&[ReceivedSpan]) -> bool,
) -> Vec<ReceivedSpan> {
    eventually(Duration::from_secs(10), what, || {
        let s = spans(receiver);
        pred(&s).then_some(s)
    })
}

#[test]
fn a_request_with_traceparent_produces_nested_spans_in_that_trace() {
    let receiver = MockProvider::start(Reply::default()).unwrap();
    let d = Daemon::start_ready(traced(&format!("http://{}", receiver.addr())));
    let r = chat_with_headers(&d, &[("traceparent", PARENT), ("X-Request-Id", "traced-1")]);
    assert_eq!(r.status, 200, "{}", r.text());
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let all = wait_spans(&receiver, "server, chat and rpc spans", |s| {
        s.iter().filter(|x| x.trace_id == trace).count() >= 4
    });
    let mine: Vec<&ReceivedSpan> = all.iter().filter(|s| s.trace_id == trace).collect();
    let server = mine
        .iter()
        .find(|s| s.name == "POST /v1/chat/completions")
        .expect("server span");
    assert_eq!(server.kind, SERVER);
    assert_eq!(server.parent_span_id, "00f067aa0ba902b7");
    assert_eq!(server.service, "codexd");
    assert_eq!(
        server.attr("http.route").as_deref(),
        Some("/v1/chat/completions")
    );
    assert_eq!(
        server.attr("http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(server.attr("http.request.method").as_deref(), Some("POST"));
    assert_eq!(
        server.attr("codexd.request_id").as_deref(),
        Some("traced-1")
    );
    let chat = mine
        .iter()
        .find(|s| s.name == "chat codex-demo")
        .expect("chat span");
    assert_eq!(
        (chat.kind, chat.parent_span_id.as_str()),
        (CLIENT, server.span_id.as_str())
    );
    assert_eq!(chat.attr("gen_ai.operation.name").as_deref(), Some("chat"));
    assert_eq!(chat.attr("gen_ai.provider.name").as_deref(), Some("codex"));
    assert_eq!(
        chat.attr("gen_ai.request.model").as_deref(),
        Some("codex-demo")
    );
    assert_eq!(chat.attr("gen_ai.response.model").as_deref(), Some("demo"));
    assert_eq!(chat.attr("gen_ai.request.stream").as_deref(), Some("false"));
    assert_eq!(chat.attr("gen_ai.usage.input_tokens").as_deref(), Some("2"));
    assert!(chat.attr("gen_ai.usage.output_tokens").is_some());
    assert!(chat.attr("gen_ai.response.time_to_first_chunk").is_some());
    assert!(chat
        .attr("gen_ai.response.finish_reasons")
        .unwrap()
        .contains("stop"));
    assert_eq!(chat.attr("codexd.worker.slot").as_deref(), Some("0"));
    for method in ["thread/start", "turn/start"] {
        let rpc = mine
            .iter()
            .find(|s| s.name == method)
            .unwrap_or_else(|| panic!("{method} span"));
        assert_eq!(
            (rpc.kind, rpc.parent_span_id.as_str()),
            (CLIENT, chat.span_id.as_str())
        );
        assert_eq!(rpc.attr("rpc.system.name").as_deref(), Some("jsonrpc"));
        assert_eq!(rpc.attr("rpc.method").as_deref(), Some(method));
        assert!(rpc.attr("jsonrpc.request.id").is_some());
    }
    // No content attribute is ever set.
    assert!(mine.iter().all(|s| s
        .attributes
        .iter()
        .all(|kv| !kv.key.starts_with("gen_ai.input") && !kv.key.starts_with("gen_ai.output"))));
    // Every log line about the request carries the same trace id.
    let lines: Vec<_> = d
        .events()
        .into_iter()
        .filter(|e| e["req_id"] == "traced-1")
        .collect();
    assert!(lines.len() >= 5);
    assert!(lines.iter().all(|e| e["trace_id"] == trace), "{lines:?}");
    // Worker start-up is its own short trace.
    assert!(all
        .iter()
        .any(|s| s.name == "worker start" && s.parent_span_id.is_empty()));
}

#[test]
fn a_malformed_traceparent_starts_a_new_trace_and_the_request_succeeds() {
    let receiver = MockProvider::start(Reply::default()).unwrap();
    let d = Daemon::start_ready(traced(&format!("http://{}/v1/traces", receiver.addr())));
    let r = chat_with_headers(
        &d,
        &[
            ("traceparent", "00-zzzz-not-valid-01"),
            ("X-Request-Id", "traced-2"),
        ],
    );
    assert_eq!(r.status, 200);
    let all = wait_spans(&receiver, "server span", |s| {
        s.iter().any(|x| {
            x.attr("codexd.request_id").as_deref() == Some("traced-2") && x.name.starts_with("POST")
        })
    });
    let server = all
        .iter()
        .find(|x| {
            x.attr("codexd.request_id").as_deref() == Some("traced-2") && x.name.starts_with("POST")
        })
        .unwrap();
    assert!(
        server.parent_span_id.is_empty(),
        "a new trace has no parent"
    );
    assert_eq!(server.trace_id.len(), 32);
    let logged = d
        .events_named("request_completed")
        .into_iter()
        .find(|e| e["req_id"] == "traced-2")
        .unwrap();
    assert_eq!(logged["trace_id"], server.trace_id.as_str());
}

fn dead_endpoint_case(endpoint: String) {
    let d = Daemon::start_ready(
        traced(&endpoint)
            .set("tracing.export_timeout_ms", "2000")
            .set("tracing.queue_size", "8"),
    );
    let started = Instant::now();
    for i in 0..20 {
        let r = chat_with_headers(&d, &[("X-Request-Id", &format!("dead-{i}"))]);
        assert_eq!(r.status, 200);
    }
    // 20 requests finish well inside a single export timeout: export never sits on the path.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "requests slowed down: {:?}",
        started.elapsed()
    );
    let dropped = eventually(Duration::from_secs(10), "dropped spans counted", || {
        let m = d.metrics();
        let v: f64 = m
            .lines()
            .find(|l| l.starts_with("codexd_trace_spans_dropped_total "))
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        (v > 0.0).then_some(v)
    });
    assert!(dropped >= 1.0);
    d.wait_event(Duration::from_secs(2), "the spans_dropped warning", |e| {
        e["event"] == "spans_dropped"
    });
    let warnings = d.events_named("spans_dropped");
    assert!(
        !warnings.is_empty() && warnings.len() <= 2,
        "rate-limited warnings: {}",
        warnings.len()
    );
}

#[test]
fn an_unreachable_collector_never_slows_or_fails_a_request() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    dead_endpoint_case(format!("http://127.0.0.1:{port}"));
}

#[test]
fn a_blackholed_collector_never_slows_or_fails_a_request() {
    // Accepts connections and never answers.
    let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = hole.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in hole.incoming().flatten() {
            held.push(s);
        }
    });
    dead_endpoint_case(format!("http://{addr}"));
}

#[test]
fn unsampled_inbound_traces_export_nothing_for_the_request() {
    let receiver = MockProvider::start(Reply::default()).unwrap();
    let d = Daemon::start_ready(traced(&format!("http://{}", receiver.addr())));
    let r = chat_with_headers(
        &d,
        &[
            (
                "traceparent",
                "00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-00f067aa0ba902b7-00",
            ),
            ("X-Request-Id", "unsampled"),
        ],
    );
    assert_eq!(r.status, 200);
    let r = chat_with_headers(&d, &[("X-Request-Id", "sampled")]);
    assert_eq!(r.status, 200);
    let all = wait_spans(&receiver, "the sampled request", |s| {
        s.iter()
            .any(|x| x.attr("codexd.request_id").as_deref() == Some("sampled"))
    });
    assert!(all
        .iter()
        .all(|s| s.trace_id != "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}
