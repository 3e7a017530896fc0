//! Worker supervision and health probes, through the real binary and real worker processes.

use crate::support::daemon::{Config, Daemon};
use crate::support::{eventually, http, process_alive, signal};
use std::time::{Duration, Instant};

#[test]
fn the_demo_config_serves_readyz_within_seconds() {
    let d = Daemon::start(Config::default());
    let t = Instant::now();
    d.wait_ready();
    assert!(t.elapsed() < Duration::from_secs(10));
    let r = http::get(d.addr, "/readyz");
    assert_eq!(r.json(), serde_json::json!({"ready": true}));
    assert_eq!(
        http::get(d.addr, "/livez").json(),
        serde_json::json!({"live": true})
    );
    let h = d.healthz();
    assert_eq!(h["status"], "ok");
    assert_eq!(h["workers"].as_array().unwrap().len(), 2);
    assert_eq!(h["workers"][0]["state"], "ready");
}

#[test]
fn killing_the_last_worker_flips_readiness_within_a_second_and_back_after_backoff() {
    let d = Daemon::start_ready(
        Config::default()
            .set("workers.count", "1")
            .set("workers.backoff.initial_ms", "300")
            .set("workers.backoff.max_ms", "300"),
    );
    let pid = d.worker_pids()[0];
    let killed = Instant::now();
    signal(pid, 9);
    eventually(Duration::from_secs(1), "/readyz 503 after kill -9", || {
        let r = http::get(d.addr, "/readyz");
        (r.status == 503).then(|| assert_eq!(r.json()["reason"], "no_ready_workers"))
    });
    assert!(killed.elapsed() < Duration::from_secs(1));
    eventually(
        Duration::from_secs(5),
        "/readyz 200 after the restart",
        || (http::get(d.addr, "/readyz").status == 200).then_some(()),
    );
    assert!(
        killed.elapsed() >= Duration::from_millis(300),
        "came back before the backoff"
    );
    let w = &d.healthz()["workers"][0];
    assert_eq!(w["restarts"], 1);
    assert_eq!(w["last_exit"]["signal"], 9);
    assert_eq!(w["last_exit"]["reason"], "signal");
    assert_ne!(w["pid"].as_u64().unwrap() as u32, pid);
    let flips = d.events_named("readiness_changed");
    assert!(
        flips
            .iter()
            .any(|e| e["ready"] == false && e["reason"] == "no_ready_workers"),
        "{flips:?}"
    );
    assert!(d
        .metrics()
        .contains("codexd_worker_restarts_total{reason=\"signal\",slot=\"0\"} 1"));
}

#[test]
fn a_crash_looping_worker_backs_off_exponentially_then_fails() {
    let d = Daemon::start(
        Config::default()
            .set("workers.count", "1")
            .set("workers.backoff.initial_ms", "20")
            .set("workers.backoff.max_ms", "1000")
            .set("workers.backoff.jitter", "false")
            .set("workers.backoff.max_restarts", "4")
            .worker_env("CODEXD_DEMO_EXIT_ON_START", "7"),
    );
    d.wait_event(Duration::from_secs(10), "restarts_exhausted", |e| {
        e["event"] == "restarts_exhausted"
    });
    let delays: Vec<u64> = d
        .events_named("restart_scheduled")
        .iter()
        .map(|e| e["delay_ms"].as_u64().unwrap())
        .collect();
    assert_eq!(delays, vec![20, 40, 80, 160]);
    let w = &d.healthz()["workers"][0];
    assert_eq!(w["state"], "failed");
    let retry = w["next_restart_in_ms"]
        .as_u64()
        .expect("a failed slot shows its retry");
    assert!(retry > 0 && retry <= 300_000, "{retry}");
    assert_eq!(w["last_exit"]["code"], 7);
    assert_eq!(w["last_exit"]["reason"], "exit");
    let r = http::get(d.addr, "/readyz");
    assert_eq!(
        (r.status, r.json()["reason"].as_str().unwrap()),
        (503, "starting")
    );
}

#[test]
fn jittered_backoff_stays_within_initial_and_the_growing_ceiling() {
    let d = Daemon::start(
        Config::default()
            .set("workers.count", "1")
            .set("workers.backoff.initial_ms", "10")
            .set("workers.backoff.max_ms", "80")
            .set("workers.backoff.max_restarts", "6")
            .worker_env("CODEXD_DEMO_EXIT_ON_START", "1"),
    );
    d.wait_event(Duration::from_secs(10), "restarts_exhausted", |e| {
        e["event"] == "restarts_exhausted"
    });
    for e in d.events_named("restart_scheduled") {
        let attempt = e["attempt"].as_u64().unwrap() as u32;
        let ceiling = (10u64 << (attempt - 1)).min(80);
        let delay = e["delay_ms"].as_u64().unwrap();
        assert!(
            (10..=ceiling).contains(&delay),
            "attempt {attempt}: {delay} ms outside [10, {ceiling}]"
        );
    }
}

#[test]
fn a_hung_worker_is_restarted_as_unresponsive() {
    let d = Daemon::start_ready(
        Config::default()
            .set("workers.count", "1")
            .worker_env("CODEXD_DEMO_STALL_AFTER_REQUESTS", "2"),
    );
    d.wait_event(Duration::from_secs(10), "worker_unresponsive", |e| {
        e["event"] == "worker_unresponsive"
    });
    d.wait_event(Duration::from_secs(5), "restart as unresponsive", |e| {
        e["event"] == "restart_scheduled" && e["reason"] == "unresponsive"
    });
    assert!(d
        .metrics()
        .contains("codexd_worker_restarts_total{reason=\"unresponsive\",slot=\"0\"}"));
}

#[test]
fn a_handshake_that_never_answers_is_a_handshake_timeout() {
    let d = Daemon::start(
        Config::default()
            .set("workers.count", "1")
            .set("workers.handshake_timeout_ms", "200")
            .worker_env("CODEXD_DEMO_HANDSHAKE", "hang"),
    );
    d.wait_event(
        Duration::from_secs(10),
        "restart after handshake timeout",
        |e| e["event"] == "restart_scheduled" && e["reason"] == "handshake_timeout",
    );
    let d2 = Daemon::start(
        Config::default()
            .set("workers.count", "1")
            .worker_env("CODEXD_DEMO_HANDSHAKE", "error"),
    );
    d2.wait_event(
        Duration::from_secs(10),
        "restart after handshake error",
        |e| e["event"] == "restart_scheduled" && e["reason"] == "handshake_failed",
    );
}

#[test]
fn garbage_and_oversized_worker_lines_do_not_take_the_daemon_down() {
    let d = Daemon::start_ready(
        Config::default()
            .set("workers.count", "1")
            .worker_env("CODEXD_DEMO_GARBAGE_LINE", "1"),
    );
    let r = http::post(
        d.addr,
        "/v1/chat/completions",
        &http::chat_body("still fine?", false),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["choices"][0]["message"]["content"],
        "You said: still fine?"
    );
    let e = d.wait_event(Duration::from_secs(2), "protocol error", |e| {
        e["event"] == "worker_protocol_error"
    });
    assert_eq!(e["error_code"], "invalid_json");

    let d = Daemon::start_ready(
        Config::default()
            .set("workers.count", "1")
            .set("workers.max_line_bytes", "4096")
            .worker_env("CODEXD_DEMO_OVERSIZED_LINE_BYTES", "100000"),
    );
    let r = http::post(
        d.addr,
        "/v1/chat/completions",
        &http::chat_body("boom", false),
    );
    assert_eq!(r.status, 502, "{}", r.text());
    d.wait_event(Duration::from_secs(5), "restart for protocol error", |e| {
        e["event"] == "restart_scheduled" && e["reason"] == "protocol_error"
    });
    d.wait_ready();
    assert_eq!(http::get(d.addr, "/livez").status, 200);
}

#[test]
fn worker_stderr_is_counted_but_its_text_never_logged() {
    let canary = "demo-stderr-canary-7f3a91";
    let d = Daemon::start_ready(
        Config::default()
            .set("workers.count", "1")
            .worker_env("CODEXD_DEMO_STDERR_FLOOD_LINES", "50"),
    );
    let r = http::post(
        d.addr,
        "/v1/chat/completions",
        &http::chat_body("flood", false),
    );
    assert_eq!(r.status, 200);
    let seen = d.wait_event(Duration::from_secs(3), "stderr metadata", |e| {
        e["event"] == "worker_stderr_observed" && e["lines"].as_u64().unwrap_or(0) >= 50
    });
    assert!(seen["stderr_bytes"].as_u64().unwrap() > 0);
    assert!(!d.lines().join("\n").contains(canary));
    assert!(!d.healthz().to_string().contains(canary));
    assert!(!d.metrics().contains(canary));
}

#[test]
fn worker_processes_get_an_explicit_environment() {
    let d = Daemon::start_ready(
        Config::default()
            .set("workers.count", "1")
            .set(
                "workers.codex_home",
                &format!(
                    "{:?}",
                    crate::support::daemon::scratch_dir("home")
                        .display()
                        .to_string()
                ),
            )
            .daemon_env("CODEXD__AUTH__API_KEY", "sk-test")
            .daemon_env("SECRET_OF_THE_DAEMON", "x"),
    );
    let pid = d.worker_pids()[0];
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let vars: Vec<String> = environ
        .split(|b| *b == 0)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();
    assert!(
        vars.iter().any(|v| v.starts_with("CODEX_HOME=")),
        "{vars:?}"
    );
    assert!(
        !vars
            .iter()
            .any(|v| v.starts_with("CODEXD__") || v.starts_with("SECRET_OF")),
        "{vars:?}"
    );
    assert!(process_alive(pid));
}
