//! Restart intensity: a crash-looping worker is restarted with growing backoff until the
//! window's budget is spent, then its slot fails; a worker that crashes mid-turn loses that
//! turn's stream and is restarted.

use std::time::Duration;

use codexd_actors::events::{StreamEvent, WorkerEvent};
use codexd_actors::labels::{ReadinessReason, RejectReason, RestartReason, StreamOutcome};
use codexd_actors::turn::StreamOutput;
use codexd_actors::worker::state::SlotState;
use codexd_actors::Event;
use codexd_demo_worker::{Config, CRASH_EXIT_CODE};

use crate::support::{drain_output, DemoLauncher, Harness, Options, FIRST_PID};

#[actix_rt::test]
async fn a_crash_looping_worker_backs_off_then_its_slot_fails() {
    let crash_at_start = Config {
        exit_on_start: Some(1),
        ..Config::default()
    };
    let mut h = Harness::start(Options::default(), DemoLauncher::new(crash_at_start));
    let mut delays = Vec::new();
    for attempt in 1..=3 {
        let scheduled = h
            .events
            .wait_for("a restart", Duration::from_secs(1), |e| {
                matches!(e, Event::Worker(WorkerEvent::RestartScheduled { .. }))
            })
            .await;
        let Event::Worker(WorkerEvent::RestartScheduled {
            attempt: n,
            delay_ms,
            reason,
            ..
        }) = scheduled
        else {
            unreachable!()
        };
        assert_eq!((n, reason), (attempt, RestartReason::Exit));
        delays.push(delay_ms);
    }
    // No jitter: exactly the ceilings 5, 10, 20 ms.
    assert_eq!(delays, [5, 10, 20]);
    let exhausted = h
        .events
        .wait_for("restarts exhausted", Duration::from_secs(1), |e| {
            matches!(e, Event::Worker(WorkerEvent::RestartsExhausted { .. }))
        })
        .await;
    assert!(matches!(
        exhausted,
        Event::Worker(WorkerEvent::RestartsExhausted {
            slot: 0,
            restarts: 3,
            window_ms: 10_000,
            retry_in_ms: 60_000,
        })
    ));
    h.events
        .wait_until_seen("the slot to fail", Duration::from_millis(200), |e| {
            matches!(
                e,
                Event::Worker(WorkerEvent::WorkerStateChanged {
                    to: SlotState::Failed,
                    ..
                })
            )
        })
        .await;
    let exits = h.events.matching(|e| {
        matches!(
            e,
            Event::Worker(WorkerEvent::WorkerExited {
                code: Some(1),
                reason: RestartReason::Exit,
                expected: false,
                ..
            })
        )
    });
    assert_eq!(exits.len(), 4, "the first start and three restarts");
    assert_eq!(h.launcher.launches(), 4);

    let health = h.health().await;
    assert_eq!(health.workers[0].state, "failed");
    assert!(health.workers[0].next_restart_in_ms.is_some());
    assert_eq!(h.readiness().await, (false, ReadinessReason::Starting));
    let (reply, answer) = tokio::sync::oneshot::channel();
    h.supervisor
        .do_send(codexd_actors::worker::supervisor::AcquireLease {
            ids: crate::support::ids("late"),
            reply,
        });
    assert!(matches!(answer.await, Ok(Err(RejectReason::NoWorker))));
}

#[actix_rt::test]
async fn a_worker_that_crashes_mid_turn_loses_its_stream_and_is_restarted() {
    let launcher = DemoLauncher::per_launch(|n| Config {
        crash_after_chunks: (n == 0).then_some(2),
        ..Config::default()
    });
    let mut h = Harness::start(Options::default(), launcher);
    h.until_ready().await;
    let lease = h.lease("a").await;
    let mut out = h.stream("a", lease);
    let outputs = drain_output(&mut out, Duration::from_secs(1)).await;
    let text: String = outputs
        .iter()
        .filter_map(|o| match o {
            StreamOutput::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, "You sa", "the two deltas before the crash");
    assert!(matches!(
        outputs.last(),
        Some(StreamOutput::Ended(StreamOutcome::WorkerLost))
    ));
    let ended = h
        .events
        .wait_until_seen("the stream's end", Duration::from_millis(200), |e| {
            matches!(e, Event::Stream(StreamEvent::StreamEnded(_)))
        })
        .await;
    let Event::Stream(StreamEvent::StreamEnded(summary)) = ended else {
        unreachable!()
    };
    assert_eq!(
        (summary.outcome, summary.chunks),
        (StreamOutcome::WorkerLost, 2)
    );
    h.events
        .wait_until_seen("the crash", Duration::from_millis(200), |e| {
            matches!(
                e,
                Event::Worker(WorkerEvent::WorkerExited { pid, code: Some(CRASH_EXIT_CODE), reason: RestartReason::Exit, .. })
                    if *pid == FIRST_PID
            )
        })
        .await;
    h.events
        .wait_until_seen("the restarted worker ready", Duration::from_secs(1), |e| {
            matches!(e, Event::Worker(WorkerEvent::WorkerReady { pid, .. }) if *pid == FIRST_PID + 1)
        })
        .await;
    // The crashed turn's lease was given back: the new worker takes a turn at once.
    let lease = h.lease("b").await;
    let mut out = h.stream("b", lease);
    let outputs = drain_output(&mut out, Duration::from_secs(1)).await;
    assert!(matches!(
        outputs.last(),
        Some(StreamOutput::Ended(StreamOutcome::Completed))
    ));
}
