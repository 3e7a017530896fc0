//! The harness shared by codexd's integration tests (`tests/`) and its benchmark (`bench/`):
//! the daemon launcher (port 0, address from the `listener_bound` line), a raw HTTP/1.1
//! client, `/metrics` text parsing and quantiles, the mock model provider (actix-web), the
//! OTLP receiver, Prometheus/promtool helpers and the Codex environment helpers.
//!
//! Test and benchmark code only: a failed expectation here is a failed test, so the
//! helpers panic with a message rather than return errors the caller would only unwrap.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr,
    reason = "test harness: a failed expectation is a failed test, reported by panicking with context"
)]

pub mod codex_env;
pub mod config;
pub mod daemon;
pub mod http;
pub mod latency_hist;
pub mod launch;
pub mod metrics_text;
pub mod mock_provider;
pub mod otlp;
pub mod paths;
pub mod postgres;
pub mod prometheus;
pub mod quantile;
pub mod redis;

use std::time::{Duration, Instant};

/// Polls `f` until it returns `Some`, or fails the test after `timeout` with `what`.
pub fn eventually<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// True when a process with this pid exists (and is not a zombie we could still reap).
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

/// Sends a signal to a process.
pub fn signal(pid: u32, sig: i32) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{sig} {pid} failed");
}
