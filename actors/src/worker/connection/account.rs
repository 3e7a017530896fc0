//! What a worker says about its account, folded into the pool's `AccountBook`: the
//! `account/rateLimits/read` answer after the handshake, sparse `account/rateLimits/updated`
//! notifications, the login state in every `account/read` answer (the liveness ping), and
//! upstream errors that are the account's (Codex's usage-limit error, unauthorized). Only
//! the windows and whether an account is present are read: no e-mail, user id or plan.

use super::*;
use crate::accounts::quota::SnapshotReport;
use crate::accounts::unix_now;
use crate::events::AccountEvent;

impl WorkerConnection {
    fn publish_accounts(&self, events: Vec<AccountEvent>) {
        for e in events {
            self.bus.publish(Event::Account(e));
        }
    }

    /// Asks for the account's usage windows (once, after the handshake).
    pub(super) fn read_account(&mut self) {
        self.request(RpcMethod::AccountRateLimitsRead, Value::Null, None);
    }

    /// An `account/rateLimits/read` answer. A refusal (an API-key provider has no ChatGPT
    /// windows: `codex account authentication required to read rate limits`) leaves the
    /// windows unknown.
    pub(super) fn on_rate_limits_read(&self, result: Option<Value>) {
        let Some(snapshot) = result.as_ref().and_then(SnapshotReport::from_container) else {
            return;
        };
        let events = self
            .settings
            .accounts
            .on_rate_limits(self.slot, &snapshot, unix_now());
        self.publish_accounts(events);
    }

    /// An `account/read` answer: not logged in is `account: null` while
    /// `requiresOpenaiAuth` is true (a custom provider with its own key needs no login).
    pub(super) fn on_account_read(&self, result: Option<&Value>) {
        let Some(r) = result else { return };
        let needs_login = r
            .get("requiresOpenaiAuth")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let has_account = r.get("account").is_some_and(|a| !a.is_null());
        let logged_in = has_account || !needs_login;
        let events = self
            .settings
            .accounts
            .on_login(self.slot, logged_in, unix_now());
        self.publish_accounts(events);
    }

    /// Account-level notifications, whichever thread (if any) they name.
    pub(super) fn account_signal(&self, method: &str, params: &protocol::NoteParams<'_>) {
        let book = &self.settings.accounts;
        let events = match method {
            "account/rateLimits/updated" => match &params.rate_limits {
                Some(s) => book.on_rate_limits(self.slot, s, unix_now()),
                None => return,
            },
            "error" if params.will_retry != Some(true) => {
                let info = params.error.as_ref().and_then(|e| e.info.as_ref());
                let usage_limit = info.and_then(Value::as_str) == Some("usageLimitExceeded");
                let kind = protocol::error_kind(info);
                book.on_upstream_error(self.slot, kind, usage_limit, unix_now())
            }
            _ => return,
        };
        self.publish_accounts(events);
    }
}
