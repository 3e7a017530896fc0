//! Per-key limits: requests per minute, tokens per minute and concurrent requests, each
//! optional, per key with a default. One engine over two backends: windows in this process
//! (`local`, the default: limits hold per replica) or counters shared through Redis (`redis`).
//! A request is admitted here (after auth, before any work is queued) and holds a `Permit`
//! until it ends; tokens are charged when its turn reports usage (`charge.rs`).

pub mod charge;
pub mod headers;
mod local;
mod redis;

use crate::config::{Config, LimitsBackend, RedisFailure};
use codexd_actors::label_enum;
use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Every window is one minute, aligned on the wall clock so replicas share it.
pub const WINDOW_MS: u64 = 60_000;

label_enum!(
    /// Which per-key limit rejected a request (`codexd_key_rate_limited_total{limit}`).
    LimitKind {
        Requests => "requests",
        Tokens => "tokens",
        Concurrency => "concurrency",
    }
);

label_enum!(
    /// What a limits backend was doing when it failed (`codexd_limits_backend_errors_total{op}`).
    BackendOp {
        Check => "check",
        Charge => "charge",
        Release => "release",
    }
);

/// One key's limits; `None` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyLimits {
    pub requests_per_minute: Option<u32>,
    pub tokens_per_minute: Option<u32>,
    pub max_concurrent: Option<u32>,
}

impl KeyLimits {
    pub fn is_limited(&self) -> bool {
        self.requests_per_minute.is_some()
            || self.tokens_per_minute.is_some()
            || self.max_concurrent.is_some()
    }

    /// This key's own limits, each falling back to the default.
    pub fn or(self, default: KeyLimits) -> KeyLimits {
        KeyLimits {
            requests_per_minute: self.requests_per_minute.or(default.requests_per_minute),
            tokens_per_minute: self.tokens_per_minute.or(default.tokens_per_minute),
            max_concurrent: self.max_concurrent.or(default.max_concurrent),
        }
    }
}

impl From<crate::config::KeyLimits> for KeyLimits {
    fn from(k: crate::config::KeyLimits) -> Self {
        let get = |v: Option<std::num::NonZeroU32>| v.map(std::num::NonZeroU32::get);
        KeyLimits {
            requests_per_minute: get(k.requests_per_minute),
            tokens_per_minute: get(k.tokens_per_minute),
            max_concurrent: get(k.max_concurrent),
        }
    }
}

/// One window's state as the headers report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowState {
    pub limit: u64,
    pub remaining: u64,
    /// Until the window frees up (its end).
    pub reset: Duration,
}

/// What a check saw, for the `x-ratelimit-*` headers (`None` for a limit the key lacks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub requests: Option<WindowState>,
    pub tokens: Option<WindowState>,
}

/// Counts a backend reports for one check, before they are judged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Requests counted in this window: this one included when admitted, not when refused.
    pub requests: u64,
    /// Tokens charged in this window.
    pub tokens: u64,
    /// The verdict: `None` admitted.
    pub rejected: Option<LimitKind>,
}

/// A refusal: which limit, when to retry, and the state for the headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub kind: LimitKind,
    pub limit: u64,
    pub used: u64,
    pub retry_after_s: u64,
    pub snapshot: Snapshot,
}

/// The client message, in OpenAI's words ("Rate limit reached for requests per min ...").
pub fn message(r: &Rejection) -> String {
    match r.kind {
        LimitKind::Requests => format!(
            "Rate limit reached for requests per min (RPM) on this API key: Limit {}, Used {}, Requested 1. Please try again in {}s.",
            r.limit, r.used, r.retry_after_s
        ),
        LimitKind::Tokens => format!(
            "Rate limit reached for tokens per min (TPM) on this API key: Limit {}, Used {}. Please try again in {}s.",
            r.limit, r.used, r.retry_after_s
        ),
        LimitKind::Concurrency => format!(
            "Too many concurrent requests on this API key: Limit {}. Please retry when one of them has finished.",
            r.limit
        ),
    }
}

/// Why a check could not answer: the backend failed and the policy is `closed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable;

/// The outcome of a check.
#[derive(Debug)]
pub enum Verdict {
    /// The key has no limit at all: nothing to hold, no headers.
    Unlimited,
    Admitted(Permit),
    Rejected(Rejection),
    Unavailable(Unavailable),
}

/// The limit series, registered on the daemon's registry.
#[derive(Clone)]
pub struct LimitMetrics {
    pub rejected: IntCounterVec,
    /// The configured key ids when `metrics.key_label` is on (the label's closed set).
    key_label: Option<Arc<[Arc<str>]>>,
    pub backend_errors: IntCounterVec,
    pub backend_up: IntGaugeVec,
}

impl LimitMetrics {
    /// Registers the families; bounded series exist at zero from the start. `keys` are the
    /// configured key ids when `metrics.key_label` is on.
    pub fn register(
        r: &Registry,
        backend: LimitsBackend,
        keys: Option<Vec<Arc<str>>>,
    ) -> prometheus::Result<Self> {
        let labels: &[&str] = if keys.is_some() {
            &["limit", "key"]
        } else {
            &["limit"]
        };
        let rejected = IntCounterVec::new(
            Opts::new(
                "codexd_key_rate_limited_total",
                "Requests refused by a per-key limit, by limit kind.",
            ),
            labels,
        )?;
        let backend_errors = IntCounterVec::new(
            Opts::new(
                "codexd_limits_backend_errors_total",
                "Failed operations of the shared limits backend, by backend and operation.",
            ),
            &["backend", "op"],
        )?;
        let backend_up = IntGaugeVec::new(
            Opts::new(
                "codexd_limits_backend_up",
                "1 while the limits backend answered its last operation; 0 after a failure.",
            ),
            &["backend"],
        )?;
        r.register(Box::new(rejected.clone()))?;
        r.register(Box::new(backend_errors.clone()))?;
        r.register(Box::new(backend_up.clone()))?;
        for k in LimitKind::ALL {
            match &keys {
                Some(ids) => ids.iter().for_each(|id| {
                    rejected.with_label_values(&[k.as_str(), id]).inc_by(0);
                }),
                None => rejected.with_label_values(&[k.as_str()]).inc_by(0),
            }
        }
        let name = backend.as_str();
        for op in BackendOp::ALL {
            backend_errors
                .with_label_values(&[name, op.as_str()])
                .inc_by(0);
        }
        backend_up.with_label_values(&[name]).set(1);
        Ok(Self {
            rejected,
            key_label: keys.map(Into::into),
            backend_errors,
            backend_up,
        })
    }
}

impl LimitMetrics {
    fn count_rejection(&self, kind: LimitKind, key: &str) {
        match &self.key_label {
            // Only configured ids are label values; anything else (none exists) is not counted.
            Some(ids) => {
                if ids.iter().any(|id| &**id == key) {
                    self.rejected.with_label_values(&[kind.as_str(), key]).inc();
                }
            }
            None => self.rejected.with_label_values(&[kind.as_str()]).inc(),
        }
    }
}

enum Backend {
    Local(local::Windows),
    Redis(redis::Shared),
}

/// The engine every request of a key goes through.
pub struct Limiter {
    defaults: KeyLimits,
    keys: HashMap<Arc<str>, KeyLimits, foldhash::fast::RandomState>,
    backend: Backend,
    fail_open: bool,
    metrics: LimitMetrics,
}

/// Milliseconds since the Unix epoch (the windows' clock).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Limiter {
    /// Builds the engine from `[limits]` and each configured key's own limits.
    pub fn from_config(c: &Config, metrics: LimitMetrics) -> Result<Arc<Limiter>, String> {
        let keys = c
            .resolved_keys
            .iter()
            .map(|k| (k.id.clone(), KeyLimits::from(k.limits)));
        Limiter::new(c, keys, metrics)
    }

    /// Builds the engine from `[limits]` and the per-key limits (`keys`: id → own limits).
    pub fn new(
        c: &Config,
        keys: impl IntoIterator<Item = (Arc<str>, KeyLimits)>,
        metrics: LimitMetrics,
    ) -> Result<Arc<Limiter>, String> {
        let l = &c.limits;
        let defaults = l.defaults();
        let backend = match l.backend {
            LimitsBackend::Local => Backend::Local(local::Windows::default()),
            LimitsBackend::Redis => Backend::Redis(redis::Shared::new(
                &l.redis_url,
                Duration::from_millis(l.redis_timeout_ms),
                metrics.clone(),
            )?),
        };
        Ok(Arc::new(Limiter {
            defaults,
            keys: keys.into_iter().collect(),
            backend,
            fail_open: l.redis_failure == RedisFailure::Open,
            metrics,
        }))
    }

    /// The effective limits of a key (its own, else the defaults).
    /// Whether any key has a token limit, i.e. whether [`Limiter::charge`] can ever count
    /// anything (the limits are fixed for the daemon's life).
    pub fn charges_tokens(&self) -> bool {
        self.defaults.tokens_per_minute.is_some()
            || self.keys.values().any(|l| l.tokens_per_minute.is_some())
    }

    pub fn limits_of(&self, key: &str) -> KeyLimits {
        self.keys
            .get(key)
            .copied()
            .unwrap_or_default()
            .or(self.defaults)
    }

    /// Checks one request of `key` and, when admitted, counts it.
    pub async fn admit(self: &Arc<Self>, key: &Arc<str>) -> Verdict {
        let limits = self.limits_of(key);
        if !limits.is_limited() {
            return Verdict::Unlimited;
        }
        let now = now_ms();
        let counts = match &self.backend {
            Backend::Local(w) => Ok(w.check(key, &limits, now)),
            Backend::Redis(r) => r.check(key, &limits, now).await,
        };
        let counts = match counts {
            Ok(c) => c,
            Err(()) => {
                return if self.fail_open {
                    Verdict::Admitted(Permit::unheld(self.clone(), key.clone()))
                } else {
                    Verdict::Unavailable(Unavailable)
                };
            }
        };
        let snapshot = snapshot(&limits, &counts, now);
        match counts.rejected {
            None => Verdict::Admitted(Permit {
                limiter: self.clone(),
                key: key.clone(),
                holds_slot: limits.max_concurrent.is_some(),
                snapshot: Some(snapshot),
            }),
            Some(kind) => {
                self.metrics.count_rejection(kind, key);
                Verdict::Rejected(rejection(kind, &limits, &counts, snapshot))
            }
        }
    }

    /// Charges a finished turn's tokens to `key` (only when the key has a token limit).
    pub fn charge(&self, key: &Arc<str>, tokens: u64) {
        if tokens == 0 || self.limits_of(key).tokens_per_minute.is_none() {
            return;
        }
        match &self.backend {
            Backend::Local(w) => w.charge(key, tokens, now_ms()),
            Backend::Redis(r) => r.charge(key, tokens, now_ms()),
        }
    }

    fn release(&self, key: &Arc<str>) {
        match &self.backend {
            Backend::Local(w) => w.release(key),
            Backend::Redis(r) => r.release(key),
        }
    }
}

fn window_reset(now: u64) -> Duration {
    Duration::from_millis(WINDOW_MS - now % WINDOW_MS)
}

fn snapshot(limits: &KeyLimits, c: &Counts, now: u64) -> Snapshot {
    let reset = window_reset(now);
    let state = |limit: u32, used: u64| WindowState {
        limit: u64::from(limit),
        remaining: u64::from(limit).saturating_sub(used),
        reset,
    };
    Snapshot {
        requests: limits.requests_per_minute.map(|l| state(l, c.requests)),
        tokens: limits.tokens_per_minute.map(|l| state(l, c.tokens)),
    }
}

fn rejection(kind: LimitKind, limits: &KeyLimits, c: &Counts, snapshot: Snapshot) -> Rejection {
    let window = |s: Option<WindowState>| s.map(|w| w.reset).unwrap_or(Duration::ZERO);
    let (limit, used, wait) = match kind {
        LimitKind::Requests => (
            limits.requests_per_minute.unwrap_or(0),
            c.requests,
            window(snapshot.requests),
        ),
        LimitKind::Tokens => (
            limits.tokens_per_minute.unwrap_or(0),
            c.tokens,
            window(snapshot.tokens),
        ),
        // A slot frees when a request of the key ends, which nobody can foresee.
        LimitKind::Concurrency => (limits.max_concurrent.unwrap_or(0), 0, Duration::ZERO),
    };
    Rejection {
        kind,
        limit: u64::from(limit),
        used: if kind == LimitKind::Concurrency {
            u64::from(limit)
        } else {
            used
        },
        retry_after_s: wait.as_millis().div_ceil(1000).max(1) as u64,
        snapshot,
    }
}

/// An admitted request of a limited key: its headers, and its concurrency slot, given back
/// when the permit is dropped (however the request ends).
#[derive(Debug)]
pub struct Permit {
    limiter: Arc<Limiter>,
    key: Arc<str>,
    holds_slot: bool,
    /// `None` when the backend failed open: the counts are unknown.
    pub snapshot: Option<Snapshot>,
}

impl Permit {
    fn unheld(limiter: Arc<Limiter>, key: Arc<str>) -> Permit {
        Permit {
            limiter,
            key,
            holds_slot: false,
            snapshot: None,
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.holds_slot {
            self.limiter.release(&self.key);
        }
    }
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("defaults", &self.defaults)
            .field("keys", &self.keys.len())
            .finish()
    }
}

#[cfg(test)]
mod tests;
