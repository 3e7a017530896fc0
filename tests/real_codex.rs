//! Real Codex end to end: codexd drives the pinned native Codex CLI (one worker) against the
//! loopback mock Responses-API provider, and the tests check text and usage, the interrupt on
//! a client disconnect, upstream 429 mapping, the Responses route and trace propagation.
//!
//! The Codex binary comes from `CODEXD_CODEX_BIN` (written to `.cache/test-env` by
//! `scripts/test-deps.sh`); without it these tests fail, they never skip.

use crate::support::codex_env::{self, MOCK_API_KEY, MOCK_API_KEY_ENV, MOCK_MODEL};
use crate::support::daemon::{scratch_dir, Config, Daemon};
use crate::support::http::{self, sse_data, Streaming};
use crate::support::mock_provider::{MockProvider, Reply, StreamState, Usage};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

/// Bound on every wait for the daemon, the worker or the mock.
const WAIT: Duration = Duration::from_secs(10);

/// The native Codex binary; fails (never skips) when the test dependencies are not installed.
pub(crate) fn codex_bin() -> PathBuf {
    if std::env::var_os("CODEXD_CODEX_BIN").is_none_or(|v| v.is_empty()) {
        panic!(
            "CODEXD_CODEX_BIN is not set: the real-Codex tests need the pinned Codex CLI {}. \
             Run `make test`, or `bash scripts/test-deps.sh && source .cache/test-env`.",
            codex_env::CODEX_VERSION
        );
    }
    let bin = codex_env::codex_bin().expect("Codex binary");
    assert!(
        bin.is_file(),
        "CODEXD_CODEX_BIN={} is not a file: re-run `bash scripts/test-deps.sh`",
        bin.display()
    );
    bin
}

/// A daemon whose single worker is real Codex, and the mock provider Codex talks to.
/// Fields drop in order: the daemon (and its worker) stops before the mock goes away.
pub(crate) struct Rig {
    pub(crate) daemon: Daemon,
    pub(crate) mock: MockProvider,
}

fn toml_path(p: &std::path::Path) -> String {
    codex_env::toml_string(&p.to_string_lossy())
}

/// Starts the mock, then codexd with one Codex worker pointed at it (Codex's own OTLP trace
/// export to the mock when `otel`), and waits until the worker is ready.
pub(crate) fn rig(label: &str, otel: bool) -> Rig {
    rig_with(label, otel, |c| c)
}

/// [`rig`] with a last change to the daemon's config.
pub(crate) fn rig_with(label: &str, otel: bool, tweak: impl FnOnce(Config) -> Config) -> Rig {
    let bin = codex_bin();
    let mock = MockProvider::start(Reply::default()).expect("start the mock provider");
    let mut args = codex_env::worker_args(&mock.base_url(), MOCK_MODEL);
    if otel {
        args.extend(codex_env::otel_trace_args(&mock.otlp_traces_url()));
    }
    let args: Vec<String> = args.iter().map(|a| codex_env::toml_string(a)).collect();
    let home = codex_env::fresh_codex_home(label).expect("CODEX_HOME");
    let cwd = scratch_dir(&format!("real-codex-cwd-{label}"));
    let config = Config::default()
        .set("workers.count", "1")
        .set("workers.command", &toml_path(&bin))
        .set("workers.args", &format!("[{}]", args.join(", ")))
        .set("workers.cwd", &toml_path(&cwd))
        .set("workers.codex_home", &toml_path(&home))
        .set("workers.handshake_timeout_ms", "20000")
        .set("workers.ping_interval_ms", "5000")
        .set("workers.ping_timeout_ms", "5000")
        .set("streaming.header_hold_ms", "5000")
        .set("streaming.first_token_timeout_ms", "10000")
        .set("streaming.idle_timeout_ms", "10000")
        .set(
            "models",
            &format!(
                "[{{id = \"{MOCK_MODEL}\", codex_model = \"{MOCK_MODEL}\", reasoning_effort = \"low\"}}]"
            ),
        )
        .worker_env(MOCK_API_KEY_ENV, MOCK_API_KEY);
    // With `otel`, codexd exports its own spans to the same receiver as Codex.
    let config = if otel {
        config.set("tracing.endpoint", &format!("{:?}", mock.otlp_traces_url()))
    } else {
        config
    };
    let daemon = Daemon::start_ready(tweak(config));
    Rig { daemon, mock }
}

fn chat(prompt: &str, stream: bool) -> Value {
    json!({"model": MOCK_MODEL, "stream": stream, "stream_options": {"include_usage": stream},
        "messages": [{"role": "user", "content": prompt}]})
}

/// Chat-completions usage as codexd maps Codex's token usage.
fn chat_usage(u: Usage) -> Value {
    json!({
        "prompt_tokens": u.input_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.total(),
        "prompt_tokens_details": {"cached_tokens": u.cached_input_tokens},
        "completion_tokens_details": {"reasoning_tokens": u.reasoning_output_tokens},
    })
}

fn req_id_of(headers: &[(String, String)]) -> String {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-request-id"))
        .map(|(_, v)| v.clone())
        .expect("X-Request-Id header")
}

/// Waits for the event `name` logged for request `req_id`.
fn event_for(d: &Daemon, name: &str, req_id: &str) -> Value {
    d.wait_event(WAIT, &format!("{name} for {req_id}"), |e| {
        e["event"] == name && e["req_id"] == req_id
    })
}

/// The one `POST /v1/responses` the mock received as the `n`-th (from 0), checked for the
/// model, effort, prompt and API key codexd and Codex should have sent.
fn provider_request(
    mock: &MockProvider,
    n: usize,
    prompt: &str,
) -> crate::support::mock_provider::RecordedRequest {
    let reqs = mock
        .wait_for_response_requests(n + 1, WAIT)
        .expect("the mock provider got the request");
    assert_eq!(
        reqs.len(),
        n + 1,
        "one provider request per turn, no retries"
    );
    let r = reqs[n].clone();
    assert_eq!(r.path, "/v1/responses");
    assert_eq!(r.model(), Some(MOCK_MODEL));
    assert_eq!(r.reasoning_effort(), Some("low"));
    assert!(r.input_text_contains(prompt), "prompt not forwarded");
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {MOCK_API_KEY}").as_str())
    );
    r
}

#[test]
fn real_codex_chat_unary_and_stream_carry_mock_text_and_usage() {
    let r = rig("chat", false);
    let addr = r.daemon.addr;

    let usage = Usage::new(10, 8).cached(3).reasoning(2);
    r.mock
        .push(Reply::text(&["Hello from", " the model."], usage));
    let resp = http::post(addr, "/v1/chat/completions", &chat("Say hello.", false));
    assert_eq!(resp.status, 200, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], MOCK_MODEL);
    assert_eq!(body["choices"][0]["message"]["role"], "assistant");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Hello from the model."
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["usage"], chat_usage(usage));
    provider_request(&r.mock, 0, "Say hello.");
    let id = req_id_of(&resp.headers);
    let done = event_for(&r.daemon, "request_completed", &id);
    assert_eq!(
        (&done["status"], &done["outcome"], &done["stream"]),
        (&json!(200), &json!("completed"), &json!(false))
    );

    let usage = Usage::new(21, 5).cached(4).reasoning(1);
    r.mock.push(
        Reply::text(&["Streamed", " from", " the mock."], usage)
            .with_chunk_delay(Duration::from_millis(30)),
    );
    let mut s = Streaming::open(addr, "/v1/chat/completions", &chat("Stream it.", true));
    assert_eq!(s.status, 200);
    let body = s.read_to_end(WAIT);
    assert!(body.ends_with("data: [DONE]\n\n"), "no [DONE]: {body}");
    let frames = sse_data(&body);
    let text: String = frames
        .iter()
        .filter_map(|f| f["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Streamed from the mock.");
    let finishes: Vec<&Value> = frames
        .iter()
        .map(|f| &f["choices"][0]["finish_reason"])
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finishes, [&json!("stop")]);
    let last = frames.last().expect("frames");
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["usage"], chat_usage(usage));
    provider_request(&r.mock, 1, "Stream it.");
    let id = req_id_of(&s.headers);
    let ended = event_for(&r.daemon, "stream_ended", &id);
    assert_eq!(ended["outcome"], "completed");
    let done = event_for(&r.daemon, "request_completed", &id);
    assert_eq!(
        (&done["status"], &done["outcome"], &done["stream"]),
        (&json!(200), &json!("completed"), &json!(true))
    );
    // Every notification Codex sent is known to the protocol layer.
    let metrics = r.daemon.metrics();
    assert!(
        metrics
            .lines()
            .any(|l| l == "codexd_worker_unknown_notifications_total 0"),
        "unknown worker notifications:\n{metrics}"
    );
}

#[test]
fn real_codex_client_disconnect_interrupts_the_turn_and_closes_the_provider_stream() {
    let r = rig("abort", false);
    let addr = r.daemon.addr;
    r.mock.push(Reply::hang(&["Partial", " answer"]));
    let mut s = Streaming::open(addr, "/v1/chat/completions", &chat("Hang on.", true));
    assert_eq!(s.status, 200);
    let id = req_id_of(&s.headers);
    s.read_until(WAIT, |b| {
        b.contains("\"Partial\"") && b.contains("\" answer\"")
    });
    provider_request(&r.mock, 0, "Hang on.");
    assert_eq!(r.mock.stream_state(0), Some(StreamState::Open));

    drop(s);
    assert!(
        r.mock.wait_stream_closed_by_client(0, WAIT),
        "Codex did not close its response stream; state {:?}",
        r.mock.stream_state(0)
    );
    let sent = event_for(&r.daemon, "turn_interrupt_sent", &id);
    assert_eq!(sent["cause"], "client_abort");
    event_for(&r.daemon, "turn_interrupt_confirmed", &id);
    let rpc = r.daemon.wait_event(WAIT, "turn/interrupt rpc", |e| {
        e["event"] == "worker_rpc_completed"
            && e["method"] == "turn/interrupt"
            && e["req_id"] == id.as_str()
    });
    assert_eq!(rpc["outcome"], "ok");
    let ended = event_for(&r.daemon, "stream_ended", &id);
    assert_eq!(ended["outcome"], "client_abort");
    let done = event_for(&r.daemon, "request_completed", &id);
    assert_eq!(
        (&done["status"], &done["outcome"]),
        (&json!(499), &json!("client_abort"))
    );

    // The worker is still good for the next request.
    r.mock
        .push(Reply::text(&["Still", " here."], Usage::new(3, 2)));
    let resp = http::post(addr, "/v1/chat/completions", &chat("Again.", false));
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(
        resp.json()["choices"][0]["message"]["content"],
        "Still here."
    );
    assert_eq!(r.mock.response_requests().len(), 2);
}

#[test]
fn real_codex_upstream_429_reaches_the_client_as_429() {
    let r = rig("ratelimit", false);
    let addr = r.daemon.addr;
    let envelope = json!({"error": {
        "message": "The model provider is rate limiting requests.",
        "type": "rate_limit_exceeded",
        "param": null,
        "code": "rate_limit_exceeded",
    }});
    for (n, stream) in [(0, false), (1, true)] {
        r.mock.push(Reply::rate_limited(7));
        let prompt = format!("Rate limit me ({n}).");
        let resp = http::post(addr, "/v1/chat/completions", &chat(&prompt, stream));
        assert_eq!(resp.status, 429, "stream={stream}: {}", resp.text());
        assert_eq!(resp.header("retry-after"), Some("1"), "stream={stream}");
        assert_eq!(
            resp.header("content-type"),
            Some("application/json"),
            "stream={stream}"
        );
        assert_eq!(resp.json(), envelope, "stream={stream}");
        provider_request(&r.mock, n, &prompt);
        let id = req_id_of(&resp.headers);
        let up = event_for(&r.daemon, "upstream_error_received", &id);
        assert_eq!(up["error_code"], "rate_limited");
        let done = event_for(&r.daemon, "request_completed", &id);
        assert_eq!(
            (&done["status"], &done["error_code"], &done["stream"]),
            (&json!(429), &json!("rate_limit_exceeded"), &json!(stream))
        );
    }
}

#[test]
fn real_codex_responses_route_and_trace_context_reach_the_provider() {
    let r = rig("trace", true);
    let addr = r.daemon.addr;

    // No inbound traceparent: the daemon starts the trace, Codex carries it to the provider.
    let usage = Usage::new(12, 4).cached(2).reasoning(1);
    r.mock.push(Reply::text(&["Traced", " answer."], usage));
    let resp = http::post(
        addr,
        "/v1/responses",
        &json!({"model": MOCK_MODEL, "input": "Trace me."}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    let body = resp.json();
    assert_eq!(
        (&body["object"], &body["status"], &body["model"]),
        (&json!("response"), &json!("completed"), &json!(MOCK_MODEL))
    );
    assert_eq!(body["output"][0]["content"][0]["text"], "Traced answer.");
    assert_eq!(
        body["usage"],
        json!({
            "input_tokens": 12,
            "input_tokens_details": {"cached_tokens": 2},
            "output_tokens": 4,
            "output_tokens_details": {"reasoning_tokens": 1},
            "total_tokens": 16,
        })
    );
    let upstream = provider_request(&r.mock, 0, "Trace me.");
    let id = req_id_of(&resp.headers);
    let done = event_for(&r.daemon, "request_completed", &id);
    let trace_id = done["trace_id"]
        .as_str()
        .expect("trace_id on the log line")
        .to_owned();
    assert_eq!(trace_id.len(), 32);
    assert_eq!(
        upstream.trace_id(),
        Some(trace_id.as_str()),
        "{:?}",
        upstream.headers
    );

    // An inbound traceparent: the client's trace continues through codexd and Codex.
    let client_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let tp = format!("00-{client_trace}-00f067aa0ba902b7-01");
    let auth = format!("Bearer {}", crate::support::daemon::KEY);
    r.mock.push(Reply::text(&["Joined."], Usage::new(5, 1)));
    let body = chat("Join my trace.", false).to_string();
    let resp = http::request(
        addr,
        "POST",
        "/v1/chat/completions",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
            ("traceparent", &tp),
        ],
        body.as_bytes(),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["choices"][0]["message"]["content"], "Joined.");
    let upstream = provider_request(&r.mock, 1, "Join my trace.");
    assert_eq!(upstream.trace_id(), Some(client_trace));
    let done = event_for(&r.daemon, "request_completed", &req_id_of(&resp.headers));
    assert_eq!(done["trace_id"], client_trace);

    // Codex's own spans join the same traces: they are flushed when the worker stops.
    let mut r = r;
    assert!(r.daemon.terminate().success());
    r.mock
        .wait_for_request_to("/v1/traces", WAIT)
        .expect("an OTLP export from Codex");
    let spans = crate::support::eventually(WAIT, "Codex spans in both traces", || {
        let spans = crate::support::otlp::spans(&r.mock);
        [trace_id.as_str(), client_trace]
            .iter()
            .all(|t| {
                spans
                    .iter()
                    .any(|s| s.service == "codex-app-server" && s.trace_id == *t)
            })
            .then_some(spans)
    });
    // One trace from the client to the model: Codex's server spans hang under `chat {model}`.
    let chat = spans
        .iter()
        .find(|s| {
            s.service == "codexd"
                && s.trace_id == client_trace
                && s.name == format!("chat {MOCK_MODEL}")
        })
        .expect("codexd's chat span in the client's trace");
    let children: Vec<&str> = spans
        .iter()
        .filter(|s| s.service == "codex-app-server" && s.parent_span_id == chat.span_id)
        .map(|s| s.name.as_str())
        .collect();
    assert!(
        !children.is_empty(),
        "no Codex span is a child of codexd's chat span"
    );
}

#[test]
fn real_codex_gets_client_system_prompts_only_when_the_operator_allows_them() {
    for allow in [true, false] {
        let r = rig_with(&format!("sys-{allow}"), false, |c| {
            c.set("codex.allow_client_system_prompt", &allow.to_string())
        });
        let body = json!({"model": MOCK_MODEL, "messages": [
            {"role": "system", "content": "SYS-MARKER-5521 answer in French"},
            {"role": "user", "content": "Bonjour?"}]});
        let resp = http::post(r.daemon.addr, "/v1/chat/completions", &body);
        assert_eq!(resp.status, 200, "{}", resp.text());
        let upstream = provider_request(&r.mock, 0, "Bonjour?");
        let sent = upstream
            .body
            .as_ref()
            .map(|b| b.to_string())
            .unwrap_or_default();
        assert_eq!(
            sent.contains("SYS-MARKER-5521"),
            allow,
            "system prompt forwarded as developer instructions only when allowed"
        );
    }
}
