//! codexd's actors: the event bus, worker supervision and protocol, upstream streams,
//! the metrics collector and the health aggregator. Nothing here knows HTTP or OpenAI types.

pub mod bus;
pub mod clock;
pub mod events;
pub mod health;
pub mod labels;
pub mod metrics;
pub mod outcome;
pub mod stream;
pub mod turn;
pub mod worker;

pub use bus::{Bus, BusHandle};
pub use events::Event;
