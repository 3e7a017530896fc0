//! Request features on real Codex 0.171 against the mock provider: a structured-output
//! request reaches the provider as a strict `json_schema` text format and the SDK's `parse()`
//! helpers return the Pydantic object; a `data:` PNG reaches the provider as an
//! `input_image`; a supported effort reaches the provider's `reasoning.effort` and an
//! unsupported one is a 400 before any turn starts.

use crate::api_features::{assert_400, person_schema, PNG_1X1};
use crate::api_sdk_parse::run_parse_check;
use crate::real_codex::rig;
use crate::support::codex_env::MOCK_MODEL;
use crate::support::http;
use crate::support::mock_provider::{Reply, Usage};
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

#[test]
fn real_codex_structured_outputs_reach_the_provider_strict_and_parse_in_the_sdk() {
    let r = rig("features-schema", false);
    let person =
        r#"{"name":"Ada","age":36,"tags":["math"],"address":{"city":"London","zip":null}}"#;
    r.mock.set_default(Reply::text(
        &[&person[..20], &person[20..]],
        Usage::new(9, 7),
    ));
    let resp = http::post(
        r.daemon.addr,
        "/v1/chat/completions",
        &json!({"model": MOCK_MODEL, "messages": [{"role": "user", "content": "Who?"}],
            "response_format": {"type": "json_schema",
                "json_schema": {"name": "person", "schema": person_schema(), "strict": true}}}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    let reqs = r
        .mock
        .wait_for_response_requests(1, WAIT)
        .expect("a provider request");
    let format = reqs[0]
        .text_format()
        .cloned()
        .expect("text.format upstream");
    assert_eq!(format["type"], "json_schema", "{format}");
    assert_eq!(format["strict"], true, "{format}");
    assert_eq!(
        format["schema"]["required"],
        json!(["name", "age", "tags"]),
        "{format}"
    );
    run_parse_check(r.daemon.addr, MOCK_MODEL, person);
}

#[test]
fn real_codex_gets_a_data_png_as_an_input_image_and_the_requested_effort() {
    let r = rig("features-image", false);
    r.mock
        .set_default(Reply::text(&["A pixel."], Usage::new(12, 3)));
    let png = format!("data:image/png;base64,{PNG_1X1}");
    let resp = http::post(
        r.daemon.addr,
        "/v1/chat/completions",
        &json!({"model": MOCK_MODEL, "reasoning_effort": "high", "messages": [{"role": "user",
            "content": [{"type": "text", "text": "What is this?"},
                        {"type": "image_url", "image_url": {"url": png}}]}]}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["choices"][0]["message"]["content"], "A pixel.");
    let reqs = r
        .mock
        .wait_for_response_requests(1, WAIT)
        .expect("a provider request");
    assert_eq!(reqs[0].input_images(), vec![png.clone()]);
    assert!(reqs[0].input_text_contains("What is this?"));
    assert_eq!(reqs[0].reasoning_effort(), Some("high"));

    let resp = http::post(
        r.daemon.addr,
        "/v1/responses",
        &json!({"model": MOCK_MODEL, "input": "x", "reasoning": {"effort": "medium"}}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    let reqs = r
        .mock
        .wait_for_response_requests(2, WAIT)
        .expect("a second provider request");
    assert_eq!(reqs[1].reasoning_effort(), Some("medium"));

    for effort in ["bogus", "ultra"] {
        let resp = http::post(
            r.daemon.addr,
            "/v1/chat/completions",
            &json!({"model": MOCK_MODEL, "reasoning_effort": effort,
                "messages": [{"role": "user", "content": "x"}]}),
        );
        assert_400(&resp, "invalid_value", "reasoning_effort");
    }
    let resp = http::post(
        r.daemon.addr,
        "/v1/chat/completions",
        &json!({"model": MOCK_MODEL, "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}]}),
    );
    assert_400(&resp, "invalid_value", "messages[0].content[0].image_url");
    // Neither refusal reached the provider.
    std::thread::sleep(Duration::from_millis(300));
    let n = r.mock.response_requests().len();
    assert_eq!(n, 2, "refused requests must not reach the provider");
    let _: Value = resp.json();
}
