//! One account's standing, derived from facts rather than stored: the quota windows, a
//! usage-limit error's cool-down, and the login state. `unauthenticated` wins over
//! `cooling_down`, which wins over `ok`; a cool-down ends by itself at its reset time.

use super::quota::Quota;
use crate::label_enum;

label_enum!(
    /// Whether an account can serve: the `state` label of `codexd_account_state` and the
    /// `state` of an account in `/healthz`.
    AccountState {
        Ok => "ok",
        CoolingDown => "cooling_down",
        Unauthenticated => "unauthenticated",
    }
);

label_enum!(
    /// What moved an account to its new state.
    AccountCause {
        QuotaExhausted => "quota_exhausted",
        UsageLimitError => "usage_limit_error",
        NotLoggedIn => "not_logged_in",
        UpstreamUnauthorized => "upstream_unauthorized",
        Recovered => "recovered",
    }
);

/// Everything known about one account, in Unix seconds.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub quota: Quota,
    /// A usage-limit error said the account is out until then.
    pub limited_until: Option<i64>,
    /// `account/read` said a worker of the account is not logged in.
    pub logged_out: bool,
    /// The provider answered unauthorized; the account is tried again from then on.
    pub unauthorized_until: Option<i64>,
}

/// A derived standing: the state, why, and until when (a cool-down's end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub state: AccountState,
    pub cause: AccountCause,
    pub until: Option<i64>,
}

impl Standing {
    pub const OK: Standing = Standing {
        state: AccountState::Ok,
        cause: AccountCause::Recovered,
        until: None,
    };
}

impl Facts {
    /// The standing at `now`.
    pub fn standing(&self, now: i64) -> Standing {
        if self.logged_out {
            return Standing {
                state: AccountState::Unauthenticated,
                cause: AccountCause::NotLoggedIn,
                until: None,
            };
        }
        if let Some(at) = self.unauthorized_until.filter(|at| *at > now) {
            return Standing {
                state: AccountState::Unauthenticated,
                cause: AccountCause::UpstreamUnauthorized,
                until: Some(at),
            };
        }
        let by_quota = self.quota.exhausted_until(now);
        let by_error = self.limited_until.filter(|at| *at > now);
        match (by_quota, by_error) {
            (None, None) => Standing::OK,
            (q, e) => Standing {
                state: AccountState::CoolingDown,
                cause: if e >= q {
                    AccountCause::UsageLimitError
                } else {
                    AccountCause::QuotaExhausted
                },
                until: q.max(e),
            },
        }
    }

    /// A usage-limit error at `now`: out until the latest exhausted window's reset, else the
    /// soonest known reset, else `now + fallback_s`.
    pub fn usage_limited(&mut self, now: i64, fallback_s: i64) {
        let until = self
            .quota
            .exhausted_until(now)
            .or_else(|| self.quota.next_reset(now))
            .unwrap_or(now + fallback_s);
        self.limited_until = Some(until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_usage_limit_error_cools_down_until_the_reset_and_then_recovers() {
        let mut f = Facts::default();
        f.quota.primary.resets_at = Some(1_000);
        f.usage_limited(100, 60);
        let s = f.standing(100);
        assert_eq!((s.state, s.until), (AccountState::CoolingDown, Some(1_000)));
        assert_eq!(f.standing(1_000), Standing::OK);
        let mut g = Facts::default();
        g.usage_limited(100, 60);
        assert_eq!(g.standing(100).until, Some(160));
    }

    #[test]
    fn unauthenticated_wins_over_cooling_down() {
        let mut f = Facts::default();
        f.usage_limited(0, 60);
        f.logged_out = true;
        assert_eq!(f.standing(1).state, AccountState::Unauthenticated);
        f.logged_out = false;
        f.unauthorized_until = Some(10);
        assert_eq!(f.standing(1).cause, AccountCause::UpstreamUnauthorized);
        assert_eq!(f.standing(10).state, AccountState::CoolingDown);
    }
}
