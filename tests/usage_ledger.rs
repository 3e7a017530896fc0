//! The usage ledger through the real binary: a mixed workload (streamed with and without
//! `include_usage`, non-streamed, `/v1/responses`, errors) from several keys lands per key ×
//! model × day with the worker's token counts, its totals equal `codexd_tokens_total`,
//! `GET /v1/usage` is admin-only with its filters validated, and `codexd usage` prints the
//! same rows as JSON, CSV and a table.

use crate::support::daemon::{scratch_dir, Config, Daemon, BIN};
use crate::support::http::{self, Response};
use codexd_test_support::metrics_text::Scrape;
use serde_json::{json, Value};
use std::process::Command;
use std::time::Duration;

pub const ADMIN: &str = "sk-usage-admin-3c1d";
pub const TEAM_A: &str = "sk-usage-team-a-88e0";
pub const TEAM_B: &str = "sk-usage-team-b-1f4b";
pub const TOKEN_TYPES: [(&str, &str); 4] = [
    ("input", "input_tokens"),
    ("cached_input", "cached_input_tokens"),
    ("output", "output_tokens"),
    ("reasoning", "reasoning_tokens"),
];

/// Three named keys (`ops` is the admin) and a short flush interval.
pub fn ledger_config(flush_ms: u64) -> Config {
    Config::default()
        .set(
            "auth.keys",
            r#"[{id = "ops", secret_env = "CODEXD_TEST_ADMIN", admin = true},
               {id = "team-a", secret_env = "CODEXD_TEST_TEAM_A"},
               {id = "team-b", secret_env = "CODEXD_TEST_TEAM_B"}]"#,
        )
        .set("usage.flush_interval_ms", &flush_ms.to_string())
        .daemon_env("CODEXD_TEST_ADMIN", ADMIN)
        .daemon_env("CODEXD_TEST_TEAM_A", TEAM_A)
        .daemon_env("CODEXD_TEST_TEAM_B", TEAM_B)
}

pub fn post(addr: std::net::SocketAddr, secret: &str, path: &str, body: &Value) -> Response {
    let auth = format!("Bearer {secret}");
    http::request(
        addr,
        "POST",
        path,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        body.to_string().as_bytes(),
    )
}

pub fn get(addr: std::net::SocketAddr, secret: Option<&str>, path: &str) -> Response {
    let auth = secret.map(|s| format!("Bearer {s}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    http::request(addr, "GET", path, &headers, b"")
}

/// A streamed chat request that does not ask for usage.
pub fn stream_without_usage(prompt: &str) -> Value {
    json!({"model": "codex-demo", "stream": true, "messages": [{"role": "user", "content": prompt}]})
}

/// `sum(codexd_tokens_total{type})` for each type, in `TOKEN_TYPES` order.
pub fn metric_tokens(d: &Daemon) -> [u64; 4] {
    let s = Scrape::parse(&d.metrics());
    TOKEN_TYPES.map(|(t, _)| s.sum("codexd_tokens_total", &[("type", t)]) as u64)
}

/// The ledger's totals of each token type over `rows`.
pub fn ledger_tokens(rows: &[Value]) -> [u64; 4] {
    TOKEN_TYPES.map(|(_, col)| rows.iter().map(|r| r[col].as_u64().unwrap()).sum())
}

fn usage_rows(d: &Daemon, query: &str) -> Vec<Value> {
    let r = get(d.addr, Some(ADMIN), &format!("/v1/usage{query}"));
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "list");
    v["data"].as_array().unwrap().clone()
}

fn row_for<'a>(rows: &'a [Value], key: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["key"] == key)
        .unwrap_or_else(|| panic!("no row for {key}: {rows:?}"))
}

/// The worker's token counts for a key, from its `stream_ended` lines.
fn logged_tokens(d: &Daemon, key: &str) -> (u64, u64) {
    d.events_named("stream_ended")
        .iter()
        .filter(|e| e["key_id"] == key)
        .fold((0, 0), |(i, o), e| {
            (
                i + e["input_tokens"].as_u64().unwrap(),
                o + e["output_tokens"].as_u64().unwrap(),
            )
        })
}

#[test]
fn a_mixed_workload_lands_per_key_and_its_totals_equal_the_token_counters() {
    let mut d = Daemon::start_ready(ledger_config(100));
    for i in 0..3 {
        let mut s = http::Streaming::open_as(
            d.addr,
            "/v1/chat/completions",
            TEAM_A,
            &stream_without_usage(&format!("hello {i}")),
        );
        let body = s.read_to_end(Duration::from_secs(10));
        assert!(body.contains("[DONE]"), "{body}");
        assert!(
            !body.contains("\"usage\""),
            "no usage chunk was asked for: {body}"
        );
    }
    for i in 0..2 {
        let r = post(
            d.addr,
            TEAM_B,
            "/v1/chat/completions",
            &http::chat_body(&format!("hi {i}"), false),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let r = post(
        d.addr,
        TEAM_B,
        "/v1/responses",
        &json!({"model": "codex-demo", "input": "hey"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let mut s = http::Streaming::open_as(
        d.addr,
        "/v1/chat/completions",
        TEAM_B,
        &http::chat_body("with usage", true),
    );
    assert!(s.read_to_end(Duration::from_secs(10)).contains("\"usage\""));
    let r = post(
        d.addr,
        TEAM_B,
        "/v1/chat/completions",
        &json!({"model": "nope", "messages": [{"role": "user", "content": "x"}]}),
    );
    assert_eq!(r.status, 404);

    // The admin's reads are requests on another route: not in the ledger.
    let rows = crate::support::eventually(Duration::from_secs(10), "ledger totals", || {
        let rows = usage_rows(&d, "");
        let a = rows.iter().find(|r| r["key"] == "team-a")?;
        (a["requests"] == 3 && ledger_tokens(&rows) == metric_tokens(&d)).then_some(rows)
    });
    let a = row_for(&rows, "team-a");
    let (input, output) = logged_tokens(&d, "team-a");
    assert!(input > 0 && output > 0, "the demo worker reports usage");
    assert_eq!(
        (
            a["input_tokens"].as_u64().unwrap(),
            a["output_tokens"].as_u64().unwrap()
        ),
        (input, output)
    );
    assert_eq!(a["model"], "codex-demo");
    assert_eq!(a["errors"], 0);
    let b: Vec<&Value> = rows.iter().filter(|r| r["key"] == "team-b").collect();
    let b_requests: u64 = b.iter().map(|r| r["requests"].as_u64().unwrap()).sum();
    let b_errors: u64 = b.iter().map(|r| r["errors"].as_u64().unwrap()).sum();
    assert_eq!((b_requests, b_errors), (5, 1), "{b:?}");
    assert!(rows.iter().all(|r| r["key"] != "ops"), "{rows:?}");

    // Filters.
    let today = a["date"].as_str().unwrap().to_owned();
    let only_a = usage_rows(
        &d,
        &format!("?key=team-a&model=codex-demo&from={today}&to={today}"),
    );
    assert_eq!(only_a.len(), 1);
    assert_eq!(only_a[0], *a);
    assert!(usage_rows(&d, "?from=2000-01-01&to=2000-01-02").is_empty());

    // SIGTERM writes the last batch: the file then holds exactly the counters.
    let tokens = metric_tokens(&d);
    let path = d.dir.join("usage.sqlite3");
    d.terminate();
    let out = usage_cli(&d.dir.join("codexd.toml"), &["--format", "json"]);
    let all: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(ledger_tokens(all["data"].as_array().unwrap()), tokens);
    assert!(path.is_file());
}

/// Runs `codexd usage --config <path> args...`; returns its stdout (exit 0 asserted).
pub fn usage_cli(config: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("usage")
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("CODEXD_TEST_ADMIN")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn usage_reads_need_an_admin_key_and_valid_dates() {
    let mut d = Daemon::start_ready(ledger_config(100));
    let r = get(d.addr, None, "/v1/usage");
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["code"], "invalid_api_key");
    let r = get(d.addr, Some(TEAM_A), "/v1/usage");
    assert_eq!(r.status, 403, "{}", r.text());
    let e = r.json();
    assert_eq!(e["error"]["type"], "permission_error");
    assert_eq!(e["error"]["code"], "forbidden");
    for (q, param) in [
        ("?from=2026-02-30", "from"),
        ("?to=tomorrow", "to"),
        ("?from=2026-03-02&to=2026-03-01", "from"),
    ] {
        let r = get(d.addr, Some(ADMIN), &format!("/v1/usage{q}"));
        assert_eq!(r.status, 400, "{q}");
        assert_eq!(r.json()["error"]["param"], param, "{q}");
    }
    let line = d.wait_event(Duration::from_secs(5), "request_completed", |e| {
        e["event"] == "request_completed" && e["route"] == "/v1/usage" && e["status"] == 403
    });
    assert_eq!(line["key_id"], "team-a");
    d.terminate();
}

#[test]
fn codexd_usage_prints_json_csv_and_a_table_and_retention_drops_old_days() {
    let dir = scratch_dir("usage-cli");
    let path = dir.join("ledger.sqlite3");
    {
        // An old day and a recent one, as an earlier daemon would have left them.
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(codexd::usage::store::SCHEMA).unwrap();
        c.execute_batch(
            "INSERT INTO codexd_usage VALUES ('team-a', 'codex-demo', '2001-01-01', 1, 2, 3, 4, 5, 6);",
        )
        .unwrap();
    }
    let config = ledger_config(50)
        .set("usage.path", &format!("{:?}", path.display().to_string()))
        .set("usage.retention_days", "30");
    let mut d = Daemon::start_ready(config);
    let r = post(
        d.addr,
        TEAM_A,
        "/v1/chat/completions",
        &http::chat_body("x", false),
    );
    assert_eq!(r.status, 200);
    d.terminate();
    let config_path = d.dir.join("codexd.toml");
    let json: Value =
        serde_json::from_str(&usage_cli(&config_path, &["--format", "json"])).unwrap();
    let rows = json["data"].as_array().unwrap();
    assert_eq!(
        rows.len(),
        1,
        "the 2001 row is past the retention: {rows:?}"
    );
    assert_eq!(rows[0]["key"], "team-a");
    assert_eq!(rows[0]["requests"], 1);
    let csv = usage_cli(&config_path, &["--format", "csv", "--key", "team-a"]);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("key,model,date,requests,input_tokens,cached_input_tokens,output_tokens,reasoning_tokens,errors")
    );
    assert!(
        lines.next().unwrap().starts_with("team-a,codex-demo,"),
        "{csv}"
    );
    let table = usage_cli(&config_path, &[]);
    assert!(table.lines().next().unwrap().starts_with("key"), "{table}");
    assert!(
        table.lines().last().unwrap().starts_with("total"),
        "{table}"
    );
    assert!(
        usage_cli(&config_path, &["--key", "nobody", "--format", "csv"])
            .lines()
            .count()
            == 1
    );
    let bad = Command::new(BIN)
        .args(["usage", "--from", "2026-02-30", "--config"])
        .arg(&config_path)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(64));
}
