//! Request features against the demo worker: structured outputs (json_schema on both APIs, the
//! strict check's 400), reasoning effort checked against the worker's `model/list`, `data:`
//! images and the refused kinds, emulated `stop`, ignored fields counted, unknown fields
//! refused, the Responses settings echo, and the Chat role chunk's `usage: null`.

use crate::api_errors::one_worker;
use crate::support::daemon::Daemon;
use crate::support::eventually;
use crate::support::http::{self, sse_data, Response, Streaming};
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);
/// A 1×1 PNG.
pub const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";

fn chat(d: &Daemon, body: Value) -> Response {
    http::post(d.addr, "/v1/chat/completions", &body)
}

fn responses(d: &Daemon, body: Value) -> Response {
    http::post(d.addr, "/v1/responses", &body)
}

/// Asserts an OpenAI error envelope with this status, code and param.
pub fn assert_400(r: &Response, code: &str, param: &str) -> String {
    assert_eq!(r.status, 400, "{}", r.text());
    let e = &r.json()["error"];
    assert_eq!(e["type"], "invalid_request_error", "{e}");
    assert_eq!(e["code"], code, "{e}");
    assert_eq!(e["param"], param, "{e}");
    e["message"].as_str().unwrap_or_default().to_owned()
}

pub fn person_schema() -> Value {
    json!({"type": "object", "additionalProperties": false, "required": ["name", "age", "tags"],
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                       "tags": {"type": "array", "items": {"type": "string"}}}})
}

fn user(content: Value) -> Value {
    json!([{"role": "user", "content": content}])
}

#[test]
fn a_json_schema_answer_is_the_json_text_on_both_apis_and_a_non_strict_schema_is_named() {
    let d = Daemon::start_ready(one_worker());
    let r = chat(
        &d,
        json!({"model": "codex-demo", "messages": user(json!("who?")),
            "response_format": {"type": "json_schema",
                "json_schema": {"name": "person", "schema": person_schema(), "strict": true}}}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let content = r.json()["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    let parsed: Value = serde_json::from_str(&content).unwrap();
    assert_eq!(parsed, json!({"name": "demo", "age": 0, "tags": []}));

    let r = responses(
        &d,
        json!({"model": "codex-demo", "input": "who?", "text": {"format": {"type": "json_schema",
            "name": "person", "schema": person_schema(), "strict": true}}}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    let text = body["output"][0]["content"][0]["text"].as_str().unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(text).unwrap(),
        json!({"name": "demo", "age": 0, "tags": []})
    );
    assert_eq!(body["text"]["format"]["type"], "json_schema");

    let mut open = person_schema();
    open["properties"]["name"] =
        json!({"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]});
    let r = chat(
        &d,
        json!({"model": "codex-demo", "messages": user(json!("x")),
            "response_format": {"type": "json_schema", "json_schema": {"name": "p", "schema": open}}}),
    );
    let m = assert_400(&r, "invalid_value", "response_format.json_schema.schema");
    assert!(m.contains("#/properties/name"), "{m}");
    assert!(m.contains("additionalProperties"), "{m}");
    let r = responses(
        &d,
        json!({"model": "codex-demo", "input": "x", "text": {"format": {"type": "json_schema",
            "name": "p", "schema": {"type": "object", "properties": {"a": {"type": "string"}},
            "required": [], "additionalProperties": false}}}}),
    );
    let m = assert_400(&r, "invalid_value", "text.format.schema");
    assert!(m.contains("In context=#,"), "{m}");
}

#[test]
fn an_effort_outside_the_models_supported_set_is_a_400_and_a_supported_one_is_served() {
    let d = Daemon::start_ready(one_worker());
    // The demo's `demo` model supports low, medium and high (from its model/list answer,
    // which arrives just after the handshake).
    let r = eventually(WAIT, "the model/list answer", || {
        let r = chat(
            &d,
            json!({"model": "codex-demo", "messages": user(json!("x")), "reasoning_effort": "xhigh"}),
        );
        (r.status == 400).then_some(r)
    });
    let m = assert_400(&r, "invalid_value", "reasoning_effort");
    assert!(m.contains("'low', 'medium', 'high'"), "{m}");
    let r = chat(
        &d,
        json!({"model": "codex-demo", "messages": user(json!("x")), "reasoning_effort": "ultra"}),
    );
    assert_400(&r, "invalid_value", "reasoning_effort");
    let r = responses(
        &d,
        json!({"model": "codex-demo", "input": "x", "reasoning": {"effort": "bogus"}}),
    );
    assert_400(&r, "invalid_value", "reasoning.effort");
    let r = chat(
        &d,
        json!({"model": "codex-demo", "messages": user(json!("x")), "reasoning_effort": "high"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = responses(
        &d,
        json!({"model": "codex-demo", "input": "x", "reasoning": {"effort": "low", "summary": "auto"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["reasoning"],
        json!({"effort": "low", "summary": "auto"})
    );
}

#[test]
fn a_data_png_is_taken_and_remote_svg_and_corrupt_images_are_400s() {
    let d = Daemon::start_ready(one_worker());
    let png = format!("data:image/png;base64,{PNG_1X1}");
    let r = chat(
        &d,
        json!({"model": "codex-demo", "messages": user(json!([
            {"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": png, "detail": "low"}}]))}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["choices"][0]["message"]["content"],
        "You said: what is this? [1 image]"
    );
    let r = responses(
        &d,
        json!({"model": "codex-demo", "input": [{"role": "user", "content": [
            {"type": "input_text", "text": "and this?"},
            {"type": "input_image", "image_url": png},
            {"type": "input_image", "image_url": png}]}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["output"][0]["content"][0]["text"],
        "You said: and this? [2 images]"
    );
    let bad = [
        ("https://example.com/cat.png", "Remote"),
        ("data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=", "SVG"),
        ("data:image/png;base64,AAAAAAAAAAAAAAAA", "not a valid"),
        ("/etc/passwd", "data: URL"),
    ];
    for (url, says) in bad {
        let r = chat(
            &d,
            json!({"model": "codex-demo", "messages": user(json!([
                {"type": "text", "text": "x"}, {"type": "image_url", "image_url": {"url": url}}]))}),
        );
        let m = assert_400(&r, "invalid_value", "messages[0].content[1].image_url");
        assert!(m.contains(says), "{url}: {m}");
        let r = responses(
            &d,
            json!({"model": "codex-demo", "input": [{"role": "user", "content": [
                {"type": "input_image", "image_url": url}, {"type": "input_text", "text": "x"}]}]}),
        );
        assert_400(&r, "invalid_value", "input[0].content[0].image_url");
    }
}

#[test]
fn an_image_over_the_configured_size_is_a_400() {
    let d = Daemon::start_ready(one_worker().set("codex.max_image_bytes", "32"));
    let r = chat(
        &d,
        json!({"model": "codex-demo", "messages": user(json!([{"type": "image_url",
            "image_url": {"url": format!("data:image/png;base64,{PNG_1X1}")}}]))}),
    );
    let m = assert_400(&r, "invalid_value", "messages[0].content[0].image_url");
    assert!(m.contains("limit of 32 bytes"), "{m}");
}

#[test]
fn stop_sequences_cut_the_answer_streamed_and_not() {
    let d = Daemon::start_ready(
        one_worker()
            .worker_env("CODEXD_DEMO_REPLY", "alpha beta STOP gamma delta")
            .worker_env("CODEXD_DEMO_CHUNKS", "9"),
    );
    let r = chat(
        &d,
        json!({"model": "codex-demo", "messages": user(json!("x")), "stop": ["STOP", "zzz"]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let c = &r.json()["choices"][0];
    assert_eq!(c["message"]["content"], "alpha beta ");
    assert_eq!(c["finish_reason"], "stop");
    let m = d.metrics();
    let used = |f: &str| {
        m.lines()
            .find(|l| {
                l.starts_with("codexd_request_features_total")
                    && l.contains(&format!("feature=\"{f}\""))
                    && l.contains("/v1/chat/completions")
            })
            .map(|l| l.rsplit(' ').next().unwrap_or("").to_owned())
    };
    assert_eq!(used("stop").as_deref(), Some("1"));
    assert_eq!(used("image").as_deref(), Some("0"));
    let mut s = Streaming::open(
        d.addr,
        "/v1/chat/completions",
        &json!({"model": "codex-demo", "stream": true, "stop": "STOP",
            "stream_options": {"include_usage": true}, "messages": user(json!("x"))}),
    );
    let body = s.read_to_end(WAIT);
    assert!(body.ends_with("data: [DONE]\n\n"), "{body}");
    let frames = sse_data(&body);
    let text: String = frames
        .iter()
        .filter_map(|f| f["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "alpha beta ");
    let finishes: Vec<&Value> = frames
        .iter()
        .map(|f| &f["choices"][0]["finish_reason"])
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finishes, vec![&json!("stop")]);
    // The role chunk carries `usage: null` like every other chunk when include_usage is set.
    assert_eq!(frames[0]["choices"][0]["delta"]["role"], "assistant");
    assert!(frames[0].as_object().unwrap().contains_key("usage"));
    assert_eq!(frames[0]["usage"], Value::Null);
    // A turn without a stop keeps the whole answer (the held-back tail is released).
    let r = chat(
        &d,
        json!({"model": "codex-demo", "messages": user(json!("x")), "stop": "delta!"}),
    );
    assert_eq!(
        r.json()["choices"][0]["message"]["content"],
        "alpha beta STOP gamma delta"
    );
}

#[test]
fn ignored_and_unknown_fields_are_counted_refused_ones_named_and_responses_echo_the_settings() {
    let d = Daemon::start_ready(one_worker());
    let r = chat(
        &d,
        json!({"model": "codex-demo", "messages": user(json!("x")), "temperature": 0.3,
            "max_tokens": 20, "seed": 7, "user": "u1", "top_p": null}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = responses(
        &d,
        json!({"model": "codex-demo", "input": "x", "temperature": 0.5, "top_p": 0.9,
            "max_output_tokens": 64, "instructions": "be brief", "metadata": {"k": "v"},
            "tool_choice": "auto", "text": {"format": {"type": "text"}, "verbosity": "low"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!(body["temperature"], 0.5);
    assert_eq!(body["top_p"], 0.9);
    assert_eq!(body["max_output_tokens"], 64);
    assert_eq!(body["instructions"], "be brief");
    assert_eq!(body["metadata"], json!({"k": "v"}));
    assert_eq!(body["text"]["verbosity"], "low");
    let m = d.metrics();
    for (route, field, n) in [
        ("/v1/chat/completions", "temperature", 1),
        ("/v1/chat/completions", "max_tokens", 1),
        ("/v1/chat/completions", "seed", 1),
        ("/v1/chat/completions", "user", 1),
        ("/v1/chat/completions", "top_p", 0),
        ("/v1/chat/completions", "logit_bias", 0),
        ("/v1/responses", "temperature", 1),
        ("/v1/responses", "max_output_tokens", 1),
    ] {
        let series = format!(
            "codexd_request_fields_ignored_total{{route=\"{route}\",field=\"{field}\"}} {n}"
        );
        let alt = format!(
            "codexd_request_fields_ignored_total{{field=\"{field}\",route=\"{route}\"}} {n}"
        );
        assert!(
            m.lines().any(|l| l == series || l == alt),
            "{series} not in:\n{}",
            m.lines()
                .filter(|l| l.contains("fields_ignored"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    // Fields neither API defines are accepted and counted as `other`.
    for _ in 0..2 {
        let r = chat(
            &d,
            json!({"model": "codex-demo", "messages": user(json!("x")), "frobnicate": true, "top_k": 3}),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let r = responses(
        &d,
        json!({"model": "codex-demo", "input": "x", "stop": "y"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let m = d.metrics();
    for (route, n) in [("/v1/chat/completions", 2), ("/v1/responses", 1)] {
        let a =
            format!("codexd_request_fields_ignored_total{{route=\"{route}\",field=\"other\"}} {n}");
        let b =
            format!("codexd_request_fields_ignored_total{{field=\"other\",route=\"{route}\"}} {n}");
        assert!(m.lines().any(|l| l == a || l == b), "{a}");
    }
    let r = responses(
        &d,
        json!({"model": "codex-demo", "input": "x", "background": true}),
    );
    assert_400(&r, "invalid_value", "background");
}

#[test]
fn responses_accept_reasoning_items_in_the_input() {
    let d = Daemon::start_ready(one_worker());
    let r = responses(
        &d,
        json!({"model": "codex-demo", "include": ["reasoning.encrypted_content"], "input": [
            {"role": "user", "content": "first"},
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "s"}],
             "encrypted_content": "opaque"},
            {"role": "assistant", "content": "answer"},
            {"role": "user", "content": "second"}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = responses(
        &d,
        json!({"model": "codex-demo", "input": [{"role": "user", "content": "x"},
            {"type": "reasoning", "id": "rs_1", "summary": "nope"}]}),
    );
    assert_400(&r, "invalid_value", "input[1]");
}
