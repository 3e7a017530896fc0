//! The official OpenAI Python SDK against the real binary: `tests/sdk/openai_sdk_check.py`
//! runs chat and responses, streamed and not, and checks the content and the usage.

use crate::api_errors::one_worker;
use crate::support::daemon::{Daemon, KEY};
use crate::support::eventually;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The virtualenv interpreter `make test` installs; the test fails (never skips) without it.
fn python() -> String {
    match std::env::var("CODEXD_PYTHON") {
        Ok(p) if !p.is_empty() => p,
        _ => panic!(
            "CODEXD_PYTHON is not set: run `make test`, or `scripts/test-deps.sh` and then \
             `source .cache/test-env`, to install the OpenAI Python SDK this test needs"
        ),
    }
}

#[test]
fn the_official_openai_python_sdk_gets_content_and_usage_streamed_and_not() {
    let python = python();
    // Keepalive comment lines arrive before the first token: the SDK must skip them.
    let d = Daemon::start_ready(
        one_worker()
            .set("streaming.keepalive_ms", "50")
            .set("streaming.header_hold_ms", "20")
            .worker_env("CODEXD_DEMO_FIRST_TOKEN_DELAY_MS", "300"),
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/openai_sdk_check.py");
    let mut child = Command::new(&python)
        .arg(script)
        .arg(format!("http://{}/v1", d.addr))
        .arg(KEY)
        .arg("codex-demo")
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python} (from CODEXD_PYTHON): {e}"));
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the SDK check did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        status.success(),
        "the SDK check failed ({status}):\n{out}\n{err}"
    );
    assert!(out.contains("all checks passed"), "{out}");
    let ended = eventually(Duration::from_secs(5), "four stream_ended lines", || {
        Some(d.events_named("stream_ended")).filter(|e| e.len() == 4)
    });
    assert!(ended.iter().all(|e| e["outcome"] == "completed"));
}
