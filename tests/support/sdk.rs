//! Running one of the Python client-library scripts in `tests/sdk/` with the interpreter
//! `make test` installed (`CODEXD_PYTHON`): the test fails, never skips, without it.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The virtualenv interpreter with the OpenAI SDK.
pub fn python() -> String {
    match std::env::var("CODEXD_PYTHON") {
        Ok(p) if !p.is_empty() => p,
        _ => panic!(
            "CODEXD_PYTHON is not set: run `make test`, or `scripts/test-deps.sh` and then \
             `source .cache/test-env`, to install the OpenAI Python SDK this test needs"
        ),
    }
}

/// Runs `tests/sdk/<script>` with `args` (no OpenAI variables inherited) and returns its
/// stdout; panics with everything it wrote unless it exits 0 within `limit` and prints
/// `all checks passed`.
pub fn run_check(script: &str, args: &[&str], limit: Duration) -> String {
    let python = python();
    let path = format!("{}/tests/sdk/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(&python)
        .arg(&path)
        .args(args)
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python} (from CODEXD_PYTHON): {e}"));
    // Drained while the script runs, so a chatty script never blocks on a full pipe.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{script} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    assert!(
        status.success(),
        "{script} failed ({status}):\n{out}\n{err}"
    );
    assert!(out.contains("all checks passed"), "{script}:\n{out}\n{err}");
    out
}
