//! What the benchmark reads from a `/metrics` scrape, through the shared harness's parser
//! and `histogram_quantile`: one gauge's value, and the buckets of
//! `codexd_proxy_overhead_seconds` for one route, whose difference between two scrapes gives
//! the quantiles of just the requests in between.

use codexd_test_support::metrics_text::Scrape;
use codexd_test_support::quantile::{buckets_minus, histogram_quantile};
use serde::Serialize;

/// The overhead histogram's name.
const OVERHEAD: &str = "codexd_proxy_overhead_seconds";

/// Cumulative bucket counts of one histogram: `(le, count)`, `+Inf` last.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Buckets(pub Vec<(f64, f64)>);

/// Quantiles read from buckets, in microseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct BucketQuantiles {
    pub n: f64,
    pub p50_us: f64,
    pub p99_us: f64,
}

/// The overhead buckets of `route` (summed over its other labels); empty when the scrape
/// does not parse.
pub fn overhead_buckets(text: &str, route: &str) -> Buckets {
    Scrape::try_parse(text)
        .map(|s| Buckets(s.buckets(OVERHEAD, &[("route", route)])))
        .unwrap_or_default()
}

/// The value of an unlabelled series.
pub fn value(text: &str, name: &str) -> Option<f64> {
    let scrape = Scrape::try_parse(text).ok()?;
    let value = scrape.select(name, &[]).next()?.value;
    Some(value)
}

impl Buckets {
    /// `self - earlier`, bucket by bucket.
    pub fn minus(&self, earlier: &Buckets) -> Buckets {
        Buckets(buckets_minus(&self.0, &earlier.0))
    }

    /// Quantile `q` in seconds (0 without observations).
    pub fn quantile(&self, q: f64) -> f64 {
        if self.0.last().is_none_or(|(le, _)| le.is_finite()) {
            return 0.0;
        }
        histogram_quantile(q, &self.0).unwrap_or(0.0)
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
        let b = overhead_buckets(SCRAPE, "/v1/chat/completions");
        assert_eq!(b.0.len(), 3);
        // Rank 50 is the 40th of 80 values in (0.0001, 0.001].
        let p50 = b.quantile(0.5);
        assert!((p50 - 0.00055).abs() < 1e-9, "{p50}");
        assert_eq!(b.quantile(0.99), 0.001);
        assert_eq!(value(SCRAPE, "codexd_streams_active"), Some(7.0));
    }

    #[test]
    fn differences_cover_only_the_requests_in_between() {
        let before = overhead_buckets(SCRAPE, "/v1/chat/completions");
        let after = Buckets(vec![(0.0001, 10.0), (0.001, 190.0), (f64::INFINITY, 200.0)]);
        let d = after.minus(&before);
        assert_eq!(
            d.0,
            vec![(0.0001, 0.0), (0.001, 100.0), (f64::INFINITY, 100.0)]
        );
    }
}
