//! `codexd trace` on the daemon's own log: one streamed request's timeline, end to end.

use crate::support::daemon::{scratch_dir, Config, Daemon, BIN};
use crate::support::http;
use std::process::Command;
use std::time::Duration;

#[test]
fn codexd_trace_rebuilds_a_streamed_request_from_rotated_garbled_logs() {
    let mut d =
        Daemon::start_ready(Config::default().worker_env("CODEXD_DEMO_CHUNK_INTERVAL_MS", "5"));
    let body = http::chat_body("timeline please", true);
    let r = http::request(
        d.addr,
        "POST",
        "/v1/chat/completions",
        &[
            ("Authorization", "Bearer sk-test"),
            ("X-Request-Id", "trace-me-1"),
        ],
        body.to_string().as_bytes(),
    );
    assert_eq!(r.status, 200);
    assert!(r.text().contains("[DONE]"));
    // Another request interleaves with it in the log.
    assert_eq!(
        http::post(
            d.addr,
            "/v1/chat/completions",
            &http::chat_body("noise", false)
        )
        .status,
        200
    );
    assert_eq!(d.terminate().code(), Some(0));

    // Split the log into two "rotated" files that overlap, with garbage in between.
    let lines = d.lines();
    let mid = lines.len() / 2;
    let dir = scratch_dir("trace-cmd");
    let first = dir.join("codexd.log.1");
    let second = dir.join("codexd.log");
    std::fs::write(
        &first,
        lines[..mid + 3].join("\n") + "\nthis is not json\n{\"truncated\":",
    )
    .unwrap();
    std::fs::write(&second, lines[mid..].join("\n")).unwrap();

    let out = Command::new(BIN)
        .args(["trace", "trace-me-1"])
        .arg(&second)
        .arg(&first)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let order = [
        "request_received",
        "lease_granted",
        "stream_started",
        "turn_started",
        "first_token_received",
        "stream_ended",
        "request_completed",
    ];
    let mut at = 0;
    for event in order {
        let pos = text[at..]
            .find(event)
            .unwrap_or_else(|| panic!("{event} missing or out of order in:\n{text}"));
        at += pos;
    }
    assert!(
        text.contains("thread_id=") && text.contains("turn_id="),
        "{text}"
    );
    assert!(
        text.contains("rpc") || text.contains("worker_rpc_completed"),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("skipped 2 line(s)"));
    assert_eq!(
        text.matches("request_completed").count(),
        1,
        "rotated overlap deduplicated:\n{text}"
    );

    let out = Command::new(BIN)
        .args(["trace", "trace-me-1", "--json"])
        .arg(&first)
        .arg(&second)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let events: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events.first(), Some(&"request_received"));
    assert_eq!(events.last(), Some(&"request_completed"));
    let offsets: Vec<i64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["offset_ms"].as_i64().unwrap())
        .collect();
    assert!(offsets.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn codexd_trace_marks_worker_events_that_overlapped_the_request() {
    let d = Daemon::start_ready(
        Config::default()
            .set("workers.count", "2")
            .worker_env("CODEXD_DEMO_FIRST_TOKEN_DELAY_MS", "400"),
    );
    let mut s = http::Streaming::open(
        d.addr,
        "/v1/chat/completions",
        &serde_json::json!({"model": "codex-demo", "stream": true, "messages": [{"role": "user", "content": "slow"}]}),
    );
    assert_eq!(s.status, 200);
    let busy = d.healthz()["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["in_flight"] == 0)
        .and_then(|w| w["pid"].as_u64())
        .unwrap();
    crate::support::signal(busy as u32, 9);
    s.read_to_end(Duration::from_secs(10));
    let done = d.wait_event(Duration::from_secs(5), "request completed", |e| {
        e["event"] == "request_completed" && e["route"] == "/v1/chat/completions"
    });
    let req_id = done["req_id"].as_str().unwrap().to_owned();
    let mut child = Command::new(BIN)
        .args(["trace", &req_id])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(d.lines().join("\n").as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.contains("worker_exited") && l.ends_with("(overlapping)")),
        "{text}"
    );
    let missing = Command::new(BIN)
        .args(["trace", "no-such-request"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
}
