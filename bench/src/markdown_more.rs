//! The second half of the Markdown summary: telemetry cost, the overhead histogram against
//! the black box, the open loop, memory, worker kill, and any problems.

use crate::report::Report;
use std::fmt::Write as _;

pub fn rest(o: &mut String, r: &Report) {
    let _ = writeln!(o, "\n## Cost of telemetry (c=64)\n");
    let _ = writeln!(o, "`full`: logs at info (to a file) and metrics; `minimal`: logs at error, tracing off (metrics cannot be turned off).\n");
    let _ = writeln!(o, "| request | full req/s | minimal req/s | cost | daemon CPU full | minimal | log bytes/req |");
    let _ = writeln!(o, "| --- | --- | --- | --- | --- | --- | --- |");
    for t in &r.telemetry {
        let _ = writeln!(
            o,
            "| {} | {:.0} | {:.0} | {:.1}% | {:.1} µs | {:.1} µs | {:.0} |",
            t.shape,
            t.full_rps,
            t.minimal_rps,
            t.cost * 100.0,
            t.full_daemon_cpu_us,
            t.minimal_daemon_cpu_us,
            t.full_log_bytes_per_request
        );
    }
    let _ = writeln!(
        o,
        "\n## `codexd_proxy_overhead_seconds` against the black box\n"
    );
    let _ = writeln!(o, "Metric: quantiles interpolated in the histogram's buckets, from the difference of two scrapes around each case. Black box: codexd latency minus direct-to-worker latency at the same concurrency (difference of quantiles, per round, then the median).\n");
    let _ = writeln!(
        o,
        "| request | c | metric p50 | metric p99 | black-box p50 | black-box p99 |"
    );
    let _ = writeln!(o, "| --- | --- | --- | --- | --- | --- |");
    for row in &r.overhead {
        let _ = writeln!(
            o,
            "| {} | {} | {:.0} | {:.0} | {:.0} | {:.0} |",
            row.shape,
            row.concurrency,
            row.metric_p50_us,
            row.metric_p99_us,
            row.blackbox_p50_us,
            row.blackbox_p99_us
        );
    }
    let _ = writeln!(
        o,
        "\n## Open loop (fixed arrival rate, latency from the scheduled send)\n"
    );
    let _ = writeln!(o, "| target | request | rate req/s | done | shed | 429 | errors | p50 | p90 | p99 | p99.9 | TTFC p50 | TTFC p99 |");
    let _ = writeln!(
        o,
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for x in &r.open_loop {
        let t = x.ttfc.unwrap_or_default();
        let _ = writeln!(
            o,
            "| {} | {} | {:.0} | {} | {} | {} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
            x.target,
            x.shape,
            x.rate_rps.unwrap_or(0.0),
            x.requests,
            x.shed,
            x.rejected,
            x.errors,
            x.latency.p50_us,
            x.latency.p90_us,
            x.latency.p99_us,
            x.latency.p999_us,
            t.p50_us,
            t.p99_us
        );
    }
    memory(o, r);
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

fn memory(o: &mut String, r: &Report) {
    let mb = |kib: u64| kib as f64 * 1024.0 / 1e6;
    let _ = writeln!(o, "\n## Memory (RSS)\n");
    let _ = writeln!(
        o,
        "| daemon | workers | daemon idle MB | workers idle MB (total) |"
    );
    let _ = writeln!(o, "| --- | --- | --- | --- |");
    for i in &r.idle_rss {
        let _ = writeln!(
            o,
            "| {} | {} | {:.1} | {:.1} |",
            i.daemon,
            i.workers,
            mb(i.daemon_kib),
            mb(i.workers_kib)
        );
    }
    for (name, kib) in &r.peak_rss {
        let _ = writeln!(
            o,
            "\nPeak RSS of `{name}` over its whole life (VmHWM): {:.1} MB.",
            mb(*kib)
        );
    }
    let _ = writeln!(
        o,
        "\nIdle streams held open (first token 15 minutes away, keepalive every 2 s):\n"
    );
    let _ = writeln!(o, "| N | opened | open (s) | daemon before MB | open MB | after drop MB | per stream KB | retained | drain (s) | workers per stream KB |");
    let _ = writeln!(
        o,
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for h in &r.hold {
        let _ = writeln!(
            o,
            "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0}% | {} | {:.1} |",
            h.streams,
            h.opened,
            h.open_s,
            mb(h.daemon_rss_before_kib),
            mb(h.daemon_rss_open_kib),
            mb(h.daemon_rss_after_kib),
            h.per_stream_bytes / 1000.0,
            h.retained_fraction * 100.0,
            h.drain_s.map_or("—".into(), |d| format!("{d:.1}")),
            h.workers_per_stream_bytes / 1000.0
        );
    }
}
