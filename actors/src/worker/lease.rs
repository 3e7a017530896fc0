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

/// Asks for a lease on another slot for a turn that failed before its first byte
/// (`crate::retry`): granted only when a slot is free right now, never queued. With
/// `other_account`, the new slot belongs to another account than `slot`'s.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RetryLease {
    pub ids: crate::turn::ReqIds,
    pub slot: usize,
    pub other_account: bool,
    pub reply: tokio::sync::oneshot::Sender<Option<Lease>>,
}

/// Capacity for one turn on one worker.
pub struct Lease {
    pub slot: usize,
    pub generation: u64,
    pub conn: Addr<WorkerConnection>,
    pub queue_wait: Duration,
    release: Recipient<ReleaseLease>,
    interrupt: watch::Receiver<bool>,
    retry: Recipient<RetryLease>,
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
        retry: Recipient<RetryLease>,
    ) -> Self {
        Self {
            slot,
            generation,
            conn,
            queue_wait,
            release,
            interrupt,
            retry,
        }
    }

    /// Asks the supervisor for a lease on another slot (see [`RetryLease`]); `None` when
    /// none is free or the supervisor is gone.
    pub fn retry_elsewhere(
        &self,
        ids: crate::turn::ReqIds,
        other_account: bool,
    ) -> impl std::future::Future<Output = Option<Lease>> + 'static {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.retry.do_send(RetryLease {
            ids,
            slot: self.slot,
            other_account,
            reply,
        });
        async move { rx.await.ok().flatten() }
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
