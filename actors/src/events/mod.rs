//! The event taxonomy: one `Event` enum of per-domain enums. Every lifecycle fact is one of
//! these; the bus writes its log line, metrics, health and spans derive state from it. Each
//! domain's events are declared once, with their metadata and log fields, by `events!`
//! (`declare.rs`). Fields are typed and none can hold user content (prompts, completions,
//! worker output) except the debug-only `content_captured`.

pub mod account;
pub mod declare;
pub mod health;
pub mod http;
pub mod runtime;
pub mod stream;
pub mod worker;

pub use account::AccountEvent;
pub use declare::{Component, Meta};
pub use health::{HealthEvent, ReadinessReason};
pub use http::{HttpEvent, RequestSummary};
pub use runtime::{RuntimeEvent, ShutdownPhase};
pub use stream::{StreamEvent, StreamSummary};
pub use worker::WorkerEvent;

use slog::{Serializer, KV};

/// Every event, by domain.
#[derive(Debug, Clone)]
pub enum Event {
    Runtime(RuntimeEvent),
    Http(HttpEvent),
    Stream(StreamEvent),
    Worker(WorkerEvent),
    Health(HealthEvent),
    Account(AccountEvent),
}

impl Event {
    /// The event's name, level, component and message.
    pub fn meta(&self) -> Meta {
        match self {
            Event::Runtime(e) => e.meta(),
            Event::Http(e) => e.meta(),
            Event::Stream(e) => e.meta(),
            Event::Worker(e) => e.meta(),
            Event::Health(e) => e.meta(),
            Event::Account(e) => e.meta(),
        }
    }
}

/// The typed log fields of the event: only these ever reach a log line.
impl KV for Event {
    fn serialize(&self, _: &slog::Record<'_>, s: &mut dyn Serializer) -> slog::Result {
        match self {
            Event::Runtime(e) => e.log_fields(s),
            Event::Http(e) => e.log_fields(s),
            Event::Stream(e) => e.log_fields(s),
            Event::Worker(e) => e.log_fields(s),
            Event::Health(e) => e.log_fields(s),
            Event::Account(e) => e.log_fields(s),
        }
    }
}

const DOMAINS: &[&[&str]] = &[
    RuntimeEvent::NAMES,
    HttpEvent::NAMES,
    StreamEvent::NAMES,
    WorkerEvent::NAMES,
    AccountEvent::NAMES,
    HealthEvent::NAMES,
];

const fn total(parts: &[&[&str]]) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < parts.len() {
        n += parts[i].len();
        i += 1;
    }
    n
}

/// Every event name, by domain in declaration order: the catalogue `docs/events.md` must
/// match (checked by a test).
pub const CATALOGUE: &[&str] = &declare::concat::<{ total(DOMAINS) }>(DOMAINS);
