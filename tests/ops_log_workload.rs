//! Operator artifacts: the log schema against a real workload. Every line the daemon prints
//! during a mixed workload (errors, worker crashes, restarts exhausted, start-up failure,
//! shutdown) validates against `docs/log-schema.json`.

use crate::ops_log_schema::{errors, schema, SCHEMA};
use crate::support::daemon::{scratch_dir, Config, Daemon, BIN};
use crate::support::http::{self, chat_body, Streaming};
use crate::support::signal;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(15);

/// Every stdout line of `d`, parsed, with where it came from.
fn lines_of(name: &str, d: &Daemon) -> Vec<(String, Value)> {
    d.lines()
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let v = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{name} line {i} is not JSON ({e}): {l}"));
            (format!("{name} line {i}"), v)
        })
        .collect()
}

#[test]
fn ops_log_schema_accepts_every_line_of_a_mixed_workload() {
    let s = schema();
    let mut all: Vec<(String, Value)> = Vec::new();

    // A: two slow-ish workers with hostile output (a garbage line per turn, stderr), tracing
    // towards a closed port; completed, rejected, aborted and crashed work, then a shutdown
    // with a stream in flight and a request refused while draining.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("\"http://{}\"", dead.local_addr().unwrap());
    drop(dead);
    let mut a = Daemon::start_ready(
        Config::default()
            .set("tracing.endpoint", &dead_url)
            .worker_env("CODEXD_DEMO_CHUNKS", "10")
            .worker_env("CODEXD_DEMO_CHUNK_INTERVAL_MS", "100")
            .worker_env("CODEXD_DEMO_GARBAGE_LINE", "1")
            .worker_env("CODEXD_DEMO_STDERR_FLOOD_LINES", "3"),
    );
    let ok = http::post(a.addr, "/v1/chat/completions", &chat_body("hello", false));
    assert_eq!(ok.status, 200, "{}", ok.text());
    let mut st = Streaming::open(a.addr, "/v1/chat/completions", &chat_body("hello", true));
    st.read_to_end(WAIT);
    let body = json!({"model": "codex-demo", "input": "hi", "stream": true});
    Streaming::open(a.addr, "/v1/responses", &body).read_to_end(WAIT);
    http::request(
        a.addr,
        "POST",
        "/v1/chat/completions",
        &[
            ("Authorization", "Bearer nope"),
            ("User-Agent", &"ua/1 ".repeat(40)),
        ],
        b"{}",
    );
    http::post(
        a.addr,
        "/v1/chat/completions",
        &json!({"model": "codex-demo"}),
    );
    http::get(a.addr, "/v1/nope?q=1");
    let mut aborted = Streaming::open(a.addr, "/v1/chat/completions", &chat_body("bye", true));
    aborted.read_until(WAIT, |b| b.contains("data:"));
    drop(aborted);
    a.wait_event(WAIT, "client abort", |e| {
        e["event"] == "stream_ended" && e["outcome"] == "client_abort"
    });
    signal(a.worker_pids()[0], 9);
    a.wait_event(WAIT, "restart", |e| e["event"] == "restart_scheduled");
    a.wait_ready();
    let mut inflight = Streaming::open(a.addr, "/v1/chat/completions", &chat_body("drain", true));
    inflight.read_until(WAIT, |b| b.contains("data:"));
    signal(a.pid(), 15);
    a.wait_event(WAIT, "draining", |e| {
        e["event"] == "shutdown_phase_completed" && e["phase"] == "stop_accepting"
    });
    let refused = http::post(a.addr, "/v1/chat/completions", &chat_body("late", false));
    assert_eq!(refused.status, 503, "{}", refused.text());
    inflight.read_to_end(WAIT);
    assert_eq!(a.wait_exit(Duration::from_secs(30)).code(), Some(0));
    all.extend(lines_of("daemon A", &a));

    // B: every turn rate-limited by the provider.
    let mut b = Daemon::start_ready(
        Config::default()
            .set("workers.count", "1")
            .worker_env("CODEXD_DEMO_UPSTREAM_ERROR", "rate_limited"),
    );
    let limited = http::post(b.addr, "/v1/chat/completions", &chat_body("hi", false));
    assert_eq!(limited.status, 429, "{}", limited.text());
    assert_eq!(b.terminate().code(), Some(0));
    all.extend(lines_of("daemon B", &b));

    // C: a worker that dies at start, until the slot is failed.
    let mut c = Daemon::start(
        Config::default()
            .set("workers.count", "1")
            .set("workers.backoff.initial_ms", "10")
            .set("workers.backoff.max_ms", "20")
            .set("workers.backoff.max_restarts", "2")
            .worker_env("CODEXD_DEMO_EXIT_ON_START", "1"),
    );
    c.wait_event(WAIT, "restarts exhausted", |e| {
        e["event"] == "restarts_exhausted"
    });
    assert_eq!(c.terminate().code(), Some(0));
    all.extend(lines_of("daemon C", &c));

    // E: debug content capture on loopback, and a worker that asks for an approval.
    let mut e = Daemon::start_ready(
        Config::default()
            .set("workers.count", "1")
            .set("log.capture_content", "true")
            .worker_env("CODEXD_DEMO_APPROVAL_REQUEST", "command"),
    );
    let approved = http::post(e.addr, "/v1/chat/completions", &chat_body("run ls", false));
    assert_eq!(approved.status, 200, "{}", approved.text());
    assert_eq!(e.terminate().code(), Some(0));
    all.extend(lines_of("daemon E", &e));

    // F: a worker that wedges after the handshake: pings time out.
    let mut f = Daemon::start(
        Config::default()
            .set("workers.count", "1")
            .set("workers.ping_interval_ms", "100")
            .set("workers.ping_timeout_ms", "200")
            .worker_env("CODEXD_DEMO_STALL_AFTER_REQUESTS", "1"),
    );
    f.wait_event(WAIT, "unresponsive", |e| {
        e["event"] == "worker_unresponsive"
    });
    assert_eq!(f.terminate().code(), Some(0));
    all.extend(lines_of("daemon F", &f));

    // D: an invalid configuration: one startup_failed line, exit 64.
    let dir = scratch_dir("ops-bad-config");
    std::fs::write(dir.join("bad.toml"), "[server]\nlisten = \"nope\"\n").unwrap();
    let out = std::process::Command::new(BIN)
        .args(["serve", "--config"])
        .arg(dir.join("bad.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    for (i, l) in String::from_utf8_lossy(&out.stdout).lines().enumerate() {
        let v = serde_json::from_str(l)
            .unwrap_or_else(|e| panic!("start-up failure line {i} is not JSON ({e}): {l}"));
        all.push((format!("start-up failure line {i}"), v));
    }

    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for (place, line) in &all {
        seen.insert(line["event"].as_str().unwrap_or("").to_owned());
        for e in errors(&s, line) {
            problems.push(format!("{place}: {e}\n    {line}"));
        }
    }
    let must_see = [
        "daemon_started",
        "descriptor_limit_set",
        "listener_bound",
        "worker_spawned",
        "worker_ready",
        "worker_state_changed",
        "readiness_changed",
        "request_received",
        "request_completed",
        "admission_rejected",
        "lease_granted",
        "lease_released",
        "stream_started",
        "turn_started",
        "first_token_received",
        "upstream_error_received",
        "turn_interrupt_sent",
        "stream_ended",
        "worker_rpc_completed",
        "worker_protocol_error",
        "worker_stderr_observed",
        "worker_exited",
        "restart_scheduled",
        "restarts_exhausted",
        "shutdown_phase_started",
        "shutdown_phase_completed",
        "worker_stopped",
        "daemon_stopped",
        "startup_failed",
        "content_capture_enabled",
        "content_captured",
        "server_request_answered",
        "worker_unresponsive",
    ];
    for e in must_see {
        if !seen.contains(e) {
            problems.push(format!("the workload never produced a `{e}` line"));
        }
    }
    let unseen: Vec<&&str> = codexd_actors::events::CATALOGUE
        .iter()
        .filter(|e| !seen.contains(**e))
        .collect();
    eprintln!(
        "log schema: {} lines validated; events not exercised: {unseen:?}",
        all.len()
    );
    assert!(
        problems.is_empty(),
        "{} of {} lines break {SCHEMA}:\n{}",
        problems.len(),
        all.len(),
        problems.join("\n")
    );
}
