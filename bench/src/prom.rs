//! Reading a `/metrics` scrape: one gauge's value, and one histogram's buckets, whose
//! difference between two scrapes gives the quantiles of just the requests in between
//! (interpolated within a bucket, as Prometheus' `histogram_quantile` does).

use serde::Serialize;

/// Cumulative bucket counts of one histogram series: `(le, count)`, `+Inf` last.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Buckets(pub Vec<(f64, f64)>);

/// Quantiles read from buckets, in microseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct BucketQuantiles {
    pub n: f64,
    pub p50_us: f64,
    pub p99_us: f64,
}

/// The buckets of `name` whose labels contain `label` (e.g. `route="/v1/chat/completions"`).
pub fn buckets(text: &str, name: &str, label: &str) -> Buckets {
    let prefix = format!("{name}_bucket{{");
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(prefix.as_str()) else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once("} ") else {
            continue;
        };
        if !labels.contains(label) {
            continue;
        }
        let Some(le) = labels
            .split(',')
            .find_map(|kv| kv.trim().strip_prefix("le=\""))
            .map(|v| v.trim_end_matches('"'))
        else {
            continue;
        };
        let le = if le == "+Inf" {
            f64::INFINITY
        } else {
            le.parse().unwrap_or(f64::NAN)
        };
        if let Ok(v) = value.trim().parse::<f64>() {
            out.push((le, v));
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    Buckets(out)
}

/// The value of an unlabelled series.
pub fn value(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

impl Buckets {
    /// `self - earlier`, bucket by bucket.
    pub fn minus(&self, earlier: &Buckets) -> Buckets {
        Buckets(
            self.0
                .iter()
                .map(|(le, c)| {
                    let before = earlier
                        .0
                        .iter()
                        .find(|(l, _)| l == le)
                        .map_or(0.0, |(_, c)| *c);
                    (*le, c - before)
                })
                .collect(),
        )
    }

    /// Quantile `q` in seconds; the upper bound of the last finite bucket when it falls in +Inf.
    pub fn quantile(&self, q: f64) -> f64 {
        let Some(&(_, total)) = self.0.last() else {
            return 0.0;
        };
        if total <= 0.0 {
            return 0.0;
        }
        let rank = q * total;
        let mut lower = (0.0, 0.0);
        for &(le, c) in &self.0 {
            if c >= rank {
                if le.is_infinite() {
                    return lower.0;
                }
                let in_bucket = c - lower.1;
                if in_bucket <= 0.0 {
                    return le;
                }
                return lower.0 + (le - lower.0) * (rank - lower.1) / in_bucket;
            }
            lower = (le, c);
        }
        lower.0
    }

    pub fn quantiles(&self) -> BucketQuantiles {
        BucketQuantiles {
            n: self.0.last().map_or(0.0, |(_, c)| *c),
            p50_us: self.quantile(0.5) * 1e6,
            p99_us: self.quantile(0.99) * 1e6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRAPE: &str = r#"# TYPE codexd_proxy_overhead_seconds histogram
codexd_proxy_overhead_seconds_bucket{route="/v1/chat/completions",le="0.0001"} 10
codexd_proxy_overhead_seconds_bucket{route="/v1/chat/completions",le="0.001"} 90
codexd_proxy_overhead_seconds_bucket{route="/v1/chat/completions",le="+Inf"} 100
codexd_proxy_overhead_seconds_bucket{route="/v1/responses",le="0.0001"} 5
codexd_streams_active 7
"#;

    #[test]
    fn reads_one_series_and_interpolates() {
        let b = buckets(
            SCRAPE,
            "codexd_proxy_overhead_seconds",
            "/v1/chat/completions",
        );
        assert_eq!(b.0.len(), 3);
        // Rank 50 is the 40th of 80 values in (0.0001, 0.001].
        let p50 = b.quantile(0.5);
        assert!((p50 - 0.00055).abs() < 1e-9, "{p50}");
        assert_eq!(b.quantile(0.99), 0.001);
        assert_eq!(value(SCRAPE, "codexd_streams_active"), Some(7.0));
    }

    #[test]
    fn differences_cover_only_the_requests_in_between() {
        let before = buckets(
            SCRAPE,
            "codexd_proxy_overhead_seconds",
            "/v1/chat/completions",
        );
        let after = Buckets(vec![(0.0001, 10.0), (0.001, 190.0), (f64::INFINITY, 200.0)]);
        let d = after.minus(&before);
        assert_eq!(
            d.0,
            vec![(0.0001, 0.0), (0.001, 100.0), (f64::INFINITY, 100.0)]
        );
    }
}
