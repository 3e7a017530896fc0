//! A lease on one worker slot for one turn. Dropping it gives the capacity back, so a lease
//! can never leak, whatever path the request takes. The lease also carries the supervisor's
//! drain signal: when the shutdown drain deadline passes, every lease holder is told to end
//! its turn now.
//!
//! The supervisor depends on this module, never the other way round: a lease knows the
//! `ReleaseLease` message, not the actor that handles it.

use super::connection::WorkerConnection;
use actix::{Addr, Message, Recipient};
use std::time::Duration;
use tokio::sync::watch;

/// Gives capacity back (sent by `Lease::drop`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReleaseLease {
    pub slot: usize,
    pub generation: u64,
}

/// Capacity for one turn on one worker.
pub struct Lease {
    pub slot: usize,
    pub generation: u64,
    pub conn: Addr<WorkerConnection>,
    pub queue_wait: Duration,
    release: Recipient<ReleaseLease>,
    interrupt: watch::Receiver<bool>,
}

impl Lease {
    /// A lease handed out by the supervisor (`release` is where the drop sends the capacity
    /// back; `interrupt` turns true when in-flight turns must end now).
    pub(crate) fn new(
        slot: usize,
        generation: u64,
        conn: Addr<WorkerConnection>,
        queue_wait: Duration,
        release: Recipient<ReleaseLease>,
        interrupt: watch::Receiver<bool>,
    ) -> Self {
        Self {
            slot,
            generation,
            conn,
            queue_wait,
            release,
            interrupt,
        }
    }

    /// Resolves when the holder must end its turn now (the shutdown drain deadline passed).
    /// Never resolves if the supervisor is gone without asking.
    pub fn interrupted(&self) -> impl std::future::Future<Output = ()> + 'static {
        let mut rx = self.interrupt.clone();
        async move {
            if rx.wait_for(|now| *now).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.release.do_send(ReleaseLease {
            slot: self.slot,
            generation: self.generation,
        });
    }
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("slot", &self.slot)
            .field("generation", &self.generation)
            .finish()
    }
}
