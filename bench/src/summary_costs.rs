//! The Markdown summary's cost tables: what telemetry costs at c=64, the proxy-overhead
//! histogram against the black-box difference, and the open loop's latency at fixed rates.

use crate::report::Report;
use std::fmt::Write as _;

/// Telemetry cost at c=64, the overhead histogram beside the black-box figure, the open loop.
pub fn costs(o: &mut String, r: &Report) {
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
}
