//! The one event bus: stamps each event with a sequence number, writes its log line exactly
//! once, and fans it out. Required subscribers (health, metrics) see every event they want;
//! optional ones are fed with `try_send` and a full mailbox drops the event and counts the
//! loss. In the daemon all of it happens on the publishing thread ([`Bus::start_inline`]):
//! the metrics are observed there, an event that would neither be logged nor be wanted by
//! any subscriber goes no further (a debug-only event costs nothing at `info`), and the rest
//! is stamped and handed to the line sink and the subscribers under one lock, with no hop
//! through the bus actor's mailbox.

use crate::events::{Event, RuntimeEvent};
use actix::prelude::*;
use prometheus::IntCounterVec;
use slog::{BorrowedKV, Level, Logger, Record, RecordLocation, RecordStatic, Serializer, KV};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
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

/// What moves on the publishing thread itself, before an event goes anywhere: the metrics
/// (`crate::metrics::Metrics` implements it), whose series are atomics.
pub trait Observe: Send + Sync {
    fn observe(&self, event: &Event);
}

/// Which events a subscriber handles: an exhaustive match in the subscriber's own module, so
/// a new event does not compile until each subscriber decides.
pub type Interest = fn(&Event) -> bool;

/// Wants every event (tests' recorders and [`Subscribe`]).
pub fn every_event(_: &Event) -> bool {
    true
}

/// Adds a subscriber of every event. Required subscribers are never dropped from.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Subscribe {
    pub name: &'static str,
    pub recipient: Recipient<Published>,
    pub required: bool,
}

/// Adds a subscriber of the events `wants` accepts; the others never reach its mailbox.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SubscribeTo {
    pub name: &'static str,
    pub recipient: Recipient<Published>,
    pub required: bool,
    pub wants: Interest,
}

struct Required {
    recipient: Recipient<Published>,
    wants: Interest,
}

struct Optional {
    name: &'static str,
    recipient: Recipient<Published>,
    wants: Interest,
    dropped_since_report: u64,
    last_report: Option<Instant>,
}

/// The interests of every subscriber, shared with the handles so that a publisher can tell
/// whether anyone wants an event before sending it.
type Interests = Arc<RwLock<Vec<Interest>>>;

/// Where a daemon's event lines go instead of a `Logger`: a log thread that encodes each
/// stamped envelope once, off the bus's thread (`src/log_lines.rs`). The bus hands it the
/// envelopes at or above `level` only.
pub trait LineSink: Send {
    fn line(&self, envelope: Arc<Envelope>);
}

/// The bus actor: the address subscribers register with and handles without inline
/// fan-out publish to. What it does with an event ([`Fanout::publish`]) is shared with the
/// daemon's handles, which do it on the publishing thread.
pub struct Bus {
    fanout: Arc<Mutex<Fanout>>,
    interests: Interests,
}

/// Stamping, the log line and the fan-out, under one lock: `seq` order is the order of the
/// lines handed to the line sink and the order every subscriber's mailbox receives events,
/// whichever threads publish them.
struct Fanout {
    logger: Logger,
    lines: Option<(Box<dyn LineSink>, Level)>,
    required: Vec<Required>,
    optional: Vec<Optional>,
    dropped: Option<IntCounterVec>,
}

const DROP_REPORT_EVERY: Duration = Duration::from_secs(10);

impl Bus {
    pub fn new(logger: Logger, dropped: Option<IntCounterVec>) -> Self {
        Self {
            fanout: Arc::new(Mutex::new(Fanout {
                logger,
                lines: None,
                required: Vec::new(),
                optional: Vec::new(),
                dropped,
            })),
            interests: Interests::default(),
        }
    }

    /// Starts the bus and returns a handle that observes `metrics` on the publishing thread,
    /// and there also stamps, logs and fans out the events that are logged at `level` or
    /// that a subscriber wants; it subscribes synchronously ([`BusHandle::subscribe`]).
    /// Every handle cloned from it does the same.
    pub fn start_inline(self, metrics: Arc<dyn Observe>, level: Level) -> (Addr<Bus>, BusHandle) {
        let interests = self.interests.clone();
        let fanout = self.fanout.clone();
        let addr = self.start();
        let handle = BusHandle {
            addr: addr.clone(),
            inline: Some(Arc::new(Inline {
                metrics,
                level,
                interests,
                fanout,
            })),
        };
        (addr, handle)
    }

    /// Event lines go to `sink` (encoded there) instead of through the logger.
    pub fn with_line_sink(self, sink: Box<dyn LineSink>, level: Level) -> Self {
        lock(&self.fanout).lines = Some((sink, level));
        self
    }
}

/// The fan-out's lock. No code panics while holding it, and a poisoned lock would still
/// hold consistent lists, so a poisoned lock is used as it is.
fn lock(fanout: &Mutex<Fanout>) -> MutexGuard<'_, Fanout> {
    fanout.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Adds a subscriber: to the fan-out's lists, and its interest to the handles' shared list.
fn subscribe(fanout: &Mutex<Fanout>, interests: &Interests, s: SubscribeTo) {
    let mut f = lock(fanout);
    if let Ok(mut w) = interests.write() {
        w.push(s.wants);
    }
    if s.required {
        f.required.push(Required {
            recipient: s.recipient,
            wants: s.wants,
        });
    } else {
        // Expose the drop counter at 0 from the start, so rates work from the first drop.
        if let Some(c) = &f.dropped {
            c.with_label_values(&[s.name]).inc_by(0);
        }
        f.optional.push(Optional {
            name: s.name,
            recipient: s.recipient,
            wants: s.wants,
            dropped_since_report: 0,
            last_report: None,
        });
    }
}

impl Fanout {
    /// Stamps the event and writes its line: to the line sink when there is one, else
    /// through the logger.
    fn stamp_and_write(&self, event: Event) -> Arc<Envelope> {
        match &self.lines {
            None => Arc::new(stamp(&self.logger, event)),
            Some((sink, level)) => {
                let envelope = Arc::new(Envelope {
                    seq: SEQ.fetch_add(1, Ordering::Relaxed),
                    at: SystemTime::now(),
                    event,
                });
                if envelope.event.meta().level.is_at_least(*level) {
                    sink.line(envelope.clone());
                }
                envelope
            }
        }
    }

    /// Stamps, logs and hands the event to every subscriber that wants it.
    fn publish(&mut self, event: Event) {
        let envelope = self.stamp_and_write(event);
        for r in &self.required {
            if (r.wants)(&envelope.event) {
                r.recipient.do_send(Published(envelope.clone()));
            }
        }
        let mut reports = Vec::new();
        for o in &mut self.optional {
            if !(o.wants)(&envelope.event) {
                continue;
            }
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
            self.stamp_and_write(Event::Runtime(r));
        }
    }
}

impl Actor for Bus {
    type Context = Context<Self>;
}

impl Handler<Subscribe> for Bus {
    type Result = ();
    fn handle(&mut self, msg: Subscribe, _: &mut Self::Context) {
        let to = SubscribeTo {
            name: msg.name,
            recipient: msg.recipient,
            required: msg.required,
            wants: every_event,
        };
        subscribe(&self.fanout, &self.interests, to);
    }
}

impl Handler<SubscribeTo> for Bus {
    type Result = ();
    fn handle(&mut self, msg: SubscribeTo, _: &mut Self::Context) {
        subscribe(&self.fanout, &self.interests, msg);
    }
}

impl Handler<Publish> for Bus {
    type Result = ();
    fn handle(&mut self, msg: Publish, _: &mut Self::Context) {
        lock(&self.fanout).publish(msg.0);
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

/// Builds the event's log record (its level, fixed message and line fields) and hands it
/// to `f`: the one place event log lines come from, whether a logger writes them
/// ([`write_line`]) or a line sink encodes them ([`serialize_line`]).
fn with_record<R>(seq: u64, event: &Event, f: impl FnOnce(&Record<'_>, &Line<'_>) -> R) -> R {
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
    f(
        &Record::new(&rs, &format_args!("{}", meta.msg), BorrowedKV(&line)),
        &line,
    )
}

/// Serialises one event's line fields (its own fields, then `event`, `component`, `seq`)
/// into `s`: what a line sink encodes.
pub fn serialize_line(seq: u64, event: &Event, s: &mut dyn Serializer) -> slog::Result {
    with_record(seq, event, |record, line| line.serialize(record, s))
}

/// Writes the log line for one event through a logger.
fn write_line(logger: &Logger, seq: u64, event: &Event) {
    with_record(seq, event, |record, _| logger.log(record));
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

/// What a daemon's handles do on the publishing thread.
struct Inline {
    metrics: Arc<dyn Observe>,
    /// The log level: events below it are not logged.
    level: Level,
    interests: Interests,
    fanout: Arc<Mutex<Fanout>>,
}

impl Inline {
    /// Whether the bus has anything to do with the event: log it or hand it to a subscriber.
    fn bus_needs(&self, event: &Event) -> bool {
        event.meta().level.is_at_least(self.level)
            || self
                .interests
                .read()
                .map_or(true, |w| w.iter().any(|wants| wants(event)))
    }
}

/// A cheap, cloneable way to publish events from any thread.
#[derive(Clone)]
pub struct BusHandle {
    addr: Addr<Bus>,
    inline: Option<Arc<Inline>>,
}

impl BusHandle {
    /// A handle that sends every event to the bus (metrics, if any, subscribe to it).
    pub fn new(addr: Addr<Bus>) -> Self {
        Self { addr, inline: None }
    }

    pub fn publish(&self, event: Event) {
        match &self.inline {
            Some(inline) => {
                inline.metrics.observe(&event);
                if inline.bus_needs(&event) {
                    lock(&inline.fanout).publish(event);
                }
            }
            None => self.addr.do_send(Publish(event)),
        }
    }

    /// Adds a subscriber: at once for a handle with inline fan-out (so it sees every event
    /// published after this returns), else through the bus's mailbox (so it sees every
    /// event published through this handle after this call).
    pub fn subscribe(&self, s: SubscribeTo) {
        match &self.inline {
            Some(inline) => subscribe(&inline.fanout, &inline.interests, s),
            None => self.addr.do_send(s),
        }
    }

    /// Whether the bus would log `probe` or hand it to a subscriber (always, for a handle
    /// without inline metrics). A publisher builds `probe` with the parts of an event that
    /// only a log line or a subscriber reads present but empty, and leaves those parts out
    /// of the event it publishes when nobody needs them; the metrics see it either way.
    pub fn needs(&self, probe: &Event) -> bool {
        self.inline.as_ref().is_none_or(|i| i.bus_needs(probe))
    }

    pub fn addr(&self) -> &Addr<Bus> {
        &self.addr
    }
}
