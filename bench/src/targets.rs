//! The targets, each computed from the run's medians and set beside its baseline.
//! Memory is in decimal units (1 MB = 10^6 bytes, 1 KB = 10^3 bytes), as the targets are.

use crate::report::{med, med_diff, median, Report, TargetRow};
use codexd_test_support::latency_hist::Summary;

fn fmt(v: Option<f64>, unit: &str) -> String {
    match v {
        Some(x) if x.abs() >= 100.0 => format!("{x:.0} {unit}"),
        Some(x) => format!("{x:.1} {unit}"),
        None => "—".into(),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "—".into(),
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "a target row is this many independent figures"
)]
fn row(
    figure: &str,
    target: &str,
    limit: f64,
    value: Option<f64>,
    unit: &str,
    baseline: Option<f64>,
    baseline_label: &str,
    extra_ok: bool,
) -> TargetRow {
    TargetRow {
        figure: figure.into(),
        target: target.into(),
        measured: fmt(value, unit),
        baseline: match baseline {
            Some(_) => format!("{} {baseline_label}", fmt(baseline, unit)),
            None => "—".into(),
        },
        ratio: ratio(value, baseline),
        met: value.map(|v| v <= limit && extra_ok),
        value: value.unwrap_or(f64::NAN),
        limit,
    }
}

const MB: f64 = 1e6 / 1024.0;

pub fn compute(r: &Report) -> Vec<TargetRow> {
    let cases = &r.cases;
    let cpu = |shape: &str| med(cases, "codexd_full", shape, 64, |x| x.cpu.daemon_us);
    let direct_worker_cpu = med(cases, "direct", "turn", 64, |x| x.cpu.workers_us);
    let added = |f: fn(&Summary) -> f64| {
        med_diff(cases, "codexd_full", "stream", 1, |x| {
            x.ttfc.as_ref().map_or(f64::NAN, f)
        })
    };
    let direct_ttfc = |f: fn(&Summary) -> f64| {
        med(cases, "direct", "turn", 1, |x| {
            x.ttfc.as_ref().map_or(f64::NAN, f)
        })
    };
    let idle = median(
        r.idle_rss
            .iter()
            .filter(|i| i.workers == 2)
            .map(|i| i.daemon_kib as f64 / MB)
            .collect(),
    );
    let worker_idle = median(
        r.idle_rss
            .iter()
            .filter(|i| i.workers > 0)
            .map(|i| i.workers_kib as f64 / i.workers as f64 / MB)
            .collect(),
    );
    let peak64 = median(
        (0..r.settings.rounds)
            .filter_map(|round| {
                cases
                    .iter()
                    .filter(|x| x.round == round && x.target == "codexd_full")
                    .filter(|x| x.concurrency == 64 && x.mode == "closed")
                    .filter_map(|x| x.daemon_rss_peak_kib)
                    .max()
            })
            .map(|k| k as f64 / MB)
            .collect(),
    );
    let per_stream = r
        .hold
        .iter()
        .map(|h| h.per_stream_bytes / 1000.0)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    let worker_per_stream = r
        .hold
        .iter()
        .map(|h| h.workers_per_stream_bytes / 1000.0)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    let returned = r
        .hold
        .iter()
        .all(|h| h.retained_fraction <= 0.1 && h.opened == h.streams);
    let telemetry = r
        .telemetry
        .iter()
        .map(|t| t.cost * 100.0)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    let kill503 = median(r.kill.iter().map(|k| k.to_503_ms).collect());
    let kill200 = median(r.kill.iter().map(|k| k.to_200_ms).collect());
    let mut rows = vec![
        row(
            "daemon CPU per unary request at c=64",
            "≤ 40 µs",
            40.0,
            cpu("unary"),
            "µs",
            direct_worker_cpu,
            "(worker CPU per direct turn)",
            true,
        ),
        row(
            "daemon CPU per streamed request at c=64 (5 chunks)",
            "≤ 60 µs",
            60.0,
            cpu("stream"),
            "µs",
            direct_worker_cpu,
            "(worker CPU per direct turn)",
            true,
        ),
        row(
            "added time to first content at c=1, p50",
            "≤ 150 µs",
            150.0,
            added(|s| s.p50_us),
            "µs",
            direct_ttfc(|s| s.p50_us),
            "(direct TTFC p50)",
            true,
        ),
        row(
            "added time to first content at c=1, p99",
            "≤ 1 ms",
            1000.0,
            added(|s| s.p99_us),
            "µs",
            direct_ttfc(|s| s.p99_us),
            "(direct TTFC p99)",
            true,
        ),
        row(
            "RSS idle (daemon only)",
            "≤ 15 MB",
            15.0,
            idle,
            "MB",
            worker_idle,
            "(one idle demo worker)",
            true,
        ),
        row(
            "RSS at c=64 (daemon peak)",
            "≤ 40 MB",
            40.0,
            peak64,
            "MB",
            None,
            "",
            true,
        ),
        row(
            "RSS per open idle stream (worst N), returned after drop",
            "≤ 20 KB, returned",
            20.0,
            per_stream,
            "KB",
            worker_per_stream,
            "(workers, per stream)",
            returned,
        ),
        row(
            "telemetry cost (full vs minimal), worst of unary/stream at c=64",
            "≤ 10% of throughput",
            10.0,
            telemetry,
            "%",
            None,
            "",
            true,
        ),
        row(
            "worker kill → /readyz 503",
            "≤ 100 ms",
            100.0,
            kill503,
            "ms",
            None,
            "",
            true,
        ),
    ];
    let mut back = row(
        "worker kill → /readyz 200 again (restart backoff included)",
        "— (reported)",
        f64::INFINITY,
        kill200,
        "ms",
        None,
        "",
        true,
    );
    back.met = None;
    rows.push(back);
    rows.extend(crate::vs_proxy::targets(&r.vs_proxy, cases));
    rows
}
