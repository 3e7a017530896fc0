//! Shared test harness: starts the real `codexd` binary on `127.0.0.1:0`, collects its JSON
//! log lines, speaks raw HTTP/1.1 to it, and provides bounded polling.
#![expect(
    dead_code,
    reason = "each test module uses a different part of the support code"
)]

pub mod codex_env;
pub mod daemon;
pub mod http;
pub mod mock_provider;
pub mod otlp;
pub mod prometheus;

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
