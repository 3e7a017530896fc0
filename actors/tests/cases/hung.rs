//! The hung worker: one that stops answering liveness pings is declared unresponsive, killed
//! and restarted; one that never answers the handshake is restarted as a handshake timeout.

use std::time::Duration;

use codexd_actors::events::WorkerEvent;
use codexd_actors::labels::{RestartReason, RpcMethod, RpcOutcome};
use codexd_actors::Event;
use codexd_demo_worker::{Config, Handshake};

use crate::support::{DemoLauncher, Harness, Options, FIRST_PID};

fn restarted_ready(e: &Event) -> bool {
    matches!(e, Event::Worker(WorkerEvent::WorkerReady { pid, .. }) if *pid == FIRST_PID + 1)
}

#[actix_rt::test]
async fn a_worker_that_stops_answering_pings_is_restarted_as_unresponsive() {
    // The first worker answers `initialize`, then nothing at all; its replacement is healthy.
    let launcher = DemoLauncher::per_launch(|n| Config {
        stall_after_requests: (n == 0).then_some(1),
        ..Config::default()
    });
    let options = Options {
        ping_interval: Duration::from_millis(10),
        ping_timeout: Duration::from_millis(40),
        ..Options::default()
    };
    let mut h = Harness::start(options, launcher);
    h.until_ready().await;
    h.events
        .wait_for("the ping to time out", Duration::from_millis(500), |e| {
            matches!(
                e,
                Event::Worker(WorkerEvent::WorkerRpcCompleted {
                    method: RpcMethod::AccountRead,
                    outcome: RpcOutcome::Timeout,
                    ..
                })
            )
        })
        .await;
    let unresponsive = h
        .events
        .wait_for("unresponsive", Duration::from_millis(100), |e| {
            matches!(e, Event::Worker(WorkerEvent::WorkerUnresponsive { .. }))
        })
        .await;
    let Event::Worker(WorkerEvent::WorkerUnresponsive { pid, waited_ms, .. }) = unresponsive else {
        unreachable!()
    };
    assert_eq!(pid, FIRST_PID);
    assert!(waited_ms >= 40, "waited the ping timeout: {waited_ms} ms");
    h.events
        .wait_for("the hung worker killed", Duration::from_millis(500), |e| {
            matches!(
                e,
                Event::Worker(WorkerEvent::WorkerExited {
                    signal: Some(9),
                    reason: RestartReason::Unresponsive,
                    expected: false,
                    ..
                })
            )
        })
        .await;
    h.events
        .wait_for(
            "a restart for unresponsiveness",
            Duration::from_millis(100),
            |e| {
                matches!(
                    e,
                    Event::Worker(WorkerEvent::RestartScheduled {
                        reason: RestartReason::Unresponsive,
                        ..
                    })
                )
            },
        )
        .await;
    h.events
        .wait_for(
            "the replacement ready",
            Duration::from_secs(1),
            restarted_ready,
        )
        .await;
    // The replacement answers its pings.
    h.events
        .wait_for("a ping answered", Duration::from_millis(500), |e| {
            matches!(
                e,
                Event::Worker(WorkerEvent::WorkerRpcCompleted {
                    slot: 0,
                    method: RpcMethod::AccountRead,
                    outcome: RpcOutcome::Ok,
                    ..
                })
            )
        })
        .await;
}

#[actix_rt::test]
async fn a_handshake_that_never_answers_is_restarted_as_a_handshake_timeout() {
    let launcher = DemoLauncher::per_launch(|n| Config {
        handshake: if n == 0 {
            Handshake::Hang
        } else {
            Handshake::Ok
        },
        ..Config::default()
    });
    let options = Options {
        handshake_timeout: Duration::from_millis(40),
        ..Options::default()
    };
    let mut h = Harness::start(options, launcher);
    h.events
        .wait_for("the handshake timeout", Duration::from_millis(500), |e| {
            matches!(
                e,
                Event::Worker(WorkerEvent::WorkerExited {
                    pid,
                    reason: RestartReason::HandshakeTimeout,
                    ..
                }) if *pid == FIRST_PID
            )
        })
        .await;
    h.events
        .wait_for(
            "the replacement ready",
            Duration::from_secs(1),
            restarted_ready,
        )
        .await;
}
