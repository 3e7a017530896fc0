//! An index of the closed label sets under their former paths. Every set is defined with its
//! domain: the outcomes of a request and a stream in `outcome.rs`, the worker's in
//! `worker/labels.rs`, the shutdown phases with the runtime events, readiness reasons with
//! the health event, log components in `events`, token types in `metrics`, and HTTP's routes,
//! methods and status classes in the front end (`src/http/routes.rs`), which hands the actors
//! opaque labels (`ingress`).

/// The label macro, also under its former path.
pub(crate) use crate::label_enum;

pub use crate::events::declare::Component;
pub use crate::events::health::ReadinessReason;
pub use crate::events::runtime::ShutdownPhase;
pub use crate::outcome::{NoTokenReason, RequestOutcome, StreamOutcome};
pub use crate::worker::labels::{
    ProtocolErrorKind, RecycleReason, RejectReason, RestartReason, RpcMethod, RpcOutcome,
    ServerRequestAnswer, ServerRequestKind, UpstreamErrorKind,
};
