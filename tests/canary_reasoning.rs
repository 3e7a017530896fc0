//! The encrypted-reasoning canary: a unique string inside `encrypted_content` — in the
//! model's answer (the demo worker's fake content carries the turn input) and in reasoning
//! items a client sends back (replayed and refused) — appears in no log line, `/metrics`,
//! `/healthz` body or exported span.

use crate::api_errors::RESPONSES;
use crate::support::eventually;
use crate::support::http;
use crate::support::mock_provider::{MockProvider, Reply};
use serde_json::json;
use std::time::Duration;

fn canary() -> String {
    crate::canary::canary_tagged("r")
}

#[test]
fn a_canary_in_encrypted_reasoning_stays_out_of_logs_metrics_health_and_spans() {
    let c = canary();
    let receiver = MockProvider::start(Reply::default()).unwrap();
    let d = crate::canary::traced_one_worker(&receiver);
    let include = json!(["reasoning.encrypted_content"]);
    let tools = json!([{"type": "function", "name": "get_weather", "description": "w",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
            "required": ["city"], "additionalProperties": false}}]);
    let requests = [
        json!({"model": "codex-demo", "input": c.clone(), "include": include,
            "reasoning": {"effort": "low", "summary": "auto"}}),
        json!({"model": "codex-demo", "input": c.clone(), "include": include, "stream": true,
            "reasoning": {"effort": "low"}}),
        json!({"model": "codex-demo", "tools": tools, "include": include, "input": [
            {"role": "user", "content": "weather? use get_weather"},
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": c.clone()},
            {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "sunny"}]}),
        // Refused: a reasoning item whose encrypted content is not a string.
        json!({"model": "codex-demo", "input": [{"role": "user", "content": "x"},
            {"type": "reasoning", "encrypted_content": {"c": c.clone()}}]}),
    ];
    let mut statuses = Vec::new();
    for (i, body) in requests.iter().enumerate() {
        let r = http::post(d.addr, RESPONSES, body);
        statuses.push(r.status);
        if i < 2 {
            // The canary really travelled through the encrypted content.
            assert!(
                r.text().contains(&format!("demo-encrypted:low:{c}")),
                "{}",
                r.text()
            );
        }
    }
    assert_eq!(statuses, [200, 200, 200, 400]);
    let spans = eventually(Duration::from_secs(10), "spans of the three turns", || {
        let s = crate::support::otlp::spans(&receiver);
        (s.iter().filter(|s| s.name.starts_with("chat ")).count() >= 3).then_some(s)
    });
    let metrics = d.metrics();
    let health = d.healthz().to_string();
    for span in &spans {
        let text = format!("{span:?}");
        assert!(!text.contains(c.as_str()), "a span leaks {c}: {text}");
    }
    assert!(!metrics.contains(c.as_str()), "/metrics leaks {c}");
    assert!(!health.contains(c.as_str()), "/healthz leaks {c}");
    for line in d.lines() {
        assert!(!line.contains(c.as_str()), "a log line leaks {c}: {line}");
    }
    assert!(!d.stderr().contains(c.as_str()));
}
