//! Leases on one named worker process, for a follow-up that continues a turn parked there,
//! and discarding a parked turn on its worker. A continuation is granted even when the slot is
//! at `max_turns_per_worker` (the parked turn already runs there; at most `tools.max_parked`
//! per worker), but never while draining, never on a worker being recycled or whose account
//! cannot serve, and never on another process generation.

use super::{Mode, WorkerSupervisor};
use crate::labels::RejectReason;
use crate::tools::{ParkDiscard, ParkedAt};
use crate::worker::connection::DiscardParked;
use crate::worker::lease::Lease;
use crate::worker::state::SlotPhase;
use actix::prelude::*;
use std::time::Duration;
use tokio::sync::oneshot;

/// Asks for a lease on the worker a parked turn lives on.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AcquireSlotLease {
    pub at: ParkedAt,
    pub ids: crate::turn::ReqIds,
    pub reply: oneshot::Sender<Result<Lease, RejectReason>>,
}

/// Discards a parked turn that will never be continued (the front end claimed it from the
/// registry but cannot use it).
#[derive(Message)]
#[rtype(result = "()")]
pub struct DiscardParkedTurn {
    pub at: ParkedAt,
    pub reason: ParkDiscard,
}

impl WorkerSupervisor {
    fn conn_of(&self, at: ParkedAt) -> Option<Addr<crate::worker::connection::WorkerConnection>> {
        let slot = self.slots.get(at.slot)?;
        if slot.generation != at.generation {
            return None;
        }
        match &slot.phase {
            SlotPhase::Ready { conn } | SlotPhase::Busy { conn, .. } => Some(conn.clone()),
            _ => None,
        }
    }
}

impl Handler<AcquireSlotLease> for WorkerSupervisor {
    type Result = ();
    fn handle(&mut self, msg: AcquireSlotLease, ctx: &mut Self::Context) {
        if !matches!(self.mode, Mode::Serving) {
            let _ = msg.reply.send(Err(RejectReason::Draining));
            return;
        }
        // A worker being recycled (or an account cooling down) takes no continuation either:
        // its parked turns are discarded when it stops, and the follow-up is replayed.
        if self.conn_of(msg.at).is_none() || !self.slot_open(msg.at.slot) {
            let _ = msg.reply.send(Err(RejectReason::NoWorker));
            return;
        }
        match self.grant(msg.at.slot, msg.ids, Duration::ZERO, ctx) {
            Some(lease) => {
                let _ = msg.reply.send(Ok(lease));
            }
            None => {
                let _ = msg.reply.send(Err(RejectReason::NoWorker));
            }
        }
    }
}

impl Handler<DiscardParkedTurn> for WorkerSupervisor {
    type Result = ();
    fn handle(&mut self, msg: DiscardParkedTurn, _: &mut Self::Context) {
        if let Some(conn) = self.conn_of(msg.at) {
            conn.do_send(DiscardParked {
                key: msg.at.key,
                reason: msg.reason,
            });
        }
    }
}
