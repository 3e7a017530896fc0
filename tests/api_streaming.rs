//! Streaming and non-stream answers through the real binary: chat chunk framing, Responses
//! typed events, usage, upstream errors before and after the headers, the first-token
//! deadline and keepalive comment lines.

use crate::api_errors::{
    assert_error, completed, one_worker, post_as, stream_header, CHAT, RESPONSES,
};
use crate::support::daemon::{Config, Daemon};
use crate::support::eventually;
use crate::support::http::{self, Response};
use serde_json::{json, Value};
use std::time::Duration;

/// Reads a whole SSE response and checks the streaming headers.
pub fn stream_all(d: &Daemon, path: &str, body: &Value) -> String {
    let mut s = http::Streaming::open(d.addr, path, body);
    if s.status != 200 {
        let status = s.status;
        panic!(
            "status {status}: {}",
            s.read_to_end(Duration::from_secs(10))
        );
    }
    assert_eq!(stream_header(&s, "content-type"), Some("text/event-stream"));
    assert_eq!(stream_header(&s, "cache-control"), Some("no-cache"));
    assert_eq!(stream_header(&s, "x-accel-buffering"), Some("no"));
    assert!(stream_header(&s, "x-request-id").is_some());
    s.read_to_end(Duration::from_secs(10))
}

/// The `(event name, data)` pairs of a typed SSE body; comment lines are skipped. Checks that
/// every event names its own `type` and that `sequence_number` counts up from 0 by one.
pub fn typed_events(body: &str) -> Vec<(String, Value)> {
    let events: Vec<(String, Value)> = body
        .split("\n\n")
        .filter(|block| block.lines().any(|l| l.starts_with("data: ")))
        .map(|block| {
            let name = block.lines().find_map(|l| l.strip_prefix("event: "));
            let data = block
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .unwrap();
            let name = name.unwrap_or_else(|| panic!("data without an event name: {block}"));
            (name.to_owned(), serde_json::from_str(data).unwrap())
        })
        .collect();
    for (i, (name, data)) in events.iter().enumerate() {
        assert_eq!(data["type"], name.as_str());
        assert_eq!(data["sequence_number"], i, "sequence of {name}");
    }
    events
}

pub fn responses_body(input: &str, stream: bool) -> Value {
    json!({"model": "codex-demo", "input": input, "stream": stream})
}

/// The chat usage the demo worker reports for `hello` → `You said: hello`.
fn hello_chat_usage(cached: u64, reasoning: u64) -> Value {
    json!({"prompt_tokens": 2, "completion_tokens": 4, "total_tokens": 6,
        "prompt_tokens_details": {"cached_tokens": cached},
        "completion_tokens_details": {"reasoning_tokens": reasoning}})
}

#[test]
fn a_chat_stream_is_role_chunk_deltas_finish_chunk_usage_chunk_then_done() {
    let d = Daemon::start_ready(one_worker());
    let body = stream_all(&d, CHAT, &http::chat_body("hello", true));
    assert!(body.ends_with("\n\ndata: [DONE]\n\n"), "{body}");
    assert_eq!(body.matches("[DONE]").count(), 1);
    let frames = http::sse_data(&body);
    let (id, created) = (&frames[0]["id"], &frames[0]["created"]);
    assert!(id.as_str().unwrap().starts_with("chatcmpl-"));
    for f in &frames {
        assert_eq!(
            (&f["id"], &f["created"]),
            (id, created),
            "one id and created per stream"
        );
        assert_eq!(f["object"], "chat.completion.chunk");
        assert_eq!(f["model"], "codex-demo");
    }
    let (first, rest) = frames.split_first().unwrap();
    assert_eq!(
        first["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    let (usage, rest) = rest.split_last().unwrap();
    let (finish, deltas) = rest.split_last().unwrap();
    let text: String = deltas
        .iter()
        .map(|f| f["choices"][0]["delta"]["content"].as_str().unwrap())
        .collect();
    assert_eq!((text.as_str(), deltas.len()), ("You said: hello", 5));
    assert!(deltas
        .iter()
        .all(|f| f["choices"][0]["finish_reason"].is_null() && f["usage"].is_null()));
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    assert_eq!(finish["choices"][0]["delta"], json!({}));
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"], hello_chat_usage(0, 0));

    let mut plain = http::chat_body("hello", true);
    plain["stream_options"] = Value::Null;
    let body = stream_all(&d, CHAT, &plain);
    let frames = http::sse_data(&body);
    assert!(frames.iter().all(|f| f.get("usage").is_none()), "{body}");
    assert_eq!(
        frames.last().unwrap()["choices"][0]["finish_reason"],
        "stop"
    );
}

#[test]
fn a_responses_stream_is_typed_events_with_a_running_sequence_number() {
    let d = Daemon::start_ready(one_worker());
    let body = stream_all(&d, RESPONSES, &responses_body("hello", true));
    assert!(!body.contains("[DONE]"));
    let events = typed_events(&body);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    let mut expected = vec![
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ];
    expected.extend(["response.output_text.delta"; 5]);
    expected.extend([
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]);
    assert_eq!(names, expected);
    let deltas: String = events
        .iter()
        .filter(|(n, _)| n == "response.output_text.delta")
        .map(|(_, e)| e["delta"].as_str().unwrap())
        .collect();
    assert_eq!(deltas, "You said: hello");
    let created = &events[0].1["response"];
    let done = &events.last().unwrap().1["response"];
    assert_eq!(created["status"], "in_progress");
    assert_eq!(
        (&done["id"], done["status"].as_str()),
        (&created["id"], Some("completed"))
    );
    assert_eq!(done["output"][0]["content"][0]["text"], "You said: hello");
    assert_eq!(events[9].1["text"], "You said: hello");
    assert_eq!(
        done["usage"],
        json!({"input_tokens": 2, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 4, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 6})
    );
}

#[test]
fn non_stream_answers_carry_the_text_and_the_usage() {
    let d = Daemon::start_ready(
        one_worker()
            .worker_env("CODEXD_DEMO_CACHED_TOKENS", "1")
            .worker_env("CODEXD_DEMO_REASONING_TOKENS", "2"),
    );
    let r = http::post(d.addr, CHAT, &http::chat_body("hello", false));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let mut chat = r.json();
    assert!(chat["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert!(chat["created"].as_u64().unwrap() > 1_600_000_000);
    chat["id"] = Value::Null;
    chat["created"] = Value::Null;
    assert_eq!(
        chat,
        json!({"id": null, "object": "chat.completion", "created": null, "model": "codex-demo",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "You said: hello", "refusal": null},
                "logprobs": null, "finish_reason": "stop"}],
            "usage": hello_chat_usage(1, 2), "system_fingerprint": null})
    );
    let r = http::post(d.addr, RESPONSES, &responses_body("hello", false));
    assert_eq!(r.status, 200);
    let resp = r.json();
    assert_eq!(
        (resp["object"].as_str(), resp["status"].as_str()),
        (Some("response"), Some("completed"))
    );
    assert_eq!(resp["output"][0]["role"], "assistant");
    assert_eq!(resp["output"][0]["content"][0]["text"], "You said: hello");
    assert_eq!(
        resp["usage"],
        json!({"input_tokens": 2, "input_tokens_details": {"cached_tokens": 1},
            "output_tokens": 4, "output_tokens_details": {"reasoning_tokens": 2}, "total_tokens": 6})
    );
    let history = json!({"model": "codex-demo", "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": [{"type": "text", "text": "b"}]},
        {"role": "user", "content": "c"}]});
    let r = http::post(d.addr, CHAT, &history);
    assert_eq!(
        r.json()["choices"][0]["message"]["content"],
        "You said: [user]\na\n\n[assistant]\nb\n\n[user]\nc",
        "the history is role-labelled turn input; the system prompt is not part of it"
    );
}

/// A daemon whose worker fails every turn upstream with `kind`.
fn failing(kind: &str) -> Daemon {
    Daemon::start_ready(one_worker().worker_env("CODEXD_DEMO_UPSTREAM_ERROR", kind))
}

/// Codex's own error texts, which must never reach a client.
const CODEX_TEXTS: &[&str] = &[
    "high demand",
    "exceeded retry limit",
    "ran out of room",
    "429 Too",
];

fn upstream_error_before_headers(
    kind: &str,
    status: u16,
    ty: &str,
    code: &str,
    param: Option<&str>,
) {
    let d = failing(kind);
    let chat_stream = http::chat_body("x", true).to_string();
    let chat_unary = http::chat_body("x", false).to_string();
    let responses_stream = responses_body("x", true).to_string();
    let cases = [
        (CHAT, &chat_stream),
        (CHAT, &chat_unary),
        (RESPONSES, &responses_stream),
    ];
    for (i, (path, body)) in cases.into_iter().enumerate() {
        let id = format!("{kind}-{i}");
        let r: Response = post_as(d.addr, path, &id, body.as_bytes());
        assert_error(&r, status, ty, code, param);
        assert!(
            CODEX_TEXTS.iter().all(|t| !r.text().contains(t)),
            "{}",
            r.text()
        );
        let ended = d.wait_event(Duration::from_secs(5), "stream_ended", |e| {
            e["event"] == "stream_ended" && e["req_id"] == id.as_str()
        });
        assert_eq!(ended["outcome"], "worker_error");
        let line = completed(&d, &id);
        assert_eq!(
            (line["status"].as_u64(), line["error_code"].as_str()),
            (Some(status.into()), Some(code))
        );
    }
    let received = d.events_named("upstream_error_received");
    assert_eq!(received.len(), 3);
    assert!(received.iter().all(|e| e["error_code"] == kind));
}

#[test]
fn an_upstream_rate_limit_before_the_headers_is_a_429() {
    upstream_error_before_headers(
        "rate_limited",
        429,
        "rate_limit_exceeded",
        "rate_limit_exceeded",
        None,
    );
}

#[test]
fn an_upstream_server_error_before_the_headers_is_a_502() {
    upstream_error_before_headers(
        "server_error",
        502,
        "upstream_error",
        "upstream_error",
        None,
    );
}

#[test]
fn an_upstream_context_length_error_before_the_headers_is_a_400_naming_messages() {
    upstream_error_before_headers(
        "context_length",
        400,
        "invalid_request_error",
        "context_length_exceeded",
        Some("messages"),
    );
}

/// Asserts the chat error frame and clean end that follow a failure after the headers.
pub fn assert_chat_error_end(body: &str, code: &str, deltas: usize) -> Value {
    assert!(body.ends_with("}\n\ndata: [DONE]\n\n"), "{body}");
    let frames = http::sse_data(body);
    let (error, chunks) = frames.split_last().unwrap();
    assert_eq!(
        chunks.len(),
        1 + deltas,
        "role chunk and {deltas} deltas: {body}"
    );
    assert!(chunks
        .iter()
        .all(|c| c["choices"][0]["finish_reason"].is_null()));
    let keys: Vec<&String> = error["error"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["code", "message", "param", "type"]);
    assert_eq!(error["error"]["code"], code, "{body}");
    error["error"].clone()
}

/// Asserts that a Responses stream ended with `response.failed` carrying `code`.
pub fn assert_responses_failed(body: &str, code: &str) -> Value {
    let events = typed_events(body);
    let (name, last) = events.last().unwrap();
    assert_eq!(name, "response.failed", "{body}");
    assert!(!body.contains("response.completed"));
    assert_eq!(last["response"]["status"], "failed");
    assert_eq!(last["response"]["error"]["code"], code, "{body}");
    last["response"]["error"].clone()
}

/// The `request_completed` lines of API requests (probes excluded).
fn api_lines(d: &Daemon) -> Vec<Value> {
    d.events_named("request_completed")
        .into_iter()
        .filter(|e| e["route"].as_str().is_some_and(|r| r.starts_with("/v1/")))
        .collect()
}

fn upstream_error_after_headers(kind: &str, code: &str) {
    let d = Daemon::start_ready(
        one_worker()
            .set("streaming.header_hold_ms", "50")
            .worker_env("CODEXD_DEMO_FIRST_TOKEN_DELAY_MS", "200")
            .worker_env("CODEXD_DEMO_CHUNK_INTERVAL_MS", "50")
            .worker_env("CODEXD_DEMO_UPSTREAM_ERROR", kind)
            .worker_env("CODEXD_DEMO_UPSTREAM_ERROR_AFTER_CHUNKS", "2"),
    );
    let body = stream_all(&d, CHAT, &http::chat_body("x", true));
    let e = assert_chat_error_end(&body, code, 2);
    assert!(CODEX_TEXTS.iter().all(|t| !e.to_string().contains(t)));
    let body = stream_all(&d, RESPONSES, &responses_body("x", true));
    let e = assert_responses_failed(&body, code);
    assert!(CODEX_TEXTS.iter().all(|t| !e.to_string().contains(t)));
    assert_eq!(body.matches("response.output_text.delta").count(), 2 * 2);
    eventually(Duration::from_secs(5), "two request_completed", || {
        (api_lines(&d).len() == 2).then_some(())
    });
    for line in api_lines(&d) {
        assert_eq!(
            (line["status"].as_u64(), line["outcome"].as_str()),
            (Some(200), Some("failed"))
        );
        assert_eq!(line["error_code"], code);
    }
}

#[test]
fn an_upstream_rate_limit_after_the_headers_is_an_error_frame_then_a_clean_end() {
    upstream_error_after_headers("rate_limited", "rate_limit_exceeded");
}

#[test]
fn an_upstream_server_error_after_the_headers_is_an_error_frame_with_the_request_id() {
    let d = Daemon::start_ready(
        one_worker()
            .set("streaming.header_hold_ms", "50")
            .worker_env("CODEXD_DEMO_FIRST_TOKEN_DELAY_MS", "200")
            .worker_env("CODEXD_DEMO_UPSTREAM_ERROR", "server_error")
            .worker_env("CODEXD_DEMO_UPSTREAM_ERROR_AFTER_CHUNKS", "1"),
    );
    let mut s = http::Streaming::open(d.addr, CHAT, &http::chat_body("x", true));
    let id = stream_header(&s, "x-request-id").unwrap().to_owned();
    let body = s.read_to_end(Duration::from_secs(10));
    let e = assert_chat_error_end(&body, "upstream_error", 1);
    assert_eq!(e["type"], "upstream_error");
    assert_eq!(
        e["message"],
        format!("The model provider returned an error. (request id: {id})")
    );
}

fn first_token_timeouts() -> Config {
    one_worker()
        .set("streaming.first_token_timeout_ms", "300")
        .worker_env("CODEXD_DEMO_FIRST_TOKEN_DELAY_MS", "3000")
}

#[test]
fn no_first_token_before_the_headers_is_a_504() {
    let d = Daemon::start_ready(first_token_timeouts().set("streaming.header_hold_ms", "2000"));
    for (i, body) in [
        http::chat_body("x", true),
        http::chat_body("x", false),
        responses_body("x", true),
    ]
    .iter()
    .enumerate()
    {
        let id = format!("slow-{i}");
        let path = if i == 2 { RESPONSES } else { CHAT };
        let r = post_as(d.addr, path, &id, body.to_string().as_bytes());
        let e = assert_error(&r, 504, "timeout", "timeout_first_token", None);
        assert_eq!(
            e["message"],
            format!("The model did not start answering in time. (request id: {id})")
        );
        let sent = d.wait_event(Duration::from_secs(5), "interrupt", |e| {
            e["event"] == "turn_interrupt_sent" && e["req_id"] == id.as_str()
        });
        assert_eq!(sent["cause"], "timeout_first_token");
        let ended = d.wait_event(Duration::from_secs(5), "stream_ended", |e| {
            e["event"] == "stream_ended" && e["req_id"] == id.as_str()
        });
        assert_eq!(ended["outcome"], "timeout_first_token");
    }
    assert_eq!(d.events_named("turn_interrupt_confirmed").len(), 3);
}

#[test]
fn no_first_token_after_the_headers_is_an_error_frame() {
    let d = Daemon::start_ready(first_token_timeouts().set("streaming.header_hold_ms", "50"));
    let body = stream_all(&d, CHAT, &http::chat_body("x", true));
    let e = assert_chat_error_end(&body, "timeout_first_token", 0);
    assert_eq!(e["type"], "timeout");
    let body = stream_all(&d, RESPONSES, &responses_body("x", true));
    assert_responses_failed(&body, "timeout_first_token");
}

#[test]
fn an_idle_stream_gets_keepalive_comment_lines() {
    let d = Daemon::start_ready(
        one_worker()
            .set("streaming.keepalive_ms", "100")
            .set("streaming.header_hold_ms", "50")
            .worker_env("CODEXD_DEMO_FIRST_TOKEN_DELAY_MS", "700"),
    );
    for (path, body) in [
        (CHAT, http::chat_body("x", true)),
        (RESPONSES, responses_body("x", true)),
    ] {
        let text = stream_all(&d, path, &body);
        let first_delta = text.find("You").unwrap();
        let keepalives = text[..first_delta].matches("\n: keepalive\n\n").count();
        assert!(keepalives >= 3, "keepalives before the first token: {text}");
        assert!(
            text.starts_with("data: ") || text.starts_with("event: "),
            "{text}"
        );
        assert!(text.ends_with("data: [DONE]\n\n") || text.contains("response.completed"));
    }
}
