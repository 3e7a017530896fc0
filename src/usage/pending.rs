//! What the ledger has seen but not yet written: counters per row, with the time of the
//! oldest unwritten usage (the lag gauge). Filled by the bus subscriber, drained by the
//! ledger thread; a failed write merges its batch back so nothing is lost while the daemon
//! lives.

use super::store::{Batch, Counts, RowKey};
use std::sync::Mutex;
use std::time::Instant;

#[derive(Default)]
struct Inner {
    rows: Batch,
    oldest: Option<Instant>,
}

/// Shared between the subscriber and the ledger thread.
#[derive(Default)]
pub struct Pending(Mutex<Inner>);

impl Pending {
    /// Adds `counts` to `key`'s row.
    pub fn add(&self, key: RowKey, counts: &Counts) {
        if let Ok(mut p) = self.0.lock() {
            p.rows.entry(key).or_default().add(counts);
            p.oldest.get_or_insert_with(Instant::now);
        }
    }

    /// Takes everything pending, with the time of its oldest usage.
    pub fn take(&self) -> (Batch, Option<Instant>) {
        match self.0.lock() {
            Ok(mut p) => (std::mem::take(&mut p.rows), p.oldest.take()),
            Err(_) => (Batch::new(), None),
        }
    }

    /// Puts a batch that could not be written back.
    pub fn restore(&self, batch: Batch, oldest: Option<Instant>) {
        if let Ok(mut p) = self.0.lock() {
            for (k, c) in batch {
                p.rows.entry(k).or_default().add(&c);
            }
            p.oldest = match (p.oldest, oldest) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }

    /// Seconds since the oldest unwritten usage (0 when everything is written).
    pub fn lag_seconds(&self) -> f64 {
        self.0
            .lock()
            .ok()
            .and_then(|p| p.oldest)
            .map_or(0.0, |t| t.elapsed().as_secs_f64())
    }
}
