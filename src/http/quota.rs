//! The `Retry-After` of an admission refusal: for `quota_exhausted`, the seconds until the
//! soonest account's usage window resets (rounded up, at least 1), never a fixed value;
//! for every other reason, `admission.retry_after_s`.

use super::state::AppState;
use codexd_actors::accounts::{unix_now, Blocked};
use codexd_actors::labels::RejectReason;

pub fn retry_after_s(state: &AppState, reason: RejectReason) -> u32 {
    let fixed = state.api.retry_after_s;
    if reason != RejectReason::QuotaExhausted {
        return fixed;
    }
    let now = unix_now();
    match state.accounts.blocked(now) {
        Some(Blocked::Exhausted { retry_at }) => {
            u32::try_from((retry_at - now).max(1)).unwrap_or(u32::MAX)
        }
        // The reset passed between the refusal and now: retrying at once may succeed.
        Some(Blocked::Unauthenticated) | None => 1,
    }
}
