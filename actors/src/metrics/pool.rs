//! The pool's families: each account's quota windows and standing, its `CODEX_HOME` size,
//! worker memory and recycling, and retries before the first byte. Label values are account
//! names from the config, slot indexes and closed enums only.

use crate::accounts::quota::QuotaWindow;
use crate::accounts::state::AccountState;
use crate::events::AccountEvent;
use crate::worker::labels::RecycleReason;
use prometheus::{GaugeVec, IntCounterVec, IntGaugeVec, Opts, Registry};
use std::collections::HashSet;
use std::sync::Mutex;

/// Why a request was retried on another slot before its first byte.
pub use crate::retry::RetryReason;

/// The pool families, registered once.
pub struct PoolMetrics {
    used_ratio: GaugeVec,
    window_seconds: GaugeVec,
    resets_at: GaugeVec,
    state: IntGaugeVec,
    unauthenticated: IntCounterVec,
    codex_home: IntGaugeVec,
    pub(super) worker_rss: IntGaugeVec,
    pub(super) recycles: IntCounterVec,
    pub(super) retries: IntCounterVec,
    seen: Mutex<HashSet<String>>,
}

impl PoolMetrics {
    pub fn try_new(r: &Registry, slots: usize, routes: &[&str]) -> prometheus::Result<Self> {
        macro_rules! reg {
            ($e:expr) => {{
                let m = $e;
                r.register(Box::new(m.clone()))?;
                m
            }};
        }
        let m = Self {
            used_ratio: reg!(GaugeVec::new(
                Opts::new(
                    "codexd_account_quota_used_ratio",
                    "Share of an account's usage window used (0-1); absent while unknown."
                ),
                &["account", "window"]
            )?),
            window_seconds: reg!(GaugeVec::new(
                Opts::new(
                    "codexd_account_quota_window_seconds",
                    "Length of an account's usage window; absent while unknown."
                ),
                &["account", "window"]
            )?),
            resets_at: reg!(GaugeVec::new(
                Opts::new(
                    "codexd_account_quota_resets_at_seconds",
                    "Unix time an account's usage window resets; absent while unknown."
                ),
                &["account", "window"]
            )?),
            state: reg!(IntGaugeVec::new(
                Opts::new(
                    "codexd_account_state",
                    "1 for an account's current state (ok, cooling_down, unauthenticated)."
                ),
                &["account", "state"]
            )?),
            unauthenticated: reg!(IntCounterVec::new(
                Opts::new(
                    "codexd_account_unauthenticated_total",
                    "Times an account became unauthenticated."
                ),
                &["account"]
            )?),
            codex_home: reg!(IntGaugeVec::new(
                Opts::new(
                    "codexd_codex_home_bytes",
                    "Bytes under an account's CODEX_HOME (log and state databases included)."
                ),
                &["account"]
            )?),
            worker_rss: reg!(IntGaugeVec::new(
                Opts::new(
                    "codexd_worker_resident_memory_bytes",
                    "Resident memory of a slot's worker process."
                ),
                &["slot"]
            )?),
            recycles: reg!(IntCounterVec::new(
                Opts::new(
                    "codexd_worker_recycles_total",
                    "Workers recycled (drained, then restarted) by reason."
                ),
                &["slot", "reason"]
            )?),
            retries: reg!(IntCounterVec::new(
                Opts::new(
                    "codexd_retries_total",
                    "Requests retried on another slot before their first byte, by reason."
                ),
                &["route", "reason"]
            )?),
            seen: Mutex::default(),
        };
        for slot in 0..slots {
            let s = slot.to_string();
            for reason in RecycleReason::ALL {
                m.recycles
                    .with_label_values(&[s.as_str(), reason.as_str()])
                    .inc_by(0);
            }
        }
        for route in routes {
            for reason in RetryReason::ALL {
                m.retries
                    .with_label_values(&[route, reason.as_str()])
                    .inc_by(0);
            }
        }
        Ok(m)
    }

    /// An account's first appearance: its state series exist from then on, `ok` until told.
    fn see(&self, account: &str) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.insert(account.to_owned()) {
            for s in AccountState::ALL {
                let on = i64::from(*s == AccountState::Ok);
                self.state.with_label_values(&[account, s.as_str()]).set(on);
            }
            self.unauthenticated.with_label_values(&[account]).inc_by(0);
        }
    }

    pub fn observe_account(&self, e: &AccountEvent) {
        match e {
            AccountEvent::AccountQuotaUpdated {
                account,
                window,
                used_ratio,
                window_s,
                resets_at_s,
            } => {
                self.see(account);
                let labels = [account.as_str(), window.as_str()];
                set_known(&self.used_ratio, &labels, *used_ratio);
                set_known(&self.window_seconds, &labels, window_s.map(|v| v as f64));
                set_known(&self.resets_at, &labels, resets_at_s.map(|v| v as f64));
            }
            AccountEvent::AccountStateChanged { account, to, .. } => {
                self.see(account);
                for s in AccountState::ALL {
                    let on = i64::from(s == to);
                    self.state.with_label_values(&[account, s.as_str()]).set(on);
                }
                if *to == AccountState::Unauthenticated {
                    self.unauthenticated.with_label_values(&[account]).inc();
                }
            }
            AccountEvent::CodexHomeSampled { account, bytes } => {
                self.see(account);
                self.codex_home
                    .with_label_values(&[account])
                    .set(i64::try_from(*bytes).unwrap_or(i64::MAX));
            }
        }
    }
}

/// Sets a gauge only once its value is known: unknown is absent, never zero.
fn set_known(g: &GaugeVec, labels: &[&str; 2], v: Option<f64>) {
    if let Some(v) = v {
        g.with_label_values(labels).set(v);
    }
}

/// Every window label, for docs and tests.
pub const WINDOWS: &[QuotaWindow] = QuotaWindow::ALL;
