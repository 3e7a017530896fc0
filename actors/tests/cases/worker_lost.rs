//! No request waits on a dead worker: a stream whose lease points at a connection that is
//! already gone, or whose worker dies between the lease and the turn's start, ends as
//! `worker_lost` at once instead of waiting out its first-token timeout.

use std::time::{Duration, Instant};

use codexd_actors::labels::StreamOutcome;
use codexd_actors::turn::StreamOutput;
use codexd_demo_worker::Config;

use crate::support::{drain_output, DemoLauncher, Harness, Options};

/// Far longer than any of these tests may take: the old behaviour waited this out.
fn options() -> Options {
    Options {
        first_token_timeout: Duration::from_secs(30),
        ..Options::default()
    }
}

#[actix_rt::test]
async fn a_lease_whose_connection_is_gone_ends_as_worker_lost_at_once() {
    let mut h = Harness::start(options(), DemoLauncher::new(Config::default()));
    h.until_ready().await;
    let lease = h.lease("a").await;
    assert!(h.launcher.kill_latest(), "the worker was running");
    let gone = Instant::now();
    while lease.conn.connected() {
        assert!(
            gone.elapsed() < Duration::from_secs(1),
            "the connection stops"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let started = Instant::now();
    let mut out = h.stream("a", lease);
    let outputs = drain_output(&mut out, Duration::from_secs(1)).await;
    assert!(
        matches!(
            outputs.last(),
            Some(StreamOutput::Ended(StreamOutcome::WorkerLost))
        ),
        "{outputs:?}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "worker_lost after {:?}",
        started.elapsed()
    );
}

#[actix_rt::test]
async fn a_worker_killed_between_lease_and_turn_start_ends_as_worker_lost_within_a_second() {
    let mut h = Harness::start(options(), DemoLauncher::new(Config::default()));
    h.until_ready().await;
    let lease = h.lease("a").await;
    // The kill races the turn's start: the connection may stop before, while or after it
    // takes the turn; every order must end the stream quickly.
    assert!(h.launcher.kill_latest());
    let started = Instant::now();
    let mut out = h.stream("a", lease);
    let outputs = drain_output(&mut out, Duration::from_secs(1)).await;
    assert!(
        matches!(
            outputs.last(),
            Some(StreamOutput::Ended(StreamOutcome::WorkerLost))
        ),
        "{outputs:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[actix_rt::test]
async fn repeated_kills_around_turn_starts_never_leave_a_stream_waiting() {
    let opts = Options {
        backoff: crate::support::system::backoff(1000),
        ..options()
    };
    let mut h = Harness::start(opts, DemoLauncher::new(Config::default()));
    for round in 0..20 {
        h.until_ready().await;
        let lease = h.lease(&format!("r{round}")).await;
        let mut out = h.stream(&format!("r{round}"), lease);
        // Kill at a different moment of the turn's start each round.
        tokio::time::sleep(Duration::from_micros(200 * round)).await;
        h.launcher.kill_latest();
        let started = Instant::now();
        let outputs = drain_output(&mut out, Duration::from_secs(1)).await;
        assert!(
            matches!(
                outputs.last(),
                Some(StreamOutput::Ended(
                    StreamOutcome::WorkerLost | StreamOutcome::Completed
                ))
            ),
            "round {round}: {outputs:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(1), "round {round}");
    }
}
