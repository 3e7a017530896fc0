//! A spawn that fails for lack of resources (EMFILE, ENFILE, ENOMEM, EAGAIN) is its own
//! restart reason, `spawn_failed_resources`, and spends no restart budget: the slot keeps
//! backing off and serves as soon as the host recovers, instead of going `failed`.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use codexd_actors::events::WorkerEvent;
use codexd_actors::labels::RestartReason;
use codexd_actors::worker::process::{Launch, Spawned};
use codexd_actors::worker::supervisor::spawn_failure_reason;
use codexd_actors::Event;
use codexd_demo_worker::Config;

use crate::support::{DemoLauncher, Harness, Options};

/// Fails its first `failures` launches with `errno`, then launches demo workers.
struct Starved {
    failures: usize,
    errno: i32,
    attempts: AtomicUsize,
    demo: Arc<DemoLauncher>,
}

impl Launch for Starved {
    fn launch(&self) -> io::Result<Spawned> {
        if self.attempts.fetch_add(1, Ordering::SeqCst) < self.failures {
            return Err(io::Error::from_raw_os_error(self.errno));
        }
        self.demo.launch()
    }
}

#[actix_rt::test]
async fn descriptor_exhaustion_is_its_own_reason_and_spends_no_restart_budget() {
    // Twice the restart budget (3) of failed spawns: counted as crashes, the slot would fail.
    let launcher = Arc::new(Starved {
        failures: 6,
        errno: libc::EMFILE,
        attempts: AtomicUsize::new(0),
        demo: DemoLauncher::new(Config::default()),
    });
    let mut h = Harness::start(Options::default(), launcher);
    h.until_ready().await;
    let reasons: Vec<RestartReason> = h
        .events
        .matching(|e| matches!(e, Event::Worker(WorkerEvent::RestartScheduled { .. })))
        .into_iter()
        .filter_map(|e| match e {
            Event::Worker(WorkerEvent::RestartScheduled { reason, .. }) => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(reasons, vec![RestartReason::SpawnFailedResources; 6]);
    let exhausted = h
        .events
        .count(|e| matches!(e, Event::Worker(WorkerEvent::RestartsExhausted { .. })));
    assert_eq!(exhausted, 0, "the restart budget was spent");
    assert_eq!(h.health().await.workers[0].state, "ready");
}

#[test]
fn only_resource_errors_are_resource_failures() {
    for errno in [libc::EMFILE, libc::ENFILE, libc::ENOMEM, libc::EAGAIN] {
        let e = io::Error::from_raw_os_error(errno);
        assert_eq!(
            spawn_failure_reason(&e),
            RestartReason::SpawnFailedResources
        );
    }
    for errno in [libc::ENOENT, libc::EACCES] {
        let e = io::Error::from_raw_os_error(errno);
        assert_eq!(
            spawn_failure_reason(&e),
            RestartReason::Exit,
            "errno {errno}"
        );
    }
}
