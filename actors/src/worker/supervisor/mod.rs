//! The worker supervisor: owns `workers.count` slots, spawns and restarts their processes
//! with jittered exponential backoff inside a restart-intensity window, and owns admission
//! and draining (`admission.rs`): leases, the bounded FIFO queue, and the drain, answered
//! when the last lease is released.

mod admission;
mod pinned;
mod pool;

pub use super::lease::{ReleaseLease, RetryLease};
pub use admission::{
    AcquireLease, AcquireStream, Admitted, BeginDrain, InterruptLeases, LeaveQueue, StartWithLease,
};
pub use pinned::{AcquireSlotLease, DiscardParkedTurn};
pub use pool::PoolSettings;

use super::backoff::{BackoffPolicy, RestartWindow};
use super::connection::{ConnectionReport, ConnectionSettings, StopWorker, WorkerConnection};
use super::process::{ExitInfo, Launch};
use super::state::{SlotPhase, SlotState};
use crate::bus::BusHandle;
use crate::events::{Event, WorkerEvent};
use crate::labels::{RejectReason, RestartReason};
use actix::prelude::*;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch};

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
    /// Recycling and `CODEX_HOME` sampling (the accounts are `connection.accounts`).
    pub pool: PoolSettings,
}

/// Stops every worker (SIGTERM, grace, SIGKILL); `done` fires when all slots are stopped.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopWorkers {
    pub done: oneshot::Sender<()>,
}

struct Slot {
    phase: SlotPhase,
    generation: u64,
    consecutive_failures: u32,
    window: RestartWindow,
}

/// The supervisor's own lifecycle: whether it grants leases, and who waits for what.
enum Mode {
    Serving,
    /// No new leases; `drained` are answered when no lease is out any more.
    Draining {
        drained: Vec<oneshot::Sender<()>>,
    },
    /// Every worker is being stopped; `stopped` are answered when every slot is `stopped`.
    /// No process is started any more.
    Stopping {
        stopped: Vec<oneshot::Sender<()>>,
    },
}

/// The supervisor actor.
pub struct WorkerSupervisor {
    settings: SupervisorSettings,
    slots: Vec<Slot>,
    bus: BusHandle,
    queue: VecDeque<admission::Waiter>,
    mode: Mode,
    /// Turns true when every lease holder must end its turn now (see `InterruptLeases`).
    interrupt: watch::Sender<bool>,
    /// Per-slot recycling state (`pool.rs`).
    pool: pool::PoolState,
}

impl WorkerSupervisor {
    pub fn new(settings: SupervisorSettings, bus: BusHandle) -> Self {
        let slots = (0..settings.count)
            .map(|_| Slot {
                phase: SlotPhase::Stopped,
                generation: 0,
                consecutive_failures: 0,
                window: RestartWindow::default(),
            })
            .collect();
        let pool = pool::PoolState::new(settings.count);
        Self {
            pool,
            settings,
            slots,
            bus,
            queue: VecDeque::new(),
            mode: Mode::Serving,
            interrupt: watch::Sender::new(false),
        }
    }

    fn emit(&self, e: WorkerEvent) {
        self.bus.publish(Event::Worker(e));
    }

    fn state(&self, i: usize) -> Option<SlotState> {
        self.slots.get(i).map(|s| s.phase.state())
    }

    /// Publishes a refused transition; the slot keeps its phase.
    fn refuse(&self, i: usize, to: SlotState) {
        if let Some(from) = self.state(i) {
            self.emit(WorkerEvent::SlotTransitionRefused { slot: i, from, to });
        }
    }

    /// Moves slot `i` to `to` if the state machine allows it (`worker_state_changed`), or
    /// publishes the refusal (`slot_transition_refused`) and leaves the slot as it was.
    fn transition(&mut self, i: usize, to: SlotPhase) {
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        let (from, next) = (slot.phase.state(), to.state());
        if from.can_become(next) {
            slot.phase = to;
            self.emit(WorkerEvent::WorkerStateChanged {
                slot: i,
                from,
                to: next,
            });
        } else {
            self.refuse(i, next);
        }
    }

    fn spawn_slot(&mut self, i: usize, ctx: &mut Context<Self>) {
        if matches!(self.mode, Mode::Stopping { .. }) {
            return;
        }
        self.transition(i, SlotPhase::Starting);
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        if !matches!(slot.phase, SlotPhase::Starting) {
            return;
        }
        slot.generation += 1;
        let generation = slot.generation;
        match self.settings.launch.launch_slot(i) {
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
                self.emit(WorkerEvent::WorkerSpawned {
                    slot: i,
                    pid,
                    generation,
                });
                self.pool.spawned(i, pid);
                self.transition(i, SlotPhase::Handshaking { conn });
            }
            Err(e) => {
                self.emit(WorkerEvent::WorkerSpawnFailed {
                    slot: i,
                    error: e.to_string(),
                });
                let reason = spawn_failure_reason(&e);
                self.schedule_restart(i, reason, ctx);
            }
        }
    }

    fn schedule_restart(&mut self, i: usize, reason: RestartReason, ctx: &mut Context<Self>) {
        let policy = self.settings.backoff.clone();
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        // A spawn that failed for lack of resources says nothing about the worker: it backs
        // off as usual but spends no restart budget, so the slot retries (at most every
        // `backoff.max_ms`) until the host recovers instead of going `failed`.
        let counted = reason != RestartReason::SpawnFailedResources;
        if counted && !slot.window.admit(&policy, Instant::now()) {
            let retry = self.settings.failed_retry;
            self.transition(i, SlotPhase::Failed);
            self.emit(WorkerEvent::RestartsExhausted {
                slot: i,
                restarts: policy.max_restarts(),
                window_ms: policy.window().as_millis() as u64,
                retry_in_ms: retry.as_millis() as u64,
            });
            ctx.run_later(retry, move |act, ctx| {
                if let Some(slot) = act.slots.get_mut(i) {
                    if matches!(slot.phase, SlotPhase::Failed) {
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
        self.transition(i, SlotPhase::BackingOff);
        self.emit(WorkerEvent::RestartScheduled {
            slot: i,
            attempt,
            delay_ms: delay.as_millis() as u64,
            reason,
        });
        ctx.run_later(delay, move |act, ctx| {
            if act.state(i) == Some(SlotState::BackingOff) {
                act.spawn_slot(i, ctx);
            }
        });
    }

    fn on_handshaked(&mut self, i: usize, pid: u32, took: Duration, ctx: &mut Context<Self>) {
        let Some(slot) = self.slots.get(i) else {
            return;
        };
        match &slot.phase {
            SlotPhase::Handshaking { conn } => {
                let conn = conn.clone();
                self.transition(i, SlotPhase::Ready { conn });
                self.emit(WorkerEvent::WorkerReady {
                    slot: i,
                    pid,
                    handshake_ms: took.as_secs_f64() * 1000.0,
                });
                self.on_ready(i);
                self.dispatch_queue(ctx);
            }
            // A handshake that finishes while the worker is being stopped changes nothing.
            SlotPhase::Stopping { .. } => {}
            SlotPhase::Stopped
            | SlotPhase::Starting
            | SlotPhase::Ready { .. }
            | SlotPhase::Busy { .. }
            | SlotPhase::BackingOff
            | SlotPhase::Failed => self.refuse(i, SlotState::Ready),
        }
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
        let stopping = matches!(self.mode, Mode::Stopping { .. });
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        if stable {
            slot.consecutive_failures = 0;
        }
        let expected = stopping || matches!(slot.phase, SlotPhase::Stopping { .. });
        let reason = failure.unwrap_or(if exit.signal.is_some() {
            RestartReason::Signal
        } else {
            RestartReason::Exit
        });
        let recycled = self.pool.take_recycle(i) && expected && !stopping;
        let reason = if recycled {
            RestartReason::Recycled
        } else {
            reason
        };
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
            self.transition(i, SlotPhase::Stopped);
            self.check_stopped();
            if recycled {
                self.restart_recycled(i, ctx);
            }
        } else {
            // The process is gone, and with it the connection and any turns in flight.
            self.schedule_restart(i, reason, ctx);
        }
        self.check_drained();
    }

    fn check_stopped(&mut self) {
        let all_stopped = self
            .slots
            .iter()
            .all(|s| matches!(s.phase, SlotPhase::Stopped));
        if let Mode::Stopping { stopped } = &mut self.mode {
            if all_stopped {
                for w in stopped.drain(..) {
                    let _ = w.send(());
                }
            }
        }
    }
}

/// Why a launch failed: `spawn_failed_resources` when the host ran out of descriptors,
/// memory or processes (EMFILE, ENFILE, ENOMEM, EAGAIN), else `exit`.
pub fn spawn_failure_reason(e: &std::io::Error) -> RestartReason {
    let resources = [libc::EMFILE, libc::ENFILE, libc::ENOMEM, libc::EAGAIN];
    let out_of_resources = e.raw_os_error().is_some_and(|n| resources.contains(&n))
        || e.kind() == std::io::ErrorKind::OutOfMemory;
    if out_of_resources {
        RestartReason::SpawnFailedResources
    } else {
        RestartReason::Exit
    }
}

impl Actor for WorkerSupervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        for i in 0..self.slots.len() {
            self.spawn_slot(i, ctx);
        }
        self.start_pool_timers(ctx);
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
                if self.slots.get(slot).map(|s| s.generation) == Some(generation) {
                    self.on_handshaked(slot, pid, took, ctx);
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

impl Handler<StopWorkers> for WorkerSupervisor {
    type Result = ();
    fn handle(&mut self, msg: StopWorkers, _: &mut Self::Context) {
        // Whoever waited for the drain is answered: stopping the workers ends every turn.
        if let Mode::Draining { drained } = &mut self.mode {
            for w in drained.drain(..) {
                let _ = w.send(());
            }
        }
        match &mut self.mode {
            Mode::Stopping { stopped } => stopped.push(msg.done),
            Mode::Serving | Mode::Draining { .. } => {
                self.mode = Mode::Stopping {
                    stopped: vec![msg.done],
                }
            }
        }
        self.reject_queue(RejectReason::Draining);
        let grace = self.settings.stop_grace;
        for i in 0..self.slots.len() {
            let Some(slot) = self.slots.get(i) else {
                continue;
            };
            match &slot.phase {
                SlotPhase::Stopped | SlotPhase::Stopping { .. } => {}
                SlotPhase::Handshaking { conn }
                | SlotPhase::Ready { conn }
                | SlotPhase::Busy { conn, .. } => {
                    let conn = conn.clone();
                    conn.do_send(StopWorker { grace });
                    self.transition(i, SlotPhase::Stopping { conn: Some(conn) });
                }
                SlotPhase::Starting | SlotPhase::BackingOff | SlotPhase::Failed => {
                    self.transition(i, SlotPhase::Stopping { conn: None });
                    self.transition(i, SlotPhase::Stopped);
                }
            }
        }
        self.check_stopped();
    }
}
