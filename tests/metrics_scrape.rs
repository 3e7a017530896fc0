//! Shared helpers for the metrics tests: the harness's Prometheus text-format parser and
//! `histogram_quantile` (re-exported), `promtool`, and the family/label-set tables of
//! docs/metrics.md.

use crate::support::daemon::Daemon;
pub use codexd_test_support::metrics_text::Scrape;
pub use codexd_test_support::quantile::histogram_quantile;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `promtool` from `CODEXD_PROMTOOL` (fails the test when unset: never skipped).
pub fn promtool() -> PathBuf {
    crate::support::prometheus::tool("CODEXD_PROMTOOL")
}

/// Runs `promtool check metrics` on `text`; returns whether it passed and what it said.
pub fn promtool_check(text: &str) -> (bool, String) {
    let mut child = Command::new(promtool())
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

/// Polls `f` until it says done or `timeout` passes; returns the last value either way so
/// the caller's assertion reports what was actually seen.
pub fn settle<T>(timeout: Duration, mut f: impl FnMut() -> (bool, T)) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        let (done, v) = f();
        if done || Instant::now() >= deadline {
            return v;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One documented family.
#[derive(Debug, Clone)]
pub struct DocFamily {
    pub kind: String,
    /// Label name → value-set name.
    pub labels: BTreeMap<String, String>,
}

/// The tables of docs/metrics.md.
#[derive(Debug)]
pub struct Docs {
    pub families: BTreeMap<String, DocFamily>,
    /// Set name → the backticked values of its row (empty for the described sets).
    pub sets: BTreeMap<String, BTreeSet<String>>,
}

fn backticked(cell: &str) -> Vec<String> {
    cell.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_owned())
        .collect()
}

/// Reads docs/metrics.md: the "Families" table and the "Label values" table.
pub fn docs() -> Docs {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/metrics.md");
    let text = std::fs::read_to_string(path).expect("docs/metrics.md exists");
    let mut section = "";
    let mut families = BTreeMap::new();
    let mut sets = BTreeMap::new();
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            section = match h.trim() {
                "Families" => "families",
                "Label values" => "sets",
                _ => "",
            };
            continue;
        }
        let cells: Vec<&str> = line.split(" | ").map(|c| c.trim()).collect();
        if !line.starts_with("| `") || cells.len() < 2 {
            continue;
        }
        let name = backticked(cells[0]).remove(0);
        match section {
            "families" => {
                let kind = cells[1].split_whitespace().next().unwrap_or("").to_owned();
                let mut labels = BTreeMap::new();
                for part in cells[2].split(", ").filter(|p| p.contains('`')) {
                    let label = backticked(part).remove(0);
                    let set = part
                        .split_once('(')
                        .and_then(|(_, r)| r.split_once(')'))
                        .map(|(s, _)| s.trim().to_owned())
                        .unwrap_or_else(|| panic!("{name}: label {label} has no (value set)"));
                    labels.insert(label, set);
                }
                assert!(
                    families
                        .insert(name.clone(), DocFamily { kind, labels })
                        .is_none(),
                    "{name} documented twice"
                );
            }
            "sets" => {
                let values = backticked(cells[1].trim_end_matches('|'));
                sets.insert(name, values.into_iter().collect());
            }
            _ => {}
        }
    }
    assert!(families.len() > 20, "parsed too few families from {path}");
    Docs { families, sets }
}

impl Docs {
    /// Whether `value` is in the declared set `set`, for a daemon with this catalogue and
    /// slot count.
    pub fn allows(&self, set: &str, value: &str, models: &[&str], slots: usize) -> bool {
        match set {
            "model" => value == "other" || models.contains(&value),
            "slot" => value.parse::<usize>().is_ok_and(|s| s < slots),
            "build" => !value.is_empty(),
            _ => self
                .sets
                .get(set)
                .unwrap_or_else(|| panic!("undeclared value set {set}"))
                .contains(value),
        }
    }
}

/// Every label value of `scrape` that is outside its documented set, as readable lines.
pub fn undeclared_label_values(
    scrape: &Scrape,
    docs: &Docs,
    models: &[&str],
    slots: usize,
) -> Vec<String> {
    let mut bad = BTreeSet::new();
    for s in &scrape.samples {
        let family = scrape.family_of(&s.name);
        let Some(doc) = docs.families.get(&family) else {
            bad.insert(format!("{family}: not documented"));
            continue;
        };
        for (label, value) in &s.labels {
            if label == "le" && doc.kind == "histogram" {
                continue;
            }
            match doc.labels.get(label) {
                None => {
                    bad.insert(format!("{family}: undocumented label {label}"));
                }
                Some(set) if !docs.allows(set, value, models, slots) => {
                    bad.insert(format!("{family}{{{label}={value:?}}} outside set {set}"));
                }
                Some(_) => {}
            }
        }
    }
    bad.into_iter().collect()
}

/// Bounded wait used by the metrics tests.
pub const WAIT: Duration = Duration::from_secs(10);

/// One scrape of the daemon, parsed.
pub fn scrape(d: &Daemon) -> Scrape {
    Scrape::parse(&d.metrics())
}

/// Waits until `n` `stream_ended` events with this outcome have been logged.
pub fn wait_stream_ended(d: &Daemon, outcome: &str, n: usize) {
    let seen = settle(WAIT, || {
        let seen = d
            .events_named("stream_ended")
            .iter()
            .filter(|e| e["outcome"] == outcome)
            .count();
        (seen >= n, seen)
    });
    assert!(seen >= n, "expected {n} stream_ended {outcome}, saw {seen}");
}

/// Waits until `n` streams have started.
pub fn wait_started(d: &Daemon, n: usize) {
    let seen = settle(WAIT, || {
        let s = d.events_named("stream_started").len();
        (s >= n, s)
    });
    assert!(seen >= n, "expected {n} stream_started, saw {seen}");
}

#[test]
fn metrics_quantile_helper_matches_prometheus_semantics() {
    // Buckets 0.1, 0.2, 0.4, +Inf with 10 observations in (0.2, 0.4].
    let b = [(0.1, 0.0), (0.2, 0.0), (0.4, 10.0), (f64::INFINITY, 10.0)];
    assert!((histogram_quantile(0.5, &b).unwrap() - 0.3).abs() < 1e-9);
    assert!((histogram_quantile(0.99, &b).unwrap() - 0.398).abs() < 1e-9);
    // Everything beyond the last finite bound answers that bound.
    let inf = [(0.1, 0.0), (f64::INFINITY, 4.0)];
    assert_eq!(histogram_quantile(0.5, &inf), Some(0.1));
    // The first bucket interpolates from 0.
    assert_eq!(
        histogram_quantile(0.5, &[(1.0, 2.0), (f64::INFINITY, 2.0)]),
        Some(0.5)
    );
    assert_eq!(
        histogram_quantile(0.5, &[(1.0, 0.0), (f64::INFINITY, 0.0)]),
        None
    );
    let s = Scrape::parse(
        "# TYPE x histogram\nx_bucket{a=\"q\\\"z\",le=\"+Inf\"} 3\nx_sum{a=\"q\\\"z\"} 1.5\n",
    );
    assert_eq!(s.samples[0].labels["a"], "q\"z");
    assert_eq!(s.family_of("x_sum"), "x");
    assert_eq!(s.sum("x_bucket", &[("le", "+Inf")]), 3.0);
}
