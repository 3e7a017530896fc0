//! Codex accounts: which worker slots belong to which account (slots are numbered account by
//! account, in config order), what each account's workers said about its quota and login,
//! and the standing derived from it (`ok`, `cooling_down`, `unauthenticated`). One
//! `AccountBook` per pool, shared by the connections (what the workers say), the supervisor
//! (leases skip slots of accounts that cannot serve) and the front end (`Retry-After`).
//! Every change comes back as events for the caller to publish. The account *name* from the
//! config is the only identity kept: nothing a worker says about who is logged in is read.

pub mod quota;
pub mod state;

use crate::events::AccountEvent;
use crate::worker::labels::UpstreamErrorKind;
use quota::{QuotaWindow, SnapshotReport};
use state::{AccountState, Facts, Standing};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The name of the one implicit account of a config without `[[accounts]]`.
pub const DEFAULT_ACCOUNT: &str = "default";

/// One account of the pool: its name and how many slots it has.
#[derive(Debug, Clone)]
pub struct AccountSpec {
    pub name: Arc<str>,
    pub workers: usize,
}

/// How the book treats what workers report.
#[derive(Debug, Clone)]
pub struct AccountPolicy {
    /// The cool-down after a usage-limit error when no reset time is known.
    pub usage_limit_fallback: Duration,
    /// How long an account whose provider answered unauthorized is left out.
    pub unauthorized_retry: Duration,
}

impl Default for AccountPolicy {
    fn default() -> Self {
        Self {
            usage_limit_fallback: Duration::from_secs(300),
            unauthorized_retry: Duration::from_secs(60),
        }
    }
}

/// Why no account can serve right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    /// Every account is cooling down (or unauthenticated); the soonest one is back then
    /// (Unix seconds).
    Exhausted { retry_at: i64 },
    /// Every account is unauthenticated.
    Unauthenticated,
}

#[derive(Debug, Default)]
struct Entry {
    facts: Facts,
    published: Option<Standing>,
}

/// The pool's accounts (see the module docs).
#[derive(Debug)]
pub struct AccountBook {
    names: Vec<Arc<str>>,
    slot_account: Vec<usize>,
    policy: AccountPolicy,
    entries: Mutex<Vec<Entry>>,
}

/// Now, in Unix seconds.
pub fn unix_now() -> i64 {
    to_unix(SystemTime::now())
}

pub fn to_unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl AccountBook {
    pub fn new(specs: &[AccountSpec], policy: AccountPolicy) -> Self {
        let names: Vec<Arc<str>> = specs.iter().map(|s| s.name.clone()).collect();
        let slot_account = specs
            .iter()
            .enumerate()
            .flat_map(|(i, s)| std::iter::repeat_n(i, s.workers))
            .collect();
        let entries = Mutex::new(specs.iter().map(|_| Entry::default()).collect());
        Self {
            names,
            slot_account,
            policy,
            entries,
        }
    }

    /// One implicit account, `default`, owning `slots` slots.
    pub fn single(slots: usize) -> Self {
        let spec = AccountSpec {
            name: DEFAULT_ACCOUNT.into(),
            workers: slots,
        };
        Self::new(&[spec], AccountPolicy::default())
    }

    pub fn names(&self) -> &[Arc<str>] {
        &self.names
    }

    /// The account a slot belongs to.
    pub fn account_of(&self, slot: usize) -> Option<usize> {
        self.slot_account.get(slot).copied()
    }

    pub fn name_of_slot(&self, slot: usize) -> Option<Arc<str>> {
        self.account_of(slot)
            .and_then(|a| self.names.get(a).cloned())
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a lease may go to `slot` now.
    pub fn slot_usable(&self, slot: usize, now: i64) -> bool {
        let Some(a) = self.account_of(slot) else {
            return true;
        };
        self.lock()
            .get(a)
            .is_none_or(|e| e.facts.standing(now).state == AccountState::Ok)
    }

    /// Whether `slot`'s account is `account`'s (a retry on another account avoids it).
    pub fn same_account(&self, slot: usize, other: usize) -> bool {
        self.account_of(slot) == self.account_of(other)
    }

    /// `None` while at least one account can serve.
    pub fn blocked(&self, now: i64) -> Option<Blocked> {
        let entries = self.lock();
        let standings: Vec<Standing> = entries.iter().map(|e| e.facts.standing(now)).collect();
        if standings.is_empty() || standings.iter().any(|s| s.state == AccountState::Ok) {
            return None;
        }
        let soonest = standings
            .iter()
            .filter(|s| s.state == AccountState::CoolingDown)
            .filter_map(|s| s.until)
            .min();
        Some(match soonest {
            Some(retry_at) => Blocked::Exhausted { retry_at },
            None => Blocked::Unauthenticated,
        })
    }

    /// Applies `f` to the facts of `slot`'s account and returns the events it caused.
    fn update(
        &self,
        slot: usize,
        now: i64,
        f: impl FnOnce(&mut Facts) -> Vec<AccountEvent>,
    ) -> Vec<AccountEvent> {
        let Some(a) = self.account_of(slot) else {
            return Vec::new();
        };
        let mut entries = self.lock();
        let Some(e) = entries.get_mut(a) else {
            return Vec::new();
        };
        let mut events = f(&mut e.facts);
        events.extend(self.settle(a, e, now));
        events
    }

    fn settle(&self, a: usize, e: &mut Entry, now: i64) -> Option<AccountEvent> {
        let next = e.facts.standing(now);
        let from = e.published.map_or(AccountState::Ok, |s| s.state);
        if e.published == Some(next) || (e.published.is_none() && next == Standing::OK) {
            e.published = Some(next);
            return None;
        }
        e.published = Some(next);
        Some(AccountEvent::AccountStateChanged {
            account: self.names.get(a).map(|n| n.to_string()).unwrap_or_default(),
            from,
            to: next.state,
            cause: next.cause,
            until_s: next.until.map(|t| t.max(0) as u64),
        })
    }

    /// A rate-limit snapshot from a worker of `slot` (read or update), merged.
    pub fn on_rate_limits(&self, slot: usize, s: &SnapshotReport, now: i64) -> Vec<AccountEvent> {
        let account = self
            .name_of_slot(slot)
            .map(|n| n.to_string())
            .unwrap_or_default();
        self.update(slot, now, |f| {
            f.quota
                .merge(s)
                .into_iter()
                .map(|w| quota_event(&account, w, f))
                .collect()
        })
    }

    /// An upstream error a worker of `slot` reported; `usage_limit` when it was Codex's
    /// usage-limit error.
    pub fn on_upstream_error(
        &self,
        slot: usize,
        kind: UpstreamErrorKind,
        usage_limit: bool,
        now: i64,
    ) -> Vec<AccountEvent> {
        let fallback = self.policy.usage_limit_fallback.as_secs() as i64;
        let retry = self.policy.unauthorized_retry.as_secs().max(1) as i64;
        self.update(slot, now, |f| {
            if usage_limit {
                f.usage_limited(now, fallback);
            } else if kind == UpstreamErrorKind::Unauthorized {
                f.unauthorized_until = Some(now + retry);
            }
            Vec::new()
        })
    }

    /// An `account/read` answer from a worker of `slot`.
    pub fn on_login(&self, slot: usize, logged_in: bool, now: i64) -> Vec<AccountEvent> {
        self.update(slot, now, |f| {
            f.logged_out = !logged_in;
            Vec::new()
        })
    }

    /// Cool-downs whose reset passed end here (called about once a second).
    pub fn tick(&self, now: i64) -> Vec<AccountEvent> {
        let mut entries = self.lock();
        let mut events = Vec::new();
        for (a, e) in entries.iter_mut().enumerate() {
            events.extend(self.settle(a, e, now));
        }
        events
    }
}

fn quota_event(account: &str, w: QuotaWindow, f: &Facts) -> AccountEvent {
    let s = f.quota.window(w);
    AccountEvent::AccountQuotaUpdated {
        account: account.to_owned(),
        window: w,
        used_ratio: s.used_ratio,
        window_s: s.window_s,
        resets_at_s: s.resets_at.map(|t| t.max(0) as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::quota::WindowReport;
    use crate::accounts::state::AccountState;

    fn book() -> AccountBook {
        let spec = |n: &str| AccountSpec {
            name: n.into(),
            workers: 1,
        };
        AccountBook::new(&[spec("a"), spec("b")], AccountPolicy::default())
    }

    fn exhausted(at: i64) -> SnapshotReport {
        SnapshotReport {
            primary: Some(WindowReport {
                used_percent: Some(100.0),
                window_duration_mins: Some(300),
                resets_at: Some(at),
            }),
            secondary: None,
        }
    }

    #[test]
    fn leases_skip_an_exhausted_account_and_the_soonest_reset_is_the_retry_time() {
        let b = book();
        assert!(b.slot_usable(0, 100) && b.blocked(100).is_none());
        let events = b.on_rate_limits(0, &exhausted(500), 100);
        assert!(events.iter().any(|e| matches!(
            e,
            AccountEvent::AccountStateChanged {
                to: AccountState::CoolingDown,
                until_s: Some(500),
                ..
            }
        )));
        assert!(!b.slot_usable(0, 100) && b.slot_usable(1, 100));
        assert_eq!(b.blocked(100), None);
        b.on_rate_limits(1, &exhausted(300), 100);
        assert_eq!(b.blocked(100), Some(Blocked::Exhausted { retry_at: 300 }));
        // Beta's reset passes: it is announced and usable again.
        let back = b.tick(300);
        assert_eq!(back.len(), 1);
        assert!(b.slot_usable(1, 300) && !b.slot_usable(0, 300));
    }

    #[test]
    fn a_usage_limit_error_cools_down_only_its_own_account() {
        let b = book();
        b.on_upstream_error(1, UpstreamErrorKind::RateLimited, true, 10);
        assert!(b.slot_usable(0, 10) && !b.slot_usable(1, 10));
        // A plain 429 from a provider is not the account's usage limit.
        b.on_upstream_error(0, UpstreamErrorKind::RateLimited, false, 10);
        assert!(b.slot_usable(0, 10));
        b.on_login(0, false, 10);
        b.on_login(1, false, 10);
        assert_eq!(b.blocked(10), Some(Blocked::Unauthenticated));
    }
}
