//! The Markdown summary's memory tables: idle and peak RSS of each daemon, and the idle
//! streams held open (per-stream cost, what is retained after they drop, drain time).

use crate::report::Report;
use std::fmt::Write as _;

/// Idle RSS, peak RSS and the held streams.
pub fn memory(o: &mut String, r: &Report) {
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
