//! Retry before the first byte and worker recycling, through the real binary: a worker killed
//! before its first delta costs the client nothing (another slot answers, the retry is
//! counted), one killed after it ends in a well-formed error frame and no retry; workers
//! recycled by turn count or memory lose no request under load.

use crate::accounts_quota::{account, pool, scrape};
use crate::support::daemon::{Config, Daemon};
use crate::support::http;
use std::time::Duration;

const CHAT: &str = "/v1/chat/completions";

#[test]
fn a_worker_killed_before_its_first_delta_is_retried_on_another_slot() {
    let d = Daemon::start_ready(pool(&[
        account("alpha", &[("CODEXD_DEMO_CRASH_AFTER_CHUNKS", "0")]),
        account("beta", &[]),
    ]));
    for stream in [false, true] {
        let r = http::post(d.addr, CHAT, &http::chat_body("again", stream));
        assert_eq!(r.status, 200, "{}", r.text());
        let text = r.text();
        if stream {
            assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
            assert!(!text.contains("\"error\""), "{text}");
        } else {
            assert_eq!(
                r.json()["choices"][0]["message"]["content"],
                "You said: again"
            );
        }
    }
    let s = scrape(&d);
    let retried = s.sum("codexd_retries_total", &[("reason", "worker_lost")]);
    assert!(retried >= 1.0, "the retry is counted: {retried}");
    let events = d.events_named("stream_retried");
    assert!(events
        .iter()
        .all(|e| e["from_slot"] == 0 && e["worker"] == 1 && e["reason"] == "worker_lost"));
}

#[test]
fn a_worker_killed_after_its_first_delta_ends_in_an_error_frame_without_retry() {
    let d = Daemon::start_ready(pool(&[
        account("alpha", &[("CODEXD_DEMO_CRASH_AFTER_CHUNKS", "2")]),
        account("beta", &[]),
    ]));
    let r = http::post(d.addr, CHAT, &http::chat_body("xxxxxxxxxxxxxxxxxxxx", true));
    assert_eq!(r.status, 200);
    let body = r.text();
    let e = crate::api_streaming::assert_chat_error_end(&body, "worker_lost", 2);
    assert_eq!(e["type"], "upstream_error");
    assert_eq!(
        scrape(&d).sum("codexd_retries_total", &[]),
        0.0,
        "never retried after bytes were sent"
    );
    assert!(d.events_named("stream_retried").is_empty());
}

/// Sends `n` streamed requests, `parallel` at a time, and asserts every answer is complete.
fn load(d: &Daemon, n: usize, parallel: usize) {
    let addr = d.addr;
    std::thread::scope(|s| {
        let per = n / parallel;
        let handles: Vec<_> = (0..parallel)
            .map(|t| {
                s.spawn(move || {
                    for i in 0..per {
                        let prompt = format!("load-{t}-{i}");
                        let r = http::post(addr, CHAT, &http::chat_body(&prompt, true));
                        assert_eq!(r.status, 200, "{}", r.text());
                        let body = r.text();
                        assert!(body.ends_with("data: [DONE]\n\n"), "{body}");
                        assert!(!body.contains("\"error\""), "{body}");
                        let text: String = http::sse_data(&body)
                            .iter()
                            .filter_map(|f| f["choices"][0]["delta"]["content"].as_str())
                            .collect();
                        assert_eq!(text, format!("You said: {prompt}"));
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
}

#[test]
fn workers_recycled_by_turn_count_lose_no_request_under_load() {
    let d = Daemon::start_ready(
        Config::default()
            .set("workers.recycle.max_turns", "3")
            .worker_env("CODEXD_DEMO_CHUNK_INTERVAL_MS", "5"),
    );
    load(&d, 24, 4);
    let s = scrape(&d);
    let recycled = s.sum("codexd_worker_recycles_total", &[("reason", "turns")]);
    assert!(recycled >= 4.0, "{recycled}");
    let restarts = s.sum("codexd_worker_restarts_total", &[("reason", "recycled")]);
    assert!(restarts >= 3.0, "{restarts}");
    assert!(d.events_named("restarts_exhausted").is_empty());
    assert!(d
        .events_named("worker_exited")
        .iter()
        .filter(|e| e["reason"] == "recycled")
        .all(|e| e["expected"] == true));
}

#[test]
fn workers_recycled_by_memory_lose_no_request_under_load() {
    let d = Daemon::start_ready(
        Config::default()
            .set("workers.recycle.max_rss_bytes", &(96u64 << 20).to_string())
            .set("workers.recycle.check_interval_ms", "50")
            .worker_env(
                "CODEXD_DEMO_GROW_BYTES_PER_TURN",
                &(24u64 << 20).to_string(),
            )
            .worker_env("CODEXD_DEMO_CHUNK_INTERVAL_MS", "20"),
    );
    load(&d, 16, 2);
    crate::support::eventually(Duration::from_secs(5), "a memory recycle", || {
        let s = scrape(&d);
        (s.sum("codexd_worker_recycles_total", &[("reason", "memory")]) >= 1.0).then_some(())
    });
    let s = scrape(&d);
    assert!(s.sum("codexd_worker_resident_memory_bytes", &[]) > 0.0);
}
