//! Per-key limits through the real binary: key A is refused with 429 after its request limit
//! (correct `Retry-After` and `x-ratelimit-*`) while key B is served; a token limit refuses
//! once the turn's usage exhausted the window; a concurrency slot frees when a request ends.

use crate::support::daemon::{Config, Daemon};
use crate::support::http;
use codexd_test_support::metrics_text::Scrape;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const SECRET_A: &str = "sk-limits-a-3e1f";
pub const SECRET_B: &str = "sk-limits-b-88c0";
const CHAT: &str = "/v1/chat/completions";

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Windows are wall-clock minutes: start a test's burst well inside one.
pub fn fresh_window() {
    let into = unix_ms() % 60_000;
    if into > 45_000 {
        std::thread::sleep(Duration::from_millis(60_000 - into + 50));
    }
}

/// `1s`, `6m0s`, `850ms`, `1m30.5s` back to milliseconds.
pub fn parse_reset(s: &str) -> u64 {
    if let Some(ms) = s.strip_suffix("ms") {
        return ms.parse().unwrap();
    }
    let (m, rest) = match s.split_once('m') {
        Some((m, rest)) => (m.parse::<u64>().unwrap(), rest),
        None => (0, s),
    };
    let secs: f64 = rest.strip_suffix('s').unwrap().parse().unwrap();
    m * 60_000 + (secs * 1000.0).round() as u64
}

pub fn chat(addr: std::net::SocketAddr, secret: &str) -> http::Response {
    let auth = format!("Bearer {secret}");
    http::request(
        addr,
        "POST",
        CHAT,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        http::chat_body("hello", false).to_string().as_bytes(),
    )
}

fn keys(a: &str, b: &str) -> Config {
    Config::default()
        .set(
            "auth.keys",
            &format!(
                r#"[{{id = "team-a", secret_env = "CODEXD_TEST_KEY_A", {a}}},
                   {{id = "team-b", secret_env = "CODEXD_TEST_KEY_B", {b}}}]"#
            ),
        )
        .daemon_env("CODEXD_TEST_KEY_A", SECRET_A)
        .daemon_env("CODEXD_TEST_KEY_B", SECRET_B)
}

fn header<'a>(r: &'a http::Response, name: &str) -> &'a str {
    r.header(name)
        .unwrap_or_else(|| panic!("{name} missing: {:?}", r.headers))
}

#[test]
fn key_a_is_refused_after_its_request_limit_while_key_b_is_served() {
    let d = Daemon::start_ready(keys("requests_per_minute = 2", "requests_per_minute = 50"));
    fresh_window();
    for remaining in ["1", "0"] {
        let ok = chat(d.addr, SECRET_A);
        assert_eq!(ok.status, 200, "{}", ok.text());
        assert_eq!(header(&ok, "x-ratelimit-limit-requests"), "2");
        assert_eq!(header(&ok, "x-ratelimit-remaining-requests"), remaining);
    }
    let sent_at = unix_ms();
    let refused = chat(d.addr, SECRET_A);
    assert_eq!(refused.status, 429, "{}", refused.text());
    let body = refused.json();
    assert_eq!(body["error"]["code"], "rate_limit_exceeded", "{body}");
    assert_eq!(body["error"]["type"], "requests", "{body}");
    // Retry-After: the seconds until this minute's window ends, rounded up, at least 1.
    let retry: u64 = header(&refused, "retry-after").parse().unwrap();
    let left_ms = 60_000 - sent_at % 60_000;
    let expected = left_ms.div_ceil(1000);
    assert!(
        retry.abs_diff(expected) <= 1 && retry >= 1,
        "Retry-After {retry}, window ends in {left_ms} ms"
    );
    assert_eq!(header(&refused, "x-ratelimit-limit-requests"), "2");
    assert_eq!(header(&refused, "x-ratelimit-remaining-requests"), "0");
    let reset_ms = parse_reset(header(&refused, "x-ratelimit-reset-requests"));
    assert!(
        reset_ms.abs_diff(left_ms) <= 1000 && retry * 1000 >= reset_ms,
        "reset {reset_ms} ms, Retry-After {retry} s, window ends in {left_ms} ms"
    );
    eprintln!(
        "limits: key A refused: Retry-After {retry}, x-ratelimit-reset-requests {}, window end in {left_ms} ms",
        header(&refused, "x-ratelimit-reset-requests")
    );

    let b = chat(d.addr, SECRET_B);
    assert_eq!(b.status, 200, "{}", b.text());
    assert_eq!(header(&b, "x-ratelimit-limit-requests"), "50");
    assert_eq!(header(&b, "x-ratelimit-remaining-requests"), "49");
    // The legacy key has no limits: no headers.
    let legacy = http::post(d.addr, CHAT, &http::chat_body("hello", false));
    assert_eq!(legacy.status, 200);
    assert!(legacy.header("x-ratelimit-limit-requests").is_none());

    let s = Scrape::parse(&d.metrics());
    assert_eq!(
        s.sum("codexd_key_rate_limited_total", &[("limit", "requests")]),
        1.0
    );
    assert_eq!(
        s.sum("codexd_key_rate_limited_total", &[("limit", "tokens")]),
        0.0
    );
}

#[test]
fn a_token_limit_refuses_once_the_turns_usage_exhausted_the_window() {
    let d = Daemon::start_ready(keys("tokens_per_minute = 5", "tokens_per_minute = 100000"));
    fresh_window();
    let first = chat(d.addr, SECRET_A);
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(header(&first, "x-ratelimit-limit-tokens"), "5");
    assert_eq!(header(&first, "x-ratelimit-remaining-tokens"), "5");
    let used = first.json()["usage"]["total_tokens"].as_u64().unwrap();
    assert!(used >= 5, "the demo turn uses {used} tokens");
    // The charge lands when the stream_ended event is consumed.
    let refused = crate::support::eventually(Duration::from_secs(5), "a tokens 429", || {
        let r = chat(d.addr, SECRET_A);
        (r.status == 429).then_some(r)
    });
    assert_eq!(refused.json()["error"]["type"], "tokens");
    assert_eq!(header(&refused, "x-ratelimit-remaining-tokens"), "0");
    assert!(header(&refused, "retry-after").parse::<u64>().unwrap() >= 1);
    assert_eq!(chat(d.addr, SECRET_B).status, 200);
    let s = Scrape::parse(&d.metrics());
    assert!(s.sum("codexd_key_rate_limited_total", &[("limit", "tokens")]) >= 1.0);
}

#[test]
fn a_concurrency_slot_frees_when_the_request_ends() {
    let d = Daemon::start_ready(
        keys("max_concurrent = 1", "max_concurrent = 4")
            .worker_env("CODEXD_DEMO_FIRST_TOKEN_DELAY_MS", "1500"),
    );
    let addr = d.addr;
    let slow = std::thread::spawn(move || chat(addr, SECRET_A));
    std::thread::sleep(Duration::from_millis(500));
    let refused = chat(d.addr, SECRET_A);
    assert_eq!(refused.status, 429, "{}", refused.text());
    assert_eq!(refused.json()["error"]["code"], "rate_limit_exceeded");
    assert_eq!(header(&refused, "retry-after"), "1");
    assert_eq!(slow.join().unwrap().status, 200);
    assert_eq!(chat(d.addr, SECRET_A).status, 200);
    let s = Scrape::parse(&d.metrics());
    assert_eq!(
        s.sum("codexd_key_rate_limited_total", &[("limit", "concurrency")]),
        1.0
    );
}
