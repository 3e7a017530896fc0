//! The ledger's bus subscriber (required: it sees every event it wants). Each generation request's
//! `request_completed` adds a request (and an error when it was rejected or failed) to its
//! key × model × UTC day row; each `stream_ended` adds the worker's token usage, whether or
//! not the client asked for usage. It only touches memory: the ledger thread writes.

use super::metrics::{KeyMetrics, TOKEN_TYPES};
use super::pending::Pending;
use super::store::{Counts, RowKey};
use actix::prelude::*;
use codexd_actors::bus::Published;
use codexd_actors::events::{Event, HttpEvent, StreamEvent};
use codexd_actors::labels::RequestOutcome;
use codexd_actors::turn::ReqIds;
use prometheus::Gauge;
use std::sync::Arc;

pub struct UsageCollector {
    /// `None` without a ledger: nothing would ever write the rows.
    pending: Option<Arc<Pending>>,
    keys: Option<KeyMetrics>,
    lag: Option<Gauge>,
    /// The last UTC day a row was counted on, as its number and its `YYYY-MM-DD`.
    day: (i64, String),
}

impl UsageCollector {
    /// `lag` is refreshed on every counted event, so the gauge grows even if the ledger
    /// thread stalls.
    pub fn new(
        pending: Option<Arc<Pending>>,
        keys: Option<KeyMetrics>,
        lag: Option<Gauge>,
    ) -> Self {
        Self {
            pending,
            keys,
            lag,
            day: (i64::MIN, String::new()),
        }
    }

    /// The events it counts (the bus's interest filter).
    pub fn wants(e: &Event) -> bool {
        matches!(
            e,
            Event::Http(HttpEvent::RequestCompleted(_))
                | Event::Stream(StreamEvent::StreamEnded(_))
        )
    }

    fn key_of(ids: &ReqIds) -> String {
        ids.key_id.as_deref().unwrap_or("").to_owned()
    }

    fn add(&mut self, ids: &ReqIds, model: &str, at: std::time::SystemTime, counts: Counts) {
        let Some(pending) = self.pending.clone() else {
            return;
        };
        let n = super::day::day_number(at);
        if self.day.0 != n {
            self.day = (n, super::day::format_day(n));
        }
        pending.add(
            RowKey {
                key: Self::key_of(ids),
                model: model.to_owned(),
                day: self.day.1.clone(),
            },
            &counts,
        );
        if let Some(g) = &self.lag {
            g.set(pending.lag_seconds());
        }
    }

    fn key_metrics<'a>(&'a self, ids: &'a ReqIds) -> Option<(&'a KeyMetrics, &'a str)> {
        let keys = self.keys.as_ref()?;
        let id = ids.key_id.as_deref().filter(|id| keys.knows(id))?;
        Some((keys, id))
    }
}

impl Actor for UsageCollector {
    type Context = Context<Self>;
}

impl Handler<Published> for UsageCollector {
    type Result = ();

    fn handle(&mut self, msg: Published, _: &mut Self::Context) {
        let at = msg.0.at;
        match &msg.0.event {
            Event::Http(HttpEvent::RequestCompleted(s)) if s.route.runs_turns() => {
                let failed = matches!(s.outcome, RequestOutcome::Rejected | RequestOutcome::Failed);
                let counts = Counts {
                    requests: 1,
                    errors: u64::from(failed),
                    ..Counts::default()
                };
                let model = s.model.as_deref().unwrap_or("other");
                self.add(&s.ids, model, at, counts);
                if let Some((keys, id)) = self.key_metrics(&s.ids) {
                    keys.requests.with_label_values(&[id]).inc();
                }
            }
            Event::Stream(StreamEvent::StreamEnded(s)) => {
                let u = s.usage;
                let counts = Counts {
                    input_tokens: u.input,
                    cached_input_tokens: u.cached_input,
                    output_tokens: u.output,
                    reasoning_tokens: u.reasoning,
                    ..Counts::default()
                };
                if counts != Counts::default() {
                    self.add(&s.ids, &s.model, at, counts);
                }
                if let Some((keys, id)) = self.key_metrics(&s.ids) {
                    for (t, n) in
                        TOKEN_TYPES
                            .iter()
                            .zip([u.input, u.output, u.cached_input, u.reasoning])
                    {
                        if n > 0 {
                            keys.tokens.with_label_values(&[id, t]).inc_by(n);
                        }
                    }
                }
            }
            // Everything else carries no usage.
            _ => {}
        }
    }
}
