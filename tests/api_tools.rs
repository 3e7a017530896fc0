//! Client tools end to end against the demo worker: the OpenAI Python SDK's two-step
//! weather-tool loop on Chat and Responses (streamed and not) continues the parked turns;
//! after the parked turn expired, or its worker was killed, the same follow-up is answered
//! by replay (counted with its reason); bad tool input gets a 400 naming the field.

use crate::api_errors::one_worker;
use crate::support::daemon::{Daemon, KEY};
use crate::support::http;
use crate::support::{eventually, sdk};
use codexd_test_support::metrics_text::Scrape;
use serde_json::{json, Value};
use std::process::Command;
use std::time::Duration;

pub const PROMPT: &str = "What is the weather? Ask get_weather about Paris";
pub const EXPECT: &str = "sunny, 21 C in Paris";

/// Runs `tests/sdk/openai_tools_check.py` and returns its stdout; panics on failure.
pub fn run_tools_check(d: &Daemon, model: &str, prompt: &str, expect: &str, parts: &str) -> String {
    let base = format!("http://{}/v1", d.addr);
    sdk::run_check(
        "openai_tools_check.py",
        &[&base, KEY, model, prompt, expect, parts],
        Duration::from_secs(90),
    )
}

/// The first `function_call` output item of a Responses answer.
fn first_call(r: &Value) -> Value {
    let call = r["output"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["type"] == "function_call")
        .cloned();
    call.unwrap_or_else(|| panic!("no function_call in {r}"))
}

/// Sends request 1's input, its call and the call's output as one full-input follow-up and
/// checks the answer quotes the output.
fn assert_full_input_follow_up_answers(d: &Daemon, body: &Value, call: &Value) {
    let mut follow = body.clone();
    follow["input"] = json!([{"role": "user", "content": PROMPT}, call,
        {"type": "function_call_output", "call_id": call["call_id"], "output": "sunny, 21 C in Paris"}]);
    let r2 = http::post(d.addr, "/v1/responses", &follow);
    assert_eq!(r2.status, 200, "{}", r2.text());
    let text: String = r2.json()["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o.pointer("/content/0/text").and_then(Value::as_str))
        .collect();
    assert!(text.contains(EXPECT), "{}", r2.text());
}

pub fn followups(d: &Daemon, path: &str, reason: &str) -> f64 {
    Scrape::parse(&d.metrics()).sum(
        "codexd_tool_followups_total",
        &[("path", path), ("reason", reason)],
    )
}

#[test]
fn the_python_sdk_tool_loop_continues_the_parked_turns_on_both_apis() {
    let d = Daemon::start_ready(one_worker());
    run_tools_check(
        &d,
        "codex-demo",
        PROMPT,
        EXPECT,
        "chat,chat_stream,responses,responses_stream",
    );
    assert_eq!(followups(&d, "continue", "none"), 4.0, "{}", d.metrics());
    assert_eq!(followups(&d, "replay", "not_parked"), 0.0);
    let m = Scrape::parse(&d.metrics());
    assert_eq!(m.sum("codexd_tool_calls_total", &[]), 4.0);
    assert_eq!(m.sum("codexd_parked_turns", &[]), 0.0);
}

#[test]
fn an_expired_parked_turn_is_replayed_with_the_same_answer() {
    let d = Daemon::start_ready(one_worker().set("tools.parked_ttl_ms", "1"));
    let body = json!({"model": "codex-demo", "tools": [{"type": "function", "function":
        {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
        "messages": [{"role": "user", "content": PROMPT}]});
    let r1 = http::post(d.addr, "/v1/chat/completions", &body).json();
    let msg = r1["choices"][0]["message"].clone();
    assert_eq!(r1["choices"][0]["finish_reason"], "tool_calls", "{r1}");
    eventually(Duration::from_secs(5), "the parked turn expired", || {
        let m = Scrape::parse(&d.metrics());
        (m.sum(
            "codexd_parked_turns_discarded_total",
            &[("reason", "expired")],
        ) == 1.0)
            .then_some(())
    });
    let call_id = msg["tool_calls"][0]["id"].as_str().unwrap().to_owned();
    let mut follow = body.clone();
    follow["messages"] = json!([
        {"role": "user", "content": PROMPT}, msg,
        {"role": "tool", "tool_call_id": call_id, "content": "sunny, 21 C in Paris"}]);
    let r2 = http::post(d.addr, "/v1/chat/completions", &follow).json();
    let text = r2["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default();
    assert!(text.contains(EXPECT), "{r2}");
    assert_eq!(followups(&d, "replay", "not_parked"), 1.0);
    assert_eq!(followups(&d, "continue", "none"), 0.0);
}

#[test]
fn a_follow_up_after_its_worker_was_killed_is_replayed() {
    let d = Daemon::start_ready(one_worker());
    let body = json!({"model": "codex-demo", "input": PROMPT, "tools": [{"type": "function",
        "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]});
    let r1 = http::post(d.addr, "/v1/responses", &body).json();
    let call = first_call(&r1);
    let pid = d.worker_pids()[0];
    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    eventually(Duration::from_secs(20), "a new worker", || {
        d.worker_pids().first().filter(|p| **p != pid).map(|_| ())
    });
    d.wait_ready();
    assert_full_input_follow_up_answers(&d, &body, &call);
    assert_eq!(followups(&d, "replay", "not_parked"), 1.0);
}

#[test]
fn bad_tool_input_is_a_400_naming_the_field() {
    let d = Daemon::start_ready(one_worker());
    let cases = [
        (
            "/v1/chat/completions",
            json!({"model": "codex-demo", "messages": [{"role": "user", "content": "x"},
            {"role": "tool", "tool_call_id": "call_nope", "content": "y"}]}),
            "messages[1].tool_call_id",
        ),
        (
            "/v1/responses",
            json!({"model": "codex-demo", "input": [{"role": "user", "content": "x"},
            {"type": "function_call_output", "call_id": "call_nope", "output": "y"}]}),
            "input[1].call_id",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "codex-demo", "messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": "function", "function": {"name": "not ok"}}]}),
            "tools[0].function.name",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "codex-demo", "messages": [{"role": "user", "content": "x"}],
            "tools": "get_weather"}),
            "tools",
        ),
        (
            "/v1/responses",
            json!({"model": "codex-demo", "input": "x", "tools": [{"type": "web_search"}]}),
            "tools[0].type",
        ),
        (
            "/v1/responses",
            json!({"model": "codex-demo", "input": "x", "tools": [{"type": "function", "name": "f"}],
            "tool_choice": "sometimes"}),
            "tool_choice",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "codex-demo", "messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": "function", "function": {"name": "f"}}],
            "tool_choice": {"type": "function", "function": {"name": "g"}}}),
            "tool_choice",
        ),
    ];
    for (path, body, param) in cases {
        let r = http::post(d.addr, path, &body);
        assert_eq!(r.status, 400, "{path} {body}: {}", r.text());
        let e = r.json();
        assert_eq!(e["error"]["param"], param, "{e}");
        assert_eq!(e["error"]["type"], "invalid_request_error", "{e}");
    }
    let r = http::post(
        d.addr,
        "/v1/responses",
        &json!({"model": "codex-demo", "input": "x", "previous_response_id": "resp_unknown"}),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "previous_response_not_found");
    assert_eq!(r.json()["error"]["param"], "previous_response_id");
    // Hosted tools can be ignored instead, and are counted.
    let d2 = Daemon::start_ready(one_worker().set("tools.hosted_tools", "\"ignore\""));
    let r = http::post(
        d2.addr,
        "/v1/responses",
        &json!({"model": "codex-demo", "input": "x", "tools": [{"type": "web_search"}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let m = Scrape::parse(&d2.metrics());
    assert_eq!(m.sum("codexd_hosted_tools_ignored_total", &[]), 1.0);
}

#[test]
fn a_recycled_worker_discards_its_parked_turn_and_the_follow_up_is_replayed() {
    // One turn per worker: request 1 parks its turn and the worker is recycled at once.
    let d = Daemon::start_ready(one_worker().set("workers.recycle.max_turns", "1"));
    let body = json!({"model": "codex-demo", "input": PROMPT, "tools": [{"type": "function",
        "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]});
    let pid = d.worker_pids()[0];
    let r1 = http::post(d.addr, "/v1/responses", &body).json();
    let call = first_call(&r1);
    eventually(Duration::from_secs(20), "the recycled worker", || {
        d.worker_pids().first().filter(|p| **p != pid).map(|_| ())
    });
    d.wait_ready();
    let s = Scrape::parse(&d.metrics());
    assert_eq!(
        s.sum("codexd_worker_recycles_total", &[("reason", "turns")]),
        1.0
    );
    assert_eq!(
        s.sum(
            "codexd_parked_turns_discarded_total",
            &[("reason", "worker_exit")]
        ),
        1.0
    );
    assert_eq!(s.sum("codexd_parked_turns", &[]), 0.0);
    assert_full_input_follow_up_answers(&d, &body, &call);
    assert_eq!(followups(&d, "replay", "not_parked"), 1.0);
    assert_eq!(followups(&d, "continue", "none"), 0.0);
}
