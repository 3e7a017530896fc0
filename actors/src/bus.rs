//! The one event bus: stamps each event with a sequence number, writes its log line exactly
//! once, and fans it out. Required subscribers (health, metrics) see every event; optional
//! ones are fed with `try_send` and a full mailbox drops the event and counts the loss.

use crate::events::{Event, RuntimeEvent};
use actix::prelude::*;
use prometheus::IntCounterVec;
use slog::{BorrowedKV, Logger, Record, RecordLocation, RecordStatic, Serializer, KV};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

static SEQ: AtomicU64 = AtomicU64::new(1);
static LOCATION: RecordLocation = RecordLocation {
    file: "",
    line: 0,
    column: 0,
    function: "",
    module: "codexd",
};

/// An event stamped by the bus.
#[derive(Debug)]
pub struct Envelope {
    pub seq: u64,
    pub at: SystemTime,
    pub event: Event,
}

/// Puts an event on the bus.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Publish(pub Event);

/// What subscribers receive.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct Published(pub Arc<Envelope>);

/// Adds a subscriber. Required subscribers are never dropped from.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Subscribe {
    pub name: &'static str,
    pub recipient: Recipient<Published>,
    pub required: bool,
}

struct Optional {
    name: &'static str,
    recipient: Recipient<Published>,
    dropped_since_report: u64,
    last_report: Option<Instant>,
}

/// The bus actor.
pub struct Bus {
    logger: Logger,
    required: Vec<Recipient<Published>>,
    optional: Vec<Optional>,
    dropped: Option<IntCounterVec>,
}

const DROP_REPORT_EVERY: Duration = Duration::from_secs(10);

impl Bus {
    pub fn new(logger: Logger, dropped: Option<IntCounterVec>) -> Self {
        Self {
            logger,
            required: Vec::new(),
            optional: Vec::new(),
            dropped,
        }
    }
}

impl Actor for Bus {
    type Context = Context<Self>;
}

impl Handler<Subscribe> for Bus {
    type Result = ();
    fn handle(&mut self, msg: Subscribe, _: &mut Self::Context) {
        if msg.required {
            self.required.push(msg.recipient);
        } else {
            // Expose the drop counter at 0 from the start, so rates work from the first drop.
            if let Some(c) = &self.dropped {
                c.with_label_values(&[msg.name]).inc_by(0);
            }
            self.optional.push(Optional {
                name: msg.name,
                recipient: msg.recipient,
                dropped_since_report: 0,
                last_report: None,
            });
        }
    }
}

impl Handler<Publish> for Bus {
    type Result = ();
    fn handle(&mut self, msg: Publish, _: &mut Self::Context) {
        let envelope = Arc::new(stamp(&self.logger, msg.0));
        for r in &self.required {
            r.do_send(Published(envelope.clone()));
        }
        let mut reports = Vec::new();
        for o in &mut self.optional {
            if o.recipient.try_send(Published(envelope.clone())).is_err() {
                o.dropped_since_report += 1;
                if let Some(c) = &self.dropped {
                    c.with_label_values(&[o.name]).inc();
                }
                let due = o
                    .last_report
                    .is_none_or(|t| t.elapsed() >= DROP_REPORT_EVERY);
                if due {
                    reports.push(RuntimeEvent::BusEventsDropped {
                        subscriber: o.name,
                        dropped: o.dropped_since_report,
                    });
                    o.dropped_since_report = 0;
                    o.last_report = Some(Instant::now());
                }
            }
        }
        for r in reports {
            stamp(&self.logger, Event::Runtime(r));
        }
    }
}

/// Stamps an event with the next sequence number and writes its log line.
pub fn stamp(logger: &Logger, event: Event) -> Envelope {
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    write_line(logger, seq, &event);
    Envelope {
        seq,
        at: SystemTime::now(),
        event,
    }
}

/// Writes the log line for one event. The one place event log lines come from.
fn write_line(logger: &Logger, seq: u64, event: &Event) {
    let meta = event.meta();
    let rs = RecordStatic {
        location: &LOCATION,
        tag: "",
        level: meta.level,
    };
    let line = Line {
        seq,
        name: meta.name,
        component: meta.component.as_str(),
        event,
    };
    logger.log(&Record::new(
        &rs,
        &format_args!("{}", meta.msg),
        BorrowedKV(&line),
    ));
}

struct Line<'a> {
    seq: u64,
    name: &'static str,
    component: &'static str,
    event: &'a Event,
}

impl KV for Line<'_> {
    fn serialize(&self, record: &Record<'_>, s: &mut dyn Serializer) -> slog::Result {
        self.event.serialize(record, s)?;
        s.emit_str("event", self.name)?;
        s.emit_str("component", self.component)?;
        s.emit_u64("seq", self.seq)
    }
}

/// A cheap, cloneable way to publish events from any thread.
#[derive(Clone)]
pub struct BusHandle {
    addr: Addr<Bus>,
}

impl BusHandle {
    pub fn new(addr: Addr<Bus>) -> Self {
        Self { addr }
    }

    pub fn publish(&self, event: Event) {
        self.addr.do_send(Publish(event));
    }

    pub fn addr(&self) -> &Addr<Bus> {
        &self.addr
    }
}
