//! The outcome label sets of a request and a stream (`RequestOutcome`, `StreamOutcome`,
//! `NoTokenReason`), and an index of the other closed label sets under their former paths.
//! Every other set is defined with its domain: the worker's in `worker/labels.rs`, the
//! shutdown phases with the runtime events, readiness reasons with the health event, log
//! components in `events`, token types in `metrics`, and HTTP's routes, methods and status
//! classes in the front end (`src/http/routes.rs`), which hands the actors opaque labels
//! (`ingress`).

/// The label macro, also under its former path.
pub(crate) use crate::label_enum;

pub use crate::events::declare::Component;
pub use crate::events::health::ReadinessReason;
pub use crate::events::runtime::ShutdownPhase;
pub use crate::worker::labels::{
    ProtocolErrorKind, RejectReason, RestartReason, RpcMethod, RpcOutcome, ServerRequestAnswer,
    ServerRequestKind, UpstreamErrorKind,
};

label_enum!(
    /// How one HTTP request ended.
    RequestOutcome {
        Completed => "completed",
        ClientAbort => "client_abort",
        Rejected => "rejected",
        Failed => "failed",
    }
);

label_enum!(
    /// How one upstream stream (one turn) ended.
    StreamOutcome {
        Completed => "completed",
        ClientAbort => "client_abort",
        WorkerError => "worker_error",
        WorkerLost => "worker_lost",
        TimeoutFirstToken => "timeout_first_token",
        TimeoutIdle => "timeout_idle",
        Shutdown => "shutdown",
    }
);

label_enum!(
    /// Why a stream ended before its first generated token.
    NoTokenReason {
        ClientAbort => "client_abort",
        Timeout => "timeout",
        WorkerError => "worker_error",
        WorkerLost => "worker_lost",
        Shutdown => "shutdown",
    }
);

impl StreamOutcome {
    /// The no-first-token reason for a stream that ended this way, if it is a failure.
    pub const fn no_token_reason(self) -> Option<NoTokenReason> {
        match self {
            StreamOutcome::Completed => None,
            StreamOutcome::ClientAbort => Some(NoTokenReason::ClientAbort),
            StreamOutcome::WorkerError => Some(NoTokenReason::WorkerError),
            StreamOutcome::WorkerLost => Some(NoTokenReason::WorkerLost),
            StreamOutcome::TimeoutFirstToken | StreamOutcome::TimeoutIdle => {
                Some(NoTokenReason::Timeout)
            }
            StreamOutcome::Shutdown => Some(NoTokenReason::Shutdown),
        }
    }
}
