//! The canary test: a unique string in prompts, request headers, the worker's deltas and its
//! stderr never shows up in a log line, a probe body, `/metrics` or an error body.

use crate::api_errors::{CHAT, RESPONSES};
use crate::support::daemon::{Config, Daemon, KEY};
use crate::support::eventually;
use crate::support::http::{self, Response};
use crate::support::mock_provider::MockProvider;
use serde_json::json;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn canary() -> String {
    canary_tagged("")
}

/// A string no log, label or body holds by chance: `cnry<tag>` then the pid and the time.
pub fn canary_tagged(tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("cnry{tag}{:x}{nanos:x}", std::process::id())
}

/// A one-worker daemon at trace level that exports its spans to `receiver`.
pub fn traced_one_worker(receiver: &MockProvider) -> Daemon {
    Daemon::start_ready(
        Config::default()
            .set("workers.count", "1")
            .set("log.level", "\"trace\"")
            .set(
                "tracing.endpoint",
                &format!("\"http://{}\"", receiver.addr()),
            ),
    )
}

/// A one-worker daemon at trace level whose worker writes the canary to stderr on every turn.
fn config(canary: &str) -> Config {
    Config::default()
        .set("workers.count", "1")
        .set("log.level", "\"trace\"")
        .worker_env("CODEXD_DEMO_STDERR_CANARY", canary)
        .worker_env("CODEXD_DEMO_STDERR_FLOOD_LINES", "20")
        .worker_env("CODEXD_DEMO_REPLY", &format!("the secret is {canary}"))
}

/// Sends the same canary-laden traffic to a daemon: the canary is in the prompt, the system
/// prompt, custom headers, cookies, the query string, the path, a bad key and bad fields.
fn traffic(d: &Daemon, c: &str) -> Vec<(String, Response)> {
    let auth = format!("Bearer {KEY}");
    let cookie = format!("session={c}");
    let headers = [
        ("Authorization", auth.as_str()),
        ("X-Canary", c),
        ("Cookie", cookie.as_str()),
        ("OpenAI-Organization", c),
        ("traceparent", c),
    ];
    let prompt = format!("remember {c}");
    let chat = |stream: bool| {
        json!({"model": "codex-demo", "stream": stream, "messages": [
            {"role": "system", "content": c}, {"role": "user", "content": prompt}]})
    };
    let responses = |stream: bool| json!({"model": "codex-demo", "stream": stream, "instructions": c, "input": prompt});
    let wrong_key = format!("Bearer {c}");
    let query = format!("{CHAT}?q={c}");
    let path = format!("/v1/{c}");
    let requests = [
        ("chat", CHAT, &headers[..], chat(false)),
        ("chat stream", CHAT, &headers[..], chat(true)),
        ("responses", RESPONSES, &headers[..], responses(false)),
        ("responses stream", RESPONSES, &headers[..], responses(true)),
        ("query", query.as_str(), &headers[..], chat(false)),
        (
            "unknown model",
            CHAT,
            &headers[..],
            json!({"model": c, "messages": [{"role": "user", "content": c}]}),
        ),
        (
            "bad role",
            CHAT,
            &headers[..],
            json!({"model": "codex-demo", "messages": [{"role": c, "content": c}]}),
        ),
        (
            "bad part",
            RESPONSES,
            &headers[..],
            json!({"model": "codex-demo", "input": [{"role": "user", "content": [{"type": c}]}]}),
        ),
        (
            "bad model type",
            CHAT,
            &headers[..],
            json!({"model": [c], "messages": []}),
        ),
        ("unknown path", path.as_str(), &headers[..], chat(false)),
        (
            "wrong key",
            CHAT,
            &[("Authorization", wrong_key.as_str()), ("X-Canary", c)][..],
            chat(false),
        ),
    ];
    let mut out = Vec::new();
    for (label, path, headers, body) in requests {
        let r = http::request(d.addr, "POST", path, headers, body.to_string().as_bytes());
        out.push((label.to_owned(), r));
    }
    let r = http::request(
        d.addr,
        "POST",
        CHAT,
        &headers,
        format!("{{\"{c}\"").as_bytes(),
    );
    out.push(("malformed".to_owned(), r));
    out
}

/// Asserts the canary is nowhere an operator or a failing client could see it.
fn assert_no_canary(d: &Daemon, c: &str, answers: &[(String, Response)]) {
    for (label, r) in answers {
        if r.status >= 400 {
            assert!(
                !r.text().contains(c),
                "{label}: error body leaks the canary: {}",
                r.text()
            );
        }
    }
    for path in ["/healthz", "/readyz", "/livez"] {
        let body = http::get(d.addr, path).text();
        assert!(!body.contains(c), "{path} leaks the canary: {body}");
    }
    let metrics = d.metrics();
    assert!(!metrics.contains(c), "/metrics leaks the canary");
    for line in d.lines() {
        assert!(!line.contains(c), "log line leaks the canary: {line}");
    }
    assert!(!d.stderr().contains(c), "daemon stderr leaks the canary");
}

/// Waits until the daemon has read `lines` lines of worker stderr.
fn wait_stderr(d: &Daemon, lines: u64) {
    eventually(Duration::from_secs(10), "worker stderr observed", || {
        let seen: u64 = d
            .events_named("worker_stderr_observed")
            .iter()
            .filter_map(|e| e["lines"].as_u64())
            .sum();
        (seen >= lines).then_some(())
    });
}

#[test]
fn a_canary_from_clients_and_the_worker_never_reaches_logs_probes_metrics_or_error_bodies() {
    let c = canary();
    let mut d = Daemon::start_ready(config(&c));
    let answers = traffic(&d, &c);
    let ok: Vec<&(String, Response)> = answers.iter().filter(|(_, r)| r.status == 200).collect();
    assert_eq!(ok.len(), 5, "the five well-formed requests succeed");
    for (label, r) in &ok {
        let text = match label.as_str() {
            "chat stream" => http::sse_data(&r.text())
                .iter()
                .filter_map(|f| {
                    f["choices"][0]["delta"]["content"]
                        .as_str()
                        .map(str::to_owned)
                })
                .collect(),
            _ => r.text(),
        };
        assert!(
            text.contains(&c),
            "{label}: the reply carries the canary to its client"
        );
    }
    assert!(answers.iter().all(|(_, r)| r.status != 500));
    wait_stderr(&d, 1 + 5 * 20);
    assert_no_canary(&d, &c, &answers);
    assert_eq!(d.terminate().code(), Some(0));
    assert_no_canary_in_logs(&d, &c);
}

fn assert_no_canary_in_logs(d: &Daemon, c: &str) {
    assert!(d.lines().len() > 50);
    for line in d.lines() {
        assert!(!line.contains(c), "log line leaks the canary: {line}");
    }
    assert!(!d.stderr().contains(c));
}

#[test]
fn a_canary_stays_out_of_failing_requests_too() {
    let c = canary();
    let mut d = Daemon::start_ready(
        config(&c)
            .set("streaming.header_hold_ms", "50")
            .worker_env("CODEXD_DEMO_FIRST_TOKEN_DELAY_MS", "150")
            .worker_env("CODEXD_DEMO_UPSTREAM_ERROR", "server_error")
            .worker_env("CODEXD_DEMO_UPSTREAM_ERROR_AFTER_CHUNKS", "2"),
    );
    let answers = traffic(&d, &c);
    for (label, r) in &answers {
        match label.as_str() {
            "chat stream" | "responses stream" => {
                assert_eq!(r.status, 200);
                let text = r.text();
                let failure = text
                    .split("\n\n")
                    .find(|f| f.contains("\"error\":{"))
                    .unwrap_or_else(|| panic!("{label}: no error frame: {text}"));
                assert!(
                    !failure.contains(&c),
                    "{label}: error frame leaks: {failure}"
                );
            }
            "chat" | "responses" | "query" => assert_eq!(r.status, 502, "{label}"),
            _ => assert!(r.status >= 400, "{label}"),
        }
    }
    wait_stderr(&d, 1 + 5 * 20);
    assert_no_canary(&d, &c, &answers);
    assert_eq!(d.terminate().code(), Some(0));
    assert_no_canary_in_logs(&d, &c);
}

/// `sha256sum` of `s` (hex), through the system tool.
fn sha256_hex(s: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)[..64].to_owned()
}

#[test]
fn a_key_secret_canary_never_reaches_logs_spans_metrics_health_or_check_config() {
    use crate::support::mock_provider::{MockProvider, Reply};
    let c = canary();
    let (env_secret, file_secret, hashed_secret) = (
        format!("sk-env-{c}"),
        format!("sk-file-{c}"),
        format!("sk-hash-{c}"),
    );
    let dir = crate::support::daemon::scratch_dir("canary-keys");
    let file = dir.join("secret");
    std::fs::write(&file, &file_secret).unwrap();
    let digest = sha256_hex(&hashed_secret);
    let receiver = MockProvider::start(Reply::default()).unwrap();
    let config = Config::default()
        .set("workers.count", "1")
        .set("log.level", "\"trace\"")
        .set("metrics.key_label", "true")
        .set(
            "tracing.endpoint",
            &format!("\"http://{}\"", receiver.addr()),
        )
        .set(
            "auth.keys",
            &format!(
                r#"[{{id = "canary-env", secret_env = "CODEXD_CANARY_KEY", admin = true}},
                   {{id = "canary-file", secret_file = "{}"}},
                   {{id = "canary-hash", secret_sha256 = "{digest}"}}]"#,
                file.display()
            ),
        )
        .daemon_env("CODEXD_CANARY_KEY", &env_secret);
    let mut d = Daemon::start_ready(config.clone());
    for secret in [&env_secret, &file_secret, &hashed_secret] {
        let auth = format!("Bearer {secret}");
        let body = json!({"model": "codex-demo", "stream": true,
            "messages": [{"role": "user", "content": "hi"}]});
        let r = http::request(
            d.addr,
            "POST",
            CHAT,
            &[("Authorization", &auth)],
            body.to_string().as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        // A near miss, and the digest itself, are refused.
        let near = format!("Bearer {secret}x");
        let r = http::request(d.addr, "POST", CHAT, &[("Authorization", &near)], b"{}");
        assert_eq!(r.status, 401);
        assert!(!r.text().contains(secret.as_str()));
    }
    let usage = http::request(
        d.addr,
        "GET",
        "/v1/usage",
        &[("Authorization", &format!("Bearer {env_secret}"))],
        b"",
    );
    assert_eq!(usage.status, 200);
    let spans = eventually(Duration::from_secs(10), "spans with key ids", || {
        let s = crate::support::otlp::spans(&receiver);
        (s.iter()
            .filter(|x| x.attr("codexd.key.id").is_some())
            .count()
            >= 6)
            .then_some(s)
    });
    let secrets = [
        env_secret.as_str(),
        file_secret.as_str(),
        hashed_secret.as_str(),
        digest.as_str(),
    ];
    for span in &spans {
        let text = format!("{span:?}");
        assert!(
            secrets.iter().all(|s| !text.contains(s)),
            "a span leaks a secret: {text}"
        );
    }
    let metrics = d.metrics();
    assert!(
        metrics.contains("key=\"canary-hash\""),
        "the key label is on"
    );
    let health = http::get(d.addr, "/healthz").text();
    for s in secrets {
        assert!(!metrics.contains(s) && !health.contains(s) && !usage.text().contains(s));
    }
    assert_eq!(d.terminate().code(), Some(0));
    let logs = d.lines().join("\n") + &d.stderr();
    assert!(logs.contains("\"key_id\":\"canary-file\""));
    for s in secrets {
        assert!(!logs.contains(s), "a log line leaks a key secret");
    }
    // check-config shows where the secrets live, never them (nor the digest).
    let path = dir.join("c.toml");
    std::fs::write(&path, config.text()).unwrap();
    let out = std::process::Command::new(crate::support::daemon::BIN)
        .args(["check-config", "--config"])
        .arg(&path)
        .env("CODEXD_CANARY_KEY", &env_secret)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("CODEXD_CANARY_KEY"));
    for s in secrets {
        assert!(
            !printed.contains(s),
            "check-config prints a key secret: {printed}"
        );
    }
}
