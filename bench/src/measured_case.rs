//! One measured case: a warm-up, then a closed- or open-loop run bracketed by `/proc` and
//! `/metrics` snapshots, turned into a [`CaseResult`] (throughput, latency quantiles, CPU per
//! request for the daemon, its workers and the generator, peak RSS, the overhead histogram).

use crate::api_request::{self, Shape};
use crate::daemon::Daemon;
use crate::direct_worker::DirectWorker;
use crate::load_loops::{self, Outcome, Recorder};
use crate::overhead_metric::{self, BucketQuantiles};
use crate::procfs::{self, Clock};
use crate::proxy::MinProxy;
use awc::Client;
use codexd_test_support::latency_hist::Summary;
use futures_util::future::{FutureExt, LocalBoxFuture};
use serde::Serialize;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

/// What is driven.
pub enum Target<'a> {
    Direct(&'a [DirectWorker]),
    Daemon {
        daemon: &'a Daemon,
        client: &'a Client,
        shape: Shape,
    },
    /// The minimal-proxy baseline (`codexd-min-proxy`).
    Proxy {
        proxy: &'a MinProxy,
        client: &'a Client,
        shape: Shape,
    },
}

/// How it is driven.
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    Closed { concurrency: usize },
    Open { rate: f64, max_outstanding: usize },
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CpuPerRequest {
    pub daemon_us: f64,
    pub workers_us: f64,
    pub generator_us: f64,
}

/// One case's figures.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub round: usize,
    /// `direct`, `proxy`, `codexd_full` or `codexd_minimal`.
    pub target: String,
    /// `turn` (direct), `unary`, `stream` or `responses_stream`.
    pub shape: String,
    /// `closed` or `open`.
    pub mode: &'static str,
    pub concurrency: usize,
    pub rate_rps: Option<f64>,
    pub requests: u64,
    /// 429 answers from admission (open loop beyond capacity).
    pub rejected: u64,
    pub errors: u64,
    pub shed: u64,
    pub first_error: Option<String>,
    pub duration_s: f64,
    pub throughput_rps: f64,
    pub latency: Summary,
    pub ttfc: Option<Summary>,
    pub gaps: Option<Summary>,
    pub cpu: CpuPerRequest,
    /// Daemon CPU per request by thread name.
    pub daemon_threads_us: BTreeMap<String, f64>,
    pub daemon_rss_peak_kib: Option<u64>,
    pub log_bytes_per_request: Option<f64>,
    pub overhead_metric: Option<BucketQuantiles>,
    /// CPU other processes (not the daemon, its workers or the harness) used during the case,
    /// in percent of the machine: noise from a shared host.
    pub foreign_cpu_pct: f64,
}

struct Snapshot {
    daemon: u64,
    threads: BTreeMap<String, u64>,
    workers: u64,
    me: u64,
    machine: u64,
    log_bytes: u64,
    overhead: overhead_metric::Buckets,
}

async fn worker_pids(target: &Target<'_>) -> Vec<u32> {
    match target {
        Target::Direct(ws) => ws.iter().map(|w| w.pid).collect(),
        Target::Daemon { daemon, .. } => daemon.worker_pids().await,
        Target::Proxy { proxy, .. } => proxy.workers.clone(),
    }
}

async fn snapshot(target: &Target<'_>, workers: &[u32]) -> Snapshot {
    let (daemon, threads, log_bytes, overhead) = match target {
        Target::Direct(_) => (0, BTreeMap::new(), 0, overhead_metric::Buckets::default()),
        Target::Daemon { daemon, shape, .. } => {
            let text = daemon.scrape().await.unwrap_or_default();
            (
                procfs::cpu_ticks(daemon.pid).unwrap_or(0),
                procfs::thread_ticks(daemon.pid),
                daemon.log_bytes(),
                overhead_metric::overhead_buckets(&text, shape.path()),
            )
        }
        Target::Proxy { proxy, .. } => (
            procfs::cpu_ticks(proxy.pid).unwrap_or(0),
            procfs::thread_ticks(proxy.pid),
            0,
            overhead_metric::Buckets::default(),
        ),
    };
    Snapshot {
        daemon,
        threads,
        workers: workers.iter().filter_map(|p| procfs::cpu_ticks(*p)).sum(),
        me: procfs::cpu_ticks(std::process::id()).unwrap_or(0),
        machine: procfs::machine_busy_ticks().unwrap_or(0),
        log_bytes,
        overhead,
    }
}

fn fire<'a>(target: &'a Target<'a>, url: &'a str, lane: usize) -> LocalBoxFuture<'a, Outcome> {
    match target {
        Target::Direct(ws) => match ws.get(lane % ws.len().max(1)) {
            Some(w) => w.turn().boxed_local(),
            None => async { Outcome::failed("no workers".into()) }.boxed_local(),
        },
        Target::Daemon { client, shape, .. } | Target::Proxy { client, shape, .. } => {
            api_request::request(client, url, *shape).boxed_local()
        }
    }
}

async fn drive(target: &Target<'_>, url: &str, mode: Mode, duration: Duration) -> Recorder {
    match mode {
        Mode::Closed { concurrency } => {
            load_loops::closed_loop(concurrency, duration, |lane| fire(target, url, lane)).await
        }
        Mode::Open {
            rate,
            max_outstanding,
        } => load_loops::open_loop(rate, duration, max_outstanding, |i| fire(target, url, i)).await,
    }
}

/// Samples the daemon's RSS every 50 ms until stopped; the peak is read at the end.
fn rss_sampler(pid: u32) -> (Rc<Cell<bool>>, Rc<Cell<u64>>) {
    let stop = Rc::new(Cell::new(false));
    let peak = Rc::new(Cell::new(procfs::rss_kib(pid).unwrap_or(0)));
    let (s, p) = (stop.clone(), peak.clone());
    #[expect(
        clippy::disallowed_methods,
        reason = "benchmark harness: the sampler stops itself when the case ends"
    )]
    actix_rt::spawn(async move {
        while !s.get() {
            p.set(p.get().max(procfs::rss_kib(pid).unwrap_or(0)));
            actix_rt::time::sleep(Duration::from_millis(50)).await;
        }
    });
    (stop, peak)
}

/// Names a target for the report.
pub fn target_name(target: &Target<'_>) -> String {
    match target {
        Target::Direct(_) => "direct".into(),
        Target::Daemon { daemon, .. } => daemon.name.into(),
        Target::Proxy { .. } => "proxy".into(),
    }
}

/// Warms up, then measures one case.
pub async fn case(
    round: usize,
    target: &Target<'_>,
    mode: Mode,
    warmup: Duration,
    duration: Duration,
    clock: Clock,
) -> CaseResult {
    let url = match target {
        Target::Direct(_) => String::new(),
        Target::Daemon { daemon, shape, .. } => format!("{}{}", daemon.base, shape.path()),
        Target::Proxy { proxy, shape, .. } => format!("{}{}", proxy.base, shape.path()),
    };
    if !warmup.is_zero() {
        let warm = match mode {
            Mode::Closed { .. } => mode,
            Mode::Open { .. } => Mode::Closed { concurrency: 8 },
        };
        drive(target, &url, warm, warmup).await;
    }
    let workers = worker_pids(target).await;
    let before = snapshot(target, &workers).await;
    let sampler = match target {
        Target::Daemon { daemon, .. } => Some(rss_sampler(daemon.pid)),
        Target::Proxy { proxy, .. } => Some(rss_sampler(proxy.pid)),
        Target::Direct(_) => None,
    };
    let rec = drive(target, &url, mode, duration).await;
    let after = snapshot(target, &workers).await;
    let peak = sampler.map(|(stop, peak)| {
        stop.set(true);
        peak.get()
    });
    result(round, target, mode, &rec, &before, &after, peak, clock)
}

#[expect(
    clippy::too_many_arguments,
    reason = "a case's figures come from this many independent inputs"
)]
fn result(
    round: usize,
    target: &Target<'_>,
    mode: Mode,
    rec: &Recorder,
    before: &Snapshot,
    after: &Snapshot,
    peak: Option<u64>,
    clock: Clock,
) -> CaseResult {
    let n = rec.ok.max(1) as f64;
    let per = |a: u64, b: u64| clock.us(b.saturating_sub(a)) / n;
    // `measured`: a process of its own stands between the load and the workers (codexd or the
    // proxy); `is_daemon`: it is codexd, with logs and metrics to read.
    let (shape, measured, is_daemon, stream) = match target {
        Target::Direct(_) => ("turn".to_owned(), false, false, true),
        Target::Daemon { shape, .. } => (shape.label().to_owned(), true, true, shape.is_stream()),
        Target::Proxy { shape, .. } => (shape.label().to_owned(), true, false, shape.is_stream()),
    };
    let daemon_threads_us = after
        .threads
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                per(before.threads.get(k).copied().unwrap_or(0), *v),
            )
        })
        .filter(|(_, v)| *v > 0.0)
        .collect();
    let (concurrency, rate_rps, mode_name) = match mode {
        Mode::Closed { concurrency } => (concurrency, None, "closed"),
        Mode::Open {
            rate,
            max_outstanding,
        } => (max_outstanding, Some(rate), "open"),
    };
    CaseResult {
        round,
        target: target_name(target),
        shape,
        mode: mode_name,
        concurrency,
        rate_rps,
        requests: rec.ok,
        rejected: rec.rejected,
        errors: rec.errors,
        shed: rec.shed,
        first_error: rec.first_error.clone(),
        duration_s: rec.elapsed.as_secs_f64(),
        throughput_rps: rec.throughput(),
        latency: rec.latency.summary(),
        ttfc: stream.then(|| rec.ttfc.summary()),
        gaps: stream.then(|| rec.gaps.summary()),
        cpu: CpuPerRequest {
            daemon_us: if measured {
                per(before.daemon, after.daemon)
            } else {
                0.0
            },
            workers_us: per(before.workers, after.workers),
            generator_us: per(before.me, after.me),
        },
        daemon_threads_us,
        daemon_rss_peak_kib: peak,
        log_bytes_per_request: is_daemon
            .then(|| after.log_bytes.saturating_sub(before.log_bytes) as f64 / n),
        overhead_metric: is_daemon.then(|| after.overhead.minus(&before.overhead).quantiles()),
        foreign_cpu_pct: {
            let ours = after.daemon.saturating_sub(before.daemon)
                + after.workers.saturating_sub(before.workers)
                + after.me.saturating_sub(before.me);
            let foreign = after
                .machine
                .saturating_sub(before.machine)
                .saturating_sub(ours);
            let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
            clock.us(foreign) / (rec.elapsed.as_secs_f64() * 1e6 * cpus) * 100.0
        },
    }
}
