//! Leases and the admission queue: a slot takes at most its turn limit, the rest wait in FIFO
//! order in a bounded queue (`queue_full` beyond it), a waiter that gave up (the HTTP layer's
//! queue timeout) is skipped, and with no serving worker requests are turned away at once.

use std::time::Duration;

use codexd_actors::events::WorkerEvent;
use codexd_actors::labels::RejectReason;
use codexd_actors::worker::Lease;
use codexd_actors::Event;
use codexd_demo_worker::{Config, Handshake};
use tokio::sync::oneshot;

use crate::support::{DemoLauncher, Harness, Options};

type Answer = oneshot::Receiver<Result<Lease, RejectReason>>;

/// Long enough for the supervisor to have answered, were it going to.
const SETTLE: Duration = Duration::from_millis(30);

async fn granted_now(answer: &mut Answer) -> Lease {
    match tokio::time::timeout(Duration::from_millis(500), answer).await {
        Ok(Ok(Ok(lease))) => lease,
        other => panic!("expected a lease, got {other:?}"),
    }
}

async fn rejected(answer: Answer) -> RejectReason {
    match tokio::time::timeout(Duration::from_millis(500), answer).await {
        Ok(Ok(Err(reason))) => reason,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

async fn still_waiting(answer: &mut Answer) {
    tokio::time::sleep(SETTLE).await;
    assert!(
        matches!(answer.try_recv(), Err(oneshot::error::TryRecvError::Empty)),
        "the request should still be queued"
    );
}

fn granted_to(e: &Event, req: &str) -> bool {
    matches!(e, Event::Worker(WorkerEvent::LeaseGranted { ids, .. }) if ids.req_id == req)
}

async fn ready(options: Options) -> Harness {
    let mut h = Harness::start(options, DemoLauncher::new(Config::default()));
    h.until_ready().await;
    h
}

#[actix_rt::test]
async fn a_slot_takes_at_most_its_turn_limit_and_the_rest_are_granted_in_fifo_order() {
    let h = ready(Options {
        max_turns_per_worker: 2,
        ..Options::default()
    })
    .await;
    let a = granted_now(&mut h.acquire("a")).await;
    let b = granted_now(&mut h.acquire("b")).await;
    assert_eq!((a.slot, b.slot), (0, 0));
    let mut c = h.acquire("c");
    let mut d = h.acquire("d");
    still_waiting(&mut c).await;
    still_waiting(&mut d).await;
    assert_eq!(h.health().await.workers[0].in_flight, 2);

    drop(a);
    let c = granted_now(&mut c).await;
    assert!(
        c.queue_wait >= SETTLE,
        "c waited in the queue: {:?}",
        c.queue_wait
    );
    still_waiting(&mut d).await;
    drop(b);
    granted_now(&mut d).await;
    let order: Vec<String> = h
        .events
        .matching(|e| matches!(e, Event::Worker(WorkerEvent::LeaseGranted { .. })))
        .into_iter()
        .filter_map(|e| match e {
            Event::Worker(WorkerEvent::LeaseGranted { ids, .. }) => Some(ids.req_id),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["a", "b", "c", "d"]);
}

#[actix_rt::test]
async fn a_request_beyond_the_full_queue_is_turned_away_as_queue_full() {
    let h = ready(Options {
        queue_size: 1,
        ..Options::default()
    })
    .await;
    let _a = granted_now(&mut h.acquire("a")).await;
    let mut b = h.acquire("b");
    still_waiting(&mut b).await;
    assert_eq!(rejected(h.acquire("c")).await, RejectReason::QueueFull);
}

#[actix_rt::test]
async fn with_no_queue_a_busy_pool_turns_requests_away_as_concurrency() {
    let h = ready(Options {
        queue_size: 0,
        ..Options::default()
    })
    .await;
    let _a = granted_now(&mut h.acquire("a")).await;
    assert_eq!(rejected(h.acquire("b")).await, RejectReason::Concurrency);
}

#[actix_rt::test]
async fn a_waiter_that_timed_out_is_skipped_and_frees_its_place_in_the_queue() {
    let mut h = ready(Options {
        queue_size: 1,
        ..Options::default()
    })
    .await;
    let a = granted_now(&mut h.acquire("a")).await;
    // The HTTP layer's queue timeout: it stops waiting and drops the receiver.
    let timed_out = tokio::time::timeout(Duration::from_millis(20), h.acquire("b")).await;
    assert!(timed_out.is_err(), "b was queued, not answered");
    let mut c = h.acquire("c");
    still_waiting(&mut c).await;
    drop(a);
    let c = granted_now(&mut c).await;
    assert_eq!(c.slot, 0);
    h.events
        .wait_until_seen("c's lease", Duration::from_millis(200), |e| {
            granted_to(e, "c")
        })
        .await;
    assert_eq!(h.events.count(|e| granted_to(e, "b")), 0, "b gave up");
}

#[actix_rt::test]
async fn with_no_serving_worker_requests_are_turned_away_as_no_worker() {
    let config = Config {
        handshake: Handshake::Hang,
        ..Config::default()
    };
    let mut h = Harness::start(Options::default(), DemoLauncher::new(config));
    h.events
        .wait_for(
            "the worker to be handshaking",
            Duration::from_secs(1),
            |e| matches!(e, Event::Worker(WorkerEvent::WorkerSpawned { .. })),
        )
        .await;
    assert_eq!(rejected(h.acquire("a")).await, RejectReason::NoWorker);
}
