//! Structured outputs through the official OpenAI Python SDK's `parse()` helpers
//! (`tests/sdk/openai_parse_check.py`), against the demo worker; `real_codex_features.rs`
//! runs the same script against real Codex.

use crate::api_errors::one_worker;
use crate::support::daemon::{Daemon, KEY};
use std::io::Read;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The object the demo answers for the script's `Person` schema: its minimal instance.
const DEMO_PERSON: &str =
    r#"{"name":"demo","age":0,"tags":[],"address":{"city":"demo","zip":"demo"}}"#;

/// Runs the parse script against `addr` and `model`, expecting `expected`; panics with the
/// script's output on failure.
pub fn run_parse_check(addr: SocketAddr, model: &str, expected: &str) {
    let python = match std::env::var("CODEXD_PYTHON") {
        Ok(p) if !p.is_empty() => p,
        _ => panic!("CODEXD_PYTHON is not set: run `make test` or `source .cache/test-env`"),
    };
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/sdk/openai_parse_check.py"
    );
    let mut child = Command::new(&python)
        .arg(script)
        .arg(format!("http://{addr}/v1"))
        .arg(KEY)
        .arg(model)
        .arg(expected)
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python} (from CODEXD_PYTHON): {e}"));
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the parse check did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (mut out, mut err) = (String::new(), String::new());
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
        "the parse check failed ({status}):\n{out}\n{err}"
    );
    assert!(out.contains("all checks passed"), "{out}");
}

#[test]
fn the_python_sdks_parse_helpers_return_the_pydantic_object_from_the_demo_worker() {
    let d = Daemon::start_ready(one_worker());
    run_parse_check(d.addr, "codex-demo", DEMO_PERSON);
}
