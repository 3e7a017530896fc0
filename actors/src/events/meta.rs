//! Static metadata of every event: its snake_case name, level, component and fixed message,
//! and the catalogue of names that `docs/events.md` must match.

use super::*;
use crate::labels::Component;
use slog::Level;

/// Static metadata of one event: its name, level, component and fixed message.
pub struct Meta {
    pub name: &'static str,
    pub level: Level,
    pub component: Component,
    pub msg: &'static str,
}

const fn meta(name: &'static str, level: Level, component: Component, msg: &'static str) -> Meta {
    Meta {
        name,
        level,
        component,
        msg,
    }
}

impl Event {
    /// The event's name, level, component and message.
    pub fn meta(&self) -> Meta {
        use Component as C;
        use Level::*;
        match self {
            Event::Runtime(e) => match e {
                RuntimeEvent::DaemonStarted { .. } => {
                    meta("daemon_started", Info, C::Runtime, "daemon started")
                }
                RuntimeEvent::ListenerBound { .. } => {
                    meta("listener_bound", Info, C::Http, "listener bound")
                }
                RuntimeEvent::ShutdownPhaseStarted { .. } => meta(
                    "shutdown_phase_started",
                    Info,
                    C::Runtime,
                    "shutdown phase started",
                ),
                RuntimeEvent::ShutdownPhaseCompleted { timed_out, .. } => meta(
                    "shutdown_phase_completed",
                    if *timed_out { Warning } else { Info },
                    C::Runtime,
                    "shutdown phase completed",
                ),
                RuntimeEvent::ShutdownForced => meta(
                    "shutdown_forced",
                    Warning,
                    C::Runtime,
                    "shutdown forced by second signal",
                ),
                RuntimeEvent::DaemonStopped { .. } => {
                    meta("daemon_stopped", Info, C::Runtime, "daemon stopped")
                }
                RuntimeEvent::StartupFailed { .. } => {
                    meta("startup_failed", Error, C::Runtime, "startup failed")
                }
                RuntimeEvent::PanicOccurred { .. } => {
                    meta("panic_occurred", Critical, C::Runtime, "panic")
                }
                RuntimeEvent::ContentCaptureEnabled => meta(
                    "content_capture_enabled",
                    Warning,
                    C::Runtime,
                    "content capture enabled",
                ),
                RuntimeEvent::BusEventsDropped { .. } => meta(
                    "bus_events_dropped",
                    Warning,
                    C::Runtime,
                    "bus events dropped",
                ),
                RuntimeEvent::SpansDropped { .. } => {
                    meta("spans_dropped", Warning, C::Tracing, "spans dropped")
                }
            },
            Event::Http(e) => match e {
                HttpEvent::RequestReceived { .. } => {
                    meta("request_received", Debug, C::Http, "request received")
                }
                HttpEvent::RequestCompleted(s) => {
                    let level = if s.route.is_operational() {
                        Debug
                    } else {
                        Info
                    };
                    meta("request_completed", level, C::Http, "request completed")
                }
                HttpEvent::AdmissionRejected { .. } => {
                    meta("admission_rejected", Warning, C::Http, "admission rejected")
                }
            },
            Event::Stream(e) => match e {
                StreamEvent::StreamStarted { .. } => {
                    meta("stream_started", Debug, C::Stream, "stream started")
                }
                StreamEvent::TurnStarted { .. } => {
                    meta("turn_started", Debug, C::Stream, "turn started")
                }
                StreamEvent::FirstTokenReceived { .. } => meta(
                    "first_token_received",
                    Debug,
                    C::Stream,
                    "first token received",
                ),
                StreamEvent::UpstreamErrorReceived { .. } => meta(
                    "upstream_error_received",
                    Warning,
                    C::Stream,
                    "upstream error received",
                ),
                StreamEvent::TurnInterruptSent { .. } => meta(
                    "turn_interrupt_sent",
                    Info,
                    C::Stream,
                    "turn interrupt sent",
                ),
                StreamEvent::TurnInterruptConfirmed { .. } => meta(
                    "turn_interrupt_confirmed",
                    Info,
                    C::Stream,
                    "turn interrupt confirmed",
                ),
                StreamEvent::ContentCaptured { .. } => {
                    meta("content_captured", Debug, C::Stream, "content captured")
                }
                StreamEvent::StreamEnded(s) => {
                    let level = if s.outcome == StreamOutcome::Completed {
                        Info
                    } else {
                        Warning
                    };
                    meta("stream_ended", level, C::Stream, "stream ended")
                }
            },
            Event::Worker(e) => match e {
                WorkerEvent::WorkerSpawned { .. } => {
                    meta("worker_spawned", Info, C::Supervisor, "worker spawned")
                }
                WorkerEvent::WorkerSpawnFailed { .. } => meta(
                    "worker_spawn_failed",
                    Error,
                    C::Supervisor,
                    "worker spawn failed",
                ),
                WorkerEvent::WorkerReady { .. } => {
                    meta("worker_ready", Info, C::Worker, "worker ready")
                }
                WorkerEvent::WorkerStateChanged { .. } => meta(
                    "worker_state_changed",
                    Debug,
                    C::Supervisor,
                    "worker state changed",
                ),
                WorkerEvent::SlotTransitionRefused { .. } => meta(
                    "slot_transition_refused",
                    Warning,
                    C::Supervisor,
                    "slot transition refused",
                ),
                WorkerEvent::WorkerExited { expected, .. } => meta(
                    "worker_exited",
                    if *expected { Info } else { Warning },
                    C::Supervisor,
                    "worker exited",
                ),
                WorkerEvent::RestartScheduled { .. } => meta(
                    "restart_scheduled",
                    Warning,
                    C::Supervisor,
                    "restart scheduled",
                ),
                WorkerEvent::RestartsExhausted { .. } => meta(
                    "restarts_exhausted",
                    Error,
                    C::Supervisor,
                    "restart intensity exceeded",
                ),
                WorkerEvent::WorkerUnresponsive { .. } => meta(
                    "worker_unresponsive",
                    Error,
                    C::Worker,
                    "worker unresponsive",
                ),
                WorkerEvent::WorkerProtocolError { .. } => meta(
                    "worker_protocol_error",
                    Warning,
                    C::Worker,
                    "worker protocol error",
                ),
                WorkerEvent::WorkerStderrObserved { .. } => meta(
                    "worker_stderr_observed",
                    Debug,
                    C::Worker,
                    "worker stderr observed",
                ),
                WorkerEvent::WorkerRpcCompleted { .. } => meta(
                    "worker_rpc_completed",
                    Debug,
                    C::Worker,
                    "worker rpc completed",
                ),
                WorkerEvent::ServerRequestAnswered { .. } => meta(
                    "server_request_answered",
                    Info,
                    C::Worker,
                    "server request answered",
                ),
                WorkerEvent::LeaseGranted { .. } => {
                    meta("lease_granted", Debug, C::Supervisor, "lease granted")
                }
                WorkerEvent::LeaseReleased { .. } => {
                    meta("lease_released", Debug, C::Supervisor, "lease released")
                }
                WorkerEvent::WorkerStopped { .. } => {
                    meta("worker_stopped", Info, C::Supervisor, "worker stopped")
                }
            },
            Event::Health(HealthEvent::ReadinessChanged { ready, .. }) => meta(
                "readiness_changed",
                if *ready { Info } else { Warning },
                C::Health,
                "readiness changed",
            ),
        }
    }
}

/// Every event name with its component, level and fields: the catalogue `docs/events.md`
/// must match (checked by a test).
pub const CATALOGUE: &[&str] = &[
    "daemon_started",
    "listener_bound",
    "shutdown_phase_started",
    "shutdown_phase_completed",
    "shutdown_forced",
    "daemon_stopped",
    "startup_failed",
    "panic_occurred",
    "content_capture_enabled",
    "bus_events_dropped",
    "spans_dropped",
    "request_received",
    "request_completed",
    "admission_rejected",
    "stream_started",
    "turn_started",
    "first_token_received",
    "upstream_error_received",
    "turn_interrupt_sent",
    "turn_interrupt_confirmed",
    "content_captured",
    "stream_ended",
    "worker_spawned",
    "worker_spawn_failed",
    "worker_ready",
    "worker_state_changed",
    "slot_transition_refused",
    "worker_exited",
    "restart_scheduled",
    "restarts_exhausted",
    "worker_unresponsive",
    "worker_protocol_error",
    "worker_stderr_observed",
    "worker_rpc_completed",
    "server_request_answered",
    "lease_granted",
    "lease_released",
    "worker_stopped",
    "readiness_changed",
];
