//! The report: every measured case, the medians across rounds, and the targets next
//! to the same-run baseline (figure, target, measured, baseline, ratio, met?).

use crate::held_streams::HoldResult;
use crate::measured_case::CaseResult;
use crate::procfs::Machine;
use crate::worker_kill::KillResult;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub rounds: usize,
    pub warmup_s: f64,
    pub case_s: f64,
    pub open_loop_s: f64,
    pub concurrencies: Vec<usize>,
    pub hold_streams: Vec<usize>,
    pub kills: usize,
    pub codexd: String,
    pub proxy: String,
    pub config: String,
    pub revision: String,
    pub nofile_limit: u64,
    pub daemon_env: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdleRss {
    pub daemon: String,
    pub workers: usize,
    pub daemon_kib: u64,
    pub workers_kib: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TelemetryCost {
    pub shape: String,
    pub full_rps: f64,
    pub minimal_rps: f64,
    /// 1 − full/minimal: the share of throughput that logs at info cost.
    pub cost: f64,
    pub full_daemon_cpu_us: f64,
    pub minimal_daemon_cpu_us: f64,
    pub full_log_bytes_per_request: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct OverheadRow {
    pub shape: String,
    pub concurrency: usize,
    pub metric_p50_us: f64,
    pub metric_p99_us: f64,
    pub blackbox_p50_us: f64,
    pub blackbox_p99_us: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetRow {
    pub figure: String,
    pub target: String,
    pub measured: String,
    pub baseline: String,
    pub ratio: String,
    pub met: Option<bool>,
    pub value: f64,
    pub limit: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub mode: &'static str,
    pub started_unix: u64,
    pub wall_s: f64,
    pub machine: Machine,
    pub settings: Settings,
    pub idle_rss: Vec<IdleRss>,
    /// VmHWM of each daemon when it was stopped: its peak RSS over the whole run, in KiB.
    pub peak_rss: Vec<(String, u64)>,
    pub cases: Vec<CaseResult>,
    pub open_loop: Vec<CaseResult>,
    pub hold: Vec<HoldResult>,
    pub kill: Vec<KillResult>,
    pub telemetry: Vec<TelemetryCost>,
    pub overhead: Vec<OverheadRow>,
    /// codexd against the minimal proxy, every shape and concurrency.
    pub vs_proxy: Vec<crate::vs_proxy::ProxyRow>,
    pub targets: Vec<TargetRow>,
    pub problems: Vec<String>,
}

/// The median of some values (the mean of the middle two for an even count).
pub fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

/// Closed-loop cases of one kind, one per round.
pub fn select<'a>(
    cases: &'a [CaseResult],
    target: &'a str,
    shape: &'a str,
    c: usize,
) -> impl Iterator<Item = &'a CaseResult> + 'a {
    cases.iter().filter(move |x| {
        x.mode == "closed" && x.target == target && x.shape == shape && x.concurrency == c
    })
}

/// Median over rounds of one figure of one kind of case.
pub fn med(
    cases: &[CaseResult],
    target: &str,
    shape: &str,
    c: usize,
    f: impl Fn(&CaseResult) -> f64,
) -> Option<f64> {
    median(select(cases, target, shape, c).map(f).collect())
}

/// Median over rounds of `f(codexd case) - g(direct case)` from the same round.
pub fn med_diff(
    cases: &[CaseResult],
    target: &str,
    shape: &str,
    c: usize,
    f: impl Fn(&CaseResult) -> f64,
) -> Option<f64> {
    med_paired(cases, (target, shape), ("direct", "turn"), c, f, |a, b| {
        a - b
    })
}

/// Median over rounds of `combine(f(case), f(baseline case of the same round))`: pairing by
/// round keeps drift on a shared host out of the comparison.
pub fn med_paired(
    cases: &[CaseResult],
    (target, shape): (&str, &str),
    (base, base_shape): (&str, &str),
    c: usize,
    f: impl Fn(&CaseResult) -> f64,
    combine: fn(f64, f64) -> f64,
) -> Option<f64> {
    let values = select(cases, target, shape, c)
        .filter_map(|x| {
            let d = select(cases, base, base_shape, c).find(|d| d.round == x.round)?;
            Some(combine(f(x), f(d)))
        })
        .collect();
    median(values)
}

pub fn telemetry(cases: &[CaseResult], c: usize) -> Vec<TelemetryCost> {
    ["unary", "stream"]
        .iter()
        .filter_map(|shape| {
            let full = med(cases, "codexd_full", shape, c, |x| x.throughput_rps)?;
            let minimal = med(cases, "codexd_minimal", shape, c, |x| x.throughput_rps)?;
            Some(TelemetryCost {
                shape: (*shape).into(),
                full_rps: full,
                minimal_rps: minimal,
                cost: 1.0 - full / minimal,
                full_daemon_cpu_us: med(cases, "codexd_full", shape, c, |x| x.cpu.daemon_us)?,
                minimal_daemon_cpu_us: med(cases, "codexd_minimal", shape, c, |x| x.cpu.daemon_us)?,
                full_log_bytes_per_request: med(cases, "codexd_full", shape, c, |x| {
                    x.log_bytes_per_request.unwrap_or(0.0)
                })?,
            })
        })
        .collect()
}

pub fn overhead(cases: &[CaseResult], concurrencies: &[usize]) -> Vec<OverheadRow> {
    let mut rows = Vec::new();
    for shape in ["unary", "stream"] {
        for &c in concurrencies {
            let metric = |f: fn(&crate::overhead_metric::BucketQuantiles) -> f64| {
                med(cases, "codexd_full", shape, c, |x| {
                    x.overhead_metric.as_ref().map_or(f64::NAN, f)
                })
            };
            let (Some(m50), Some(m99)) = (metric(|q| q.p50_us), metric(|q| q.p99_us)) else {
                continue;
            };
            let (Some(b50), Some(b99)) = (
                med_diff(cases, "codexd_full", shape, c, |x| x.latency.p50_us),
                med_diff(cases, "codexd_full", shape, c, |x| x.latency.p99_us),
            ) else {
                continue;
            };
            rows.push(OverheadRow {
                shape: shape.into(),
                concurrency: c,
                metric_p50_us: m50,
                metric_p99_us: m99,
                blackbox_p50_us: b50,
                blackbox_p99_us: b99,
            });
        }
    }
    rows
}
