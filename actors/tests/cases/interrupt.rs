//! Streams and interrupts: a completed turn reaches its consumer; a stream whose consumer
//! goes away interrupts its turn on the worker and records `client_abort`; a first-token
//! timeout interrupts the turn too and fails the stream.

use std::time::Duration;

use codexd_actors::events::{StreamEvent, StreamSummary, WorkerEvent};
use codexd_actors::labels::{RpcMethod, RpcOutcome, StreamOutcome};
use codexd_actors::turn::StreamOutput;
use codexd_actors::worker::state::SlotState;
use codexd_actors::Event;
use codexd_demo_worker::Config;

use crate::support::{drain_output, DemoLauncher, Harness, Options};

/// A model that takes far longer than any test to produce its first token.
fn slow_model() -> Config {
    Config {
        first_token_delay: Some(Duration::from_secs(30)),
        ..Config::default()
    }
}

async fn stream_end(h: &mut Harness, within: Duration) -> StreamSummary {
    let ended = h
        .events
        .wait_for("the stream's end", within, |e| {
            matches!(e, Event::Stream(StreamEvent::StreamEnded(_)))
        })
        .await;
    let Event::Stream(StreamEvent::StreamEnded(summary)) = ended else {
        unreachable!()
    };
    *summary
}

#[actix_rt::test]
async fn a_completed_turn_hands_its_text_usage_and_end_to_the_consumer() {
    let mut h = Harness::start(Options::default(), DemoLauncher::new(Config::default()));
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
    assert_eq!(text, "You said: hi");
    let usage = outputs.iter().find_map(|o| match o {
        StreamOutput::Usage(u) => Some(*u),
        _ => None,
    });
    let usage = usage.expect("usage before the end");
    assert_eq!((usage.input, usage.output, usage.total), (1, 3, 4));
    assert!(matches!(
        outputs.last(),
        Some(StreamOutput::Ended(StreamOutcome::Completed))
    ));
    let summary = stream_end(&mut h, Duration::from_millis(200)).await;
    assert_eq!(
        (summary.outcome, summary.chunks, summary.error_type),
        (StreamOutcome::Completed, 5, None)
    );
    h.events
        .wait_for("the lease back", Duration::from_millis(200), |e| {
            matches!(
                e,
                Event::Worker(WorkerEvent::LeaseReleased { in_flight: 0, .. })
            )
        })
        .await;
}

#[actix_rt::test]
async fn a_stream_whose_consumer_goes_away_interrupts_its_turn_and_records_client_abort() {
    let mut h = Harness::start(Options::default(), DemoLauncher::new(slow_model()));
    h.until_ready().await;
    let lease = h.lease("a").await;
    let out = h.stream("a", lease);
    h.events
        .wait_for("the turn to start", Duration::from_millis(500), |e| {
            matches!(e, Event::Stream(StreamEvent::TurnStarted { .. }))
        })
        .await;
    drop(out);
    h.events
        .wait_for(
            "turn/interrupt sent for client_abort",
            Duration::from_millis(200),
            |e| {
                matches!(
                    e,
                    Event::Stream(StreamEvent::TurnInterruptSent {
                        cause: StreamOutcome::ClientAbort,
                        ..
                    })
                )
            },
        )
        .await;
    h.events
        .wait_until_seen(
            "the worker's answer to turn/interrupt",
            Duration::from_millis(200),
            |e| {
                matches!(
                    e,
                    Event::Worker(WorkerEvent::WorkerRpcCompleted {
                        method: RpcMethod::TurnInterrupt,
                        outcome: RpcOutcome::Ok,
                        ..
                    })
                )
            },
        )
        .await;
    h.events
        .wait_for("the interrupt confirmed", Duration::from_millis(200), |e| {
            matches!(e, Event::Stream(StreamEvent::TurnInterruptConfirmed { .. }))
        })
        .await;
    let summary = stream_end(&mut h, Duration::from_millis(200)).await;
    assert_eq!(summary.outcome, StreamOutcome::ClientAbort);
    assert_eq!(summary.chunks, 0);
    assert_eq!(summary.error_type, Some("client_abort"));
    // The interrupted turn gave its capacity back; the worker was not restarted for it.
    h.events
        .wait_for("the slot ready again", Duration::from_millis(200), |e| {
            matches!(
                e,
                Event::Worker(WorkerEvent::WorkerStateChanged {
                    from: SlotState::Busy,
                    to: SlotState::Ready,
                    ..
                })
            )
        })
        .await;
    assert_eq!(h.launcher.launches(), 1);
    assert_eq!(
        h.events
            .count(|e| matches!(e, Event::Worker(WorkerEvent::WorkerExited { .. }))),
        0
    );
}

#[actix_rt::test]
async fn a_first_token_timeout_interrupts_the_turn_and_fails_the_stream() {
    let options = Options {
        first_token_timeout: Duration::from_millis(50),
        ..Options::default()
    };
    let mut h = Harness::start(options, DemoLauncher::new(slow_model()));
    h.until_ready().await;
    let lease = h.lease("a").await;
    let mut out = h.stream("a", lease);
    let outputs = drain_output(&mut out, Duration::from_secs(1)).await;
    assert!(matches!(
        outputs.last(),
        Some(StreamOutput::Ended(StreamOutcome::TimeoutFirstToken))
    ));
    h.events
        .wait_for(
            "turn/interrupt sent for the timeout",
            Duration::from_millis(200),
            |e| {
                matches!(
                    e,
                    Event::Stream(StreamEvent::TurnInterruptSent {
                        cause: StreamOutcome::TimeoutFirstToken,
                        ..
                    })
                )
            },
        )
        .await;
    let summary = stream_end(&mut h, Duration::from_millis(500)).await;
    assert_eq!(summary.outcome, StreamOutcome::TimeoutFirstToken);
    assert!(summary.ttft_ms.is_none());
}
