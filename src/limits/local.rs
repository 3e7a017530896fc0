//! The `local` backend: one-minute windows and in-flight counts in this process, per key.
//! Limits hold per replica. The map is bounded by the configured keys.

use super::{Counts, KeyLimits, LimitKind, WINDOW_MS};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
struct KeyState {
    window: u64,
    requests: u64,
    tokens: u64,
    in_flight: u64,
}

impl KeyState {
    fn roll(&mut self, now: u64) {
        let w = now / WINDOW_MS;
        if w != self.window {
            self.window = w;
            self.requests = 0;
            self.tokens = 0;
        }
    }
}

#[derive(Debug, Default)]
pub struct Windows {
    keys: Mutex<HashMap<Arc<str>, KeyState, foldhash::fast::RandomState>>,
}

impl Windows {
    /// The same rules as the Redis script: tokens first (the window must not be exhausted),
    /// then a concurrency slot, then the request count; a refusal counts nothing.
    pub fn check(&self, key: &Arc<str>, l: &KeyLimits, now: u64) -> Counts {
        let Ok(mut map) = self.keys.lock() else {
            return Counts::default();
        };
        let s = map.entry(key.clone()).or_default();
        s.roll(now);
        let mut c = Counts {
            requests: s.requests,
            tokens: s.tokens,
            rejected: None,
        };
        if l.tokens_per_minute
            .is_some_and(|t| s.tokens >= u64::from(t))
        {
            c.rejected = Some(LimitKind::Tokens);
            return c;
        }
        if l.max_concurrent
            .is_some_and(|m| s.in_flight >= u64::from(m))
        {
            c.rejected = Some(LimitKind::Concurrency);
            return c;
        }
        if l.requests_per_minute
            .is_some_and(|r| s.requests >= u64::from(r))
        {
            c.rejected = Some(LimitKind::Requests);
            return c;
        }
        if l.max_concurrent.is_some() {
            s.in_flight += 1;
        }
        s.requests += 1;
        c.requests = s.requests;
        c
    }

    pub fn charge(&self, key: &Arc<str>, tokens: u64, now: u64) {
        if let Ok(mut map) = self.keys.lock() {
            let s = map.entry(key.clone()).or_default();
            s.roll(now);
            s.tokens = s.tokens.saturating_add(tokens);
        }
    }

    pub fn release(&self, key: &Arc<str>) {
        if let Ok(mut map) = self.keys.lock() {
            if let Some(s) = map.get_mut(key) {
                s.in_flight = s.in_flight.saturating_sub(1);
            }
        }
    }
}
