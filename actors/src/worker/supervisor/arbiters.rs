//! Where worker connections live: a small fixed set of arbiters (one per slot, at most one
//! per core), created when the supervisor starts, so that the connections' line decoding
//! and routing do not all share the main arbiter with the bus, metrics and health. A
//! worker's process is launched on the arbiter that will poll its pipes (tokio registers a
//! pipe with the runtime of the thread that creates it); the supervisor waits for the
//! launch, so events and slot transitions come in the same order as with a local launch.

use super::super::connection::{ConnectionReport, ConnectionSettings, WorkerConnection};
use super::super::process::Launch;
use crate::bus::BusHandle;
use actix::prelude::*;
use std::sync::Arc;

/// The connection arbiters (empty: connections start on the caller's arbiter).
pub(super) struct ConnectionArbiters {
    arbiters: Vec<ArbiterHandle>,
}

/// What a connection needs besides its process.
pub(super) struct ConnectionParts {
    pub slot: usize,
    pub generation: u64,
    pub settings: Arc<ConnectionSettings>,
    pub bus: BusHandle,
    pub supervisor: Recipient<ConnectionReport>,
}

impl ConnectionArbiters {
    /// One arbiter per slot, at most one per core.
    pub(super) fn start(slots: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let arbiters = (0..slots.min(cores))
            .map(|_| Arbiter::new().handle())
            .collect();
        Self { arbiters }
    }

    /// Launches slot `parts.slot`'s worker and starts its connection, on the slot's arbiter;
    /// returns the pid and the connection once both exist.
    pub(super) fn launch(
        &self,
        launch: &Arc<dyn Launch>,
        parts: ConnectionParts,
    ) -> std::io::Result<(u32, Addr<WorkerConnection>)> {
        let Some(arbiter) = self.arbiters.get(parts.slot % self.arbiters.len().max(1)) else {
            return start_here(launch.as_ref(), parts);
        };
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let launch = launch.clone();
        let sent = arbiter.spawn_fn(move || {
            let _ = tx.send(start_here(launch.as_ref(), parts));
        });
        if !sent {
            return Err(std::io::Error::other("connection arbiter stopped"));
        }
        // The arbiter runs connections only, and they never wait for this thread: the launch
        // is as quick as the fork and exec it does.
        rx.recv()
            .unwrap_or_else(|_| Err(std::io::Error::other("connection arbiter stopped")))
    }
}

/// Launches the worker and starts its connection on the current arbiter.
fn start_here(
    launch: &dyn Launch,
    p: ConnectionParts,
) -> std::io::Result<(u32, Addr<WorkerConnection>)> {
    let spawned = launch.launch_slot(p.slot)?;
    let pid = spawned.pid;
    let conn = WorkerConnection::new(
        p.slot,
        p.generation,
        spawned,
        p.settings,
        p.bus,
        p.supervisor,
    )
    .start();
    Ok((pid, conn))
}
