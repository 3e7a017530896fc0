//! Quantiles of Prometheus histograms: `histogram_quantile` as Prometheus computes it over
//! cumulative `(le, count)` buckets, and the bucket-by-bucket difference of two scrapes (the
//! requests in between). Raw latencies go through [`crate::latency_hist`].

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

/// `later - earlier`, bucket by bucket (a bound missing from `earlier` counts from 0).
pub fn buckets_minus(later: &[(f64, f64)], earlier: &[(f64, f64)]) -> Vec<(f64, f64)> {
    later
        .iter()
        .map(|&(le, c)| {
            let before = earlier
                .iter()
                .find(|(l, _)| *l == le)
                .map_or(0.0, |(_, c)| *c);
            (le, c - before)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_cover_only_the_requests_in_between() {
        let before = [(0.0001, 10.0), (0.001, 90.0), (f64::INFINITY, 100.0)];
        let after = [(0.0001, 10.0), (0.001, 190.0), (f64::INFINITY, 200.0)];
        let d = buckets_minus(&after, &before);
        assert_eq!(
            d,
            vec![(0.0001, 0.0), (0.001, 100.0), (f64::INFINITY, 100.0)]
        );
        // Rank 50 of the 100 in between lies in (0.0001, 0.001].
        let p50 = histogram_quantile(0.5, &d).unwrap();
        assert!((p50 - 0.00055).abs() < 1e-9, "{p50}");
        let p99 = histogram_quantile(0.99, &d).unwrap();
        assert!((p99 - 0.000991).abs() < 1e-9, "{p99}");
    }
}
