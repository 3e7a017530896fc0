//! Chaos: eight clients send chat requests (half of them streaming) to the real daemon while a
//! worker is killed with SIGKILL every 200 ms. No request may wait out a timeout for a dead
//! worker: every answer comes within the queue timeout, a `worker_lost` answer within a
//! second, none is a first-token timeout; every response is a complete answer or a
//! well-formed OpenAI error; the gauges return to 0 and the request counter matches exactly.

use crate::support::daemon::{Config, Daemon, KEY};
use crate::support::eventually;
use crate::support::http::{self, Response};
use codexd_test_support::metrics_text::Scrape;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CLIENTS: usize = 8;
const CHAOS: Duration = Duration::from_secs(8);
const KILL_EVERY: Duration = Duration::from_millis(200);
const QUEUE_TIMEOUT_MS: u64 = 5000;
const CHAT: &str = "/v1/chat/completions";

fn config() -> Config {
    Config::default()
        .set("log.level", "\"info\"")
        .set("workers.count", "2")
        .set("workers.max_turns_per_worker", "4")
        .set("workers.backoff.initial_ms", "20")
        .set("workers.backoff.max_ms", "200")
        .set("workers.backoff.max_restarts", "1000")
        .set("admission.queue_size", "64")
        .set("admission.queue_timeout_ms", &QUEUE_TIMEOUT_MS.to_string())
        .set("streaming.first_token_timeout_ms", "2000")
        .set("streaming.idle_timeout_ms", "2000")
}

/// How one request ended, as the client saw it.
struct Answer {
    took: Duration,
    status: u16,
    /// The error code of a failed answer (`worker_lost`, `no_worker`, …).
    code: Option<String>,
}

/// Checks the `{"error": {message, type, param, code}}` envelope; returns the code.
fn envelope(v: &Value, what: &str) -> String {
    let e = &v["error"];
    assert!(e["message"].is_string(), "{what}: no message in {v}");
    assert!(e["type"].is_string(), "{what}: no type in {v}");
    assert!(e.get("param").is_some(), "{what}: no param in {v}");
    e["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no code in {v}"))
        .to_owned()
}

/// Classifies a response: a complete answer, or a well-formed error (fails the test
/// otherwise).
fn check(r: &Response, stream: bool, what: &str) -> Option<String> {
    assert!(
        r.header("x-request-id").is_some(),
        "{what}: no X-Request-Id"
    );
    if r.status != 200 {
        return Some(envelope(&r.json(), what));
    }
    if !stream {
        let v = r.json();
        let text = v["choices"][0]["message"]["content"].as_str().unwrap_or("");
        assert!(!text.is_empty(), "{what}: a 200 without content: {v}");
        return None;
    }
    let body = r.text();
    let frames: Vec<&str> = body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    assert_eq!(
        frames.last(),
        Some(&"[DONE]"),
        "{what}: unterminated stream {body:?}"
    );
    let mut text = String::new();
    for f in &frames[..frames.len() - 1] {
        let v: Value = serde_json::from_str(f).unwrap_or_else(|_| panic!("{what}: bad frame {f}"));
        if v.get("error").is_some() {
            return Some(envelope(&v, what));
        }
        if let Some(t) = v["choices"][0]["delta"]["content"].as_str() {
            text.push_str(t);
        }
    }
    assert!(
        !text.is_empty(),
        "{what}: a completed stream without content"
    );
    None
}

fn client(addr: std::net::SocketAddr, n: usize, stop: Arc<AtomicBool>) -> Vec<Answer> {
    let auth = format!("Bearer {KEY}");
    let mut answers = Vec::new();
    let mut i = 0;
    while !stop.load(Ordering::SeqCst) {
        let stream = (n + i) % 2 == 0;
        let body = json!({"model": "codex-demo", "stream": stream,
            "messages": [{"role": "user", "content": format!("hi {n}-{i}")}]});
        let started = Instant::now();
        let r = http::request(
            addr,
            "POST",
            CHAT,
            &[("Authorization", &auth)],
            body.to_string().as_bytes(),
        );
        let took = started.elapsed();
        let code = check(&r, stream, &format!("client {n} request {i}"));
        answers.push(Answer {
            took,
            status: r.status,
            code,
        });
        i += 1;
    }
    answers
}

fn gauge_sum(scrape: &Scrape, name: &str) -> f64 {
    scrape.sum(name, &[])
}

#[test]
fn killing_workers_under_load_loses_no_answer_and_no_request_waits_on_a_dead_worker() {
    let d = Daemon::start_ready(config());
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| {
            let (addr, stop) = (d.addr, stop.clone());
            std::thread::spawn(move || client(addr, n, stop))
        })
        .collect();
    let began = Instant::now();
    let mut kills = 0;
    while began.elapsed() < CHAOS {
        std::thread::sleep(KILL_EVERY);
        if let Some(pid) = d.worker_pids().first() {
            // The worker may be gone already: kill's own failure does not matter.
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
            kills += 1;
        }
    }
    stop.store(true, Ordering::SeqCst);
    let answers: Vec<Answer> = clients
        .into_iter()
        .flat_map(|c| c.join().expect("a client thread"))
        .collect();

    let sent = answers.len();
    let ok = answers
        .iter()
        .filter(|a| a.status == 200 && a.code.is_none())
        .count();
    let lost: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.code.as_deref() == Some("worker_lost"))
        .collect();
    let slowest = answers.iter().map(|a| a.took).max().unwrap_or_default();
    let slowest_lost = lost.iter().map(|a| a.took).max().unwrap_or_default();
    report(sent, ok, lost.len(), kills, slowest, slowest_lost);
    assert!(kills >= 20, "only {kills} kills");
    assert!(ok > sent / 2, "{ok} of {sent} completed");
    assert!(
        slowest < Duration::from_millis(QUEUE_TIMEOUT_MS),
        "a request took {slowest:?}"
    );
    assert!(
        slowest_lost < Duration::from_secs(1),
        "a worker_lost answer took {slowest_lost:?}"
    );
    let timeouts = answers
        .iter()
        .filter(|a| a.code.as_deref() == Some("timeout_first_token"))
        .count();
    assert_eq!(timeouts, 0, "requests waited out the first-token timeout");

    // Every gauge returns to 0, and every request was counted once.
    let scrape = eventually(Duration::from_secs(5), "idle gauges", || {
        let s = Scrape::parse(&d.metrics());
        let idle = gauge_sum(&s, "codexd_streams_active") == 0.0
            && gauge_sum(&s, "codexd_admission_queue_depth") == 0.0
            && s.sum("codexd_http_requests_in_flight", &[("route", CHAT)]) == 0.0;
        idle.then_some(s)
    });
    let counted = scrape.sum("codexd_http_requests_total", &[("route", CHAT)]);
    assert_eq!(counted as usize, sent, "codexd_http_requests_total vs sent");
}

/// Prints the measurement (visible with `--nocapture`).
#[expect(clippy::print_stderr, reason = "the measurement is the test's report")]
fn report(sent: usize, ok: usize, lost: usize, kills: u32, slowest: Duration, lost_max: Duration) {
    eprintln!(
        "chaos: {sent} requests, {ok} completed, {lost} worker_lost, {kills} kills; \
         slowest answer {slowest:?}, slowest worker_lost {lost_max:?}"
    );
}
