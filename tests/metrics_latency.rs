//! Time to first token measured right: from request acceptance to the first generated delta,
//! never a keepalive or the role chunk; streams that fail or are abandoned before a token are
//! in `codexd_stream_no_first_token_total`, never in the histogram.

use crate::metrics_scrape::{scrape, settle, wait_started, wait_stream_ended, WAIT};
use crate::support::daemon::{Config, Daemon};
use crate::support::http::{self, chat_body, Streaming};
use crate::support::signal;
use serde_json::json;

/// The worker waits 400 ms before its first delta; keepalives (100 ms) and the role chunk
/// (after the 50 ms header hold) come earlier and must not count. Every completed stream
/// lands in (0.4, 0.5]; quantiles computed like `histogram_quantile` stay in that bucket
/// (tolerance: +100 ms, its width), and the exact mean is within 400..480 ms.
#[test]
fn metrics_time_to_first_token_matches_the_worker_delay() {
    const DELAY_S: f64 = 0.4;
    // The TTFT bucket holding the delay: (0.4, 0.5].
    const BUCKET_END: f64 = 0.5;
    let d = Daemon::start_ready(
        Config::default()
            .set("workers.count", "1")
            .set("streaming.keepalive_ms", "100")
            .set("streaming.header_hold_ms", "50")
            .set("metrics.listen", "\"127.0.0.1:0\"")
            .worker_env("CODEXD_DEMO_FIRST_TOKEN_DELAY_MS", "400"),
    );
    let a = d.addr;
    let threads: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..4 {
                    match (t + i) % 3 {
                        0 => {
                            let mut s =
                                Streaming::open(a, "/v1/chat/completions", &chat_body("hi", true));
                            s.read_to_end(WAIT);
                            assert_eq!(s.status, 200);
                        }
                        1 => {
                            let r = http::post(a, "/v1/chat/completions", &chat_body("hi", false));
                            assert_eq!(r.status, 200, "{}", r.text());
                        }
                        _ => {
                            let body = json!({"model": "codex-demo", "input": "hi"});
                            assert_eq!(http::post(a, "/v1/responses", &body).status, 200);
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    wait_stream_ended(&d, "completed", 16);

    // Errored before the first token: the worker is killed while two streams wait for it.
    let waiting: Vec<Streaming> = (0..2)
        .map(|_| Streaming::open(a, "/v1/chat/completions", &chat_body("hi", true)))
        .collect();
    wait_started(&d, 18);
    signal(d.worker_pids()[0], 9);
    wait_stream_ended(&d, "worker_lost", 2);
    drop(waiting);
    d.wait_ready();
    // Aborted before the first token.
    let s = Streaming::open(a, "/v1/chat/completions", &chat_body("hi", true));
    drop(s);
    wait_stream_ended(&d, "client_abort", 1);

    let m = settle(WAIT, || {
        let m = scrape(&d);
        (m.sum("codexd_streams_total", &[]) >= 19.0, m)
    });
    let ttft = "codexd_stream_time_to_first_token_seconds";
    let count = m.sum(&format!("{ttft}_count"), &[]);
    assert_eq!(
        count, 16.0,
        "only the 16 completed streams are in the TTFT histogram"
    );
    assert_eq!(
        m.sum(
            "codexd_stream_no_first_token_total",
            &[("reason", "worker_lost")]
        ),
        2.0
    );
    assert_eq!(
        m.sum(
            "codexd_stream_no_first_token_total",
            &[("reason", "client_abort")]
        ),
        1.0
    );
    let buckets = m.buckets(ttft, &[]);
    let at = |le: f64| buckets.iter().find(|b| b.0 == le).map(|b| b.1);
    assert_eq!(
        at(DELAY_S),
        Some(0.0),
        "nothing before the worker's delay: {buckets:?}"
    );
    assert_eq!(
        at(BUCKET_END),
        Some(16.0),
        "everything within delay + 100 ms: {buckets:?}"
    );
    let mut report = Vec::new();
    for q in [0.5, 0.9, 0.99] {
        let v = m.quantile(q, ttft, &[]).unwrap();
        report.push(format!("p{}={v:.4}", q * 100.0));
        assert!(
            (DELAY_S..=BUCKET_END).contains(&v),
            "p{q} = {v} s, want {DELAY_S} s + [0, 0.1]"
        );
    }
    let sum = m.sum(&format!("{ttft}_sum"), &[]);
    let mean = sum / count;
    eprintln!(
        "ttft with a 400 ms worker delay: {} mean={mean:.4}",
        report.join(" ")
    );
    assert!(
        (DELAY_S..DELAY_S + 0.08).contains(&mean),
        "mean TTFT {mean} s"
    );
    // The histogram holds exactly what the streams measured and logged.
    let logged: f64 = d
        .events_named("first_token_received")
        .iter()
        .map(|e| e["ttft_ms"].as_f64().unwrap() / 1000.0)
        .sum();
    assert!(
        (logged - sum).abs() < 1e-4,
        "logged {logged} vs histogram {sum}"
    );
    // Overhead excludes the time spent waiting on the worker: far below the 400 ms delay.
    let overhead_n = m.sum("codexd_proxy_overhead_seconds_count", &[]);
    let overhead = m.sum("codexd_proxy_overhead_seconds_sum", &[]) / overhead_n;
    assert!(overhead_n >= 16.0);
    assert!(overhead < 0.05, "mean proxy overhead {overhead} s");
}
