//! Signals and the shutdown sequence, through the real binary.

use crate::support::daemon::{Config, Daemon};
use crate::support::{eventually, http, process_alive, signal};
use std::time::Duration;

#[test]
fn sigterm_exits_0_runs_every_phase_and_leaves_no_worker_behind() {
    let mut d = Daemon::start_ready(Config::default());
    let pids = d.worker_pids();
    assert_eq!(pids.len(), 2);
    let status = d.terminate();
    assert_eq!(status.code(), Some(0));
    let phases: Vec<String> = d
        .events_named("shutdown_phase_completed")
        .iter()
        .map(|e| e["phase"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        phases,
        [
            "readiness_off",
            "stop_accepting",
            "drain_streams",
            "stop_workers",
            "flush_telemetry"
        ]
    );
    assert_eq!(d.events_named("daemon_stopped").len(), 1);
    for pid in pids {
        assert!(!process_alive(pid), "worker {pid} survived");
    }
}

#[test]
fn sigterm_mid_restart_leaves_no_orphan() {
    let mut d = Daemon::start_ready(
        Config::default()
            .set("workers.count", "1")
            .set("workers.backoff.initial_ms", "2000")
            .set("workers.backoff.max_ms", "2000"),
    );
    let first = d.worker_pids()[0];
    signal(first, 9);
    d.wait_event(Duration::from_secs(2), "restart scheduled", |e| {
        e["event"] == "restart_scheduled"
    });
    assert_eq!(d.terminate().code(), Some(0));
    assert!(!process_alive(first));
    let spawned: Vec<u64> = d
        .events_named("worker_spawned")
        .iter()
        .map(|e| e["worker_pid"].as_u64().unwrap())
        .collect();
    assert_eq!(
        spawned.len(),
        1,
        "no new worker should be spawned during shutdown"
    );
}

#[test]
fn a_draining_daemon_finishes_in_flight_streams_and_refuses_new_work() {
    let mut d = Daemon::start_ready(
        Config::default()
            .worker_env("CODEXD_DEMO_CHUNK_INTERVAL_MS", "200")
            .worker_env("CODEXD_DEMO_CHUNKS", "5"),
    );
    let mut s = http::Streaming::open(
        d.addr,
        "/v1/chat/completions",
        &http::chat_body("drain me", true),
    );
    assert_eq!(s.status, 200);
    s.read_until(Duration::from_secs(5), |b| b.contains("\"content\":\"You"));
    signal(d.pid(), 15);
    eventually(Duration::from_secs(2), "readyz draining", || {
        let r = std::net::TcpStream::connect(d.addr)
            .ok()
            .map(|_| http::get(d.addr, "/readyz"));
        r.filter(|r| r.status == 503)
            .map(|r| assert_eq!(r.json()["reason"], "draining"))
    });
    let refused = http::post(
        d.addr,
        "/v1/chat/completions",
        &http::chat_body("too late", false),
    );
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert_eq!(refused.json()["error"]["code"], "draining");
    assert!(refused.header("retry-after").is_some());
    let body = s.read_to_end(Duration::from_secs(10));
    assert!(
        body.contains("data: [DONE]") && body.contains("\"finish_reason\":\"stop\""),
        "{body}"
    );
    assert_eq!(d.wait_exit(Duration::from_secs(10)).code(), Some(0));
    let ended = d.events_named("stream_ended");
    assert_eq!(ended.len(), 1, "the refused request never started a stream");
    assert_eq!(ended[0]["outcome"], "completed");
}

#[test]
fn streams_past_the_drain_timeout_end_with_an_error_frame() {
    let mut d = Daemon::start_ready(
        Config::default()
            .set("server.drain_timeout_ms", "300")
            .worker_env("CODEXD_DEMO_CHUNK_INTERVAL_MS", "500")
            .worker_env("CODEXD_DEMO_CHUNKS", "20"),
    );
    let mut s = http::Streaming::open(
        d.addr,
        "/v1/chat/completions",
        &http::chat_body("long one", true),
    );
    s.read_until(Duration::from_secs(5), |b| b.contains("\"content\":"));
    signal(d.pid(), 15);
    let body = s.read_to_end(Duration::from_secs(10));
    assert!(body.contains("\"code\":\"shutting_down\""), "{body}");
    assert!(body.trim_end().ends_with("data: [DONE]"), "{body}");
    assert_eq!(d.wait_exit(Duration::from_secs(10)).code(), Some(0));
    assert_eq!(d.events_named("stream_ended")[0]["outcome"], "shutdown");
}

#[test]
fn a_second_signal_forces_an_immediate_exit() {
    let mut d = Daemon::start_ready(
        Config::default()
            .set("server.drain_timeout_ms", "30000")
            .worker_env("CODEXD_DEMO_CHUNK_INTERVAL_MS", "1000")
            .worker_env("CODEXD_DEMO_CHUNKS", "30"),
    );
    let mut s = http::Streaming::open(
        d.addr,
        "/v1/chat/completions",
        &http::chat_body("keep draining", true),
    );
    s.read_until(Duration::from_secs(5), |b| b.contains("\"content\":"));
    signal(d.pid(), 15);
    d.wait_event(Duration::from_secs(5), "drain started", |e| {
        e["event"] == "shutdown_phase_started" && e["phase"] == "drain_streams"
    });
    signal(d.pid(), 2);
    let status = d.wait_exit(Duration::from_secs(3));
    assert_eq!(status.code(), Some(1));
    assert_eq!(d.events_named("shutdown_forced").len(), 1);
}
