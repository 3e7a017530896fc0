//! The request features on the exported `chat {model}` span: closed names in
//! `codexd.features`, the image count and the turn's reasoning effort from the known set, and
//! nothing else (no schema, no image, no encrypted content).

use crate::support::daemon::{Config, Daemon};
use crate::support::mock_provider::{MockProvider, Reply};
use crate::support::otlp::{spans, ReceivedSpan};
use crate::support::{eventually, http};
use serde_json::json;
use std::time::Duration;

fn chat_span(receiver: &MockProvider, req_id: &str) -> ReceivedSpan {
    eventually(Duration::from_secs(10), "the chat span", || {
        spans(receiver).into_iter().find(|s| {
            s.name == "chat codex-demo" && s.attr("codexd.request_id").as_deref() == Some(req_id)
        })
    })
}

fn post(d: &Daemon, path: &str, req_id: &str, body: &serde_json::Value) {
    let r = http::request(
        d.addr,
        "POST",
        path,
        &[
            ("Authorization", "Bearer sk-test"),
            ("X-Request-Id", req_id),
        ],
        body.to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn the_chat_span_says_which_request_features_were_used() {
    let receiver = MockProvider::start(Reply::default()).unwrap();
    let d = Daemon::start_ready(Config::default().set("workers.count", "1").set(
        "tracing.endpoint",
        &format!("\"http://{}\"", receiver.addr()),
    ));
    post(
        &d,
        "/v1/responses",
        "feat-1",
        &json!({"model": "codex-demo", "input": "x", "include": ["reasoning.encrypted_content"],
            "reasoning": {"effort": "low", "summary": "auto"}}),
    );
    let s = chat_span(&receiver, "feat-1");
    let f = s.attr("codexd.features").expect("codexd.features");
    for name in [
        "reasoning_effort",
        "reasoning_summary",
        "reasoning_encrypted",
    ] {
        assert!(f.contains(name), "{name} missing: {f}");
    }
    for name in ["structured_output", "image", "stop", "tools"] {
        assert!(!f.contains(name), "{name} set: {f}");
    }
    assert_eq!(
        s.attr("codexd.request.reasoning_effort").as_deref(),
        Some("low")
    );
    assert!(!format!("{s:?}").contains("demo-encrypted"));

    post(
        &d,
        "/v1/chat/completions",
        "feat-2",
        &json!({"model": "codex-demo", "stop": ["zz"], "messages": [{"role": "user", "content": [
            {"type": "text", "text": "x"},
            {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{}",
                crate::api_features::PNG_1X1)}}]}]}),
    );
    let s = chat_span(&receiver, "feat-2");
    let f = s.attr("codexd.features").expect("codexd.features");
    assert!(f.contains("stop") && f.contains("image"), "{f}");
    assert!(!f.contains("reasoning"), "{f}");
    assert_eq!(s.attr("codexd.request.images").as_deref(), Some("1"));
    // The turn ran with the catalogue entry's default effort, which the client did not name.
    assert_eq!(
        s.attr("codexd.request.reasoning_effort").as_deref(),
        Some("medium")
    );
}
