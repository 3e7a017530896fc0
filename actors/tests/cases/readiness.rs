//! Readiness follows the workers: it flips off when the last ready worker dies and back on
//! once a restarted worker is ready; it stays on while another worker is ready.

use std::time::Duration;

use codexd_actors::events::{HealthEvent, WorkerEvent};
use codexd_actors::labels::{ReadinessReason, RestartReason};
use codexd_actors::Event;
use codexd_demo_worker::Config;

use crate::support::{DemoLauncher, Harness, Options, FIRST_PID};

/// How fast readiness must follow a worker's death.
const FLIP_BOUND: Duration = Duration::from_millis(500);

fn readiness(e: &Event) -> Option<(bool, ReadinessReason)> {
    match e {
        Event::Health(HealthEvent::ReadinessChanged { ready, reason, .. }) => {
            Some((*ready, *reason))
        }
        _ => None,
    }
}

#[actix_rt::test]
async fn the_last_ready_worker_dying_flips_readiness_off_then_a_restart_flips_it_back() {
    let mut h = Harness::start(Options::default(), DemoLauncher::new(Config::default()));
    h.until_ready().await;
    assert_eq!(h.readiness().await, (true, ReadinessReason::Ready));

    assert!(h.launcher.kill_latest());
    let exited = h
        .events
        .wait_for("the killed worker's exit", FLIP_BOUND, |e| {
            matches!(e, Event::Worker(WorkerEvent::WorkerExited { .. }))
        })
        .await;
    let Event::Worker(WorkerEvent::WorkerExited {
        pid,
        signal,
        reason,
        expected,
        ..
    }) = exited
    else {
        unreachable!()
    };
    assert_eq!(
        (pid, signal, reason, expected),
        (FIRST_PID, Some(9), RestartReason::Signal, false)
    );
    h.events
        .wait_for("readiness off (no_ready_workers)", FLIP_BOUND, |e| {
            readiness(e) == Some((false, ReadinessReason::NoReadyWorkers))
        })
        .await;

    h.events
        .wait_for(
            "readiness back on after the restart",
            Duration::from_secs(1),
            |e| readiness(e) == Some((true, ReadinessReason::Ready)),
        )
        .await;
    assert_eq!(h.readiness().await, (true, ReadinessReason::Ready));
    assert_eq!(h.launcher.launches(), 2);
    let snapshot = h.health().await;
    let slot = &snapshot.workers[0];
    assert_eq!(
        (slot.state, slot.pid, slot.restarts),
        ("ready", Some(FIRST_PID + 1), 1)
    );
}

#[actix_rt::test]
async fn readiness_stays_on_while_another_worker_is_ready() {
    let options = Options {
        slots: 2,
        ..Options::default()
    };
    let mut h = Harness::start(options, DemoLauncher::new(Config::default()));
    h.until_ready().await;
    h.events
        .wait_until_seen("the second worker ready", Duration::from_secs(1), |e| {
            matches!(e, Event::Worker(WorkerEvent::WorkerReady { slot: 1, .. }))
        })
        .await;
    assert!(h.launcher.kill_latest());
    h.events
        .wait_for("the killed worker's restart to be ready", Duration::from_secs(1), |e| {
            matches!(e, Event::Worker(WorkerEvent::WorkerReady { pid, .. }) if *pid == FIRST_PID + 2)
        })
        .await;
    h.events.assert_none("a flip to not ready", |e| {
        readiness(e).is_some_and(|(ready, _)| !ready)
    });
    assert_eq!(h.readiness().await, (true, ReadinessReason::Ready));
}
