//! Charges each finished turn's tokens (input + output, as the worker reported them) to the
//! key that asked for it: a bus subscriber that reads `stream_ended`, whether or not the
//! client asked for usage. It only consumes that one event; it observes nothing else.

use super::Limiter;
use actix::prelude::*;
use codexd_actors::bus::Published;
use codexd_actors::events::{Event, StreamEvent};
use std::sync::Arc;

pub struct TokenCharger {
    limiter: Arc<Limiter>,
}

impl TokenCharger {
    pub fn new(limiter: Arc<Limiter>) -> Self {
        Self { limiter }
    }

    /// The one event it reads (the bus's interest filter).
    pub fn wants(e: &Event) -> bool {
        matches!(e, Event::Stream(StreamEvent::StreamEnded(s)) if s.ids.key_id.is_some())
    }
}

impl Actor for TokenCharger {
    type Context = Context<Self>;
}

impl Handler<Published> for TokenCharger {
    type Result = ();
    fn handle(&mut self, msg: Published, _: &mut Self::Context) {
        if let Event::Stream(StreamEvent::StreamEnded(s)) = &msg.0.event {
            if let Some(key) = &s.ids.key_id {
                self.limiter
                    .charge(key, s.usage.input.saturating_add(s.usage.output));
            }
        }
    }
}
