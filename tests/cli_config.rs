//! `codexd check-config` and start-up refusals, through the real binary.

use crate::support::daemon::{scratch_dir, serve_to_exit, Config, BIN};
use std::process::Command;

fn check_config(text: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    let dir = scratch_dir("check-config");
    let path = dir.join("c.toml");
    std::fs::write(&path, text).unwrap();
    let mut cmd = Command::new(BIN);
    cmd.arg("check-config").arg("--config").arg(&path);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn check_config_names_an_unknown_key_and_exits_64() {
    let text = Config::default().text();
    let (code, _, err) = check_config(
        &text.replace("[workers.backoff]", "[workers.backoff]\nmaxx_ms = 3"),
        &[],
    );
    assert_eq!(code, 64);
    assert!(
        err.contains("workers.backoff") && err.contains("maxx_ms"),
        "{err}"
    );
}

#[test]
fn check_config_names_a_bad_value_and_a_bad_env_override() {
    let text = Config::default().set("workers.count", "\"many\"").text();
    let (code, _, err) = check_config(&text, &[]);
    assert_eq!(code, 64);
    assert!(err.contains("workers.count"), "{err}");
    let (code, _, err) = check_config(
        &Config::default().text(),
        &[("CODEXD__WORKERS__BACKOFF__INITIAL_MS", "10000")],
    );
    assert_eq!(code, 64);
    assert!(err.contains("workers.backoff.max_ms"), "{err}");
}

#[test]
fn check_config_prints_the_merged_config_with_secrets_redacted() {
    let text = Config::default()
        .set("metrics.token", "\"metrics-secret\"")
        .text();
    let (code, out, _) = check_config(&text, &[("CODEXD__WORKERS__COUNT", "3")]);
    assert_eq!(code, 0);
    assert!(out.contains("count = 3"), "{out}");
    assert!(
        !out.contains("sk-test") && !out.contains("metrics-secret"),
        "{out}"
    );
    assert!(out.contains("<redacted>"));
}

#[test]
fn the_shipped_configs_are_valid() {
    for file in ["config/demo.toml", "config/codexd.toml"] {
        let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
        let out = Command::new(BIN)
            .args(["check-config", "--config", &path])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn serving_on_a_public_address_without_an_api_key_is_refused_with_one_json_line() {
    let out = serve_to_exit(
        Config::default()
            .set("server.listen", "\"0.0.0.0:0\"")
            .set("auth.api_key", "\"\""),
    );
    assert_eq!(out.status.code(), Some(64));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(v["event"], "startup_failed");
    assert_eq!(v["error_code"], "invalid_config");
    assert!(v["error"].as_str().unwrap().contains("auth.api_key"));
}

#[test]
fn a_missing_worker_binary_exits_1_with_a_reason() {
    let out = serve_to_exit(Config::default().set("workers.command", "\"/nonexistent/codex\""));
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(v["error_code"], "worker_binary_missing");
}

#[test]
fn unknown_arguments_exit_64() {
    let out = Command::new(BIN)
        .args(["serve", "--bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let out = Command::new(BIN).arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(64));
}
