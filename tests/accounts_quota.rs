//! Accounts through the real binary: two demo accounts with their own windows, the quota
//! gauges, a usage-limit error moving traffic to the other account until the reset, the
//! honest 429 when both are out, login state, and no account identity leaking anywhere.

use crate::support::daemon::{scratch_dir, Config, Daemon};
use crate::support::mock_provider::{MockProvider, Reply};
use crate::support::{eventually, http, otlp};
use codexd_test_support::metrics_text::Scrape;
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const CHAT: &str = "/v1/chat/completions";

/// One `[[accounts]]` entry as inline TOML, its demo worker set by `env`.
pub fn account(name: &str, env: &[(&str, &str)]) -> String {
    let home = scratch_dir(&format!("acct-{name}"));
    let env: Vec<String> = env.iter().map(|(k, v)| format!("{k} = {v:?}")).collect();
    format!(
        "{{ name = {name:?}, codex_home = {:?}, workers = 1, env = {{ {} }} }}",
        home.display().to_string(),
        env.join(", ")
    )
}

/// A daemon whose pool is the given accounts.
pub fn pool(accounts: &[String]) -> Config {
    Config::default().set("accounts", &format!("[{}]", accounts.join(", ")))
}

pub fn scrape(d: &Daemon) -> Scrape {
    Scrape::parse(&d.metrics())
}

fn gauge(d: &Daemon, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let s = scrape(d);
    let v = s.select(name, labels).next().map(|x| x.value);
    v
}

fn account_health(d: &Daemon, name: &str) -> Value {
    d.healthz()["accounts"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == name).cloned())
        .unwrap_or(Value::Null)
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Slots whose worker served a completed stream, in order.
fn served_slots(d: &Daemon) -> Vec<u64> {
    d.events_named("stream_ended")
        .iter()
        .filter(|e| e["outcome"] == "completed")
        .filter_map(|e| e["worker"].as_u64())
        .collect()
}

#[test]
fn a_usage_limit_on_one_account_sends_traffic_to_the_other_until_its_reset() {
    let d = Daemon::start_ready(pool(&[
        account(
            "alpha",
            &[
                ("CODEXD_DEMO_RATE_LIMITS", "96,20"),
                ("CODEXD_DEMO_UPSTREAM_ERROR", "usage_limit"),
                ("CODEXD_DEMO_USAGE_LIMIT_RESET_S", "4"),
            ],
        ),
        account("beta", &[("CODEXD_DEMO_RATE_LIMITS", "10")]),
    ]));
    let primary = [("account", "alpha"), ("window", "primary")];
    let used = eventually(Duration::from_secs(5), "alpha's used ratio", || {
        gauge(&d, "codexd_account_quota_used_ratio", &primary)
    });
    assert!((used - 0.96).abs() < 1e-9, "{used}");
    assert_eq!(
        gauge(&d, "codexd_account_quota_window_seconds", &primary),
        Some(18_000.0)
    );
    let beta_secondary = [("account", "beta"), ("window", "secondary")];
    assert_eq!(
        gauge(&d, "codexd_account_quota_used_ratio", &beta_secondary),
        Some(0.0)
    );

    // The first request lands on alpha (slot 0), fails with the usage limit before any
    // byte, and is answered by beta; alpha then cools down.
    for _ in 0..4 {
        let r = http::post(d.addr, CHAT, &http::chat_body("hi", false));
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["choices"][0]["message"]["content"], "You said: hi");
    }
    eventually(Duration::from_secs(5), "four streams ended on beta", || {
        (served_slots(&d) == vec![1, 1, 1, 1]).then_some(())
    });
    let leases_to_alpha = |d: &Daemon| {
        d.events_named("lease_granted")
            .iter()
            .filter(|e| e["worker"] == 0)
            .count()
    };
    assert_eq!(
        leases_to_alpha(&d),
        1,
        "alpha is skipped while cooling down"
    );
    let alpha = account_health(&d, "alpha");
    assert_eq!(alpha["state"], "cooling_down", "{alpha}");
    assert!(alpha["until"].is_string());
    assert_eq!(
        gauge(
            &d,
            "codexd_account_state",
            &[("account", "alpha"), ("state", "cooling_down")]
        ),
        Some(1.0)
    );
    let s = scrape(&d);
    assert_eq!(
        s.sum("codexd_retries_total", &[("reason", "rate_limited")]),
        1.0
    );
    assert_eq!(
        gauge(&d, "codexd_account_quota_used_ratio", &primary),
        Some(1.0)
    );
    // After the reset, alpha is back.
    eventually(Duration::from_secs(8), "alpha ok after its reset", || {
        (account_health(&d, "alpha")["state"] == "ok").then_some(())
    });
    eventually(
        Duration::from_secs(5),
        "alpha's state_changed to ok",
        || {
            d.events_named("account_state_changed")
                .iter()
                .any(|e| e["account"] == "alpha" && e["to"] == "ok")
                .then_some(())
        },
    );
}

#[test]
fn with_every_account_exhausted_the_client_gets_a_429_with_the_soonest_reset() {
    let d = Daemon::start_ready(pool(&[
        account(
            "alpha",
            &[
                ("CODEXD_DEMO_RATE_LIMITS", "100,30"),
                ("CODEXD_DEMO_RATE_LIMITS_RESET_S", "90"),
            ],
        ),
        account(
            "beta",
            &[
                ("CODEXD_DEMO_RATE_LIMITS", "100"),
                ("CODEXD_DEMO_RATE_LIMITS_RESET_S", "40"),
            ],
        ),
    ]));
    let resets = eventually(Duration::from_secs(5), "both cooling down", || {
        let both = ["alpha", "beta"]
            .iter()
            .all(|a| account_health(&d, a)["state"] == "cooling_down");
        let at = gauge(
            &d,
            "codexd_account_quota_resets_at_seconds",
            &[("account", "beta"), ("window", "primary")],
        );
        at.filter(|_| both)
    });
    let r = http::post(d.addr, CHAT, &http::chat_body("hi", false));
    let now = unix_now();
    assert_eq!(r.status, 429, "{}", r.text());
    let e = &r.json()["error"];
    assert_eq!(e["code"], "rate_limit_exceeded");
    assert_eq!(e["type"], "rate_limit_exceeded");
    let retry: f64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(
        (retry - (resets - now)).abs() <= 1.0,
        "Retry-After {retry} vs reset in {}",
        resets - now
    );
    assert!(retry > 30.0, "never a fixed 1 s: {retry}");
    // The default policy keeps the replica ready.
    assert_eq!(http::get(d.addr, "/readyz").status, 200);
    let s = scrape(&d);
    assert_eq!(
        s.sum(
            "codexd_admission_rejected_total",
            &[("reason", "quota_exhausted")]
        ),
        1.0
    );
}

#[test]
fn the_readiness_switch_makes_an_exhausted_replica_unready() {
    let d = Daemon::start(
        pool(&[account("alpha", &[("CODEXD_DEMO_RATE_LIMITS", "100")])])
            .set("quota.unready_when_exhausted", "true"),
    );
    eventually(Duration::from_secs(10), "unready: quota_exhausted", || {
        let r = http::get(d.addr, "/readyz");
        (r.status == 503 && r.json()["reason"] == "quota_exhausted").then_some(())
    });
}

#[test]
fn a_logged_out_account_is_unauthenticated_counted_and_skipped() {
    let d = Daemon::start_ready(pool(&[
        account("alpha", &[("CODEXD_DEMO_LOGGED_OUT", "1")]),
        account("beta", &[]),
    ]));
    eventually(Duration::from_secs(5), "alpha unauthenticated", || {
        (account_health(&d, "alpha")["state"] == "unauthenticated").then_some(())
    });
    let s = scrape(&d);
    assert_eq!(
        s.sum(
            "codexd_account_unauthenticated_total",
            &[("account", "alpha")]
        ),
        1.0
    );
    for _ in 0..3 {
        assert_eq!(
            http::post(d.addr, CHAT, &http::chat_body("x", false)).status,
            200
        );
    }
    eventually(
        Duration::from_secs(5),
        "three streams ended on beta",
        || (served_slots(&d) == vec![1, 1, 1]).then_some(()),
    );
    assert_eq!(http::get(d.addr, "/readyz").status, 200);
}

#[test]
fn with_no_account_logged_in_readiness_closes_with_its_reason() {
    let d = Daemon::start(pool(&[account(
        "alpha",
        &[("CODEXD_DEMO_LOGGED_OUT", "1")],
    )]));
    eventually(Duration::from_secs(10), "unready: no account", || {
        let r = http::get(d.addr, "/readyz");
        (r.status == 503 && r.json()["reason"] == "no_authenticated_account").then_some(())
    });
    let r = http::post(d.addr, CHAT, &http::chat_body("x", false));
    assert_eq!(r.status, 503, "{}", r.text());
}

#[test]
fn no_account_e_mail_or_user_id_appears_in_logs_metrics_spans_or_health() {
    let email = "leak-canary-7c1e@example.com";
    let collector = MockProvider::start(Reply::default()).unwrap();
    let d = Daemon::start_ready(
        pool(&[account(
            "alpha",
            &[
                ("CODEXD_DEMO_ACCOUNT_EMAIL", email),
                ("CODEXD_DEMO_RATE_LIMITS", "42"),
            ],
        )])
        .set("log.level", "\"trace\"")
        .set(
            "tracing.endpoint",
            &format!("{:?}", format!("http://{}", collector.addr())),
        ),
    );
    for stream in [false, true] {
        let r = http::post(d.addr, CHAT, &http::chat_body("x", stream));
        assert_eq!(r.status, 200);
    }
    // Several pings (account/read answers with the e-mail) went by.
    std::thread::sleep(Duration::from_millis(1200));
    let health = d.healthz().to_string();
    let metrics = d.metrics();
    let logs = d.lines().join("\n");
    let user_id = format!("user-{}", email.len());
    for (what, text) in [("health", &health), ("metrics", &metrics), ("logs", &logs)] {
        assert!(!text.contains(email), "{what} leaks the e-mail");
        assert!(!text.contains("example.com"), "{what} leaks the domain");
        assert!(!text.contains(&user_id), "{what} leaks the user id");
    }
    assert!(!d.stderr().contains(email));
    assert!(health.contains("\"alpha\""), "the account is known by name");
    let spans = eventually(Duration::from_secs(10), "exported spans", || {
        let s = otlp::spans(&collector);
        (!s.is_empty()).then_some(s)
    });
    assert!(spans.iter().any(|s| s.attr("codexd.worker.slot").is_some()));
    for req in collector.requests_to("/v1/traces") {
        let body = String::from_utf8_lossy(&req.raw_body);
        assert!(
            !body.contains(email) && !body.contains(&user_id),
            "a span leaks"
        );
    }
}
