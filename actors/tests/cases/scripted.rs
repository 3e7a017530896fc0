//! Cases only a scripted worker can play: a worker that refuses `turn/start`, and one that
//! ignores SIGTERM and stdin EOF.

use std::time::Duration;

use codexd_actors::events::{StreamEvent, WorkerEvent};
use codexd_actors::labels::{RpcMethod, RpcOutcome, StreamOutcome};
use codexd_actors::turn::StreamOutput;
use codexd_actors::worker::supervisor::StopWorkers;
use codexd_actors::Event;
use serde_json::json;
use tokio::sync::oneshot;

use crate::support::{basics, drain_output, Harness, Options, ScriptedLauncher, SCRIPTED_PID};

#[actix_rt::test]
async fn a_refused_turn_start_ends_the_stream_as_a_worker_error_without_a_restart() {
    let launcher = ScriptedLauncher::new(|message| {
        basics(message).unwrap_or_else(|| {
            vec![json!({"id": message["id"], "error": {"code": -32600, "message": "no"}})]
        })
    });
    let mut h = Harness::start(Options::default(), launcher);
    h.until_ready().await;
    let lease = h.lease("a").await;
    let mut out = h.stream("a", lease);
    let outputs = drain_output(&mut out, Duration::from_secs(1)).await;
    assert!(matches!(
        outputs.as_slice(),
        [StreamOutput::Ended(StreamOutcome::WorkerError {
            upstream: None
        })]
    ));
    h.events
        .wait_until_seen("turn/start refused", Duration::from_millis(200), |e| {
            matches!(
                e,
                Event::Worker(WorkerEvent::WorkerRpcCompleted {
                    method: RpcMethod::TurnStart,
                    outcome: RpcOutcome::Error,
                    error_code: Some(-32600),
                    ..
                })
            )
        })
        .await;
    h.events
        .wait_until_seen("the stream's end", Duration::from_millis(200), |e| {
            matches!(e, Event::Stream(StreamEvent::StreamEnded(s)) if s.outcome == StreamOutcome::WorkerError { upstream: None })
        })
        .await;
    // A refusal is the worker's answer, not its death: same worker, capacity back.
    let _again = h.lease("b").await;
    assert_eq!(h.launcher.launches(), 1);
}

#[actix_rt::test]
async fn a_worker_that_ignores_sigterm_is_killed_after_the_stop_grace() {
    let launcher = ScriptedLauncher::stubborn(|message| basics(message).unwrap_or_default());
    let options = Options {
        stop_grace: Duration::from_millis(50),
        ..Options::default()
    };
    let mut h = Harness::start(options, launcher);
    h.until_ready().await;
    let (done, stopped) = oneshot::channel();
    let asked = std::time::Instant::now();
    h.supervisor.do_send(StopWorkers { done });
    tokio::time::timeout(Duration::from_secs(1), stopped)
        .await
        .expect("the worker stopped within a second")
        .expect("the supervisor reports it");
    assert!(
        asked.elapsed() >= Duration::from_millis(50),
        "killed only after the grace"
    );
    let exited = h
        .events
        .wait_until_seen(
            "the killed worker's exit",
            Duration::from_millis(200),
            |e| matches!(e, Event::Worker(WorkerEvent::WorkerExited { .. })),
        )
        .await;
    let Event::Worker(WorkerEvent::WorkerExited {
        signal, expected, ..
    }) = exited
    else {
        unreachable!()
    };
    assert_eq!((signal, expected), (Some(9), true));
    h.events
        .wait_until_seen("a forced stop", Duration::from_millis(200), |e| {
            matches!(
                e,
                Event::Worker(WorkerEvent::WorkerStopped {
                    pid: SCRIPTED_PID,
                    forced: true,
                    ..
                })
            )
        })
        .await;
}
