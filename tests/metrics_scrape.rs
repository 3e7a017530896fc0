//! Shared helpers for the metrics tests: a Prometheus text-format parser, `histogram_quantile`
//! as Prometheus computes it, `promtool`, and the family/label-set tables of docs/metrics.md.

use crate::support::daemon::Daemon;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One sample line.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed scrape: `# TYPE` per family and every sample.
#[derive(Debug, Default)]
pub struct Scrape {
    pub types: BTreeMap<String, String>,
    pub help: BTreeMap<String, String>,
    pub samples: Vec<Sample>,
}

fn parse_labels(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        let name: String = chars
            .by_ref()
            .skip_while(|c| *c == ',' || *c == ' ')
            .take_while(|c| *c != '=')
            .collect();
        if name.is_empty() {
            return out;
        }
        assert_eq!(
            chars.next(),
            Some('"'),
            "label {name} without a quoted value"
        );
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => break,
                },
                '"' => break,
                c => value.push(c),
            }
        }
        out.insert(name, value);
    }
}

impl Scrape {
    pub fn parse(text: &str) -> Scrape {
        let mut s = Scrape::default();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, ty) = rest.split_once(' ').expect("TYPE line");
                s.types.insert(name.into(), ty.into());
                continue;
            }
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
                s.help.insert(name.into(), help.into());
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect("sample line");
            let (name, labels) = match series.split_once('{') {
                Some((n, l)) => (n, parse_labels(l.strip_suffix('}').expect("closing brace"))),
                None => (series, BTreeMap::new()),
            };
            let value = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
            };
            s.samples.push(Sample {
                name: name.into(),
                labels,
                value,
            });
        }
        s
    }

    /// The family a sample belongs to (`_bucket`, `_sum`, `_count` folded for histograms).
    pub fn family_of(&self, sample: &str) -> String {
        for suffix in ["_bucket", "_sum", "_count"] {
            if let Some(base) = sample.strip_suffix(suffix) {
                if self.types.get(base).is_some_and(|t| t == "histogram") {
                    return base.into();
                }
            }
        }
        sample.into()
    }

    /// Samples named `name` whose labels include every pair of `filter`.
    pub fn select<'a>(
        &'a self,
        name: &'a str,
        filter: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| {
            s.name == name
                && filter
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
    }

    /// `sum(name{filter})`.
    pub fn sum(&self, name: &str, filter: &[(&str, &str)]) -> f64 {
        self.select(name, filter).map(|s| s.value).sum()
    }

    /// The cumulative buckets of a histogram, summed over every series matching `filter`
    /// (`sum by (le) (name_bucket{filter})`), sorted by bound.
    pub fn buckets(&self, family: &str, filter: &[(&str, &str)]) -> Vec<(f64, f64)> {
        let mut by_le: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
        let name = format!("{family}_bucket");
        for s in self.select(&name, filter) {
            let le: f64 = match s.labels["le"].as_str() {
                "+Inf" => f64::INFINITY,
                v => v.parse().unwrap(),
            };
            by_le.entry(le.to_bits()).or_insert((le, 0.0)).1 += s.value;
        }
        let mut v: Vec<(f64, f64)> = by_le.into_values().collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        v
    }

    /// `histogram_quantile(q, sum by (le) (family_bucket{filter}))`, computed the way
    /// Prometheus does it: find the bucket holding rank q·count, interpolate linearly inside
    /// it (from 0 for the first bucket); the `+Inf` bucket answers the highest finite bound.
    pub fn quantile(&self, q: f64, family: &str, filter: &[(&str, &str)]) -> Option<f64> {
        histogram_quantile(q, &self.buckets(family, filter))
    }
}

/// Prometheus' `histogram_quantile` over cumulative `(le, count)` pairs sorted by `le`.
pub fn histogram_quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let &(last_le, total) = buckets.last()?;
    assert!(last_le.is_infinite(), "histogram without a +Inf bucket");
    if total == 0.0 {
        return None;
    }
    let rank = q * total;
    let i = buckets.iter().position(|&(_, c)| c >= rank)?;
    if i == buckets.len() - 1 {
        return Some(buckets.get(i.wrapping_sub(1)).map_or(0.0, |b| b.0));
    }
    let (end, count) = buckets[i];
    let (start, prev) = if i == 0 { (0.0, 0.0) } else { buckets[i - 1] };
    if count == prev {
        return Some(end);
    }
    Some(start + (end - start) * (rank - prev) / (count - prev))
}

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
