//! Encrypted reasoning on the Responses API against the demo worker: with
//! `include: ["reasoning.encrypted_content"]` the model's raw reasoning item comes back as the
//! one `reasoning` output item carrying `encrypted_content` (streamed and not); without the
//! include it never does; and a replayed follow-up injects the client's reasoning items in
//! their place (the demo worker's answer counts them).

use crate::api_errors::one_worker;
use crate::support::daemon::Daemon;
use crate::support::http::{self, Streaming};
use serde_json::{json, Value};
use std::time::Duration;

const INCLUDE: &str = "reasoning.encrypted_content";

fn events(body: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut ty = String::new();
    for line in body.lines() {
        if let Some(t) = line.strip_prefix("event: ") {
            ty = t.to_owned();
        } else if let Some(d) = line.strip_prefix("data: ") {
            out.push((ty.clone(), serde_json::from_str(d).unwrap()));
        }
    }
    out
}

fn reasoning_items(output: &Value) -> Vec<Value> {
    output
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "reasoning")
        .cloned()
        .collect()
}

#[test]
fn include_brings_the_encrypted_content_back_streamed_and_not() {
    let d = Daemon::start_ready(one_worker());
    let body = json!({"model": "codex-demo", "input": "x", "include": [INCLUDE],
        "reasoning": {"effort": "low", "summary": "auto"}});
    let r = http::post(d.addr, "/v1/responses", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let items = reasoning_items(&v["output"]);
    assert_eq!(items.len(), 1, "one reasoning item, not two: {v}");
    assert_eq!(v["output"][0]["type"], "reasoning");
    assert_eq!(items[0]["encrypted_content"], "demo-encrypted:low:x");
    assert_eq!(items[0]["summary"][0]["text"], "Thinking with low effort.");

    // Streamed: the summary item's done event carries the content, and so does the snapshot.
    let mut sb = body.clone();
    sb["stream"] = json!(true);
    let mut s = Streaming::open(d.addr, "/v1/responses", &sb);
    let ev = events(&s.read_to_end(Duration::from_secs(10)));
    let done: Vec<&Value> = ev
        .iter()
        .filter(|(t, v)| t == "response.output_item.done" && v["item"]["type"] == "reasoning")
        .map(|(_, v)| &v["item"])
        .collect();
    assert_eq!(done.len(), 1, "{ev:?}");
    assert_eq!(done[0]["encrypted_content"], "demo-encrypted:low:x");
    assert_eq!(done[0]["summary"][0]["text"], "Thinking with low effort.");
    let last = &ev.last().unwrap().1["response"];
    let items = reasoning_items(&last["output"]);
    assert_eq!(items.len(), 1, "{last}");
    assert_eq!(items[0]["encrypted_content"], "demo-encrypted:low:x");

    // An effort without a summary: the item is added and done with an empty summary.
    let body = json!({"model": "codex-demo", "input": "y", "include": [INCLUDE],
        "reasoning": {"effort": "high"}, "stream": true});
    let mut s = Streaming::open(d.addr, "/v1/responses", &body);
    let ev = events(&s.read_to_end(Duration::from_secs(10)));
    let types: Vec<&str> = ev
        .iter()
        .filter(|(_, v)| v["item"]["type"] == "reasoning")
        .map(|(t, _)| t.as_str())
        .collect();
    assert_eq!(
        types,
        ["response.output_item.added", "response.output_item.done"]
    );
    let done = ev
        .iter()
        .find(|(t, v)| t == "response.output_item.done" && v["item"]["type"] == "reasoning")
        .unwrap();
    assert_eq!(done.1["item"]["encrypted_content"], "demo-encrypted:high:y");
    assert_eq!(done.1["item"]["summary"], json!([]));
    let non_stream = http::post(
        d.addr,
        "/v1/responses",
        &json!({"model": "codex-demo", "input": "y", "include": [INCLUDE],
            "reasoning": {"effort": "high"}}),
    );
    assert_eq!(
        non_stream.json()["output"][0]["encrypted_content"],
        "demo-encrypted:high:y"
    );
}

#[test]
fn without_include_no_encrypted_content_is_sent() {
    let d = Daemon::start_ready(one_worker());
    let body = json!({"model": "codex-demo", "input": "x",
        "reasoning": {"effort": "low", "summary": "auto"}});
    let r = http::post(d.addr, "/v1/responses", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(!r.text().contains("encrypted"), "{}", r.text());
    assert_eq!(reasoning_items(&r.json()["output"]).len(), 1);
    let mut sb = body.clone();
    sb["stream"] = json!(true);
    let mut s = Streaming::open(d.addr, "/v1/responses", &sb);
    let text = s.read_to_end(Duration::from_secs(10));
    assert!(text.contains("response.completed"), "{text}");
    assert!(!text.contains("encrypted"), "{text}");
    // Effort only, no include: no reasoning item at all.
    let r = http::post(
        d.addr,
        "/v1/responses",
        &json!({"model": "codex-demo", "input": "x", "reasoning": {"effort": "high"}}),
    );
    assert_eq!(
        r.json()["output"].as_array().unwrap().len(),
        1,
        "{}",
        r.text()
    );
}

fn weather_tool() -> Value {
    json!([{"type": "function", "name": "get_weather", "description": "Weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
            "required": ["city"], "additionalProperties": false}}])
}

#[test]
fn a_replayed_follow_up_injects_the_reasoning_items_in_place() {
    let d = Daemon::start_ready(one_worker());
    // Never parked (no request 1 here): served by replay.
    let input = json!([
        {"role": "user", "content": "What is the weather in Paris? use get_weather"},
        {"type": "reasoning", "id": "rs_a", "summary": [], "encrypted_content": "E1"},
        {"type": "reasoning", "id": "rs_b", "summary": [{"type": "summary_text", "text": "t"}]},
        {"type": "function_call", "call_id": "c1", "name": "get_weather",
         "arguments": "{\"city\":\"Paris\"}"},
        {"type": "function_call_output", "call_id": "c1", "output": "sunny"}]);
    let r = http::post(
        d.addr,
        "/v1/responses",
        &json!({"model": "codex-demo", "tools": weather_tool(), "input": input}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.json()["output"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "message")
        .map(|m| m["content"][0]["text"].as_str().unwrap().to_owned())
        .unwrap();
    assert_eq!(
        text,
        "get_weather returned 5 characters: sunny [2 reasoning items replayed]"
    );
    // A reasoning item with neither a summary nor encrypted content is named.
    let r = http::post(
        d.addr,
        "/v1/responses",
        &json!({"model": "codex-demo", "tools": weather_tool(), "input": [
            {"role": "user", "content": "x"}, {"type": "reasoning", "id": "rs_1"}]}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"]["param"], "input[1]");
}
