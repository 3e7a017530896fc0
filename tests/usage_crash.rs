//! `kill -9` of the daemon under load, then a restart: the ledger file is readable and not
//! corrupt (`PRAGMA integrity_check`), and holds at least what `/metrics` counted one flush
//! interval before the kill (a kill loses at most one `usage.flush_interval_ms`).

use crate::support::daemon::Daemon;
use crate::support::http;
use crate::usage_ledger::{
    ledger_config, metric_tokens, post, stream_without_usage, TEAM_A, TEAM_B,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const FLUSH_MS: u64 = 200;

fn ledger_totals(path: &std::path::Path) -> [u64; 4] {
    let c = rusqlite::Connection::open(path).unwrap();
    let check: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    c.query_row(
        "SELECT COALESCE(SUM(input_tokens), 0), COALESCE(SUM(cached_input_tokens), 0),
                COALESCE(SUM(output_tokens), 0), COALESCE(SUM(reasoning_tokens), 0)
         FROM codexd_usage",
        [],
        |r| Ok([r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?, r.get(3)?].map(|v| v as u64)),
    )
    .unwrap()
}

#[test]
fn kill_9_under_load_loses_at_most_one_flush_interval_and_leaves_a_sound_file() {
    let config = ledger_config(FLUSH_MS).set("workers.count", "2");
    let mut d = Daemon::start_ready(config);
    let path = d.dir.join("usage.sqlite3");
    let stop = Arc::new(AtomicBool::new(false));
    let addr = d.addr;
    let load: Vec<_> = (0..3)
        .map(|i| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    // A request cut by the kill panics this thread's client: expected.
                    let ok = std::panic::catch_unwind(|| {
                        if i == 0 {
                            let mut s = http::Streaming::open_as(
                                addr,
                                "/v1/chat/completions",
                                TEAM_A,
                                &stream_without_usage("load"),
                            );
                            s.read_to_end(Duration::from_secs(5));
                        } else {
                            post(
                                addr,
                                TEAM_B,
                                "/v1/chat/completions",
                                &http::chat_body("load", false),
                            );
                        }
                    });
                    if ok.is_err() {
                        break;
                    }
                    n += 1;
                }
                n
            })
        })
        .collect();
    // Sample the counters (stamped when the scrape came back: the counters are at most that
    // recent), then kill -9 mid-load.
    let mut samples: Vec<(Instant, [u64; 4])> = Vec::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(2500) {
        let t = metric_tokens(&d);
        samples.push((Instant::now(), t));
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed_at = Instant::now();
    crate::support::signal(d.pid(), 9);
    d.wait_exit(Duration::from_secs(10));
    stop.store(true, Ordering::Relaxed);
    let requests: u64 = load.into_iter().map(|t| t.join().unwrap_or(0)).sum();
    assert!(requests > 10, "the load ran ({requests} requests)");

    let ledger = ledger_totals(&path);
    let before = samples
        .iter()
        .rev()
        .find(|(t, _)| *t + Duration::from_millis(FLUSH_MS) <= killed_at)
        .map(|(_, v)| *v)
        .unwrap();
    let last = samples.last().map(|(_, v)| *v).unwrap();
    for i in 0..4 {
        assert!(
            ledger[i] >= before[i],
            "type {i}: the ledger has {} but /metrics showed {} one flush interval before the kill",
            ledger[i],
            before[i]
        );
    }
    assert!(ledger[0] > 0, "usage was written before the kill");
    eprintln!(
        "kill -9: {requests} requests; input tokens at the last scrape {} (≤{} ms before the kill), one interval before {}, in the ledger {}; lost ≤ {}",
        last[0],
        killed_at.duration_since(samples.last().unwrap().0).as_millis(),
        before[0],
        ledger[0],
        last[0].saturating_sub(ledger[0]),
    );

    // A restart on the same file: it opens, serves its rows and keeps adding to them.
    let config = d.dir.join("codexd.toml");
    let env = [
        ("CODEXD_TEST_ADMIN", crate::usage_ledger::ADMIN),
        ("CODEXD_TEST_TEAM_A", TEAM_A),
        ("CODEXD_TEST_TEAM_B", TEAM_B),
    ];
    let mut again = Daemon::start_with_file(&config, &env);
    again.wait_ready();
    let r = post(
        again.addr,
        TEAM_B,
        "/v1/chat/completions",
        &http::chat_body("after", false),
    );
    assert_eq!(r.status, 200);
    again.terminate();
    let after = ledger_totals(&path);
    assert!(after[0] > ledger[0], "{after:?} vs {ledger:?}");
}
