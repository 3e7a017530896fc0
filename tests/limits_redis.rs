//! Per-key limits shared through a real Redis (`limits.backend = "redis"`): two daemons
//! enforce one combined request limit for a key; with Redis gone, the `closed` daemon
//! refuses (503 `limits_unavailable`) and the `open` one serves, both counting the failure.

use crate::limits_keys::{chat, fresh_window, SECRET_A};
use crate::support::daemon::{Config, Daemon};
use crate::support::redis::RedisServer;
use codexd_test_support::metrics_text::Scrape;
use std::time::Instant;

fn shared(url: &str, failure: &str) -> Config {
    Config::default()
        .set(
            "auth.keys",
            r#"[{id = "team-a", secret_env = "CODEXD_TEST_KEY_A", requests_per_minute = 4}]"#,
        )
        .set("limits.backend", "\"redis\"")
        .set("limits.redis_url", &format!("{url:?}"))
        .set("limits.redis_failure", &format!("{failure:?}"))
        .daemon_env("CODEXD_TEST_KEY_A", SECRET_A)
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
