//! Retry before the first byte: which failures of a turn may be retried once on another slot
//! (and when on another account), decided before anything generated reached the client.
//! After the first generated delta nothing is ever retried: the client has bytes of this
//! answer, and a second answer would be spliced onto them.

use crate::label_enum;
use crate::worker::labels::UpstreamErrorKind;

label_enum!(
    /// Why a request was retried (the `reason` of `codexd_retries_total`).
    RetryReason {
        WorkerLost => "worker_lost",
        TurnRefused => "turn_refused",
        RateLimited => "rate_limited",
        Unauthorized => "unauthorized",
        ServerError => "server_error",
    }
);

/// A retry: why, and whether the next slot must belong to another account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    pub reason: RetryReason,
    pub other_account: bool,
}

/// How a turn failed, as far as the retry decision cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    WorkerLost,
    Refused,
    Upstream(Option<UpstreamErrorKind>),
}

/// Whether a failure is retried: only once, only before any generated delta, and only for
/// failures another worker could avoid (a context-length error fails everywhere).
pub fn decide(failure: Failure, delta_sent: bool, already_retried: bool) -> Option<Retry> {
    if delta_sent || already_retried {
        return None;
    }
    let (reason, other_account) = match failure {
        Failure::WorkerLost => (RetryReason::WorkerLost, false),
        Failure::Refused => (RetryReason::TurnRefused, false),
        Failure::Upstream(Some(UpstreamErrorKind::RateLimited)) => (RetryReason::RateLimited, true),
        Failure::Upstream(Some(UpstreamErrorKind::Unauthorized)) => {
            (RetryReason::Unauthorized, true)
        }
        Failure::Upstream(Some(UpstreamErrorKind::ServerError)) => {
            (RetryReason::ServerError, false)
        }
        Failure::Upstream(Some(UpstreamErrorKind::ContextLength | UpstreamErrorKind::Other))
        | Failure::Upstream(None) => return None,
    };
    Some(Retry {
        reason,
        other_account,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_before_the_first_delta_are_retried_and_only_once() {
        let lost = decide(Failure::WorkerLost, false, false).unwrap();
        assert_eq!(
            (lost.reason, lost.other_account),
            (RetryReason::WorkerLost, false)
        );
        assert_eq!(decide(Failure::WorkerLost, true, false), None);
        assert_eq!(decide(Failure::WorkerLost, false, true), None);
        let limited = decide(
            Failure::Upstream(Some(UpstreamErrorKind::RateLimited)),
            false,
            false,
        );
        assert!(limited.unwrap().other_account);
        let ctx = Failure::Upstream(Some(UpstreamErrorKind::ContextLength));
        assert_eq!(decide(ctx, false, false), None);
    }
}
