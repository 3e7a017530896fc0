//! Admission and drain, the supervisor's half that hands out capacity: leases (per-slot turn
//! limit, least-loaded slot first), the bounded FIFO queue, and the drain. The supervisor is
//! the one owner of draining: `BeginDrain` stops granting and is answered when the last lease
//! is released; `InterruptLeases` tells every lease holder to end its turn now.

use super::{Mode, WorkerSupervisor};
use crate::events::WorkerEvent;
use crate::labels::RejectReason;
use crate::turn::ReqIds;
use crate::worker::lease::{Lease, ReleaseLease};
use crate::worker::state::SlotPhase;
use actix::prelude::*;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Asks for capacity for one turn; the answer arrives on `reply` (possibly after queueing).
#[derive(Message)]
#[rtype(result = "()")]
pub struct AcquireLease {
    pub ids: ReqIds,
    pub reply: oneshot::Sender<Result<Lease, RejectReason>>,
}

/// What the holder of a granted lease does with it, run on the supervisor's own arbiter
/// (`AcquireStream`): build and start the request's stream there. It gets the answer's sender
/// when the lease was granted at once, so that the requester, told nothing, is not woken;
/// it keeps it until the stream ends.
pub type StartWithLease = Box<dyn FnOnce(Lease, Option<Admitted>) + Send>;

/// The answer to `AcquireStream`: `Ok` only when the lease came from the queue.
pub type Admitted = oneshot::Sender<Result<(), RejectReason>>;

/// Asks for capacity for one turn and starts its stream with it, next to the connections:
/// one message from the requester instead of a lease sent back and a stream sent over. A
/// lease granted at once is not answered (`start` runs with the sender); one granted from
/// the queue is answered `Ok` (and `start` runs without it); a refusal is answered `Err`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AcquireStream {
    pub ids: ReqIds,
    pub start: StartWithLease,
    pub reply: Admitted,
}

/// Stops granting leases (new and queued requests are turned away as `draining`); `drained`
/// is answered when no lease is out any more.
#[derive(Message)]
#[rtype(result = "()")]
pub struct BeginDrain {
    pub drained: oneshot::Sender<()>,
}

/// The drain deadline passed: every lease holder must end its turn now (streams end with
/// outcome `shutdown`). The drain is still answered when the last lease comes back.
#[derive(Message)]
#[rtype(result = "()")]
pub struct InterruptLeases;

/// A requester gave up while queued (its client hung up and it dropped its reply
/// receiver): abandoned places are freed now, and the queue gauge drops with them.
#[derive(Message)]
#[rtype(result = "()")]
pub struct LeaveQueue;

pub(super) struct Waiter {
    ids: ReqIds,
    enqueued: Instant,
    wants: Wants,
}

/// What a queued requester waits for.
enum Wants {
    Lease(oneshot::Sender<Result<Lease, RejectReason>>),
    Stream {
        start: StartWithLease,
        reply: Admitted,
    },
}

impl Wants {
    fn is_closed(&self) -> bool {
        match self {
            Wants::Lease(reply) => reply.is_closed(),
            Wants::Stream { reply, .. } => reply.is_closed(),
        }
    }

    fn refuse(self, reason: RejectReason) {
        match self {
            Wants::Lease(reply) => {
                let _ = reply.send(Err(reason));
            }
            Wants::Stream { reply, .. } => {
                let _ = reply.send(Err(reason));
            }
        }
    }

    /// Hands over a lease granted from the queue (if the requester gave up meanwhile, the
    /// lease, or the stream it starts, gives the capacity back at once).
    fn grant_queued(self, lease: Lease) {
        match self {
            Wants::Lease(reply) => {
                let _ = reply.send(Ok(lease));
            }
            Wants::Stream { start, reply } => {
                let _ = reply.send(Ok(()));
                start(lease, None);
            }
        }
    }

    /// Hands over a lease granted at once.
    fn grant_now(self, lease: Lease) {
        match self {
            Wants::Lease(reply) => {
                let _ = reply.send(Ok(lease));
            }
            Wants::Stream { start, reply } => start(lease, Some(reply)),
        }
    }
}

impl WorkerSupervisor {
    /// Leases out right now, over every slot.
    fn leases_out(&self) -> u32 {
        self.slots.iter().map(|s| s.phase.in_flight()).sum()
    }

    fn pick(&self) -> Option<usize> {
        let max = self.settings.max_turns_per_worker;
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| match s.phase {
                SlotPhase::Ready { .. } => max > 0,
                SlotPhase::Busy { in_flight, .. } => in_flight < max,
                _ => false,
            })
            .filter(|(i, _)| self.slot_open(*i))
            .min_by_key(|(i, s)| (s.phase.in_flight(), *i))
            .map(|(i, _)| i)
    }

    pub(super) fn grant(
        &mut self,
        i: usize,
        ids: ReqIds,
        queue_wait: Duration,
        ctx: &mut Context<Self>,
    ) -> Option<Lease> {
        let slot = self.slots.get_mut(i)?;
        let generation = slot.generation;
        let (conn, in_flight) = match &mut slot.phase {
            SlotPhase::Busy { conn, in_flight } => {
                *in_flight += 1;
                (conn.clone(), *in_flight)
            }
            SlotPhase::Ready { conn } => (conn.clone(), 0),
            _ => return None,
        };
        // The first turn makes a ready slot busy.
        let in_flight = if in_flight == 0 {
            let phase = SlotPhase::Busy {
                conn: conn.clone(),
                in_flight: 1,
            };
            self.transition(i, phase);
            1
        } else {
            in_flight
        };
        self.emit(WorkerEvent::LeaseGranted {
            slot: i,
            ids,
            in_flight,
        });
        self.note_granted(i, in_flight);
        Some(Lease::new(
            i,
            generation,
            conn,
            queue_wait,
            ctx.address().recipient(),
            self.interrupt.subscribe(),
            ctx.address().recipient(),
        ))
    }

    pub(super) fn dispatch_queue(&mut self, ctx: &mut Context<Self>) {
        while !self.queue.is_empty() {
            let Some(i) = self.pick() else { break };
            let Some(w) = self.queue.pop_front() else {
                break;
            };
            if w.wants.is_closed() {
                continue;
            }
            if let Some(lease) = self.grant(i, w.ids, w.enqueued.elapsed(), ctx) {
                w.wants.grant_queued(lease);
            }
        }
        self.update_queue_gauge();
    }

    fn update_queue_gauge(&self) {
        if let Some(g) = &self.settings.queue_depth {
            g.set(self.queue.len() as i64);
        }
    }

    pub(super) fn reject_queue(&mut self, reason: RejectReason) {
        for w in self.queue.drain(..) {
            w.wants.refuse(reason);
        }
        self.update_queue_gauge();
    }

    /// Answers whoever waits for the drain once no lease is out.
    pub(super) fn check_drained(&mut self) {
        let idle = self.leases_out() == 0;
        if let Mode::Draining { drained } = &mut self.mode {
            if idle {
                for w in drained.drain(..) {
                    let _ = w.send(());
                }
            }
        }
    }
}

impl WorkerSupervisor {
    /// A lease now, a place in the queue, or a refusal.
    fn admit(&mut self, ids: ReqIds, wants: Wants, ctx: &mut Context<Self>) {
        match self.mode {
            Mode::Serving => {}
            Mode::Draining { .. } | Mode::Stopping { .. } => {
                return wants.refuse(RejectReason::Draining);
            }
        }
        if self.queue.is_empty() {
            if let Some(i) = self.pick() {
                // A slot that cannot lease after all drops the requester's answer (no_worker).
                if let Some(lease) = self.grant(i, ids, Duration::ZERO, ctx) {
                    wants.grant_now(lease);
                }
                return;
            }
        }
        if let Some(reason) = self.accounts_refusal() {
            return wants.refuse(reason);
        }
        if !self.slots.iter().any(|s| s.phase.state().is_serving()) && !self.pool.coming_back() {
            return wants.refuse(RejectReason::NoWorker);
        }
        self.queue.retain(|w| !w.wants.is_closed());
        if self.settings.queue_size == 0 {
            wants.refuse(RejectReason::Concurrency);
        } else if self.queue.len() >= self.settings.queue_size {
            wants.refuse(RejectReason::QueueFull);
        } else {
            self.queue.push_back(Waiter {
                ids,
                enqueued: Instant::now(),
                wants,
            });
            self.update_queue_gauge();
        }
    }
}

impl Handler<AcquireLease> for WorkerSupervisor {
    type Result = ();
    fn handle(&mut self, msg: AcquireLease, ctx: &mut Self::Context) {
        self.admit(msg.ids, Wants::Lease(msg.reply), ctx);
    }
}

impl Handler<AcquireStream> for WorkerSupervisor {
    type Result = ();
    fn handle(&mut self, msg: AcquireStream, ctx: &mut Self::Context) {
        let wants = Wants::Stream {
            start: msg.start,
            reply: msg.reply,
        };
        self.admit(msg.ids, wants, ctx);
    }
}

impl Handler<ReleaseLease> for WorkerSupervisor {
    type Result = ();
    fn handle(&mut self, msg: ReleaseLease, ctx: &mut Self::Context) {
        let Some(slot) = self.slots.get_mut(msg.slot) else {
            return;
        };
        // A lease of an earlier process, or of a slot being stopped, has nothing to give back.
        if slot.generation != msg.generation {
            return;
        }
        // The last turn makes a busy slot ready again.
        let (in_flight, ready) = match &mut slot.phase {
            SlotPhase::Busy { conn, in_flight } if *in_flight <= 1 => (0, Some(conn.clone())),
            SlotPhase::Busy { in_flight, .. } => {
                *in_flight -= 1;
                (*in_flight, None)
            }
            _ => return,
        };
        self.emit(WorkerEvent::LeaseReleased {
            slot: msg.slot,
            in_flight,
        });
        if let Some(conn) = ready {
            self.transition(msg.slot, SlotPhase::Ready { conn });
        }
        self.after_release(msg.slot, in_flight);
        self.dispatch_queue(ctx);
        self.check_drained();
    }
}

impl Handler<LeaveQueue> for WorkerSupervisor {
    type Result = ();
    fn handle(&mut self, _: LeaveQueue, _: &mut Self::Context) {
        self.queue.retain(|w| !w.wants.is_closed());
        self.update_queue_gauge();
    }
}

impl Handler<BeginDrain> for WorkerSupervisor {
    type Result = ();
    fn handle(&mut self, msg: BeginDrain, _: &mut Self::Context) {
        match &mut self.mode {
            Mode::Serving => {
                self.mode = Mode::Draining {
                    drained: vec![msg.drained],
                }
            }
            Mode::Draining { drained } => drained.push(msg.drained),
            // Stopping: every turn is ending with its worker; nothing more to wait for.
            Mode::Stopping { .. } => {
                let _ = msg.drained.send(());
            }
        }
        self.reject_queue(RejectReason::Draining);
        self.check_drained();
    }
}

impl Handler<InterruptLeases> for WorkerSupervisor {
    type Result = ();
    fn handle(&mut self, _: InterruptLeases, _: &mut Self::Context) {
        self.interrupt.send_replace(true);
    }
}
