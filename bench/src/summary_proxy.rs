//! The Markdown summary's table of codexd against the minimal proxy (`codexd-min-proxy`),
//! beside the direct-to-worker baseline, from [`crate::vs_proxy::rows`].

use crate::report::Report;
use std::fmt::Write as _;

fn f0(v: Option<f64>) -> String {
    v.map_or("—".into(), |x| format!("{x:.0}"))
}

fn f1(v: Option<f64>) -> String {
    v.map_or("—".into(), |x| format!("{x:.1}"))
}

fn x2(v: Option<f64>) -> String {
    v.map_or("—".into(), |x| format!("{x:.2}×"))
}

fn signed(v: Option<f64>) -> String {
    v.map_or("—".into(), |x| format!("{x:+.0}"))
}

/// The proxy table.
pub fn proxy(o: &mut String, r: &Report) {
    let _ = writeln!(o, "\n## Against the minimal proxy (same run)\n");
    let _ = writeln!(o, "`proxy` is `codexd-min-proxy`: actix-web with 2 HTTP workers over the same two demo workers (32 turns each, thread/start + turn/start per request, one reader task per worker, batched stdin writes), no logging, no metrics. Its cases alternate with codexd_full's each round. Ratios and differences are per round, then the median; CPU is the process's own (workers apart).\n");
    let _ = writeln!(o, "| codexd | request | c | codexd req/s | proxy req/s | direct req/s | throughput ratio | codexd CPU µs/req | proxy CPU µs/req | CPU ratio | p50 codexd | p50 proxy | p50 added | TTFC p50 codexd | TTFC p50 proxy | TTFC added |");
    let _ = writeln!(o, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for p in &r.vs_proxy {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            p.target.trim_start_matches("codexd_"),
            p.shape,
            p.concurrency,
            f0(p.codexd_rps),
            f0(p.proxy_rps),
            f0(p.direct_rps),
            x2(p.throughput_ratio),
            f1(p.codexd_cpu_us),
            f1(p.proxy_cpu_us),
            x2(p.cpu_ratio),
            f0(p.codexd_p50_us),
            f0(p.proxy_p50_us),
            signed(p.p50_diff_us),
            f0(p.codexd_ttfc_p50_us),
            f0(p.proxy_ttfc_p50_us),
            signed(p.ttfc_p50_diff_us),
        );
    }
}
