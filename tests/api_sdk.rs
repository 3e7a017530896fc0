//! The official OpenAI Python SDK against the real binary: `tests/sdk/openai_sdk_check.py`
//! runs chat and responses, streamed and not, and checks the content and the usage.

use crate::api_errors::one_worker;
use crate::support::daemon::{Daemon, KEY};
use crate::support::{eventually, sdk};
use std::time::Duration;

#[test]
fn the_official_openai_python_sdk_gets_content_and_usage_streamed_and_not() {
    // Keepalive comment lines arrive before the first token: the SDK must skip them.
    let d = Daemon::start_ready(
        one_worker()
            .set("streaming.keepalive_ms", "50")
            .set("streaming.header_hold_ms", "20")
            .worker_env("CODEXD_DEMO_FIRST_TOKEN_DELAY_MS", "300"),
    );
    let base = format!("http://{}/v1", d.addr);
    sdk::run_check(
        "openai_sdk_check.py",
        &[&base, KEY, "codex-demo"],
        Duration::from_secs(60),
    );
    let ended = eventually(Duration::from_secs(5), "four stream_ended lines", || {
        Some(d.events_named("stream_ended")).filter(|e| e.len() == 4)
    });
    assert!(ended.iter().all(|e| e["outcome"] == "completed"));
}
