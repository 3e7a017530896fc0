//! codexd against the minimal proxy of the same run: throughput, daemon CPU per request and
//! latency as per-round ratios or differences (then the median), and issue 13's targets.

use crate::measured_case::CaseResult;
use crate::report::{med, med_paired, TargetRow};
use serde::Serialize;

/// One codexd kind of case beside the proxy's case of the same shape and concurrency.
#[derive(Debug, Clone, Serialize)]
pub struct ProxyRow {
    /// `codexd_full` or `codexd_minimal`.
    pub target: String,
    pub shape: String,
    pub concurrency: usize,
    pub codexd_rps: Option<f64>,
    pub proxy_rps: Option<f64>,
    pub direct_rps: Option<f64>,
    /// codexd ÷ proxy throughput, per round, then the median.
    pub throughput_ratio: Option<f64>,
    pub codexd_cpu_us: Option<f64>,
    pub proxy_cpu_us: Option<f64>,
    /// codexd ÷ proxy process CPU per request (workers not included), per round, median.
    pub cpu_ratio: Option<f64>,
    pub codexd_p50_us: Option<f64>,
    pub proxy_p50_us: Option<f64>,
    /// codexd − proxy latency p50, per round, median.
    pub p50_diff_us: Option<f64>,
    pub codexd_ttfc_p50_us: Option<f64>,
    pub proxy_ttfc_p50_us: Option<f64>,
    /// codexd − proxy time to first content p50 (streams), per round, median.
    pub ttfc_p50_diff_us: Option<f64>,
}

fn ttfc50(x: &CaseResult) -> f64 {
    x.ttfc.as_ref().map_or(f64::NAN, |s| s.p50_us)
}

/// One row per codexd kind, shape and concurrency that has a proxy case beside it.
pub fn rows(cases: &[CaseResult], concurrencies: &[usize]) -> Vec<ProxyRow> {
    let mut out = Vec::new();
    for target in ["codexd_full", "codexd_minimal"] {
        for shape in ["unary", "stream"] {
            for &c in concurrencies {
                let m = |t: &str, f: fn(&CaseResult) -> f64| med(cases, t, shape, c, f);
                let vs = |f: fn(&CaseResult) -> f64, g: fn(f64, f64) -> f64| {
                    med_paired(cases, (target, shape), ("proxy", shape), c, f, g)
                };
                let throughput_ratio = vs(|x| x.throughput_rps, |a, b| a / b);
                if throughput_ratio.is_none() {
                    continue;
                }
                let stream = shape == "stream";
                out.push(ProxyRow {
                    target: target.into(),
                    shape: shape.into(),
                    concurrency: c,
                    codexd_rps: m(target, |x| x.throughput_rps),
                    proxy_rps: m("proxy", |x| x.throughput_rps),
                    direct_rps: med(cases, "direct", "turn", c, |x| x.throughput_rps),
                    throughput_ratio,
                    codexd_cpu_us: m(target, |x| x.cpu.daemon_us),
                    proxy_cpu_us: m("proxy", |x| x.cpu.daemon_us),
                    cpu_ratio: vs(|x| x.cpu.daemon_us, |a, b| a / b),
                    codexd_p50_us: m(target, |x| x.latency.p50_us),
                    proxy_p50_us: m("proxy", |x| x.latency.p50_us),
                    p50_diff_us: vs(|x| x.latency.p50_us, |a, b| a - b),
                    codexd_ttfc_p50_us: m(target, ttfc50).filter(|_| stream),
                    proxy_ttfc_p50_us: m("proxy", ttfc50).filter(|_| stream),
                    ttfc_p50_diff_us: vs(ttfc50, |a, b| a - b).filter(|_| stream),
                });
            }
        }
    }
    out
}

/// The full-telemetry row of one shape and concurrency.
pub fn find<'a>(rows: &'a [ProxyRow], shape: &str, c: usize) -> Option<&'a ProxyRow> {
    rows.iter()
        .find(|r| r.target == "codexd_full" && r.shape == shape && r.concurrency == c)
}

fn fmt(v: Option<f64>, unit: &str) -> String {
    v.map_or("—".into(), |x| format!("{x:.0} {unit}"))
}

fn ratio_row(
    figure: String,
    limit: f64,
    at_least: bool,
    v: (Option<f64>, Option<f64>, Option<f64>),
    unit: &str,
) -> TargetRow {
    let (ratio, codexd, proxy) = v;
    let sign = if at_least { "≥" } else { "≤" };
    TargetRow {
        figure,
        target: format!("{sign} {limit}× proxy"),
        measured: match ratio {
            Some(r) => format!("{r:.2}× ({})", fmt(codexd, unit)),
            None => "—".into(),
        },
        baseline: format!("{} (minimal proxy)", fmt(proxy, unit)),
        ratio: ratio.map_or("—".into(), |r| format!("{r:.2}×")),
        met: ratio.map(|r| if at_least { r >= limit } else { r <= limit }),
        value: ratio.unwrap_or(f64::NAN),
        limit,
    }
}

/// Worst over unary and stream at c=64 of |minimal ÷ full − 1| in throughput, in percent.
pub fn telemetry_change(cases: &[CaseResult]) -> Option<f64> {
    ["unary", "stream"]
        .iter()
        .filter_map(|s| {
            let f = |x: &CaseResult| x.throughput_rps;
            let change = |m: f64, full: f64| (m / full - 1.0).abs() * 100.0;
            med_paired(
                cases,
                ("codexd_minimal", s),
                ("codexd_full", s),
                64,
                f,
                change,
            )
        })
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
}

/// Issue 13's targets: at c=64 throughput ≥ 0.7× and CPU per request ≤ 2× the proxy's,
/// at c=1 TTFC p50 ≤ the proxy's + 80 µs, errors-only telemetry changing throughput ≤ 5%.
pub fn targets(rows: &[ProxyRow], cases: &[CaseResult]) -> Vec<TargetRow> {
    let mut out = Vec::new();
    for (shape, name) in [("unary", "unary"), ("stream", "streamed")] {
        let r = find(rows, shape, 64);
        let thr = r.map_or((None, None, None), |r| {
            (r.throughput_ratio, r.codexd_rps, r.proxy_rps)
        });
        let fig = format!("throughput of {name} requests at c=64 against the minimal proxy");
        out.push(ratio_row(fig, 0.7, true, thr, "req/s"));
        let cpu = r.map_or((None, None, None), |r| {
            (r.cpu_ratio, r.codexd_cpu_us, r.proxy_cpu_us)
        });
        let fig = format!("daemon CPU per {name} request at c=64 against the minimal proxy");
        out.push(ratio_row(fig, 2.0, false, cpu, "µs"));
    }
    let r = find(rows, "stream", 1);
    let diff = r.and_then(|r| r.ttfc_p50_diff_us);
    let (codexd, proxy) = (
        r.and_then(|r| r.codexd_ttfc_p50_us),
        r.and_then(|r| r.proxy_ttfc_p50_us),
    );
    out.push(TargetRow {
        figure: "time to first content at c=1, p50, against the minimal proxy".into(),
        target: "≤ proxy + 80 µs".into(),
        measured: diff.map_or("—".into(), |d| {
            format!("{d:+.0} µs ({})", fmt(codexd, "µs"))
        }),
        baseline: format!("{} (proxy TTFC p50)", fmt(proxy, "µs")),
        ratio: match (codexd, proxy) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
            _ => "—".into(),
        },
        met: diff.map(|d| d <= 80.0),
        value: diff.unwrap_or(f64::NAN),
        limit: 80.0,
    });
    let change = telemetry_change(cases);
    out.push(TargetRow {
        figure: "throughput change with errors-only telemetry (minimal vs full), worst of unary/stream at c=64".into(),
        target: "≤ 5%".into(),
        measured: change.map_or("—".into(), |v| format!("{v:.1} %")),
        baseline: "—".into(),
        ratio: "—".into(),
        met: change.map(|v| v <= 5.0),
        value: change.unwrap_or(f64::NAN),
        limit: 5.0,
    });
    out
}

/// The one-line digest's part: `vs proxy: unary c=64 0.55× thr, 3.1× CPU; stream …; TTFC c=1 +160 µs`.
pub fn one_line(rows: &[ProxyRow]) -> String {
    let x = |v: Option<f64>, d: usize| v.map_or("—".into(), |v| format!("{v:.d$}×"));
    let part = |shape: &str| {
        let r = find(rows, shape, 64);
        format!(
            "{shape} c=64 {} thr, {} CPU",
            x(r.and_then(|r| r.throughput_ratio), 2),
            x(r.and_then(|r| r.cpu_ratio), 1)
        )
    };
    let ttfc = find(rows, "stream", 1).and_then(|r| r.ttfc_p50_diff_us);
    format!(
        "vs proxy: {}; {}; TTFC c=1 {}",
        part("unary"),
        part("stream"),
        ttfc.map_or("—".into(), |d| format!("{d:+.0} µs"))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measured_case::CpuPerRequest;
    use codexd_test_support::latency_hist::Summary;

    fn case(
        target: &str,
        shape: &str,
        c: usize,
        round: usize,
        rps: f64,
        cpu: f64,
        ttfc: f64,
    ) -> CaseResult {
        let summary = |p50_us| Summary {
            p50_us,
            ..Summary::default()
        };
        CaseResult {
            round,
            target: target.into(),
            shape: shape.into(),
            mode: "closed",
            concurrency: c,
            rate_rps: None,
            requests: 100,
            rejected: 0,
            errors: 0,
            shed: 0,
            first_error: None,
            duration_s: 1.0,
            throughput_rps: rps,
            latency: summary(ttfc * 2.0),
            ttfc: (shape == "stream").then(|| summary(ttfc)),
            gaps: None,
            cpu: CpuPerRequest {
                daemon_us: cpu,
                workers_us: 10.0,
                generator_us: 5.0,
            },
            daemon_threads_us: Default::default(),
            daemon_rss_peak_kib: None,
            log_bytes_per_request: None,
            overhead_metric: None,
            foreign_cpu_pct: 0.0,
        }
    }

    /// Three rounds where the host drifts: round 1 is twice as fast for both, so per-round
    /// ratios stay put while ratios of medians would not.
    fn run() -> Vec<CaseResult> {
        let mut v = Vec::new();
        for (round, speed) in [(0, 1.0), (1, 2.0), (2, 1.0)] {
            for shape in ["unary", "stream"] {
                v.push(case(
                    "proxy",
                    shape,
                    64,
                    round,
                    10_000.0 * speed,
                    80.0,
                    300.0,
                ));
                v.push(case(
                    "codexd_full",
                    shape,
                    64,
                    round,
                    5_000.0 * speed,
                    240.0,
                    500.0,
                ));
                v.push(case(
                    "codexd_minimal",
                    shape,
                    64,
                    round,
                    5_500.0 * speed,
                    200.0,
                    450.0,
                ));
                v.push(case(
                    "proxy",
                    shape,
                    1,
                    round,
                    3_000.0,
                    100.0,
                    200.0 / speed,
                ));
                v.push(case(
                    "codexd_full",
                    shape,
                    1,
                    round,
                    2_000.0,
                    300.0,
                    260.0 / speed,
                ));
            }
        }
        v
    }

    #[test]
    fn ratios_are_paired_by_round() {
        let rows = rows(&run(), &[1, 8, 64]);
        let r = find(&rows, "unary", 64).unwrap();
        assert_eq!(r.throughput_ratio, Some(0.5));
        assert_eq!(r.cpu_ratio, Some(3.0));
        assert_eq!(r.codexd_rps, Some(5_000.0));
        assert_eq!(r.ttfc_p50_diff_us, None, "unary has no TTFC");
        // Differences per round: 60, 30, 60 µs; their median is 60.
        assert_eq!(
            find(&rows, "stream", 1).unwrap().ttfc_p50_diff_us,
            Some(60.0)
        );
        // No c=8 cases: no row. The minimal-telemetry daemon has its own rows at c=64.
        assert!(find(&rows, "unary", 8).is_none());
        assert!(rows
            .iter()
            .any(|r| r.target == "codexd_minimal" && r.concurrency == 64));
        assert!(!rows
            .iter()
            .any(|r| r.target == "codexd_minimal" && r.concurrency == 1));
    }

    #[test]
    fn targets_judge_each_direction() {
        let cases = run();
        let t = targets(&rows(&cases, &[1, 64]), &cases);
        let met: Vec<_> = t.iter().map(|r| (r.value, r.met)).collect();
        // throughput 0.5 < 0.7, CPU 3 > 2 (unary, stream), TTFC +60 ≤ 80, telemetry 10% > 5%.
        assert_eq!(met[0], (0.5, Some(false)));
        assert_eq!(met[1], (3.0, Some(false)));
        assert_eq!(met[2], (0.5, Some(false)));
        assert_eq!(met[4], (60.0, Some(true)));
        assert!((met[5].0 - 10.0).abs() < 1e-9 && met[5].1 == Some(false));
        assert_eq!(t[0].measured, "0.50× (5000 req/s)");
        assert_eq!(t[0].baseline, "10000 req/s (minimal proxy)");
        assert_eq!(t[0].target, "≥ 0.7× proxy");
    }

    #[test]
    fn a_fast_codexd_meets_them_and_missing_cases_judge_nothing() {
        let mut cases = run();
        for c in cases.iter_mut().filter(|c| c.target == "codexd_full") {
            (c.throughput_rps, c.cpu.daemon_us) = (c.throughput_rps * 1.5, 150.0);
        }
        let t = targets(&rows(&cases, &[1, 64]), &cases);
        assert_eq!(t[0].met, Some(true), "{:?}", t[0]);
        assert_eq!(t[1].met, Some(true), "{:?}", t[1]);
        let none = targets(&[], &[]);
        assert!(none.iter().all(|r| r.met.is_none()));
        assert_eq!(
            one_line(&rows(&run(), &[1, 64])),
            "vs proxy: unary c=64 0.50× thr, 3.0× CPU; stream c=64 0.50× thr, 3.0× CPU; TTFC c=1 +60 µs"
        );
    }
}
