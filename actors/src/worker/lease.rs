//! A lease on one worker slot for one turn. Dropping it gives the capacity back, so a lease
//! can never leak, whatever path the request takes.

use super::connection::WorkerConnection;
use super::supervisor::{ReleaseLease, WorkerSupervisor};
use actix::Addr;
use std::time::Duration;

/// Capacity for one turn on one worker.
pub struct Lease {
    pub slot: usize,
    pub generation: u64,
    pub conn: Addr<WorkerConnection>,
    pub queue_wait: Duration,
    pub(crate) supervisor: Addr<WorkerSupervisor>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.supervisor.do_send(ReleaseLease {
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
