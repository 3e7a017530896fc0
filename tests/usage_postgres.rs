//! The shared ledger: two codexd processes pointed at one real PostgreSQL (started on
//! loopback by the test) upsert into one table, so both processes' usage is in one ledger,
//! readable from either daemon's `/v1/usage` and from `codexd usage`.

use crate::support::daemon::Daemon;
use crate::support::http;
use crate::usage_ledger::{
    get, ledger_config, ledger_tokens, metric_tokens, post, stream_without_usage, usage_cli, ADMIN,
    TEAM_A, TEAM_B,
};
use codexd_test_support::postgres::Postgres;
use serde_json::Value;
use std::time::Duration;

fn requests_of(rows: &[Value], key: &str) -> u64 {
    rows.iter()
        .filter(|r| r["key"] == key)
        .map(|r| r["requests"].as_u64().unwrap())
        .sum()
}

#[test]
fn two_daemons_share_one_postgres_ledger() {
    let pg = Postgres::start();
    let config = || ledger_config(100).set("usage.postgres_url", &format!("{:?}", pg.url()));
    let mut one = Daemon::start_ready(config());
    let mut two = Daemon::start_ready(config());
    for _ in 0..2 {
        let r = post(
            one.addr,
            TEAM_A,
            "/v1/chat/completions",
            &http::chat_body("one", false),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let mut s = http::Streaming::open_as(
        two.addr,
        "/v1/chat/completions",
        TEAM_A,
        &stream_without_usage("two"),
    );
    assert!(s.read_to_end(Duration::from_secs(10)).contains("[DONE]"));
    for _ in 0..3 {
        let r = post(
            two.addr,
            TEAM_B,
            "/v1/chat/completions",
            &http::chat_body("two", false),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let tokens: Vec<u64> = metric_tokens(&one)
        .iter()
        .zip(metric_tokens(&two))
        .map(|(a, b)| a + b)
        .collect();
    // Either replica reads the shared rows (a read writes its own pending rows first).
    crate::support::eventually(Duration::from_secs(10), "both replicas' rows", || {
        let r = get(one.addr, Some(ADMIN), "/v1/usage");
        let rows = r.json()["data"].as_array().cloned().unwrap_or_default();
        (requests_of(&rows, "team-a") == 3 && requests_of(&rows, "team-b") == 3).then_some(())
    });
    one.terminate();
    two.terminate();
    let json: Value = serde_json::from_str(&usage_cli(
        &one.dir.join("codexd.toml"),
        &["--format", "json"],
    ))
    .unwrap();
    let rows = json["data"].as_array().unwrap();
    assert_eq!(requests_of(rows, "team-a"), 3, "{rows:?}");
    assert_eq!(requests_of(rows, "team-b"), 3, "{rows:?}");
    assert_eq!(ledger_tokens(rows).to_vec(), tokens);
    assert!(tokens[0] > 0);
    // Nothing in the daemons' logs names the database URL.
    for d in [&one, &two] {
        assert!(!d.lines().join("\n").contains(&pg.url()));
    }
}
