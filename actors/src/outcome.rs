//! How a request ends: `StreamOutcome`, the one terminal outcome of a stream (one turn), with
//! one code per variant, and the labels derived from it (`NoTokenReason`), plus the coarse
//! `RequestOutcome` of an HTTP request. The logs (`outcome`, `cause`), the metric labels
//! (`codexd_streams_total{outcome}`, `codexd_stream_no_first_token_total{reason}`), the span
//! status (`error.type`) and the HTTP error mapping all read these; nothing spells them again.

use crate::label_enum::Label;
use crate::labels::{label_enum, UpstreamErrorKind};

/// How one upstream stream (one turn) ended. Each variant has one code ([`Self::as_str`]),
/// the `outcome` label value published in docs/metrics.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamOutcome {
    /// The worker completed the turn.
    Completed,
    /// The client went away; the turn was interrupted.
    ClientAbort,
    /// The worker failed or refused the turn; `upstream` is the model provider's error kind
    /// when the worker reported one.
    WorkerError { upstream: Option<UpstreamErrorKind> },
    /// The worker process went away with the turn in flight.
    WorkerLost,
    /// No first token within `streaming.first_token_timeout_ms`.
    TimeoutFirstToken,
    /// No output for `streaming.idle_timeout_ms`.
    TimeoutIdle,
    /// The shutdown drain deadline passed with the turn in flight.
    Shutdown,
}

impl StreamOutcome {
    /// Every variant, once (`WorkerError` without an upstream kind), in declaration order.
    pub const ALL: &'static [StreamOutcome] = &[
        StreamOutcome::Completed,
        StreamOutcome::ClientAbort,
        StreamOutcome::WorkerError { upstream: None },
        StreamOutcome::WorkerLost,
        StreamOutcome::TimeoutFirstToken,
        StreamOutcome::TimeoutIdle,
        StreamOutcome::Shutdown,
    ];

    /// The variant's code: the `outcome` log field and metric label.
    pub const fn as_str(self) -> &'static str {
        match self {
            StreamOutcome::Completed => "completed",
            StreamOutcome::ClientAbort => "client_abort",
            StreamOutcome::WorkerError { .. } => "worker_error",
            StreamOutcome::WorkerLost => "worker_lost",
            StreamOutcome::TimeoutFirstToken => "timeout_first_token",
            StreamOutcome::TimeoutIdle => "timeout_idle",
            StreamOutcome::Shutdown => "shutdown",
        }
    }

    /// A worker failure carrying the provider's error kind, if the worker reported one.
    pub const fn worker_error(upstream: Option<UpstreamErrorKind>) -> Self {
        StreamOutcome::WorkerError { upstream }
    }

    pub const fn is_completed(self) -> bool {
        matches!(self, StreamOutcome::Completed)
    }

    /// The span status `error.type`: `None` for a completed stream, the provider's error kind
    /// for a worker error that carries one, the variant's code otherwise.
    pub const fn error_type(self) -> Option<&'static str> {
        match self {
            StreamOutcome::Completed => None,
            StreamOutcome::WorkerError {
                upstream: Some(kind),
            } => Some(kind.as_str()),
            other => Some(other.as_str()),
        }
    }

    /// The no-first-token reason for a stream that ended this way, if it is a failure.
    pub const fn no_token_reason(self) -> Option<NoTokenReason> {
        match self {
            StreamOutcome::Completed => None,
            StreamOutcome::ClientAbort => Some(NoTokenReason::ClientAbort),
            StreamOutcome::WorkerError { .. } => Some(NoTokenReason::WorkerError),
            StreamOutcome::WorkerLost => Some(NoTokenReason::WorkerLost),
            StreamOutcome::TimeoutFirstToken | StreamOutcome::TimeoutIdle => {
                Some(NoTokenReason::Timeout)
            }
            StreamOutcome::Shutdown => Some(NoTokenReason::Shutdown),
        }
    }

    /// The level of the `stream_ended` line.
    pub const fn level(self) -> slog::Level {
        match self {
            StreamOutcome::Completed => slog::Level::Info,
            StreamOutcome::ClientAbort
            | StreamOutcome::WorkerError { .. }
            | StreamOutcome::WorkerLost
            | StreamOutcome::TimeoutFirstToken
            | StreamOutcome::TimeoutIdle
            | StreamOutcome::Shutdown => slog::Level::Warning,
        }
    }
}

impl std::fmt::Display for StreamOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

label_enum!(
    /// Why a stream ended before its first generated token (derived from `StreamOutcome`).
    NoTokenReason {
        ClientAbort => "client_abort",
        Timeout => "timeout",
        WorkerError => "worker_error",
        WorkerLost => "worker_lost",
        Shutdown => "shutdown",
    }
);

label_enum!(
    /// How one HTTP request ended.
    RequestOutcome {
        Completed => "completed",
        ClientAbort => "client_abort",
        Rejected => "rejected",
        Failed => "failed",
    }
);

impl RequestOutcome {
    /// A request ends as a client abort when the client left, failed on a 5xx or a failure
    /// after the headers, rejected on another 4xx, completed otherwise.
    pub const fn classify(client_gone: bool, status: u16, failed_after_headers: bool) -> Self {
        match (client_gone, status) {
            (true, _) => RequestOutcome::ClientAbort,
            (false, s) if s >= 500 || failed_after_headers => RequestOutcome::Failed,
            (false, s) if s >= 400 => RequestOutcome::Rejected,
            _ => RequestOutcome::Completed,
        }
    }
}

/// Logged as its code, like every closed label.
impl Label for StreamOutcome {
    fn as_str(self) -> &'static str {
        StreamOutcome::as_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_token_timeout_has_one_spelling() {
        let o = StreamOutcome::TimeoutFirstToken;
        assert_eq!(o.as_str(), "timeout_first_token");
        assert_eq!(o.error_type(), Some("timeout_first_token"));
        assert_eq!(o.no_token_reason(), Some(NoTokenReason::Timeout));
    }

    #[test]
    fn worker_errors_refine_the_span_status_with_the_provider_kind() {
        let o = StreamOutcome::worker_error(Some(UpstreamErrorKind::RateLimited));
        assert_eq!(o.as_str(), "worker_error");
        assert_eq!(o.error_type(), Some("rate_limited"));
        assert_eq!(
            StreamOutcome::worker_error(None).error_type(),
            Some("worker_error")
        );
        assert_eq!(StreamOutcome::Completed.error_type(), None);
    }

    #[test]
    fn every_code_is_distinct() {
        let codes: std::collections::BTreeSet<_> =
            StreamOutcome::ALL.iter().map(|o| o.as_str()).collect();
        assert_eq!(codes.len(), StreamOutcome::ALL.len());
    }

    #[test]
    fn requests_are_classified_by_status() {
        assert_eq!(
            RequestOutcome::classify(true, 200, false),
            RequestOutcome::ClientAbort
        );
        assert_eq!(
            RequestOutcome::classify(false, 200, true),
            RequestOutcome::Failed
        );
        assert_eq!(
            RequestOutcome::classify(false, 503, false),
            RequestOutcome::Failed
        );
        assert_eq!(
            RequestOutcome::classify(false, 429, false),
            RequestOutcome::Rejected
        );
        assert_eq!(
            RequestOutcome::classify(false, 200, false),
            RequestOutcome::Completed
        );
    }
}
