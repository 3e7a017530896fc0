//! The Markdown summary of a report (the targets, closed-loop throughput and latency,
//! streaming, CPU per request, worker kill, problems; the cost and memory tables come from
//! `summary_costs` and `summary_memory`), and its one-line digest.

use crate::report::{med, med_diff, Report};
use codexd_test_support::latency_hist::Summary;
use std::fmt::Write as _;

fn f0(v: Option<f64>) -> String {
    v.map_or("—".into(), |x| format!("{x:.0}"))
}

fn f1(v: Option<f64>) -> String {
    v.map_or("—".into(), |x| format!("{x:.1}"))
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "—".into(),
    }
}

fn met(m: Option<bool>) -> &'static str {
    match m {
        Some(true) => "yes",
        Some(false) => "**no**",
        None => "—",
    }
}

/// One line: the headline figures and the targets met.
pub fn one_line(r: &Report, report_path: &str) -> String {
    let c = &r.cases;
    let thr = |t: &str, s: &str| med(c, t, s, 64, |x| x.throughput_rps);
    let met = r.targets.iter().filter(|t| t.met == Some(true)).count();
    let judged = r.targets.iter().filter(|t| t.met.is_some()).count();
    let cpu = |s: &str| med(c, "codexd_full", s, 64, |x| x.cpu.daemon_us);
    let ttfc = med_diff(c, "codexd_full", "stream", 1, |x| {
        x.ttfc.as_ref().map_or(f64::NAN, |s| s.p50_us)
    });
    format!(
        "codexd-bench {}: stream c=64 {} req/s (direct {}, {}), unary c=64 {} req/s; daemon CPU/req unary {} µs, stream {} µs; added TTFC p50 c=1 {} µs; {}; targets met {met}/{judged}; {} problem(s); {report_path} ({:.0} s)",
        r.mode,
        f0(thr("codexd_full", "stream")),
        f0(thr("direct", "turn")),
        ratio(thr("codexd_full", "stream"), thr("direct", "turn")),
        f0(thr("codexd_full", "unary")),
        f0(cpu("unary")),
        f0(cpu("stream")),
        f0(ttfc),
        crate::vs_proxy::one_line(&r.vs_proxy),
        r.problems.len(),
        r.wall_s,
    )
}

/// The whole summary.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    let c = &r.cases;
    let s = &r.settings;
    let _ = writeln!(o, "# codexd benchmark ({} mode)\n", r.mode);
    let _ = writeln!(
        o,
        "Machine: {} CPUs ({}), {:.1} GiB RAM, kernel {}. Revision `{}`. {} round(s) of {:.1} s per case after {:.1} s of warm-up; medians across rounds. Latencies in µs; memory in decimal MB/KB.\n",
        r.machine.nproc,
        r.machine.cpu_model,
        r.machine.mem_total_kib as f64 / 1024.0 / 1024.0,
        r.machine.kernel,
        s.revision,
        s.rounds,
        s.case_s,
        s.warmup_s
    );
    let foreign: Vec<f64> = c.iter().map(|x| x.foreign_cpu_pct).collect();
    let max_foreign = foreign.iter().copied().fold(0.0, f64::max);
    let _ = writeln!(
        o,
        "Other processes on the host used a median {}% (at most {max_foreign:.0}%) of the machine's CPU during the cases; figures from a busy shared host are noisier and slower.\n",
        f0(crate::report::median(foreign)),
    );
    let _ = writeln!(o, "## Targets\n");
    let _ = writeln!(
        o,
        "| figure | target | measured | baseline (same run) | ratio | met? |"
    );
    let _ = writeln!(o, "| --- | --- | --- | --- | --- | --- |");
    for t in &r.targets {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} |",
            t.figure,
            t.target,
            t.measured,
            t.baseline,
            t.ratio,
            met(t.met)
        );
    }
    let _ = writeln!(o, "\n## Throughput and latency (closed loop)\n");
    let _ = writeln!(o, "`direct` is the demo worker driven over its pipes by the harness (thread/start + turn/start to turn/completed); `codexd` is the daemon with logs at info and metrics on.\n");
    let _ = writeln!(o, "| request | c | codexd req/s | direct req/s | ratio | codexd p50 | p90 | p99 | p99.9 | direct p50 | p90 | p99 | p99.9 | p50 ratio | errors |");
    let _ = writeln!(o, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for shape in ["unary", "stream"] {
        for &n in &s.concurrencies {
            let q = |t: &str, sh: &str, f: fn(&crate::measured_case::CaseResult) -> f64| {
                med(c, t, sh, n, f)
            };
            let (ct, dt) = (
                q("codexd_full", shape, |x| x.throughput_rps),
                q("direct", "turn", |x| x.throughput_rps),
            );
            let errors: u64 = crate::report::select(c, "codexd_full", shape, n)
                .map(|x| x.errors)
                .sum();
            let _ = writeln!(
                o,
                "| {shape} | {n} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {errors} |",
                f0(ct),
                f0(dt),
                ratio(ct, dt),
                f0(q("codexd_full", shape, |x| x.latency.p50_us)),
                f0(q("codexd_full", shape, |x| x.latency.p90_us)),
                f0(q("codexd_full", shape, |x| x.latency.p99_us)),
                f0(q("codexd_full", shape, |x| x.latency.p999_us)),
                f0(q("direct", "turn", |x| x.latency.p50_us)),
                f0(q("direct", "turn", |x| x.latency.p90_us)),
                f0(q("direct", "turn", |x| x.latency.p99_us)),
                f0(q("direct", "turn", |x| x.latency.p999_us)),
                ratio(
                    q("codexd_full", shape, |x| x.latency.p50_us),
                    q("direct", "turn", |x| x.latency.p50_us)
                ),
            );
        }
    }
    crate::summary_proxy::proxy(&mut o, r);
    streaming(&mut o, r);
    cpu(&mut o, r);
    crate::summary_costs::costs(&mut o, r);
    crate::summary_memory::memory(&mut o, r);
    kill_and_problems(&mut o, r);
    o
}

fn streaming(o: &mut String, r: &Report) {
    let c = &r.cases;
    let _ = writeln!(
        o,
        "\n## Streaming: time to first content and gaps between chunks\n"
    );
    let _ = writeln!(o, "TTFC runs from the request's send to the first frame with content (direct: to the first `item/agentMessage/delta`). Gaps are between consecutive content frames as the client reads them. `added` is codexd minus direct, per round, then the median.\n");
    let _ = writeln!(o, "| c | codexd TTFC p50 | p99 | direct TTFC p50 | p99 | added p50 | added p99 | codexd gap p50 | p99 | direct gap p50 | p99 |");
    let _ = writeln!(
        o,
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for &n in &r.settings.concurrencies {
        let t = |t: &str, sh: &str, f: fn(&Summary) -> f64| {
            med(c, t, sh, n, |x| x.ttfc.as_ref().map_or(f64::NAN, f))
        };
        let g = |t: &str, sh: &str, f: fn(&Summary) -> f64| {
            med(c, t, sh, n, |x| x.gaps.as_ref().map_or(f64::NAN, f))
        };
        let added = |f: fn(&Summary) -> f64| {
            med_diff(c, "codexd_full", "stream", n, |x| {
                x.ttfc.as_ref().map_or(f64::NAN, f)
            })
        };
        let _ = writeln!(
            o,
            "| {n} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            f0(t("codexd_full", "stream", |s| s.p50_us)),
            f0(t("codexd_full", "stream", |s| s.p99_us)),
            f0(t("direct", "turn", |s| s.p50_us)),
            f0(t("direct", "turn", |s| s.p99_us)),
            f0(added(|s| s.p50_us)),
            f0(added(|s| s.p99_us)),
            f1(g("codexd_full", "stream", |s| s.p50_us)),
            f1(g("codexd_full", "stream", |s| s.p99_us)),
            f1(g("direct", "turn", |s| s.p50_us)),
            f1(g("direct", "turn", |s| s.p99_us)),
        );
    }
}

fn cpu(o: &mut String, r: &Report) {
    let c = &r.cases;
    let _ = writeln!(
        o,
        "\n## CPU per request (µs, from /proc/<pid>/stat utime+stime)\n"
    );
    let _ = writeln!(o, "| request | c | daemon | workers (via codexd) | workers (direct) | generator (codexd run) | generator (direct run) | log bytes/req |");
    let _ = writeln!(o, "| --- | --- | --- | --- | --- | --- | --- | --- |");
    for shape in ["unary", "stream"] {
        for &n in &r.settings.concurrencies {
            let q = |t: &str, sh: &str, f: fn(&crate::measured_case::CaseResult) -> f64| {
                med(c, t, sh, n, f)
            };
            let _ = writeln!(
                o,
                "| {shape} | {n} | {} | {} | {} | {} | {} | {} |",
                f1(q("codexd_full", shape, |x| x.cpu.daemon_us)),
                f1(q("codexd_full", shape, |x| x.cpu.workers_us)),
                f1(q("direct", "turn", |x| x.cpu.workers_us)),
                f1(q("codexd_full", shape, |x| x.cpu.generator_us)),
                f1(q("direct", "turn", |x| x.cpu.generator_us)),
                f0(q("codexd_full", shape, |x| x
                    .log_bytes_per_request
                    .unwrap_or(0.0))),
            );
        }
    }
    let _ = writeln!(
        o,
        "\nDaemon CPU per request by thread at c=64 (µs, median of rounds):\n"
    );
    let _ = writeln!(o, "| request | thread | µs/request |");
    let _ = writeln!(o, "| --- | --- | --- |");
    for shape in ["unary", "stream"] {
        let mut names: Vec<String> = crate::report::select(c, "codexd_full", shape, 64)
            .flat_map(|x| x.daemon_threads_us.keys().cloned())
            .collect();
        names.sort();
        names.dedup();
        let mut rows: Vec<(String, f64)> = names
            .into_iter()
            .filter_map(|name| {
                let v = med(c, "codexd_full", shape, 64, |x| {
                    x.daemon_threads_us.get(&name).copied().unwrap_or(0.0)
                })?;
                Some((name, v))
            })
            .collect();
        rows.sort_by(|a, b| b.1.total_cmp(&a.1));
        for (name, v) in rows {
            let _ = writeln!(o, "| {shape} | `{name}` | {v:.1} |");
        }
    }
}

/// The worker-kill timings and any problems of the run.
fn kill_and_problems(o: &mut String, r: &Report) {
    let _ = writeln!(o, "\n## Worker kill → /readyz (one-worker daemon)\n");
    let _ = writeln!(
        o,
        "| kill | → 503 (ms) | → 200 (ms) | polls | poll interval (µs) |"
    );
    let _ = writeln!(o, "| --- | --- | --- | --- | --- |");
    for (i, k) in r.kill.iter().enumerate() {
        let _ = writeln!(
            o,
            "| {} | {:.1} | {:.1} | {} | {:.0} |",
            i + 1,
            k.to_503_ms,
            k.to_200_ms,
            k.polls,
            k.poll_interval_us
        );
    }
    if !r.problems.is_empty() {
        let _ = writeln!(o, "\n## Problems\n");
        for p in &r.problems {
            let _ = writeln!(o, "- {p}");
        }
    }
}
