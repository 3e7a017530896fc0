//! The Prometheus text format as `/metrics` serves it: `# TYPE`/`# HELP` per family and
//! every sample with its labels, plus the selections the tests and the benchmark make
//! (`sum(name{filter})`, a histogram's cumulative buckets).

use crate::quantile::histogram_quantile;
use std::collections::BTreeMap;

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

fn parse_labels(s: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        let name: String = chars
            .by_ref()
            .skip_while(|c| *c == ',' || *c == ' ')
            .take_while(|c| *c != '=')
            .collect();
        if name.is_empty() {
            return Ok(out);
        }
        if chars.next() != Some('"') {
            return Err(format!("label {name} without a quoted value"));
        }
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
    /// Parses a scrape; panics (failing the test) on a malformed line.
    pub fn parse(text: &str) -> Scrape {
        Scrape::try_parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Parses a scrape; the first malformed line is an error.
    pub fn try_parse(text: &str) -> Result<Scrape, String> {
        let mut s = Scrape::default();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, ty) = rest
                    .split_once(' ')
                    .ok_or_else(|| format!("TYPE line: {line}"))?;
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
            let (series, value) = line
                .rsplit_once(' ')
                .ok_or_else(|| format!("sample line: {line}"))?;
            let (name, labels) = match series.split_once('{') {
                Some((n, l)) => {
                    let l = l
                        .strip_suffix('}')
                        .ok_or_else(|| format!("closing brace: {line}"))?;
                    (n, parse_labels(l)?)
                }
                None => (series, BTreeMap::new()),
            };
            let value = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v.parse().map_err(|_| format!("bad value in {line}"))?,
            };
            s.samples.push(Sample {
                name: name.into(),
                labels,
                value,
            });
        }
        Ok(s)
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
            let le: f64 = match s.labels.get("le").map(String::as_str) {
                Some("+Inf") => f64::INFINITY,
                Some(v) => v.parse().unwrap_or(f64::NAN),
                None => continue,
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
