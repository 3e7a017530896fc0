//! Threads are released: every finished turn's thread is unsubscribed on the worker
//! (completed, interrupted or abandoned alike), so after hundreds of requests the worker
//! holds no thread (`thread/loaded/list` is empty) and `thread/unsubscribe` is counted as an
//! RPC like any other.

use std::time::Duration;

use codexd_actors::events::{StreamEvent, WorkerEvent};
use codexd_actors::labels::{RpcMethod, RpcOutcome};
use codexd_actors::worker::connection::ListLoadedThreads;
use codexd_actors::Event;
use codexd_demo_worker::Config;

use crate::support::{drain_output, DemoLauncher, Harness, Options};

const REQUESTS: usize = 300;

#[actix_rt::test]
async fn after_hundreds_of_requests_the_worker_holds_no_thread() {
    let opts = Options {
        max_turns_per_worker: 8,
        queue_size: 64,
        ..Options::default()
    };
    let mut h = Harness::start(opts, DemoLauncher::new(Config::default()));
    h.until_ready().await;
    for batch in 0..REQUESTS / 10 {
        let mut outs = Vec::new();
        for i in 0..10 {
            let req = format!("r{batch}-{i}");
            let lease = h.lease(&req).await;
            outs.push(h.stream(&req, lease));
        }
        // One client in ten goes away at once: its turn is interrupted, its thread
        // discarded.
        outs.remove(0);
        for mut out in outs {
            drain_output(&mut out, Duration::from_secs(2)).await;
        }
    }
    let ended = |h: &Harness| {
        h.events
            .count(|e| matches!(e, Event::Stream(StreamEvent::StreamEnded(_))))
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while ended(&h) < REQUESTS {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} ended",
            ended(&h)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let lease = h.lease("probe").await;
    let loaded = lease
        .conn
        .send(ListLoadedThreads)
        .await
        .expect("the connection answers")
        .expect("the worker lists its threads");
    assert_eq!(loaded, Vec::<String>::new(), "threads left loaded");
    let unsubscribed = h.events.count(|e| {
        matches!(
            e,
            Event::Worker(WorkerEvent::WorkerRpcCompleted {
                method: RpcMethod::ThreadUnsubscribe,
                outcome: RpcOutcome::Ok,
                ..
            })
        )
    });
    assert_eq!(unsubscribed, REQUESTS, "one thread/unsubscribe per request");
}
