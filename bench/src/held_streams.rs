//! Idle streams held open: N streaming requests whose first token is minutes away, the
//! daemon's RSS before, while they are open and after they are dropped (once the daemon has
//! noticed, through its keepalive writes, and ended every stream).

use crate::api_request::{self, Shape};
use crate::daemon::{Daemon, Res};
use crate::overhead_metric;
use crate::procfs;
use futures_util::stream::{FuturesUnordered, StreamExt};
use serde::Serialize;
use std::time::{Duration, Instant};

/// At most this many connects and request heads in flight while opening streams (each head
/// arrives after the daemon's 1 s header hold), well inside the listener's accept queue.
const OPENING_AT_ONCE: usize = 1024;

const HOLD_BODY: &str =
    r#"{"model":"codex-demo","messages":[{"role":"user","content":"hold"}],"stream":true}"#;

#[derive(Debug, Clone, Serialize)]
pub struct HoldResult {
    pub streams: usize,
    pub opened: usize,
    pub open_s: f64,
    pub daemon_rss_before_kib: u64,
    pub daemon_rss_open_kib: u64,
    pub daemon_rss_after_kib: u64,
    pub workers_rss_before_kib: u64,
    pub workers_rss_open_kib: u64,
    pub per_stream_bytes: f64,
    pub workers_per_stream_bytes: f64,
    /// Share of the growth still resident after the streams ended (0 = all returned).
    pub retained_fraction: f64,
    /// Seconds from dropping the clients until `codexd_streams_active` reached 0.
    pub drain_s: Option<f64>,
    pub first_error: Option<String>,
}

async fn streams_active(d: &Daemon) -> Option<f64> {
    let text = d.scrape().await.ok()?;
    overhead_metric::value(&text, "codexd_streams_active")
}

async fn wait_active(d: &Daemon, pred: impl Fn(f64) -> bool, within: Duration) -> Option<f64> {
    let t0 = Instant::now();
    while t0.elapsed() < within {
        if streams_active(d).await.is_some_and(&pred) {
            return Some(t0.elapsed().as_secs_f64());
        }
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

fn workers_rss(pids: &[u32]) -> u64 {
    pids.iter().filter_map(|p| procfs::rss_kib(*p)).sum()
}

/// Opens `n` streams, measures, drops them, measures again.
pub async fn hold(d: &Daemon, n: usize) -> Res<HoldResult> {
    let pids = d.worker_pids().await;
    actix_rt::time::sleep(Duration::from_millis(500)).await;
    let daemon_before = d.rss_kib();
    let workers_before = workers_rss(&pids);
    let client = api_request::load_client(Duration::from_secs(30));
    let url = format!("{}{}", d.base, Shape::ChatStream.path());
    let t0 = Instant::now();
    let mut opening = FuturesUnordered::new();
    let mut held = Vec::with_capacity(n);
    let mut first_error = None;
    let mut started = 0;
    loop {
        while started < n && opening.len() < OPENING_AT_ONCE {
            opening.push(
                client
                    .post(url.as_str())
                    .insert_header(("content-type", "application/json"))
                    .send_body(HOLD_BODY),
            );
            started += 1;
        }
        match opening.next().await {
            Some(Ok(resp)) if resp.status().as_u16() == 200 => held.push(resp),
            Some(Ok(resp)) => {
                first_error.get_or_insert_with(|| format!("status {}", resp.status()));
            }
            Some(Err(e)) => {
                first_error.get_or_insert_with(|| format!("open: {e}"));
            }
            None => break,
        }
    }
    let open_s = t0.elapsed().as_secs_f64();
    let opened = held.len();
    let target = opened as f64;
    wait_active(d, |a| a >= target, Duration::from_secs(30)).await;
    actix_rt::time::sleep(Duration::from_secs(1)).await;
    let daemon_open = d.rss_kib();
    let workers_open = workers_rss(&pids);
    drop(held);
    drop(client);
    let drain_s = wait_active(d, |a| a == 0.0, Duration::from_secs(60)).await;
    actix_rt::time::sleep(Duration::from_secs(1)).await;
    let daemon_after = d.rss_kib();
    let growth = daemon_open.saturating_sub(daemon_before) as f64;
    let per =
        |open: u64, before: u64| open.saturating_sub(before) as f64 * 1024.0 / target.max(1.0);
    Ok(HoldResult {
        streams: n,
        opened,
        open_s,
        daemon_rss_before_kib: daemon_before,
        daemon_rss_open_kib: daemon_open,
        daemon_rss_after_kib: daemon_after,
        workers_rss_before_kib: workers_before,
        workers_rss_open_kib: workers_open,
        per_stream_bytes: per(daemon_open, daemon_before),
        workers_per_stream_bytes: per(workers_open, workers_before),
        retained_fraction: if growth > 0.0 {
            daemon_after.saturating_sub(daemon_before) as f64 / growth
        } else {
            0.0
        },
        drain_s,
        first_error,
    })
}
