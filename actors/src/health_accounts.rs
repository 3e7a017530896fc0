//! The accounts half of health: each account's standing as `/healthz` shows it (by its
//! configured name only), and what the accounts do to readiness. Every account unauthenticated
//! closes readiness (`no_authenticated_account`); every account out of quota closes it only
//! when the operator chose so (`quota_exhausted`), otherwise the daemon stays ready and
//! answers 429 with the soonest reset.

use crate::accounts::state::AccountState;
use crate::clock;
use crate::events::{AccountEvent, ReadinessReason};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

/// One account in `/healthz`.
#[derive(Debug, Clone, Serialize)]
pub struct AccountHealth {
    pub name: String,
    pub state: &'static str,
    /// When a cool-down ends (RFC 3339), while cooling down.
    pub until: Option<String>,
    pub codex_home_bytes: Option<u64>,
}

#[derive(Debug, Clone)]
struct View {
    state: AccountState,
    until: Option<u64>,
    codex_home_bytes: Option<u64>,
}

/// What the aggregator knows about the accounts, learned from account events.
#[derive(Debug, Default)]
pub struct AccountViews {
    accounts: BTreeMap<String, View>,
}

impl AccountViews {
    fn view(&mut self, account: &str) -> &mut View {
        self.accounts.entry(account.to_owned()).or_insert(View {
            state: AccountState::Ok,
            until: None,
            codex_home_bytes: None,
        })
    }

    /// True when readiness may have moved.
    pub fn apply(&mut self, e: &AccountEvent) -> bool {
        match e {
            AccountEvent::AccountStateChanged {
                account,
                to,
                until_s,
                ..
            } => {
                let v = self.view(account);
                v.state = *to;
                v.until = *until_s;
                true
            }
            AccountEvent::CodexHomeSampled { account, bytes } => {
                self.view(account).codex_home_bytes = Some(*bytes);
                false
            }
            AccountEvent::AccountQuotaUpdated { account, .. } => {
                self.view(account);
                false
            }
        }
    }

    /// Readiness once enough workers are ready.
    pub fn readiness(&self, unready_when_exhausted: bool) -> (bool, ReadinessReason) {
        let mut states = self.accounts.values().map(|v| v.state).peekable();
        if states.peek().is_none() {
            return (true, ReadinessReason::Ready);
        }
        let states: Vec<AccountState> = states.collect();
        if states.iter().all(|s| *s == AccountState::Unauthenticated) {
            (false, ReadinessReason::NoAuthenticatedAccount)
        } else if unready_when_exhausted && states.iter().all(|s| *s != AccountState::Ok) {
            (false, ReadinessReason::QuotaExhausted)
        } else {
            (true, ReadinessReason::Ready)
        }
    }

    pub fn snapshot(&self) -> Vec<AccountHealth> {
        self.accounts
            .iter()
            .map(|(name, v)| AccountHealth {
                name: name.clone(),
                state: v.state.as_str(),
                until: v
                    .until
                    .filter(|_| v.state == AccountState::CoolingDown)
                    .map(|s| clock::rfc3339(UNIX_EPOCH + Duration::from_secs(s))),
                codex_home_bytes: v.codex_home_bytes,
            })
            .collect()
    }
}
