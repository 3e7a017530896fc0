//! docs/metrics.md against a live scrape, both ways: every scraped family (process_* too) is
//! documented with its type, label names and buckets, and every documented family is scraped.

use crate::metrics_scrape::{docs, settle, undeclared_label_values, Scrape};
use crate::support::daemon::{Config, Daemon};
use crate::support::http::{self, chat_body, Streaming};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Documented families that may legitimately have no series in this configuration. The
/// only optional bus subscriber is the trace recorder, off here (see docs/metrics.md).
const ABSENT_WITHOUT_TRACING: &[&str] = &["codexd_bus_events_dropped_total"];

/// The "Buckets" table: family → documented bounds.
fn documented_buckets() -> BTreeMap<String, Vec<f64>> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/metrics.md")).unwrap();
    let mut out = BTreeMap::new();
    let mut inside = false;
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            inside = h.trim() == "Buckets";
            continue;
        }
        let cells: Vec<&str> = line.split(" | ").map(str::trim).collect();
        if !inside || cells.len() < 3 || !cells[1].starts_with('`') {
            continue;
        }
        let bounds: Vec<f64> = cells[2]
            .split(", ")
            .map(|b| b.parse().unwrap_or_else(|_| panic!("bad bound {b:?}")))
            .collect();
        for fam in cells[1].split(", ") {
            out.insert(fam.trim_matches('`').to_owned(), bounds.clone());
        }
    }
    out
}

#[test]
fn metrics_docs_match_a_live_scrape_both_ways() {
    let d = Daemon::start_ready(
        Config::default()
            .set("workers.count", "1")
            .set("metrics.key_label", "true")
            .set("metrics.listen", "\"127.0.0.1:0\"")
            // Known usage windows, so the quota gauges (absent while unknown) are scraped.
            .worker_env("CODEXD_DEMO_RATE_LIMITS", "35,10"),
    );
    // A little traffic so the lazily created families have series.
    let mut s = Streaming::open(d.addr, "/v1/chat/completions", &chat_body("hi", true));
    s.read_to_end(Duration::from_secs(10));
    assert_eq!(
        http::post(d.addr, "/v1/chat/completions", &chat_body("hi", false)).status,
        200
    );
    assert_eq!(http::get(d.addr, "/nope").status, 404);
    let m = settle(Duration::from_secs(10), || {
        let m = Scrape::parse(&d.metrics());
        (m.sum("codexd_http_requests_total", &[]) >= 3.0, m)
    });
    let docs = docs();

    // Scrape → docs: every family documented, same type, same label names.
    let mut problems = Vec::new();
    for (family, kind) in &m.types {
        match docs.families.get(family) {
            None => problems.push(format!("{family} ({kind}) is scraped but not documented")),
            Some(doc) if &doc.kind != kind => problems.push(format!(
                "{family}: scraped as {kind}, documented as {}",
                doc.kind
            )),
            Some(_) => {}
        }
        if m.help.get(family).is_none_or(|h| h.trim().is_empty()) {
            problems.push(format!("{family} has no help text"));
        }
    }
    let mut labels: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in &m.samples {
        let entry = labels.entry(m.family_of(&s.name)).or_default();
        entry.extend(s.labels.keys().filter(|k| *k != "le").cloned());
    }
    for (family, names) in &labels {
        if let Some(doc) = docs.families.get(family) {
            let documented: BTreeSet<String> = doc.labels.keys().cloned().collect();
            if &documented != names {
                problems.push(format!(
                    "{family}: scraped labels {names:?}, documented {documented:?}"
                ));
            }
        }
    }
    // Docs → scrape: every documented family exists.
    for family in docs.families.keys() {
        let scraped = m.types.contains_key(family);
        if ABSENT_WITHOUT_TRACING.contains(&family.as_str()) {
            continue;
        }
        if !scraped {
            problems.push(format!("{family} is documented but not in the scrape"));
        }
    }
    for family in ABSENT_WITHOUT_TRACING {
        assert!(
            docs.families.contains_key(*family),
            "{family} must stay documented"
        );
    }
    assert!(
        m.types.keys().any(|f| f.starts_with("process_")),
        "the process collector is missing"
    );
    // Buckets as documented.
    let buckets = documented_buckets();
    for (family, kind) in &m.types {
        if kind != "histogram" {
            continue;
        }
        let Some(want) = buckets.get(family) else {
            problems.push(format!("{family}: buckets not documented"));
            continue;
        };
        let got: BTreeSet<u64> = m
            .select(&format!("{family}_bucket"), &[])
            .filter(|s| s.labels["le"] != "+Inf")
            .map(|s| s.labels["le"].parse::<f64>().unwrap().to_bits())
            .collect();
        let want: BTreeSet<u64> = want.iter().map(|b| b.to_bits()).collect();
        if got != want {
            problems.push(format!("{family}: scraped buckets differ from the docs"));
        }
    }
    for family in buckets.keys() {
        if m.types.get(family).map(String::as_str) != Some("histogram") {
            problems.push(format!(
                "buckets documented for {family}, not a scraped histogram"
            ));
        }
    }
    problems.extend(undeclared_label_values(&m, &docs, &["codex-demo"], 1));
    assert!(
        problems.is_empty(),
        "docs/metrics.md drifted:\n{}",
        problems.join("\n")
    );
}
