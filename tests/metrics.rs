//! Prometheus metrics through the real binary: promtool on a scrape after a mixed workload,
//! the stream/request accounting invariants, and the restart backoff gauge against the delays
//! the supervisor logs. Time-to-first-token truth is in metrics_latency.rs.

use crate::metrics_scrape::{
    promtool_check, scrape, settle, wait_started, wait_stream_ended, Scrape, WAIT,
};
use crate::support::daemon::{Config, Daemon, KEY};

fn auth() -> String {
    format!("Bearer {KEY}")
}
use crate::support::http::{self, chat_body, Streaming};
use crate::support::signal;
use serde_json::json;
use std::time::{Duration, Instant};

/// Completed, rejected (auth, validation, size, concurrency, no worker), timed-out, aborted
/// and crashed requests against one daemon; then promtool on the scrape and every invariant.
#[test]
fn metrics_after_a_mixed_workload_pass_promtool_and_add_up() {
    // One worker that takes one turn at a time, no queue, no pings (so the demo worker's
    // answered-request counter is exact): each worker process answers 7 requests and then
    // stalls. Long prompts crash the worker after 30 deltas.
    let d = Daemon::start_ready(
        Config::default()
            .set("workers.count", "1")
            .set("workers.max_turns_per_worker", "1")
            .set("workers.ping_interval_ms", "600000")
            .set("workers.backoff.initial_ms", "400")
            .set("workers.backoff.max_ms", "400")
            .set("workers.backoff.jitter", "false")
            .set("admission.queue_size", "0")
            .set("server.max_body_bytes", "1024")
            .set("streaming.first_token_timeout_ms", "1000")
            .set("streaming.interrupt_grace_ms", "300")
            .set("streaming.header_hold_ms", "50")
            .set("streaming.keepalive_ms", "100")
            .set("metrics.listen", "\"127.0.0.1:0\"")
            .worker_env("CODEXD_DEMO_FIRST_TOKEN_DELAY_MS", "400")
            .worker_env("CODEXD_DEMO_CHUNKS", "40")
            .worker_env("CODEXD_DEMO_CRASH_AFTER_CHUNKS", "30")
            .worker_env("CODEXD_DEMO_STALL_AFTER_REQUESTS", "7"),
    );
    let mut sent: Vec<(&str, u16)> = Vec::new();
    let a = d.addr;
    let mut record = |what: &'static str, status: u16| sent.push((what, status));

    // Worker process 1: initialize (1 answered request).
    let r = http::post(a, "/v1/chat/completions", &chat_body("hi", false));
    record("unary completed", r.status); // thread/start + turn/start: 3
    let mut s = Streaming::open(a, "/v1/chat/completions", &chat_body("hi", true));
    s.read_to_end(WAIT);
    record("stream completed", s.status); // 5
    let bad_key = http::request(
        a,
        "POST",
        "/v1/chat/completions",
        &[("Authorization", "Bearer nope")],
        chat_body("hi", false).to_string().as_bytes(),
    );
    record("wrong key", bad_key.status);
    let unknown_model = json!({"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]});
    record(
        "unknown model",
        http::post(a, "/v1/chat/completions", &unknown_model).status,
    );
    let not_json = http::request(
        a,
        "POST",
        "/v1/responses",
        &[("Authorization", &auth())],
        b"{not json",
    );
    record("invalid json", not_json.status);
    let big = http::post(
        a,
        "/v1/chat/completions",
        &chat_body(&"x".repeat(2000), false),
    );
    record("too large", big.status);
    record("unknown path", http::get(a, "/v1/nope?x=1").status);
    let put = http::request(a, "PUT", "/v1/chat/completions", &[], b"");
    record("wrong method", put.status);
    let models = http::request(a, "GET", "/v1/models", &[("Authorization", &auth())], b"");
    record("models", models.status);
    let model = http::request(
        a,
        "GET",
        "/v1/models/codex-demo",
        &[("Authorization", &auth())],
        b"",
    );
    record("model", model.status);

    // The stalled turn: thread/start + turn/start answered (7), then silence: first-token
    // timeout. While it holds the only lease, one more request is turned away.
    let stalled = std::thread::spawn(move || {
        http::post(a, "/v1/chat/completions", &chat_body("hi", false)).status
    });
    wait_started(&d, 3);
    record(
        "concurrency",
        http::post(a, "/v1/chat/completions", &chat_body("hi", false)).status,
    );
    record("first-token timeout", stalled.join().unwrap());
    wait_stream_ended(&d, "timeout_first_token", 1);

    // Worker crash 1: kill -9 the wedged worker; during the 400 ms backoff there is no worker.
    let pid = d.worker_pids()[0];
    signal(pid, 9);
    d.wait_event(WAIT, "restart_scheduled", |e| {
        e["event"] == "restart_scheduled" && e["reason"] == "signal"
    });
    record(
        "no worker",
        http::post(a, "/v1/chat/completions", &chat_body("hi", false)).status,
    );
    d.wait_ready();

    // Worker process 2: a stream the client abandons before its first token (3 requests
    // answered incl. turn/interrupt), then a long prompt that crashes the worker mid-turn.
    let abandoned = Streaming::open(a, "/v1/chat/completions", &chat_body("hi", true));
    let abandoned_status = abandoned.status;
    drop(abandoned);
    record("client abort", 499);
    wait_stream_ended(&d, "client_abort", 1);
    let long = "a".repeat(40);
    record(
        "worker crash",
        http::post(a, "/v1/chat/completions", &chat_body(&long, false)).status,
    );
    wait_stream_ended(&d, "worker_lost", 1);
    d.wait_ready();

    // Worker process 3: a completed Responses stream.
    let body = json!({"model": "codex-demo", "input": "hi", "stream": true});
    let mut s = Streaming::open(a, "/v1/responses", &body);
    s.read_to_end(WAIT);
    record("responses stream", s.status);

    let statuses: Vec<(&str, u16)> = sent.clone();
    let expect = [
        ("unary completed", 200),
        ("stream completed", 200),
        ("wrong key", 401),
        ("unknown model", 404),
        ("invalid json", 400),
        ("too large", 413),
        ("unknown path", 404),
        ("models", 200),
        ("model", 200),
        ("concurrency", 429),
        ("first-token timeout", 504),
        ("no worker", 503),
        ("worker crash", 502),
        ("responses stream", 200),
    ];
    for (what, status) in expect {
        let got = statuses.iter().find(|(w, _)| *w == what).map(|x| x.1);
        assert_eq!(got, Some(status), "{what}: {statuses:?}");
    }
    assert_eq!(abandoned_status, 200);
    let api_requests = sent.len() as f64;
    let streams_started = 6.0;

    // Let every completion reach the collector, then scrape once for everything.
    let m = settle(WAIT, || {
        let m = scrape(&d);
        // ... and the crashed worker to be back, so the gauges have settled too.
        let done = m.sum("codexd_http_requests_total", &[]) >= api_requests
            && m.sum("codexd_streams_active", &[]) == 0.0
            && m.sum("codexd_http_requests_in_flight", &[]) == 0.0
            && m.sum("codexd_workers_ready", &[]) == 1.0
            && m.sum("codexd_worker_restart_backoff_seconds", &[]) == 0.0;
        (done, m)
    });
    let text = d.metrics();
    let (ok, said) = promtool_check(&text);
    assert!(
        ok,
        "promtool check metrics failed:\n{said}\n--- scrape ---\n{text}"
    );

    // Accounting: every stream started is ended (by outcome) or active; every request counts.
    let ended = m.sum("codexd_streams_total", &[]);
    let active = m.sum("codexd_streams_active", &[]);
    assert_eq!(ended + active, streams_started, "streams_total + active");
    assert_eq!(
        d.events_named("stream_started").len() as f64,
        streams_started
    );
    assert_eq!(
        m.sum("codexd_http_requests_total", &[]),
        api_requests,
        "http_requests_total vs requests sent: {sent:?}"
    );
    let class = |c: &str| m.sum("codexd_http_requests_total", &[("status_class", c)]);
    assert_eq!((class("2xx"), class("4xx"), class("5xx")), (5.0, 8.0, 3.0));
    assert_eq!(
        m.sum("codexd_http_requests_total", &[("route", "other")]),
        2.0,
        "unknown path and wrong method fold into route=other"
    );
    for (outcome, n) in [
        ("completed", 3.0),
        ("timeout_first_token", 1.0),
        ("client_abort", 1.0),
        ("worker_lost", 1.0),
        ("worker_error", 0.0),
    ] {
        assert_eq!(
            m.sum("codexd_streams_total", &[("outcome", outcome)]),
            n,
            "streams_total{{outcome={outcome}}}"
        );
    }
    // TTFT: one observation per stream that received a generated delta (the three completed
    // ones and the one that crashed after 30 deltas); the timed-out and the abandoned streams
    // are in no_first_token instead.
    let with_token = d.events_named("first_token_received").len() as f64;
    assert_eq!(with_token, 4.0);
    assert_eq!(
        m.sum("codexd_stream_time_to_first_token_seconds_count", &[]),
        with_token
    );
    for (reason, n) in [
        ("timeout", 1.0),
        ("client_abort", 1.0),
        ("worker_lost", 0.0),
        ("worker_error", 0.0),
    ] {
        assert_eq!(
            m.sum("codexd_stream_no_first_token_total", &[("reason", reason)]),
            n,
            "no_first_token{{reason={reason}}}"
        );
    }
    for (reason, n) in [
        ("concurrency", 1.0),
        ("no_worker", 1.0),
        ("queue_full", 0.0),
    ] {
        assert_eq!(
            m.sum("codexd_admission_rejected_total", &[("reason", reason)]),
            n,
            "admission_rejected_total{{reason={reason}}}"
        );
    }
    for (reason, n) in [("signal", 1.0), ("exit", 1.0), ("unresponsive", 0.0)] {
        assert_eq!(
            m.sum("codexd_worker_restarts_total", &[("reason", reason)]),
            n,
            "restarts{{reason={reason}}}"
        );
    }
    for (family, v) in [
        ("codexd_worker_restart_backoff_seconds", 0.0),
        ("codexd_workers_ready", 1.0),
        ("codexd_ready", 1.0),
        ("codexd_http_requests_in_flight", 0.0),
        ("codexd_worker_turns_in_flight", 0.0),
        ("codexd_admission_queue_depth", 0.0),
    ] {
        assert_eq!(m.sum(family, &[]), v, "{family}");
    }
    assert!(m.sum("codexd_tokens_total", &[("type", "output")]) > 0.0);
    // The same request count appears in the logs, one info line per API request.
    let api_lines = d
        .events_named("request_completed")
        .into_iter()
        .filter(|e| e["level"] == "info")
        .count() as f64;
    assert_eq!(api_lines, api_requests);
}

/// A crash-looping worker with jittered backoff: for every `restart_scheduled`, the gauge
/// shows exactly that `delay_ms`; after `restarts_exhausted`, the failed-retry delay.
#[test]
fn metrics_restart_backoff_gauge_shows_the_scheduled_delay() {
    let d = Daemon::start(
        Config::default()
            .set("workers.count", "1")
            .set("workers.backoff.initial_ms", "300")
            .set("workers.backoff.max_ms", "1200")
            .set("workers.backoff.jitter", "true")
            .set("workers.backoff.max_restarts", "4")
            .set("workers.backoff.window_ms", "60000")
            .set("workers.failed_retry_ms", "7000")
            .set("metrics.listen", "\"127.0.0.1:0\"")
            .worker_env("CODEXD_DEMO_EXIT_ON_START", "3"),
    );
    let gauge = |m: &Scrape| {
        m.select("codexd_worker_restart_backoff_seconds", &[("slot", "0")])
            .next()
            .map(|s| s.value)
    };
    let mut delays = Vec::new();
    for attempt in 1..=4u64 {
        let e = d.wait_event(WAIT, "restart_scheduled", |e| {
            e["event"] == "restart_scheduled" && e["attempt"] == attempt
        });
        let delay_ms = e["delay_ms"].as_u64().unwrap();
        let want = delay_ms as f64 / 1000.0;
        let seen_at = Instant::now();
        let got = settle(Duration::from_millis(delay_ms), || {
            let g = gauge(&scrape(&d));
            (g == Some(want), g)
        });
        assert_eq!(
            got,
            Some(want),
            "attempt {attempt}: gauge vs logged delay_ms {delay_ms} (looked for {:?})",
            seen_at.elapsed()
        );
        delays.push(delay_ms);
    }
    let e = d.wait_event(WAIT, "restarts_exhausted", |e| {
        e["event"] == "restarts_exhausted"
    });
    let retry = e["retry_in_ms"].as_u64().unwrap() as f64 / 1000.0;
    assert_eq!(retry, 7.0);
    let got = settle(WAIT, || {
        let g = gauge(&scrape(&d));
        (g == Some(retry), g)
    });
    assert_eq!(got, Some(retry), "after restarts_exhausted");
    let m = scrape(&d);
    assert_eq!(
        m.sum(
            "codexd_worker_restarts_total",
            &[("slot", "0"), ("reason", "exit")]
        ),
        4.0
    );
    assert_eq!(m.sum("codexd_worker_up", &[]), 0.0);
    eprintln!("scheduled backoff delays (ms): {delays:?}");
}
