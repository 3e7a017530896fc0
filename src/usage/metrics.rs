//! The ledger's metric families (`codexd_usage_ledger_flush_seconds{backend}`,
//! `codexd_usage_ledger_lag_seconds`, `codexd_usage_ledger_flush_errors_total{backend}`) and,
//! only with `metrics.key_label = true`, the per-key usage families
//! (`codexd_key_requests_total{key}`, `codexd_key_tokens_total{key,type}`) whose `key` values
//! are the configured key ids, created at zero at start-up.

use prometheus::core::Collector;
use prometheus::{Gauge, HistogramOpts, HistogramVec, IntCounterVec, Opts};
use std::sync::Arc;

/// Flush latency buckets: sub-millisecond SQLite commits up to multi-second stalls.
const FLUSH_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The token types of `codexd_key_tokens_total{type}` (as `codexd_tokens_total`).
pub const TOKEN_TYPES: [&str; 4] = ["input", "output", "cached_input", "reasoning"];

#[derive(Clone)]
pub struct LedgerMetrics {
    pub flush_seconds: HistogramVec,
    pub flush_errors: IntCounterVec,
    pub lag_seconds: Gauge,
    /// Per-key families, only when the `key` label is enabled.
    pub keys: Option<KeyMetrics>,
}

#[derive(Clone)]
pub struct KeyMetrics {
    pub ids: Arc<[Arc<str>]>,
    pub requests: IntCounterVec,
    pub tokens: IntCounterVec,
}

impl KeyMetrics {
    /// True when `id` is a configured key (the label set is closed).
    pub fn knows(&self, id: &str) -> bool {
        self.ids.iter().any(|k| &**k == id)
    }
}

impl LedgerMetrics {
    /// Builds the families; `key_ids` is `Some` when `metrics.key_label` is on.
    pub fn new(backend: &str, key_ids: Option<Vec<Arc<str>>>) -> prometheus::Result<Self> {
        let flush_seconds = HistogramVec::new(
            HistogramOpts::new(
                "codexd_usage_ledger_flush_seconds",
                "Usage ledger write latency: one transaction per flush.",
            )
            .buckets(FLUSH_BUCKETS.to_vec()),
            &["backend"],
        )?;
        let flush_errors = IntCounterVec::new(
            Opts::new(
                "codexd_usage_ledger_flush_errors_total",
                "Usage ledger flushes that failed (the batch is kept and retried).",
            ),
            &["backend"],
        )?;
        let lag_seconds = Gauge::new(
            "codexd_usage_ledger_lag_seconds",
            "Age of the oldest usage not yet persisted to the ledger.",
        )?;
        flush_seconds.with_label_values(&[backend]);
        flush_errors.with_label_values(&[backend]).inc_by(0);
        let keys = match key_ids {
            Some(ids) => {
                let requests = IntCounterVec::new(
                    Opts::new(
                        "codexd_key_requests_total",
                        "Generation requests by API key id (metrics.key_label).",
                    ),
                    &["key"],
                )?;
                let tokens = IntCounterVec::new(
                    Opts::new(
                        "codexd_key_tokens_total",
                        "Tokens reported by workers, by API key id (metrics.key_label).",
                    ),
                    &["key", "type"],
                )?;
                for id in &ids {
                    requests.with_label_values(&[&**id]).inc_by(0);
                    for t in TOKEN_TYPES {
                        tokens.with_label_values(&[&**id, t]).inc_by(0);
                    }
                }
                Some(KeyMetrics {
                    ids: ids.into(),
                    requests,
                    tokens,
                })
            }
            None => None,
        };
        Ok(LedgerMetrics {
            flush_seconds,
            flush_errors,
            lag_seconds,
            keys,
        })
    }

    /// Every family, for registration with the daemon's registry.
    pub fn collectors(&self) -> Vec<Box<dyn Collector>> {
        let mut out: Vec<Box<dyn Collector>> = vec![
            Box::new(self.flush_seconds.clone()),
            Box::new(self.flush_errors.clone()),
            Box::new(self.lag_seconds.clone()),
        ];
        if let Some(k) = &self.keys {
            out.push(Box::new(k.requests.clone()));
            out.push(Box::new(k.tokens.clone()));
        }
        out
    }
}
