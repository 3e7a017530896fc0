//! A recording bus subscriber: keeps every published event, and waits (bounded) for the next
//! one that matches; a wait that times out fails the test with every event it saw.

use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use codexd_actors::bus::{Published, Subscribe};
use codexd_actors::{BusHandle, Event};
use tokio::sync::watch;

type Log = Arc<Mutex<Vec<Event>>>;

/// The subscriber actor.
struct Recorder {
    log: Log,
    count: watch::Sender<usize>,
}

impl Actor for Recorder {
    type Context = Context<Self>;
}

impl Handler<Published> for Recorder {
    type Result = ();
    fn handle(&mut self, msg: Published, _: &mut Self::Context) {
        let mut log = self.log.lock().unwrap();
        log.push(msg.0.event.clone());
        self.count.send_replace(log.len());
    }
}

/// The test's view of the recorded events, with a cursor: each match moves it past the
/// matched event, so successive waits assert an order.
pub struct Events {
    log: Log,
    count: watch::Receiver<usize>,
    cursor: usize,
}

impl Events {
    /// Starts a recorder and subscribes it as a required subscriber (it never misses one).
    pub fn subscribe(bus: &BusHandle) -> Events {
        let log = Log::default();
        let (count, rx) = watch::channel(0);
        let recorder = Recorder {
            log: log.clone(),
            count,
        }
        .start();
        bus.addr().do_send(Subscribe {
            name: "test_recorder",
            recipient: recorder.recipient(),
            required: true,
        });
        Events {
            log,
            count: rx,
            cursor: 0,
        }
    }

    /// Waits up to `within` for the next event (after the cursor) that `pred` accepts and
    /// returns it; on timeout fails the test, naming `what` and listing every event seen.
    pub async fn wait_for(
        &mut self,
        what: &str,
        within: Duration,
        pred: impl Fn(&Event) -> bool,
    ) -> Event {
        let found = tokio::time::timeout(within, async {
            loop {
                self.count.borrow_and_update();
                if let Some(event) = self.find(&pred) {
                    return event;
                }
                if self.count.changed().await.is_err() {
                    // The recorder is gone; nothing more will arrive.
                    std::future::pending::<()>().await;
                }
            }
        })
        .await;
        match found {
            Ok(event) => event,
            Err(_) => panic!(
                "timed out after {within:?} waiting for {what}; events so far (cursor at {}):\n{}",
                self.cursor,
                self.dump()
            ),
        }
    }

    /// Waits up to `within` until some event, at any position, matches `pred`; leaves the
    /// cursor where it is (for facts whose order against earlier waits does not matter).
    pub async fn wait_until_seen(
        &mut self,
        what: &str,
        within: Duration,
        pred: impl Fn(&Event) -> bool,
    ) -> Event {
        let cursor = std::mem::take(&mut self.cursor);
        let event = self.wait_for(what, within, pred).await;
        self.cursor = cursor;
        event
    }

    /// Fails the test if any event after the cursor matches `pred`.
    pub fn assert_none(&self, what: &str, pred: impl Fn(&Event) -> bool) {
        let log = self.log.lock().unwrap();
        let found = log.iter().skip(self.cursor).find(|e| pred(e)).cloned();
        drop(log);
        if let Some(event) = found {
            panic!(
                "unexpected {what}: {event:?}; events so far:\n{}",
                self.dump()
            );
        }
    }

    /// How many recorded events (from the start) match `pred`.
    pub fn count(&self, pred: impl Fn(&Event) -> bool) -> usize {
        self.log.lock().unwrap().iter().filter(|e| pred(e)).count()
    }

    /// The recorded events (from the start) that `pred` accepts.
    pub fn matching(&self, pred: impl Fn(&Event) -> bool) -> Vec<Event> {
        let log = self.log.lock().unwrap();
        log.iter().filter(|e| pred(e)).cloned().collect()
    }

    fn find(&mut self, pred: &impl Fn(&Event) -> bool) -> Option<Event> {
        let log = self.log.lock().unwrap();
        let at = log.iter().skip(self.cursor).position(pred)? + self.cursor;
        self.cursor = at + 1;
        log.get(at).cloned()
    }

    fn dump(&self) -> String {
        let log = self.log.lock().unwrap();
        let mut text = String::new();
        for (i, event) in log.iter().enumerate() {
            let _ = writeln!(text, "  {i:>3} {:<28} {event:?}", event.meta().name);
        }
        text
    }
}
