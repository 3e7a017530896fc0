//! Client tools on real Codex 0.171 (one worker) against the mock provider returning
//! `function_call` items: the Python SDK weather loop on both APIs (streamed and not), two
//! parallel calls after some text, and a replay on a fresh thread after the parked turn
//! expired (the injected history reaches the provider).

use crate::api_tools::{followups, run_tools_check};
use crate::support::codex_env::{self, MOCK_API_KEY, MOCK_API_KEY_ENV, MOCK_MODEL};
use crate::support::daemon::{scratch_dir, Config, Daemon};
use crate::support::http;
use crate::support::mock_provider::{MockCall, MockProvider, Reply, Usage};
use serde_json::json;
use std::time::Duration;

/// The flags `config/codexd.toml` ships: only the client's tools and prompt.
const TOOL_FLAGS: &[&str] = &[
    "thread_unload_delay_secs=2",
    "features.shell_tool=false",
    "features.goals=false",
    "features.multi_agent=false",
    "web_search=\"disabled\"",
    "features.view_image=false",
    "tools.experimental_request_user_input={enabled=false}",
    "skills.bundled.enabled=false",
    "include_environment_context=false",
    "include_apps_instructions=false",
    "include_permissions_instructions=false",
    "include_collaboration_mode_instructions=false",
    "features.plugins=false",
    "features.apps=false",
];

struct Rig {
    daemon: Daemon,
    mock: MockProvider,
}

fn rig(label: &str, tweak: impl FnOnce(Config) -> Config) -> Rig {
    let bin = codex_env::codex_bin().expect("CODEXD_CODEX_BIN: `source .cache/test-env`");
    let mock = MockProvider::start(Reply::text(&["Sunny in Paris."], Usage::new(5, 4)))
        .expect("start the mock provider");
    let mut args = codex_env::worker_args(&mock.base_url(), MOCK_MODEL);
    for f in TOOL_FLAGS {
        args.push("-c".into());
        args.push((*f).into());
    }
    let args: Vec<String> = args.iter().map(|a| codex_env::toml_string(a)).collect();
    let home = codex_env::fresh_codex_home(label).expect("CODEX_HOME");
    let cwd = scratch_dir(&format!("real-codex-tools-cwd-{label}"));
    let path = |p: &std::path::Path| codex_env::toml_string(&p.to_string_lossy());
    let config = Config::default()
        .set("workers.count", "1")
        .set("workers.command", &path(&bin))
        .set("workers.args", &format!("[{}]", args.join(", ")))
        .set("workers.cwd", &path(&cwd))
        .set("workers.codex_home", &path(&home))
        .set("workers.handshake_timeout_ms", "20000")
        .set("streaming.header_hold_ms", "5000")
        .set("streaming.first_token_timeout_ms", "15000")
        .set("streaming.idle_timeout_ms", "15000")
        .set(
            "models",
            &format!("[{{id = \"{MOCK_MODEL}\", codex_model = \"{MOCK_MODEL}\", reasoning_effort = \"low\"}}]"),
        )
        .worker_env(MOCK_API_KEY_ENV, MOCK_API_KEY);
    let daemon = Daemon::start_ready(tweak(config));
    Rig { daemon, mock }
}

/// Whether a recorded provider request's JSON body contains `needle`.
fn has(req: &codexd_test_support::mock_provider::RecordedRequest, needle: &str) -> bool {
    req.body
        .as_ref()
        .is_some_and(|b| b.to_string().contains(needle))
}

fn weather(id: &str) -> MockCall {
    MockCall::new(id, "get_weather", r#"{"city":"Paris"}"#)
}

fn answer() -> Reply {
    Reply::text(&["Sunny in Paris."], Usage::new(5, 4))
}

#[test]
fn real_codex_runs_the_python_sdk_tool_loop_on_both_apis() {
    let r = rig("tools-sdk", |c| c);
    for i in 0..4 {
        r.mock
            .push(Reply::calls(None, &[weather(&format!("call_sdk_{i}"))]));
        r.mock.push(answer());
    }
    run_tools_check(
        &r.daemon,
        MOCK_MODEL,
        "What is the weather in Paris?",
        "Sunny in Paris",
        "chat,chat_stream,responses,responses_stream",
    );
    assert_eq!(
        followups(&r.daemon, "continue", "none"),
        4.0,
        "{}",
        r.daemon.metrics()
    );
    // Each continued turn's second model request carries the client's output.
    let reqs = r.mock.response_requests();
    assert_eq!(reqs.len(), 8);
    for (i, req) in reqs.iter().enumerate().skip(1).step_by(2) {
        assert!(has(req, "function_call_output"), "request {i}");
        assert!(has(req, "sunny, 21 C in Paris"), "request {i}");
    }
    // Only the client's tool reached the model.
    assert!(has(&reqs[0], "get_weather"));
    assert!(!has(&reqs[0], "\"shell\""));
}

#[test]
fn real_codex_two_parallel_calls_after_text_continue_in_one_turn() {
    let r = rig("tools-parallel", |c| c);
    r.mock.push(Reply::calls(
        Some("Let me check both."),
        &[
            weather("call_par_a"),
            MockCall::new("call_par_b", "get_weather", r#"{"city":"Rome"}"#),
        ],
    ));
    r.mock.push(answer());
    let tools = json!([{"type": "function", "function": {"name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]);
    let user = json!({"role": "user", "content": "Weather in Paris and Rome?"});
    let body = json!({"model": MOCK_MODEL, "tools": tools, "messages": [user]});
    let r1 = http::post(r.daemon.addr, "/v1/chat/completions", &body);
    assert_eq!(r1.status, 200, "{}", r1.text());
    let r1 = r1.json();
    let msg = &r1["choices"][0]["message"];
    assert_eq!(r1["choices"][0]["finish_reason"], "tool_calls", "{r1}");
    assert_eq!(msg["content"], "Let me check both.", "{r1}");
    // Codex hands the calls of one response over concurrently: any order.
    let mut calls = msg["tool_calls"].as_array().unwrap().clone();
    assert_eq!(calls.len(), 2, "{r1}");
    calls.sort_by_key(|c| c["id"].as_str().unwrap_or_default().to_owned());
    assert_eq!(calls[0]["id"], "call_par_a");
    assert_eq!(calls[1]["id"], "call_par_b");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(
            calls[1]["function"]["arguments"].as_str().unwrap()
        )
        .unwrap(),
        json!({"city": "Rome"})
    );
    let follow = json!({"model": MOCK_MODEL, "tools": tools, "messages": [user, msg,
        {"role": "tool", "tool_call_id": "call_par_a", "content": "sunny in Paris"},
        {"role": "tool", "tool_call_id": "call_par_b", "content": "rain in Rome"}]});
    let r2 = http::post(r.daemon.addr, "/v1/chat/completions", &follow);
    assert_eq!(r2.status, 200, "{}", r2.text());
    let r2 = r2.json();
    assert_eq!(r2["choices"][0]["message"]["content"], "Sunny in Paris.");
    // The two requests together report the thread's usage once (20 + 5 in, 10 + 4 out).
    let sum = |k: &str| r1["usage"][k].as_u64().unwrap_or(0) + r2["usage"][k].as_u64().unwrap_or(0);
    assert_eq!(
        (sum("prompt_tokens"), sum("completion_tokens")),
        (25, 14),
        "{r1} {r2}"
    );
    assert_eq!(followups(&r.daemon, "continue", "none"), 1.0);
    let reqs = r.mock.response_requests();
    assert!(has(&reqs[1], "rain in Rome") && has(&reqs[1], "sunny in Paris"));
}

#[test]
fn real_codex_takes_an_allowed_client_system_prompt_as_base_instructions_with_tools() {
    let r = rig("tools-system", |c| {
        c.set("codex.allow_client_system_prompt", "true")
    });
    r.mock.push(answer());
    let body = json!({"model": MOCK_MODEL, "tools": [{"type": "function", "function": {"name": "get_weather"}}],
        "messages": [{"role": "system", "content": "You are a terse weather bot."},
                     {"role": "user", "content": "Hi"}]});
    let r1 = http::post(r.daemon.addr, "/v1/chat/completions", &body);
    assert_eq!(r1.status, 200, "{}", r1.text());
    let reqs = r.mock.response_requests();
    let b = reqs[0].body.clone().unwrap_or_default();
    // Codex's built-in prompt (its `instructions`) is gone; the client's text leads the input.
    assert!(b.get("instructions").is_none(), "{b}");
    assert_eq!(b["input"][0]["role"], "developer", "{b}");
    assert_eq!(
        b["input"][0]["content"][0]["text"],
        "You are a terse weather bot."
    );
}

#[test]
fn real_codex_replays_an_expired_follow_up_on_a_fresh_thread() {
    let r = rig("tools-replay", |c| c.set("tools.parked_ttl_ms", "1"));
    r.mock.push(Reply::calls(None, &[weather("call_rep_a")]));
    r.mock.push(answer());
    let body = json!({"model": MOCK_MODEL, "input": "Weather in Paris?", "tools": [{"type": "function",
        "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]});
    let r1 = http::post(r.daemon.addr, "/v1/responses", &body).json();
    let call = r1["output"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["type"] == "function_call")
        .cloned();
    let call = call.unwrap_or_else(|| panic!("no function_call: {r1}"));
    crate::support::eventually(Duration::from_secs(10), "the parked turn expired", || {
        let m = codexd_test_support::metrics_text::Scrape::parse(&r.daemon.metrics());
        (m.sum(
            "codexd_parked_turns_discarded_total",
            &[("reason", "expired")],
        ) == 1.0)
            .then_some(())
    });
    let mut follow = body.clone();
    follow["input"] = json!([{"role": "user", "content": "Weather in Paris?"}, call,
        {"type": "function_call_output", "call_id": "call_rep_a", "output": "sunny, replayed"}]);
    let r2 = http::post(r.daemon.addr, "/v1/responses", &follow);
    assert_eq!(r2.status, 200, "{}", r2.text());
    assert!(r2.text().contains("Sunny in Paris."), "{}", r2.text());
    assert_eq!(followups(&r.daemon, "replay", "not_parked"), 1.0);
    let reqs = r.mock.response_requests();
    let last = reqs.last().unwrap();
    assert!(
        has(last, "sunny, replayed"),
        "the injected output reached the model"
    );
    assert!(has(last, "call_rep_a"));
}
