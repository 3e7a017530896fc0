//! Encrypted reasoning on real Codex 0.171 against the mock provider: with
//! `include: ["reasoning.encrypted_content"]`, the provider's reasoning item reaches the client
//! as the Responses `reasoning` item's `encrypted_content` (streamed and not), never without
//! the include; and a replayed follow-up's reasoning item reaches the provider's input.

use crate::real_codex::rig;
use crate::support::codex_env::MOCK_MODEL;
use crate::support::http::{self, Streaming};
use crate::support::mock_provider::{Reply, Usage};
use serde_json::json;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

#[test]
fn real_codex_hands_the_encrypted_reasoning_back_only_when_included() {
    let r = rig("reasoning-encrypted", false);
    let enc = "gAAAAmockEncryptedReasoning==";
    r.mock.set_default(Reply::Reasoned {
        encrypted: enc.into(),
        text: "Hi.".into(),
        usage: Usage::new(9, 4).reasoning(2),
    });
    let body = json!({"model": MOCK_MODEL, "input": "x", "include": ["reasoning.encrypted_content"],
        "reasoning": {"effort": "low"}});
    let resp = http::post(r.daemon.addr, "/v1/responses", &body);
    assert_eq!(resp.status, 200, "{}", resp.text());
    let v = resp.json();
    assert_eq!(v["output"][0]["type"], "reasoning", "{v}");
    assert_eq!(v["output"][0]["encrypted_content"], enc, "{v}");
    let mut sb = body.clone();
    sb["stream"] = json!(true);
    let mut s = Streaming::open(r.daemon.addr, "/v1/responses", &sb);
    let text = s.read_to_end(WAIT);
    assert!(text.contains(enc), "{text}");
    let plain = http::post(
        r.daemon.addr,
        "/v1/responses",
        &json!({"model": MOCK_MODEL, "input": "x", "reasoning": {"effort": "low"}}),
    );
    assert_eq!(plain.status, 200, "{}", plain.text());
    assert!(!plain.text().contains(enc), "{}", plain.text());
}

#[test]
fn real_codex_gets_a_replayed_reasoning_item_in_the_provider_input() {
    let r = rig("reasoning-replay", false);
    r.mock
        .set_default(Reply::text(&["Sunny, as you said."], Usage::new(9, 4)));
    let enc = "gAAAAreplayedReasoning==";
    let resp = http::post(
        r.daemon.addr,
        "/v1/responses",
        &json!({"model": MOCK_MODEL,
            "tools": [{"type": "function", "name": "get_weather", "description": "w",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                    "required": ["city"], "additionalProperties": false}}],
            "input": [
                {"role": "user", "content": "Weather in Paris?"},
                {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": enc},
                {"type": "function_call", "call_id": "c1", "name": "get_weather",
                 "arguments": "{\"city\":\"Paris\"}"},
                {"type": "function_call_output", "call_id": "c1", "output": "sunny"}]}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    let reqs = r
        .mock
        .wait_for_response_requests(1, WAIT)
        .expect("a provider request");
    let input = reqs[0]
        .body
        .as_ref()
        .and_then(|b| b.get("input"))
        .cloned()
        .unwrap_or_default();
    let types: Vec<&str> = input
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["type"].as_str()).collect())
        .unwrap_or_default();
    let at = |t: &str| types.iter().position(|x| *x == t);
    let (rs, fc) = (at("reasoning"), at("function_call"));
    assert!(
        rs.is_some() && rs < fc,
        "reasoning before the call: {types:?}"
    );
    assert!(input.to_string().contains(enc), "{input}");
}
