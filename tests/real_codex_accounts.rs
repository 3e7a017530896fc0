//! Real Codex 0.171: the account shapes codexd parses are the real ones. The pinned binary's
//! `generate-json-schema --experimental` must still say what `tests/fixtures/
//! codex-0.171-account-shapes.json` records (the windows of `account/rateLimits/read` and of
//! `account/rateLimits/updated`, `account/read`'s login fields, the error notification's
//! `codexErrorInfo` strings), codexd's parser must read the recorded examples, and a live
//! worker must answer `account/read` and `account/rateLimits/read` as codexd expects.
//! `CODEXD_REGENERATE_FIXTURES=1` rewrites the fixture from the binary.

use crate::support::codex_env;
use crate::support::daemon::scratch_dir;
use codexd_actors::accounts::quota::{QuotaWindow, SnapshotReport};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const FIXTURE: &str = "tests/fixtures/codex-0.171-account-shapes.json";

fn codex_bin() -> PathBuf {
    let bin = codex_env::codex_bin().expect("CODEXD_CODEX_BIN (source .cache/test-env)");
    assert!(bin.is_file(), "{} is not a file", bin.display());
    bin
}

fn load(dir: &Path, name: &str) -> Value {
    let text = std::fs::read_to_string(dir.join("v2").join(format!("{name}.json")))
        .unwrap_or_else(|e| panic!("{name}.json: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// The parts of the schema codexd relies on.
fn extract(dir: &Path) -> Value {
    let read = load(dir, "GetAccountRateLimitsResponse");
    let updated = load(dir, "AccountRateLimitsUpdatedNotification");
    let account = load(dir, "GetAccountResponse");
    let error = load(dir, "ErrorNotification");
    let snapshot = &read["definitions"]["RateLimitSnapshot"];
    let info = &error["definitions"]["CodexErrorInfo"]["anyOf"];
    let strings: Vec<Value> = info
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|v| v["enum"].as_array().cloned().unwrap_or_default())
        .collect();
    json!({
        "account/rateLimits/read": {
            "required": read["required"],
            "rateLimits": read["properties"]["rateLimits"],
            "RateLimitSnapshot.primary": snapshot["properties"]["primary"],
            "RateLimitSnapshot.secondary": snapshot["properties"]["secondary"],
            "RateLimitWindow": read["definitions"]["RateLimitWindow"],
        },
        "account/rateLimits/updated": {
            "required": updated["required"],
            "rateLimits": updated["properties"]["rateLimits"],
            "RateLimitWindow": updated["definitions"]["RateLimitWindow"],
        },
        "account/read": {
            "required": account["required"],
            "account": account["properties"]["account"],
            "requiresOpenaiAuth": account["properties"]["requiresOpenaiAuth"],
        },
        "error": {
            "required": error["required"],
            "TurnError.codexErrorInfo": error["definitions"]["TurnError"]["properties"]["codexErrorInfo"],
            "CodexErrorInfo strings": strings,
        },
    })
}

#[test]
fn the_rate_limit_read_and_notification_shapes_codexd_parses_are_the_real_ones() {
    let dir = scratch_dir("codex-schema");
    let out = Command::new(codex_bin())
        .args([
            "app-server",
            "generate-json-schema",
            "--experimental",
            "--out",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shapes = extract(&dir);
    let path = codex_env::repo_root().join(FIXTURE);
    if std::env::var_os("CODEXD_REGENERATE_FIXTURES").is_some() {
        let mut recorded = shapes.clone();
        recorded["examples"] = examples();
        let text = serde_json::to_string_pretty(&recorded).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
    }
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for part in [
        "account/rateLimits/read",
        "account/rateLimits/updated",
        "account/read",
        "error",
    ] {
        assert_eq!(
            shapes[part], fixture[part],
            "Codex changed the shape of {part}: update codexd's parser, then the fixture"
        );
    }
    let strings = &fixture["error"]["CodexErrorInfo strings"];
    for s in ["usageLimitExceeded", "unauthorized", "rateLimitExceeded"] {
        assert!(strings.as_array().unwrap().contains(&json!(s)), "{s}");
    }
    // The recorded examples (real shapes) parse into the windows codexd keeps.
    let ex = &fixture["examples"];
    let read = SnapshotReport::from_container(&ex["account/rateLimits/read"]).unwrap();
    let p = read.window(QuotaWindow::Primary).unwrap();
    assert_eq!(
        (p.used_percent, p.window_duration_mins, p.resets_at),
        (Some(96.0), Some(300), Some(1_900_000_000))
    );
    let sparse = SnapshotReport::from_container(&ex["account/rateLimits/updated"]).unwrap();
    assert!(sparse.secondary.is_none());
    assert_eq!(sparse.primary.unwrap().resets_at, None);
}

/// Payloads in the recorded shapes (every field the schema requires, nullable ones null).
fn examples() -> Value {
    json!({
        "account/rateLimits/read": {"rateLimits": {
            "limitId": "codex", "limitName": null, "planType": "plus", "credits": null,
            "primary": {"usedPercent": 96, "windowDurationMins": 300, "resetsAt": 1_900_000_000},
            "secondary": {"usedPercent": 20, "windowDurationMins": 10080, "resetsAt": null},
            "rateLimitReachedType": null},
            "rateLimitsByLimitId": null},
        "account/rateLimits/updated": {"rateLimits": {"primary": {"usedPercent": 97,
            "windowDurationMins": null, "resetsAt": null}}},
    })
}

/// A live worker (offline, an API-key provider): `account/read` says no login is needed and
/// `account/rateLimits/read` is refused, which codexd treats as "windows unknown".
#[test]
fn a_live_worker_answers_the_account_reads_as_codexd_expects() {
    let home = scratch_dir("codex-account-live");
    let mut child = Command::new(codex_bin())
        .args(codex_env::worker_args(
            "http://127.0.0.1:9/v1",
            codex_env::MOCK_MODEL,
        ))
        .env("CODEX_HOME", &home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for line in [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"clientInfo":{"name":"codexd","version":"0"}}}"#,
        r#"{"jsonrpc":"2.0","method":"initialized"}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"account/read","params":{}}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"account/rateLimits/read","params":null}"#,
    ] {
        writeln!(stdin, "{line}").unwrap();
    }
    let mut answers = std::collections::HashMap::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let v: Value = serde_json::from_str(&line.unwrap()).unwrap_or(Value::Null);
        if let Some(id) = v["id"].as_u64() {
            answers.insert(id, v);
        }
        if answers.contains_key(&2) && answers.contains_key(&3) {
            break;
        }
    }
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    let account = &answers[&2]["result"];
    assert!(account["account"].is_null(), "{account}");
    assert_eq!(account["requiresOpenaiAuth"], false);
    let limits = &answers[&3];
    assert_eq!(limits["error"]["code"], -32600, "{limits}");
    assert!(SnapshotReport::from_container(&limits["result"]).is_none());
}
