//! The worker supervisor: owns `workers.count` slots, spawns and restarts their processes
//! with jittered exponential backoff inside a restart-intensity window, and hands out
//! leases (admission: per-slot turn limit plus a bounded FIFO queue).

use super::backoff::{BackoffPolicy, RestartWindow};
use super::connection::{ConnectionReport, ConnectionSettings, StopWorker, WorkerConnection};
use super::lease::Lease;
use super::process::{ExitInfo, Launch};
use super::state::SlotState;
use crate::bus::BusHandle;
use crate::events::{Event, WorkerEvent};
use crate::labels::{RejectReason, RestartReason};
use crate::turn::ReqIds;
use actix::prelude::*;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Everything the supervisor needs, validated by the daemon's config layer.
#[derive(Clone)]
pub struct SupervisorSettings {
    pub count: usize,
    /// How a slot's worker is started (a process in the daemon).
    pub launch: Arc<dyn Launch>,
    pub backoff: BackoffPolicy,
    pub failed_retry: Duration,
    pub max_turns_per_worker: u32,
    pub queue_size: usize,
    pub stop_grace: Duration,
    pub connection: Arc<ConnectionSettings>,
    pub queue_depth: Option<prometheus::IntGauge>,
}

/// Asks for capacity for one turn; the answer arrives on `reply` (possibly after queueing).
#[derive(Message)]
#[rtype(result = "()")]
pub struct AcquireLease {
    pub ids: ReqIds,
    pub reply: oneshot::Sender<Result<Lease, RejectReason>>,
}

/// Gives capacity back (sent by `Lease::drop`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReleaseLease {
    pub slot: usize,
    pub generation: u64,
}

/// Stops granting leases; queued requests are turned away as `draining`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct BeginDrain;

/// Stops every worker (SIGTERM, grace, SIGKILL); `done` fires when all slots are stopped.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopWorkers {
    pub done: oneshot::Sender<()>,
}

struct Slot {
    state: SlotState,
    generation: u64,
    conn: Option<Addr<WorkerConnection>>,
    in_flight: u32,
    consecutive_failures: u32,
    window: RestartWindow,
}

struct Waiter {
    ids: ReqIds,
    enqueued: Instant,
    reply: oneshot::Sender<Result<Lease, RejectReason>>,
}

/// The supervisor actor.
pub struct WorkerSupervisor {
    settings: SupervisorSettings,
    slots: Vec<Slot>,
    bus: BusHandle,
    queue: VecDeque<Waiter>,
    draining: bool,
    stopping: bool,
    stop_waiters: Vec<oneshot::Sender<()>>,
}

impl WorkerSupervisor {
    pub fn new(settings: SupervisorSettings, bus: BusHandle) -> Self {
        let slots = (0..settings.count)
            .map(|_| Slot {
                state: SlotState::Stopped,
                generation: 0,
                conn: None,
                in_flight: 0,
                consecutive_failures: 0,
                window: RestartWindow::default(),
            })
            .collect();
        Self {
            settings,
            slots,
            bus,
            queue: VecDeque::new(),
            draining: false,
            stopping: false,
            stop_waiters: Vec::new(),
        }
    }

    fn emit(&self, e: WorkerEvent) {
        self.bus.publish(Event::Worker(e));
    }

    fn set_state(&mut self, i: usize, to: SlotState) -> bool {
        let Some(slot) = self.slots.get_mut(i) else {
            return false;
        };
        let from = slot.state;
        match from.transition(to) {
            Ok(s) => {
                slot.state = s;
                self.emit(WorkerEvent::WorkerStateChanged { slot: i, from, to });
                true
            }
            Err(_) => false,
        }
    }

    fn spawn_slot(&mut self, i: usize, ctx: &mut Context<Self>) {
        if self.stopping || !self.set_state(i, SlotState::Starting) {
            return;
        }
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        slot.generation += 1;
        let generation = slot.generation;
        match self.settings.launch.launch() {
            Ok(spawned) => {
                let pid = spawned.pid;
                let conn = WorkerConnection::new(
                    i,
                    generation,
                    spawned,
                    self.settings.connection.clone(),
                    self.bus.clone(),
                    ctx.address().recipient(),
                )
                .start();
                slot.conn = Some(conn);
                self.emit(WorkerEvent::WorkerSpawned {
                    slot: i,
                    pid,
                    generation,
                });
                self.set_state(i, SlotState::Handshaking);
            }
            Err(e) => {
                self.emit(WorkerEvent::WorkerSpawnFailed {
                    slot: i,
                    error: e.to_string(),
                });
                self.schedule_restart(i, RestartReason::Exit, ctx);
            }
        }
    }

    fn schedule_restart(&mut self, i: usize, reason: RestartReason, ctx: &mut Context<Self>) {
        let policy = self.settings.backoff.clone();
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        if !slot.window.admit(&policy, Instant::now()) {
            let retry = self.settings.failed_retry;
            self.set_state(i, SlotState::Failed);
            self.emit(WorkerEvent::RestartsExhausted {
                slot: i,
                restarts: policy.max_restarts(),
                window_ms: policy.window().as_millis() as u64,
                retry_in_ms: retry.as_millis() as u64,
            });
            ctx.run_later(retry, move |act, ctx| {
                if let Some(slot) = act.slots.get_mut(i) {
                    if slot.state == SlotState::Failed {
                        slot.window.clear();
                        slot.consecutive_failures = 0;
                        act.spawn_slot(i, ctx);
                    }
                }
            });
            return;
        }
        let delay = policy.delay(slot.consecutive_failures, fastrand::f64());
        slot.consecutive_failures += 1;
        let attempt = slot.consecutive_failures;
        self.set_state(i, SlotState::BackingOff);
        self.emit(WorkerEvent::RestartScheduled {
            slot: i,
            attempt,
            delay_ms: delay.as_millis() as u64,
            reason,
        });
        ctx.run_later(delay, move |act, ctx| {
            if act.slots.get(i).map(|s| s.state) == Some(SlotState::BackingOff) {
                act.spawn_slot(i, ctx);
            }
        });
    }

    fn on_exited(
        &mut self,
        i: usize,
        pid: u32,
        exit: ExitInfo,
        failure: Option<RestartReason>,
        uptime: Duration,
        ctx: &mut Context<Self>,
    ) {
        let stable = self.settings.backoff.is_stable(uptime);
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        slot.conn = None;
        slot.in_flight = 0;
        if stable {
            slot.consecutive_failures = 0;
        }
        let expected = self.stopping || slot.state == SlotState::Stopping;
        let reason = failure.unwrap_or(if exit.signal.is_some() {
            RestartReason::Signal
        } else {
            RestartReason::Exit
        });
        self.emit(WorkerEvent::WorkerExited {
            slot: i,
            pid,
            code: exit.code,
            signal: exit.signal,
            reason,
            uptime_ms: uptime.as_millis() as u64,
            expected,
        });
        if expected {
            self.emit(WorkerEvent::WorkerStopped {
                slot: i,
                pid,
                forced: exit.signal == Some(9),
            });
            self.set_state(i, SlotState::Stopped);
            self.check_stopped();
            return;
        }
        self.schedule_restart(i, reason, ctx);
    }

    fn pick(&self) -> Option<usize> {
        let max = self.settings.max_turns_per_worker;
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.state.is_serving() && s.in_flight < max && s.conn.is_some())
            .min_by_key(|(i, s)| (s.in_flight, *i))
            .map(|(i, _)| i)
    }

    fn grant(
        &mut self,
        i: usize,
        ids: ReqIds,
        queue_wait: Duration,
        ctx: &mut Context<Self>,
    ) -> Option<Lease> {
        let slot = self.slots.get_mut(i)?;
        let conn = slot.conn.clone()?;
        slot.in_flight += 1;
        let in_flight = slot.in_flight;
        let generation = slot.generation;
        if in_flight == 1 {
            self.set_state(i, SlotState::Busy);
        }
        self.emit(WorkerEvent::LeaseGranted {
            slot: i,
            ids,
            in_flight,
        });
        Some(Lease {
            slot: i,
            generation,
            conn,
            queue_wait,
            supervisor: ctx.address(),
        })
    }

    fn dispatch_queue(&mut self, ctx: &mut Context<Self>) {
        while !self.queue.is_empty() {
            let Some(i) = self.pick() else { break };
            let Some(w) = self.queue.pop_front() else {
                break;
            };
            if w.reply.is_closed() {
                continue;
            }
            if let Some(lease) = self.grant(i, w.ids, w.enqueued.elapsed(), ctx) {
                // If the requester gave up meanwhile, the returned lease is dropped here and
                // releases itself.
                let _ = w.reply.send(Ok(lease));
            }
        }
        self.update_queue_gauge();
    }

    fn update_queue_gauge(&self) {
        if let Some(g) = &self.settings.queue_depth {
            g.set(self.queue.len() as i64);
        }
    }

    fn reject_queue(&mut self, reason: RejectReason) {
        for w in self.queue.drain(..) {
            let _ = w.reply.send(Err(reason));
        }
        self.update_queue_gauge();
    }

    fn check_stopped(&mut self) {
        if self.stopping && self.slots.iter().all(|s| s.state == SlotState::Stopped) {
            for w in self.stop_waiters.drain(..) {
                let _ = w.send(());
            }
        }
    }
}

impl Actor for WorkerSupervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        for i in 0..self.slots.len() {
            self.spawn_slot(i, ctx);
        }
    }
}

impl Handler<ConnectionReport> for WorkerSupervisor {
    type Result = ();
    fn handle(&mut self, msg: ConnectionReport, ctx: &mut Self::Context) {
        match msg {
            ConnectionReport::Handshaked {
                slot,
                generation,
                pid,
                took,
            } => {
                if self.slots.get(slot).map(|s| s.generation) != Some(generation) {
                    return;
                }
                if self.set_state(slot, SlotState::Ready) {
                    self.emit(WorkerEvent::WorkerReady {
                        slot,
                        pid,
                        handshake_ms: took.as_secs_f64() * 1000.0,
                    });
                    self.dispatch_queue(ctx);
                }
            }
            ConnectionReport::Exited {
                slot,
                generation,
                pid,
                exit,
                failure,
                uptime,
            } => {
                if self.slots.get(slot).map(|s| s.generation) == Some(generation) {
                    self.on_exited(slot, pid, exit, failure, uptime, ctx);
                }
            }
        }
    }
}

impl Handler<AcquireLease> for WorkerSupervisor {
    type Result = ();
    fn handle(&mut self, msg: AcquireLease, ctx: &mut Self::Context) {
        if self.draining || self.stopping {
            let _ = msg.reply.send(Err(RejectReason::Draining));
            return;
        }
        if self.queue.is_empty() {
            if let Some(i) = self.pick() {
                if let Some(lease) = self.grant(i, msg.ids, Duration::ZERO, ctx) {
                    let _ = msg.reply.send(Ok(lease));
                }
                return;
            }
        }
        if !self.slots.iter().any(|s| s.state.is_serving()) {
            let _ = msg.reply.send(Err(RejectReason::NoWorker));
            return;
        }
        self.queue.retain(|w| !w.reply.is_closed());
        if self.settings.queue_size == 0 {
            let _ = msg.reply.send(Err(RejectReason::Concurrency));
        } else if self.queue.len() >= self.settings.queue_size {
            let _ = msg.reply.send(Err(RejectReason::QueueFull));
        } else {
            self.queue.push_back(Waiter {
                ids: msg.ids,
                enqueued: Instant::now(),
                reply: msg.reply,
            });
            self.update_queue_gauge();
        }
    }
}

impl Handler<ReleaseLease> for WorkerSupervisor {
    type Result = ();
    fn handle(&mut self, msg: ReleaseLease, ctx: &mut Self::Context) {
        let Some(slot) = self.slots.get_mut(msg.slot) else {
            return;
        };
        if slot.generation != msg.generation || slot.in_flight == 0 {
            return;
        }
        slot.in_flight -= 1;
        let in_flight = slot.in_flight;
        self.emit(WorkerEvent::LeaseReleased {
            slot: msg.slot,
            in_flight,
        });
        if in_flight == 0 {
            self.set_state(msg.slot, SlotState::Ready);
        }
        self.dispatch_queue(ctx);
    }
}

impl Handler<BeginDrain> for WorkerSupervisor {
    type Result = ();
    fn handle(&mut self, _: BeginDrain, _: &mut Self::Context) {
        self.draining = true;
        self.reject_queue(RejectReason::Draining);
    }
}

impl Handler<StopWorkers> for WorkerSupervisor {
    type Result = ();
    fn handle(&mut self, msg: StopWorkers, _: &mut Self::Context) {
        self.stopping = true;
        self.draining = true;
        self.reject_queue(RejectReason::Draining);
        self.stop_waiters.push(msg.done);
        let grace = self.settings.stop_grace;
        for i in 0..self.slots.len() {
            let conn = self.slots.get(i).and_then(|s| s.conn.clone());
            if self.slots.get(i).map(|s| s.state) == Some(SlotState::Stopped) {
                continue;
            }
            self.set_state(i, SlotState::Stopping);
            match conn {
                Some(c) => c.do_send(StopWorker { grace }),
                None => {
                    self.set_state(i, SlotState::Stopped);
                }
            }
        }
        self.check_stopped();
    }
}
