//! The daemon's bus fans out on the publishing thread (`Bus::start_inline`): events published
//! from several threads at once reach the line sink and every subscriber exactly once each,
//! in `seq` order, and each thread's own events in the order it published them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use codexd_actors::bus::{Envelope, LineSink, Observe, Published, SubscribeTo};
use codexd_actors::events::{Event, RuntimeEvent};
use codexd_actors::Bus;

const THREADS: u32 = 4;
const EACH: u32 = 500;

type Seen = Arc<Mutex<Vec<(u64, u32, u32)>>>;

fn seen(e: &Envelope) -> (u64, u32, u32) {
    match &e.event {
        Event::Runtime(RuntimeEvent::DaemonStarted { workers, pid }) => (e.seq, *pid, *workers),
        other => panic!("unexpected {other:?}"),
    }
}

struct Lines(Seen);

impl LineSink for Lines {
    fn line(&self, envelope: Arc<Envelope>) {
        self.0.lock().unwrap().push(seen(&envelope));
    }
}

struct NoMetrics;

impl Observe for NoMetrics {
    fn observe(&self, _: &Event) {}
}

struct Recorder(Seen);

impl Actor for Recorder {
    type Context = Context<Self>;
}

impl Handler<Published> for Recorder {
    type Result = ();
    fn handle(&mut self, msg: Published, _: &mut Self::Context) {
        self.0.lock().unwrap().push(seen(&msg.0));
    }
}

fn check(what: &str, got: &[(u64, u32, u32)]) {
    assert_eq!(
        got.len(),
        (THREADS * EACH) as usize,
        "{what}: every event once"
    );
    assert!(
        got.windows(2).all(|w| w[0].0 < w[1].0),
        "{what}: not in seq order"
    );
    for t in 0..THREADS {
        let own: Vec<u32> = got.iter().filter(|s| s.1 == t).map(|s| s.2).collect();
        assert_eq!(
            own,
            (0..EACH).collect::<Vec<_>>(),
            "{what}: thread {t}'s order"
        );
    }
}

#[actix_rt::test]
async fn events_published_from_many_threads_keep_seq_order_in_lines_and_subscribers() {
    let lines = Seen::default();
    let logger = slog::Logger::root(slog::Discard, slog::o!());
    let (_, bus) = Bus::new(logger, None)
        .with_line_sink(Box::new(Lines(lines.clone())), slog::Level::Info)
        .start_inline(Arc::new(NoMetrics), slog::Level::Info);
    let received = Seen::default();
    bus.subscribe(SubscribeTo {
        name: "test_recorder",
        recipient: Recorder(received.clone()).start().recipient(),
        required: true,
        wants: |e| matches!(e, Event::Runtime(RuntimeEvent::DaemonStarted { .. })),
    });
    let publishers: Vec<_> = (0..THREADS)
        .map(|t| {
            let bus = bus.clone();
            std::thread::spawn(move || {
                for i in 0..EACH {
                    bus.publish(Event::Runtime(RuntimeEvent::DaemonStarted {
                        workers: i,
                        pid: t,
                    }));
                }
            })
        })
        .collect();
    for p in publishers {
        p.join().unwrap();
    }
    // Every line is handed over before publish returns.
    check("lines", &lines.lock().unwrap());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while received.lock().unwrap().len() < (THREADS * EACH) as usize {
        assert!(
            std::time::Instant::now() < deadline,
            "the subscriber did not get them all"
        );
        actix_rt::time::sleep(Duration::from_millis(5)).await;
    }
    check("subscriber", &received.lock().unwrap());
}
