//! The account domain's events: quota windows merged from what workers report, an account's
//! standing changing, and the size of its `CODEX_HOME`. The account is always its configured
//! name, never anything the worker says about who is logged in.

use super::declare::events;
use crate::accounts::quota::QuotaWindow;
use crate::accounts::state::{AccountCause, AccountState};

events! {
    /// Accounts and their quota.
    pub enum AccountEvent {
        /// A usage window moved (`used_ratio` 0–1; unknown values are `null`).
        AccountQuotaUpdated {
            account: String,
            window: QuotaWindow,
            used_ratio: Option<f64>,
            window_s: Option<u64>,
            resets_at_s: Option<u64>,
        } => Debug, Supervisor, "account quota updated";
        /// Logged at warn unless the account is `ok` again.
        AccountStateChanged {
            account: String,
            from: AccountState,
            to: AccountState,
            cause: AccountCause,
            until_s: Option<u64>,
        } => if *to == AccountState::Ok { Info } else { Warning }, Supervisor, "account state changed";
        CodexHomeSampled { account: String, bytes: u64 => "codex_home_bytes" }
            => Debug, Supervisor, "codex home sampled";
    }
}
