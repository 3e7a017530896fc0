//! Structured outputs through the official OpenAI Python SDK's `parse()` helpers
//! (`tests/sdk/openai_parse_check.py`), against the demo worker; `real_codex_features.rs`
//! runs the same script against real Codex.

use crate::api_errors::one_worker;
use crate::support::daemon::{Daemon, KEY};
use crate::support::sdk;
use std::net::SocketAddr;
use std::time::Duration;

/// The object the demo answers for the script's `Person` schema: its minimal instance.
const DEMO_PERSON: &str =
    r#"{"name":"demo","age":0,"tags":[],"address":{"city":"demo","zip":"demo"}}"#;

/// Runs the parse script against `addr` and `model`, expecting `expected`; panics with the
/// script's output on failure.
pub fn run_parse_check(addr: SocketAddr, model: &str, expected: &str) {
    let base = format!("http://{addr}/v1");
    sdk::run_check(
        "openai_parse_check.py",
        &[&base, KEY, model, expected],
        Duration::from_secs(90),
    );
}

#[test]
fn the_python_sdks_parse_helpers_return_the_pydantic_object_from_the_demo_worker() {
    let d = Daemon::start_ready(one_worker());
    run_parse_check(d.addr, "codex-demo", DEMO_PERSON);
}
