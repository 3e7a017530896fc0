//! The health aggregator: derives liveness, readiness and the per-slot detail of `/healthz`
//! from bus events, and announces every readiness flip as a `readiness_changed` event. Every
//! event variant is matched by name, with no wildcard arm: a new event does not compile until
//! it says what it does to health.

#![deny(clippy::wildcard_enum_match_arm)]

use crate::bus::{BusHandle, Published};
use crate::clock;
use crate::events::{
    Event, HealthEvent, HttpEvent, ReadinessReason, RuntimeEvent, ShutdownPhase, StreamEvent,
    WorkerEvent,
};
use crate::worker::labels::{RestartReason, SlotState};
use actix::prelude::*;
use serde::Serialize;
use std::time::{Duration, Instant, SystemTime};

/// How the aggregator judges readiness.
#[derive(Debug, Clone)]
pub struct HealthSettings {
    pub slots: usize,
    pub min_ready_workers: u32,
    pub version: String,
    /// Every account out of quota makes the daemon unready (`quota_exhausted`); off, it
    /// stays ready and answers 429.
    pub unready_when_exhausted: bool,
}

/// The last exit of a worker, as `/healthz` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct LastExit {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub at: String,
    pub reason: &'static str,
}

/// One slot in `/healthz`.
#[derive(Debug, Clone, Serialize)]
pub struct SlotHealth {
    pub slot: usize,
    pub state: &'static str,
    pub pid: Option<u32>,
    pub restarts: u32,
    pub consecutive_failures: u32,
    pub in_flight: u32,
    pub since: String,
    pub last_exit: Option<LastExit>,
    pub next_restart_in_ms: Option<u64>,
}

/// The `/healthz` body.
#[derive(Debug, Clone, Serialize)]
pub struct HealthSnapshot {
    pub status: &'static str,
    pub live: bool,
    pub ready: bool,
    pub reason: &'static str,
    pub version: String,
    pub uptime_ms: u64,
    pub workers: Vec<SlotHealth>,
    /// Each account by its configured name (see `health_accounts.rs`).
    pub accounts: Vec<crate::health_accounts::AccountHealth>,
}

/// Asks for readiness: `(ready, reason)`.
#[derive(Message)]
#[rtype(result = "(bool, ReadinessReason)")]
pub struct GetReadiness;

/// Asks for the full `/healthz` snapshot.
#[derive(Message)]
#[rtype(result = "HealthSnapshot")]
pub struct GetHealth;

/// Answers while the actor system is alive.
#[derive(Message)]
#[rtype(result = "()")]
pub struct GetLiveness;

struct SlotView {
    state: SlotState,
    pid: Option<u32>,
    restarts: u32,
    consecutive_failures: u32,
    in_flight: u32,
    since: SystemTime,
    last_exit: Option<(Option<i32>, Option<i32>, SystemTime, RestartReason)>,
    next_restart_at: Option<Instant>,
}

/// The aggregator actor.
pub struct HealthAggregator {
    settings: HealthSettings,
    slots: Vec<SlotView>,
    bus: BusHandle,
    started: Instant,
    ever_ready: bool,
    draining: bool,
    ready: bool,
    reason: ReadinessReason,
    accounts: crate::health_accounts::AccountViews,
}

impl HealthAggregator {
    /// The events that can move `/healthz` or readiness (the bus's interest filter); every
    /// variant is named, so a new event does not compile until health decides.
    pub fn wants(event: &Event) -> bool {
        match event {
            Event::Worker(e) => match e {
                WorkerEvent::WorkerStateChanged { .. }
                | WorkerEvent::WorkerSpawned { .. }
                | WorkerEvent::WorkerExited { .. }
                | WorkerEvent::RestartScheduled { .. }
                | WorkerEvent::RestartsExhausted { .. }
                | WorkerEvent::LeaseGranted { .. }
                | WorkerEvent::LeaseReleased { .. } => true,
                WorkerEvent::WorkerSpawnFailed { .. }
                | WorkerEvent::ToolCallReceived { .. }
                | WorkerEvent::TurnParked { .. }
                | WorkerEvent::ParkedTurnContinued { .. }
                | WorkerEvent::ParkedTurnDiscarded { .. }
                | WorkerEvent::SlotTransitionRefused { .. }
                | WorkerEvent::WorkerReady { .. }
                | WorkerEvent::WorkerUnresponsive { .. }
                | WorkerEvent::WorkerProtocolError { .. }
                | WorkerEvent::WorkerStderrObserved { .. }
                | WorkerEvent::WorkerRpcCompleted { .. }
                | WorkerEvent::ServerRequestAnswered { .. }
                | WorkerEvent::WorkerRecycleStarted { .. }
                | WorkerEvent::WorkerMemorySampled { .. }
                | WorkerEvent::WorkerStopped { .. } => false,
            },
            Event::Runtime(e) => match e {
                RuntimeEvent::ShutdownPhaseStarted { .. } => true,
                RuntimeEvent::DaemonStarted { .. }
                | RuntimeEvent::ListenerBound { .. }
                | RuntimeEvent::ShutdownPhaseCompleted { .. }
                | RuntimeEvent::ShutdownForced
                | RuntimeEvent::DaemonStopped { .. }
                | RuntimeEvent::StartupFailed { .. }
                | RuntimeEvent::PanicOccurred { .. }
                | RuntimeEvent::ContentCaptureEnabled
                | RuntimeEvent::DescriptorLimitSet { .. }
                | RuntimeEvent::BusEventsDropped { .. }
                | RuntimeEvent::SpansDropped { .. }
                | RuntimeEvent::UsageFlushFailed { .. } => false,
            },
            Event::Account(_) => true,
            Event::Http(e) => match e {
                HttpEvent::RequestReceived { .. }
                | HttpEvent::RequestCompleted(_)
                | HttpEvent::AdmissionRejected { .. }
                | HttpEvent::RequestHeadRejected
                | HttpEvent::FollowupServed { .. }
                | HttpEvent::HostedToolsIgnored { .. } => false,
            },
            Event::Stream(e) => match e {
                StreamEvent::StreamStarted { .. }
                | StreamEvent::TurnStarted { .. }
                | StreamEvent::FirstTokenReceived { .. }
                | StreamEvent::UpstreamErrorReceived { .. }
                | StreamEvent::TurnInterruptSent { .. }
                | StreamEvent::TurnInterruptConfirmed { .. }
                | StreamEvent::StreamRetried { .. }
                | StreamEvent::ContentCaptured { .. }
                | StreamEvent::StreamEnded(_) => false,
            },
            Event::Health(e) => match e {
                HealthEvent::ReadinessChanged { .. } => false,
            },
        }
    }

    pub fn new(settings: HealthSettings, bus: BusHandle) -> Self {
        let now = SystemTime::now();
        let slots = (0..settings.slots)
            .map(|_| SlotView {
                state: SlotState::Stopped,
                pid: None,
                restarts: 0,
                consecutive_failures: 0,
                in_flight: 0,
                since: now,
                last_exit: None,
                next_restart_at: None,
            })
            .collect();
        Self {
            settings,
            slots,
            bus,
            started: Instant::now(),
            ever_ready: false,
            draining: false,
            ready: false,
            reason: ReadinessReason::Starting,
            accounts: crate::health_accounts::AccountViews::default(),
        }
    }

    fn apply(&mut self, event: &Event) {
        let moved = match event {
            Event::Worker(e) => self.apply_worker(e),
            Event::Runtime(e) => self.apply_runtime(e),
            Event::Http(e) => match e {
                HttpEvent::RequestReceived { .. }
                | HttpEvent::RequestCompleted(_)
                | HttpEvent::AdmissionRejected { .. }
                | HttpEvent::RequestHeadRejected
                | HttpEvent::FollowupServed { .. }
                | HttpEvent::HostedToolsIgnored { .. } => false,
            },
            Event::Stream(e) => match e {
                StreamEvent::StreamStarted { .. }
                | StreamEvent::TurnStarted { .. }
                | StreamEvent::FirstTokenReceived { .. }
                | StreamEvent::UpstreamErrorReceived { .. }
                | StreamEvent::TurnInterruptSent { .. }
                | StreamEvent::TurnInterruptConfirmed { .. }
                | StreamEvent::StreamRetried { .. }
                | StreamEvent::ContentCaptured { .. }
                | StreamEvent::StreamEnded(_) => false,
            },
            Event::Account(e) => self.accounts.apply(e),
            // Our own announcement.
            Event::Health(e) => match e {
                HealthEvent::ReadinessChanged { .. } => false,
            },
        };
        if moved {
            self.recompute();
        }
    }

    /// Readiness goes off for good when the shutdown sequence begins.
    fn apply_runtime(&mut self, e: &RuntimeEvent) -> bool {
        match e {
            RuntimeEvent::ShutdownPhaseStarted { phase } => {
                let off = *phase == ShutdownPhase::ReadinessOff;
                self.draining |= off;
                off
            }
            RuntimeEvent::DaemonStarted { .. }
            | RuntimeEvent::ListenerBound { .. }
            | RuntimeEvent::ShutdownPhaseCompleted { .. }
            | RuntimeEvent::ShutdownForced
            | RuntimeEvent::DaemonStopped { .. }
            | RuntimeEvent::StartupFailed { .. }
            | RuntimeEvent::PanicOccurred { .. }
            | RuntimeEvent::ContentCaptureEnabled
            | RuntimeEvent::DescriptorLimitSet { .. }
            | RuntimeEvent::BusEventsDropped { .. }
            | RuntimeEvent::SpansDropped { .. }
            | RuntimeEvent::UsageFlushFailed { .. } => false,
        }
    }

    /// Updates the slot's view; every worker event may move readiness.
    fn apply_worker(&mut self, e: &WorkerEvent) -> bool {
        match e {
            WorkerEvent::WorkerStateChanged { slot, to, .. } => {
                if let Some(v) = self.slots.get_mut(*slot) {
                    v.state = *to;
                    v.since = SystemTime::now();
                    if !matches!(to, SlotState::BackingOff | SlotState::Failed) {
                        v.next_restart_at = None;
                    }
                }
            }
            WorkerEvent::WorkerSpawned { slot, pid, .. } => {
                if let Some(v) = self.slots.get_mut(*slot) {
                    v.pid = Some(*pid);
                }
            }
            WorkerEvent::WorkerExited {
                slot,
                code,
                signal,
                reason,
                ..
            } => {
                if let Some(v) = self.slots.get_mut(*slot) {
                    v.pid = None;
                    v.in_flight = 0;
                    v.last_exit = Some((*code, *signal, SystemTime::now(), *reason));
                }
            }
            WorkerEvent::RestartScheduled {
                slot,
                attempt,
                delay_ms,
                ..
            } => {
                if let Some(v) = self.slots.get_mut(*slot) {
                    v.restarts += 1;
                    v.consecutive_failures = *attempt;
                    v.next_restart_at = Some(Instant::now() + Duration::from_millis(*delay_ms));
                }
            }
            // A failed slot is retried once after `failed_retry_ms`; show when.
            WorkerEvent::RestartsExhausted {
                slot, retry_in_ms, ..
            } => {
                if let Some(v) = self.slots.get_mut(*slot) {
                    v.next_restart_at = Some(Instant::now() + Duration::from_millis(*retry_in_ms));
                }
            }
            WorkerEvent::LeaseGranted {
                slot, in_flight, ..
            }
            | WorkerEvent::LeaseReleased { slot, in_flight } => {
                if let Some(v) = self.slots.get_mut(*slot) {
                    v.in_flight = *in_flight;
                }
            }
            // Not shown by /healthz: the state changes that follow them are (a refused
            // transition leaves the slot where it was).
            WorkerEvent::WorkerSpawnFailed { .. }
            | WorkerEvent::ToolCallReceived { .. }
            | WorkerEvent::TurnParked { .. }
            | WorkerEvent::ParkedTurnContinued { .. }
            | WorkerEvent::ParkedTurnDiscarded { .. }
            | WorkerEvent::SlotTransitionRefused { .. }
            | WorkerEvent::WorkerReady { .. }
            | WorkerEvent::WorkerUnresponsive { .. }
            | WorkerEvent::WorkerProtocolError { .. }
            | WorkerEvent::WorkerStderrObserved { .. }
            | WorkerEvent::WorkerRpcCompleted { .. }
            | WorkerEvent::ServerRequestAnswered { .. }
            | WorkerEvent::WorkerRecycleStarted { .. }
            | WorkerEvent::WorkerMemorySampled { .. }
            | WorkerEvent::WorkerStopped { .. } => {}
        }
        true
    }

    fn ready_workers(&self) -> u32 {
        self.slots.iter().filter(|s| s.state.is_serving()).count() as u32
    }

    fn recompute(&mut self) {
        let n = self.ready_workers();
        let (ready, reason) = if self.draining {
            (false, ReadinessReason::Draining)
        } else if n >= self.settings.min_ready_workers && n > 0 {
            self.accounts
                .readiness(self.settings.unready_when_exhausted)
        } else if self.ever_ready {
            (false, ReadinessReason::NoReadyWorkers)
        } else {
            (false, ReadinessReason::Starting)
        };
        self.ever_ready |= ready;
        if (ready, reason) != (self.ready, self.reason) {
            self.ready = ready;
            self.reason = reason;
            self.bus
                .publish(Event::Health(HealthEvent::ReadinessChanged {
                    ready,
                    reason,
                    ready_workers: n,
                }));
        }
    }

    fn snapshot(&self) -> HealthSnapshot {
        let now = Instant::now();
        let workers: Vec<SlotHealth> = self
            .slots
            .iter()
            .enumerate()
            .map(|(i, v)| SlotHealth {
                slot: i,
                state: v.state.as_str(),
                pid: v.pid,
                restarts: v.restarts,
                consecutive_failures: v.consecutive_failures,
                in_flight: v.in_flight,
                since: clock::rfc3339(v.since),
                last_exit: v.last_exit.map(|(code, signal, at, reason)| LastExit {
                    code,
                    signal,
                    at: clock::rfc3339(at),
                    reason: reason.as_str(),
                }),
                next_restart_in_ms: v
                    .next_restart_at
                    .map(|t| t.saturating_duration_since(now).as_millis() as u64),
            })
            .collect();
        let all_serving = workers
            .iter()
            .all(|w| w.state == "ready" || w.state == "busy");
        let status = match (self.ready, all_serving) {
            (true, true) => "ok",
            (true, false) => "degraded",
            (false, _) => "unavailable",
        };
        HealthSnapshot {
            status,
            live: true,
            ready: self.ready,
            reason: self.reason.as_str(),
            version: self.settings.version.clone(),
            uptime_ms: self.started.elapsed().as_millis() as u64,
            workers,
            accounts: self.accounts.snapshot(),
        }
    }
}

impl Actor for HealthAggregator {
    type Context = Context<Self>;
}

impl Handler<Published> for HealthAggregator {
    type Result = ();
    fn handle(&mut self, msg: Published, _: &mut Self::Context) {
        self.apply(&msg.0.event);
    }
}

impl Handler<GetReadiness> for HealthAggregator {
    type Result = MessageResult<GetReadiness>;
    fn handle(&mut self, _: GetReadiness, _: &mut Self::Context) -> Self::Result {
        MessageResult((self.ready, self.reason))
    }
}

impl Handler<GetHealth> for HealthAggregator {
    type Result = MessageResult<GetHealth>;
    fn handle(&mut self, _: GetHealth, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.snapshot())
    }
}

impl Handler<GetLiveness> for HealthAggregator {
    type Result = ();
    fn handle(&mut self, _: GetLiveness, _: &mut Self::Context) {}
}
