//! Per-key limits shared through a real Redis (`limits.backend = "redis"`): two daemons
//! enforce one combined request limit for a key; with Redis gone, the `closed` daemon
//! refuses (503 `limits_unavailable`) and the `open` one serves, both counting the failure.

use crate::limits_keys::{chat, fresh_window, SECRET_A, SECRET_B};
use crate::support::daemon::{Config, Daemon, KEY};
use crate::support::redis::RedisServer;
use codexd_test_support::metrics_text::Scrape;
use std::time::Instant;

fn shared(url: &str, failure: &str) -> Config {
    Config::default()
        .set(
            "auth.keys",
            r#"[{id = "team-a", secret_env = "CODEXD_TEST_KEY_A", requests_per_minute = 4},
                {id = "team-b", secret_env = "CODEXD_TEST_KEY_B", requests_per_minute = 1000}]"#,
        )
        .set("limits.backend", "\"redis\"")
        .set("limits.redis_url", &format!("{url:?}"))
        .set("limits.redis_failure", &format!("{failure:?}"))
        .daemon_env("CODEXD_TEST_KEY_A", SECRET_A)
        .daemon_env("CODEXD_TEST_KEY_B", SECRET_B)
}

/// Mean request times of two keys, interleaved over 40 rounds (no assertion: a number for
/// the report).
fn mean_times(d: &Daemon, a: &str, b: &str) -> (std::time::Duration, std::time::Duration) {
    let (mut ta, mut tb) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    for _ in 0..40 {
        for (secret, total) in [(a, &mut ta), (b, &mut tb)] {
            let t = Instant::now();
            assert_eq!(chat(d.addr, secret).status, 200);
            *total += t.elapsed();
        }
    }
    (ta / 40, tb / 40)
}

fn errors(d: &Daemon) -> f64 {
    Scrape::parse(&d.metrics()).sum(
        "codexd_limits_backend_errors_total",
        &[("backend", "redis"), ("op", "check")],
    )
}

#[test]
fn two_daemons_share_one_limit_and_a_redis_outage_follows_the_policy() {
    let mut redis = RedisServer::start();
    let closed = Daemon::start_ready(shared(&redis.url(), "closed"));
    let open = Daemon::start_ready(shared(&redis.url(), "open"));
    fresh_window();
    // Four requests in all, alternating between the replicas, then both refuse.
    let mut served = Vec::new();
    for (i, d) in [&closed, &open, &closed, &open].into_iter().enumerate() {
        let t = Instant::now();
        let r = chat(d.addr, SECRET_A);
        served.push(t.elapsed());
        assert_eq!(r.status, 200, "request {i}: {}", r.text());
        assert_eq!(
            r.header("x-ratelimit-remaining-requests"),
            Some((3 - i).to_string().as_str()),
            "request {i}"
        );
    }
    for d in [&closed, &open] {
        let r = chat(d.addr, SECRET_A);
        assert_eq!(r.status, 429, "{}", r.text());
        assert_eq!(r.json()["error"]["type"], "requests");
        let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "Retry-After {retry}");
    }
    eprintln!("limits: served over redis in {served:?}");
    eprintln!(
        "limits: mean request time, limited key over redis vs unlimited key: {:?}",
        mean_times(&open, SECRET_B, KEY)
    );
    for d in [&closed, &open] {
        assert_eq!(errors(d), 0.0);
        let s = Scrape::parse(&d.metrics());
        assert_eq!(
            s.sum("codexd_limits_backend_up", &[("backend", "redis")]),
            1.0
        );
    }

    redis.stop();
    let refused = chat(closed.addr, SECRET_A);
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert_eq!(refused.json()["error"]["code"], "limits_unavailable");
    assert_eq!(refused.header("retry-after"), Some("1"));
    // Fail open: served although this key's window is exhausted (the count is unknown).
    let served = chat(open.addr, SECRET_A);
    assert_eq!(served.status, 200, "{}", served.text());
    assert!(served.header("x-ratelimit-remaining-requests").is_none());
    for d in [&closed, &open] {
        assert!(errors(d) >= 1.0);
        let s = Scrape::parse(&d.metrics());
        assert_eq!(
            s.sum("codexd_limits_backend_up", &[("backend", "redis")]),
            0.0
        );
    }
}
