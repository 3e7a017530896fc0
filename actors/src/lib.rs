//! codexd's actors: the event bus, worker supervision and protocol, upstream streams, the
//! metrics collector and the health aggregator. Nothing here knows HTTP or OpenAI types: the
//! front end hands over opaque route and method labels ([`ingress`]).
//!
//! ```text
//!                      Publish(Event)          Published (required: never dropped)
//!   every actor ─────────────────────▶ Bus ─────────────┬─▶ MetricsCollector ◀── RenderMetrics
//!   and the front end                   │ writes each    ├─▶ HealthAggregator ◀── GetReadiness,
//!                                       │ log line once  │                        GetHealth
//!                                       │                └─▶ optional subscribers (try_send:
//!                                       │                    the span recorder in src/telemetry)
//!   front end ── AcquireStream ─▶ WorkerSupervisor ── owns the slots, restarts, admission queue,
//!            ◀─ refused / granted        │    ▲           BeginDrain, StopWorkers; starts the
//!               from the queue           │    │           stream with the lease it grants
//!            (a follow-up: AcquireLease  │    │
//!             or AcquireSlotLease, Lease)│    │
//!                                  spawns│    │ConnectionReport (handshaked, exited)
//!                                        ▼    │
//!                                  WorkerConnection (one per live worker process: JSON-RPC
//!                                        ▲    │            over stdio, pings, server requests)
//!               StartTurn, InterruptTurn,│    │TurnUpdate (started, deltas, usage, completed,
//!               ForgetTurn               │    ▼            worker lost)
//!   supervisor ─ starts ──▶ UpstreamStream (one per turn, holds the Lease; ReleaseLease to
//!   front end ◀─ StreamOutput ─┘          the supervisor when it ends; a follow-up's front
//!                                         end starts its own)
//! ```
//!
//! Every lifecycle fact is an [`Event`]; logs, metrics, health and spans are derived from the
//! events only, and each of them matches every event variant (no wildcard arms).

pub mod accounts;
pub mod bus;
pub mod clock;
pub mod events;
pub mod health;
pub mod health_accounts;
pub mod ingress;
pub mod json_text;
pub mod label_enum;
pub mod labels;
pub mod metrics;
pub mod outcome;
pub mod parked;
pub mod reasoning_item;
pub mod request_features;
pub mod retry;
pub mod stop;
pub mod stream;
pub mod tools;
pub mod turn;
pub mod worker;

pub use bus::{Bus, BusHandle};
pub use events::Event;
pub use health::HealthAggregator;
pub use metrics::MetricsCollector;
pub use stream::UpstreamStream;
pub use worker::connection::WorkerConnection;
pub use worker::WorkerSupervisor;
