//! The root sampling decision: deterministic on the trace id, so every span of a request
//! (and the worker, through the `traceparent` flag) agrees. A sampled inbound parent is
//! always honoured (parent-based); only traces that start here use the ratio.

/// Whether a trace that starts here is sampled at `ratio` (the same rule as the
/// OpenTelemetry `TraceIdRatioBased` sampler: the low 63 bits of the trace id against the
/// ratio).
pub fn sample_root(trace_id_hex: &str, ratio: f64) -> bool {
    if ratio >= 1.0 {
        return true;
    }
    if ratio <= 0.0 || trace_id_hex.len() != 32 {
        return false;
    }
    let Ok(low) = u64::from_str_radix(&trace_id_hex[16..], 16) else {
        return false;
    };
    let bound = (ratio * (1u64 << 63) as f64) as u64;
    (low >> 1) < bound
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ratio_bounds_the_share_of_sampled_traces() {
        assert!(sample_root("0000000000000000ffffffffffffffff", 1.0));
        assert!(!sample_root("00000000000000000000000000000000", 0.0));
        let ids: Vec<String> = (0..10_000u64)
            .map(|i| format!("{:016x}{:016x}", i, i.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
            .collect();
        let n = ids.iter().filter(|t| sample_root(t, 0.25)).count();
        assert!((2_200..2_800).contains(&n), "{n}");
        // Deterministic: the same id always gets the same answer.
        assert!(ids
            .iter()
            .all(|t| sample_root(t, 0.25) == sample_root(t, 0.25)));
    }
}
