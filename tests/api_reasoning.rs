//! Reasoning summaries on the Responses API against the demo worker: `reasoning.summary`
//! reaches the turn, and the summary comes back as a `reasoning` output item, streamed with
//! OpenAI's `response.reasoning_summary_*` events; and `json_object`'s best-effort instruction.

use crate::api_errors::one_worker;
use crate::support::daemon::Daemon;
use crate::support::http::{self, Streaming};
use serde_json::{json, Value};
use std::time::Duration;

const SUMMARY: &str = "Thinking with low effort.";

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

#[test]
fn a_reasoning_summary_comes_back_as_a_reasoning_item_streamed_and_not() {
    let d = Daemon::start_ready(one_worker());
    let body = json!({"model": "codex-demo", "input": "x",
        "reasoning": {"effort": "low", "summary": "auto"}});
    let r = http::post(d.addr, "/v1/responses", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["output"][0]["type"], "reasoning", "{v}");
    assert_eq!(v["output"][0]["summary"][0]["text"], SUMMARY);
    assert_eq!(v["output"][1]["type"], "message");
    assert_eq!(v["output"][1]["content"][0]["text"], "You said: x");

    let mut stream_body = body.clone();
    stream_body["stream"] = json!(true);
    let mut s = Streaming::open(d.addr, "/v1/responses", &stream_body);
    let ev = events(&s.read_to_end(Duration::from_secs(10)));
    let types: Vec<&str> = ev.iter().map(|(t, _)| t.as_str()).collect();
    let at = |t: &str| {
        types
            .iter()
            .position(|x| *x == t)
            .unwrap_or_else(|| panic!("{t} missing: {types:?}"))
    };
    assert!(
        at("response.reasoning_summary_part.added") < at("response.reasoning_summary_text.delta")
    );
    assert!(at("response.reasoning_summary_text.done") < at("response.output_text.delta"));
    let delta: String = ev
        .iter()
        .filter(|(t, _)| t == "response.reasoning_summary_text.delta")
        .map(|(_, v)| v["delta"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(delta, SUMMARY);
    let seqs: Vec<u64> = ev
        .iter()
        .map(|(_, v)| v["sequence_number"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>());
    let done = &ev.last().unwrap().1["response"];
    assert_eq!(done["output"][1]["type"], "reasoning");
    assert_eq!(done["output"][1]["summary"][0]["text"], SUMMARY);
    assert_eq!(
        done["reasoning"],
        json!({"effort": "low", "summary": "auto"})
    );
    // Without a summary nothing changes.
    let r = http::post(
        d.addr,
        "/v1/responses",
        &json!({"model": "codex-demo", "input": "x"}),
    );
    assert_eq!(r.json()["output"].as_array().unwrap().len(), 1);
}

#[test]
fn json_object_is_a_best_effort_instruction_appended_to_the_input() {
    let d = Daemon::start_ready(one_worker());
    let r = http::post(
        d.addr,
        "/v1/chat/completions",
        &json!({"model": "codex-demo", "messages": [{"role": "user", "content": "x"}],
            "response_format": {"type": "json_object"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["choices"][0]["message"]["content"],
        "You said: x\n\nAnswer with one valid JSON object only: no prose, no Markdown code fences."
    );
}
