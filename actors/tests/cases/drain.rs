//! Drain: `BeginDrain` turns queued and new requests away as `draining` while in-flight turns
//! finish, unless the drain timeout expires (they then end as `shutdown`); `StopWorkers` then
//! stops every worker (SIGTERM) and reports when all are stopped.

use std::sync::atomic::Ordering;
use std::time::Duration;

use codexd_actors::events::{StreamEvent, WorkerEvent};
use codexd_actors::labels::{RejectReason, StreamOutcome};
use codexd_actors::turn::StreamOutput;
use codexd_actors::worker::state::SlotState;
use codexd_actors::worker::supervisor::{BeginDrain, InterruptLeases, StopWorkers};
use codexd_actors::Event;
use codexd_demo_worker::Config;
use tokio::sync::oneshot;

use crate::support::{drain_output, DemoLauncher, Harness, Options, FIRST_PID};

async fn rejection(
    answer: oneshot::Receiver<Result<codexd_actors::worker::Lease, RejectReason>>,
) -> RejectReason {
    match tokio::time::timeout(Duration::from_millis(500), answer).await {
        Ok(Ok(Err(reason))) => reason,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[actix_rt::test]
async fn begin_drain_turns_queued_and_new_requests_away_as_draining() {
    let mut h = Harness::start(Options::default(), DemoLauncher::new(Config::default()));
    h.until_ready().await;
    let _a = h.lease("a").await;
    let b = h.acquire("b");
    let c = h.acquire("c");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (drained, _drained_rx) = tokio::sync::oneshot::channel();
    h.supervisor.do_send(BeginDrain { drained });
    assert_eq!(rejection(b).await, RejectReason::Draining);
    assert_eq!(rejection(c).await, RejectReason::Draining);
    assert_eq!(rejection(h.acquire("d")).await, RejectReason::Draining);
}

#[actix_rt::test]
async fn in_flight_turns_finish_during_the_drain_then_the_workers_stop() {
    let slow_deltas = Config {
        chunk_interval: Some(Duration::from_millis(15)),
        ..Config::default()
    };
    let mut h = Harness::start(Options::default(), DemoLauncher::new(slow_deltas));
    h.until_ready().await;
    let lease = h.lease("a").await;
    let mut out = h.stream("a", lease);
    h.events
        .wait_for("the turn to start", Duration::from_millis(500), |e| {
            matches!(e, Event::Stream(StreamEvent::TurnStarted { .. }))
        })
        .await;
    let (drained, mut drained_rx) = tokio::sync::oneshot::channel();
    h.supervisor.do_send(BeginDrain { drained });
    assert_eq!(rejection(h.acquire("late")).await, RejectReason::Draining);
    assert!(
        drained_rx.try_recv().is_err(),
        "the drain was answered while a lease was still out"
    );

    let outputs = drain_output(&mut out, Duration::from_secs(1)).await;
    assert!(matches!(
        outputs.last(),
        Some(StreamOutput::Ended(StreamOutcome::Completed))
    ));
    h.events
        .wait_until_seen("the in-flight stream completed", Duration::from_millis(200), |e| {
            matches!(e, Event::Stream(StreamEvent::StreamEnded(s)) if s.outcome == StreamOutcome::Completed)
        })
        .await;
    h.events
        .wait_until_seen("its lease back", Duration::from_millis(200), |e| {
            matches!(
                e,
                Event::Worker(WorkerEvent::LeaseReleased { in_flight: 0, .. })
            )
        })
        .await;
    tokio::time::timeout(Duration::from_millis(500), drained_rx)
        .await
        .expect("the drain is answered once the last lease is back")
        .expect("the supervisor answers the drain");
    assert_eq!(h.streams.active.load(Ordering::SeqCst), 0);

    let (done, stopped) = oneshot::channel();
    h.supervisor.do_send(StopWorkers { done });
    tokio::time::timeout(Duration::from_secs(1), stopped)
        .await
        .expect("every worker stopped within the grace")
        .expect("the supervisor reports it");
    let stopped = h
        .events
        .wait_until_seen("the worker stopped", Duration::from_millis(200), |e| {
            matches!(e, Event::Worker(WorkerEvent::WorkerStopped { .. }))
        })
        .await;
    assert!(matches!(
        stopped,
        Event::Worker(WorkerEvent::WorkerStopped {
            slot: 0,
            pid: FIRST_PID,
            forced: false
        })
    ));
    h.events
        .wait_until_seen("an expected, clean exit", Duration::from_millis(200), |e| {
            matches!(
                e,
                Event::Worker(WorkerEvent::WorkerExited {
                    code: Some(0),
                    expected: true,
                    ..
                })
            )
        })
        .await;
    h.events
        .wait_until_seen("the slot stopped", Duration::from_millis(200), |e| {
            matches!(
                e,
                Event::Worker(WorkerEvent::WorkerStateChanged {
                    to: SlotState::Stopped,
                    ..
                })
            )
        })
        .await;
    assert_eq!(h.health().await.workers[0].state, "stopped");
    assert_eq!(
        h.launcher.launches(),
        1,
        "a stopped worker is not restarted"
    );
}

#[actix_rt::test]
async fn streams_still_running_when_the_drain_times_out_end_as_shutdown() {
    let slow_model = Config {
        first_token_delay: Some(Duration::from_secs(30)),
        ..Config::default()
    };
    let mut h = Harness::start(Options::default(), DemoLauncher::new(slow_model));
    h.until_ready().await;
    let lease = h.lease("a").await;
    let mut out = h.stream("a", lease);
    h.events
        .wait_for("the turn to start", Duration::from_millis(500), |e| {
            matches!(e, Event::Stream(StreamEvent::TurnStarted { .. }))
        })
        .await;
    let (drained, _drained_rx) = tokio::sync::oneshot::channel();
    h.supervisor.do_send(BeginDrain { drained });
    h.supervisor.do_send(InterruptLeases);
    let outputs = drain_output(&mut out, Duration::from_secs(1)).await;
    assert!(matches!(
        outputs.last(),
        Some(StreamOutput::Ended(StreamOutcome::Shutdown))
    ));
    h.events
        .wait_for(
            "turn/interrupt sent for the shutdown",
            Duration::from_millis(200),
            |e| {
                matches!(
                    e,
                    Event::Stream(StreamEvent::TurnInterruptSent {
                        cause: StreamOutcome::Shutdown,
                        ..
                    })
                )
            },
        )
        .await;
    h.events
        .wait_for("the stream ended as shutdown", Duration::from_millis(500), |e| {
            matches!(e, Event::Stream(StreamEvent::StreamEnded(s)) if s.outcome == StreamOutcome::Shutdown)
        })
        .await;
}
