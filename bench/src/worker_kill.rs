//! Worker kill to readiness: SIGKILL the only worker of a one-worker daemon, poll `/readyz`
//! back to back until it answers 503, then until it answers 200 again.

use crate::daemon::{Daemon, Res};
use crate::procfs;
use serde::Serialize;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Serialize)]
pub struct KillResult {
    pub to_503_ms: f64,
    pub to_200_ms: f64,
    pub polls: u64,
    /// Mean time between two polls: the resolution of both figures.
    pub poll_interval_us: f64,
}

/// One kill; `within` bounds each wait.
pub async fn kill_once(d: &Daemon, within: Duration) -> Res<KillResult> {
    let pid = d
        .worker_pids()
        .await
        .first()
        .copied()
        .ok_or("no worker pid in /healthz")?;
    let mut polls = 0u64;
    let t0 = Instant::now();
    if !procfs::kill9(pid) {
        return Err(format!("kill {pid} failed"));
    }
    let to_503 = loop {
        polls += 1;
        if d.readyz().await == Some(503) {
            break t0.elapsed();
        }
        if t0.elapsed() > within {
            return Err(format!("/readyz still 200 after {within:?}"));
        }
    };
    let to_200 = loop {
        polls += 1;
        if d.readyz().await == Some(200) {
            break t0.elapsed();
        }
        if t0.elapsed() > within {
            return Err(format!("/readyz not back to 200 after {within:?}"));
        }
    };
    Ok(KillResult {
        to_503_ms: to_503.as_secs_f64() * 1000.0,
        to_200_ms: to_200.as_secs_f64() * 1000.0,
        polls,
        poll_interval_us: to_200.as_secs_f64() * 1e6 / polls as f64,
    })
}
