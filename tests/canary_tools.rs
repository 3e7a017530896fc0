//! The tools canary: a unique string in tool arguments (the demo model builds them from the
//! user text) and in tool outputs, through both follow-up paths on both APIs, reaches its
//! client but never a log line, `/metrics`, `/healthz` or an exported span.

use crate::support::daemon::{Config, Daemon};
use crate::support::eventually;
use crate::support::http;
use crate::support::mock_provider::{MockProvider, Reply};
use serde_json::json;
use std::time::Duration;

fn canary() -> String {
    crate::canary::canary_tagged("tool")
}

fn chat_loop(d: &Daemon, c: &str, stream_second: bool, edit: bool) -> String {
    let tools = json!([{"type": "function", "function": {"name": "get_weather",
        "description": c, "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]);
    let user = json!({"role": "user", "content": format!("Ask get_weather about {c}")});
    let r1 = http::post(
        d.addr,
        "/v1/chat/completions",
        &json!({"model": "codex-demo", "tools": tools, "messages": [user]}),
    );
    assert_eq!(r1.status, 200, "{}", r1.text());
    let msg = r1.json()["choices"][0]["message"].clone();
    let args = msg["tool_calls"][0]["function"]["arguments"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        args.contains(c),
        "the canary is in the tool arguments: {msg}"
    );
    let id = msg["tool_calls"][0]["id"].clone();
    // An edited history does not match the parked turn: replayed.
    let first = if edit {
        json!({"role": "user", "content": format!("Ask get_weather about {c}!")})
    } else {
        user
    };
    let follow = json!({"model": "codex-demo", "tools": tools, "stream": stream_second, "messages": [first, msg,
        {"role": "tool", "tool_call_id": id, "content": format!("output {c}")}]});
    let r2 = http::post(d.addr, "/v1/chat/completions", &follow);
    assert_eq!(r2.status, 200, "{}", r2.text());
    r2.text()
}

#[test]
fn a_canary_in_tool_arguments_and_outputs_never_reaches_logs_metrics_health_or_spans() {
    let c = canary();
    let receiver = MockProvider::start(Reply::default()).unwrap();
    let config = Config::default()
        .set("workers.count", "1")
        .set("log.level", "\"trace\"")
        .set(
            "tracing.endpoint",
            &format!("\"http://{}\"", receiver.addr()),
        );
    let mut d = Daemon::start_ready(config);
    for (stream, edit) in [(false, false), (true, false), (false, true)] {
        let answer = chat_loop(&d, &c, stream, edit);
        assert!(
            answer.contains(&format!("output {c}")),
            "the answer quotes the output: {answer}"
        );
    }
    // Responses: previous_response_id, then a streamed first step.
    let tools = json!([{"type": "function", "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]);
    let r1 = http::post(
        d.addr,
        "/v1/responses",
        &json!({"model": "codex-demo", "tools": tools,
        "input": format!("Ask get_weather about {c}")}),
    )
    .json();
    let call = r1["output"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["type"] == "function_call")
        .cloned()
        .unwrap();
    assert!(call["arguments"].as_str().unwrap().contains(&c));
    let r2 = http::post(
        d.addr,
        "/v1/responses",
        &json!({"model": "codex-demo", "tools": tools,
        "previous_response_id": r1["id"], "stream": true,
        "input": [{"type": "function_call_output", "call_id": call["call_id"], "output": format!("output {c}")}]}),
    );
    assert_eq!(r2.status, 200, "{}", r2.text());
    assert!(r2.text().contains(&format!("output {c}")));
    let m = codexd_test_support::metrics_text::Scrape::parse(&d.metrics());
    assert_eq!(
        m.sum("codexd_tool_followups_total", &[("path", "continue")]),
        3.0
    );
    assert_eq!(
        m.sum(
            "codexd_tool_followups_total",
            &[("path", "replay"), ("reason", "mismatch")]
        ),
        1.0
    );
    for path in ["/healthz", "/readyz", "/livez", "/metrics"] {
        let body = http::get(d.addr, path).text();
        assert!(!body.contains(&c), "{path} leaks the tool canary");
    }
    let spans = eventually(
        Duration::from_secs(10),
        "spans of the tool requests",
        || {
            let s = crate::support::otlp::spans(&receiver);
            (s.iter().filter(|x| x.name == "tool followup").count() >= 4).then_some(s)
        },
    );
    // Each continued follow-up's span links to the server span of the request that parked it.
    let continued: Vec<_> = spans
        .iter()
        .filter(|s| {
            s.name == "tool followup"
                && s.attr("codexd.tool.followup_path").as_deref() == Some("continue")
        })
        .collect();
    assert_eq!(continued.len(), 3, "{spans:?}");
    for f in &continued {
        assert_eq!(f.links.len(), 1);
        let (t, s) = &f.links[0];
        assert_ne!(t, &f.trace_id);
        assert!(
            spans
                .iter()
                .any(|x| &x.trace_id == t && &x.span_id == s && x.name.starts_with("POST ")),
            "{f:?}"
        );
    }
    for span in &spans {
        let text = format!("{span:?}");
        assert!(!text.contains(&c), "a span leaks the tool canary: {text}");
    }
    assert_eq!(d.terminate().code(), Some(0));
    let lines = d.lines();
    assert!(lines
        .iter()
        .any(|l| l.contains("\"event\":\"turn_parked\"")));
    assert!(lines
        .iter()
        .any(|l| l.contains("\"event\":\"followup_served\"")));
    for line in &lines {
        assert!(!line.contains(&c), "log line leaks the tool canary: {line}");
    }
    assert!(!d.stderr().contains(&c));
}
