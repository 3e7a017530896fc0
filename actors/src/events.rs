//! The event taxonomy: one `Event` enum of per-domain enums. Every lifecycle fact is one of
//! these; the bus writes its log line, metrics and health derive state from it. Fields are
//! typed and none can hold user content (prompts, completions, worker output).

use crate::labels::*;
use crate::turn::{ReqIds, TokenUsage};
use crate::worker::state::SlotState;
use slog::{Level, Serializer, KV};

/// Every event, by domain.
#[derive(Debug, Clone)]
pub enum Event {
    Runtime(RuntimeEvent),
    Http(HttpEvent),
    Stream(StreamEvent),
    Worker(WorkerEvent),
    Health(HealthEvent),
}

#[derive(Debug, Clone)]
pub enum RuntimeEvent {
    DaemonStarted {
        workers: u32,
        pid: u32,
    },
    ListenerBound {
        role: &'static str,
        addr: String,
    },
    ShutdownPhaseStarted {
        phase: ShutdownPhase,
    },
    ShutdownPhaseCompleted {
        phase: ShutdownPhase,
        duration_ms: u64,
        timed_out: bool,
    },
    ShutdownForced,
    DaemonStopped {
        uptime_ms: u64,
    },
    StartupFailed {
        error: String,
        error_code: &'static str,
    },
    PanicOccurred {
        location: String,
        error: &'static str,
    },
    BusEventsDropped {
        subscriber: &'static str,
        dropped: u64,
    },
    SpansDropped {
        dropped: u64,
        reason: &'static str,
    },
}

/// One HTTP request's summary; `model` is a catalogue id or `other`.
#[derive(Debug, Clone)]
pub struct RequestSummary {
    pub ids: ReqIds,
    /// The inbound `traceparent`'s span id (the server span's parent), if any.
    pub parent_span_id: Option<String>,
    pub sampled: bool,
    pub method: Method,
    pub route: Route,
    pub status: u16,
    pub duration_ms: f64,
    pub upstream_wait_ms: f64,
    pub bytes_out: u64,
    pub stream: bool,
    pub outcome: RequestOutcome,
    pub model: Option<String>,
    pub user_agent: Option<String>,
    pub error_code: Option<&'static str>,
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub enum HttpEvent {
    RequestReceived {
        ids: ReqIds,
        method: Method,
        route: Route,
    },
    RequestCompleted(Box<RequestSummary>),
    AdmissionRejected {
        ids: ReqIds,
        reason: RejectReason,
    },
}

/// One stream's end-of-life summary.
#[derive(Debug, Clone)]
pub struct StreamSummary {
    pub ids: ReqIds,
    pub chat_span_id: String,
    pub sampled: bool,
    pub stream: bool,
    pub codex_model: String,
    /// Low-cardinality error type for the span status, when the stream failed.
    pub error_type: Option<&'static str>,
    pub route: Route,
    pub model: String,
    pub slot: usize,
    pub outcome: StreamOutcome,
    pub duration_ms: f64,
    pub ttft_ms: Option<f64>,
    pub chunks: u64,
    pub usage: TokenUsage,
}

#[derive(Debug, Clone)]
pub enum StreamEvent {
    StreamStarted {
        ids: ReqIds,
        route: Route,
        model: String,
        slot: usize,
        stream: bool,
        queue_wait_ms: f64,
    },
    TurnStarted {
        ids: ReqIds,
        slot: usize,
        thread_id: String,
        turn_id: String,
    },
    FirstTokenReceived {
        ids: ReqIds,
        route: Route,
        model: String,
        ttft_ms: f64,
    },
    UpstreamErrorReceived {
        ids: ReqIds,
        slot: usize,
        kind: UpstreamErrorKind,
    },
    TurnInterruptSent {
        ids: ReqIds,
        slot: usize,
        cause: StreamOutcome,
    },
    TurnInterruptConfirmed {
        ids: ReqIds,
        slot: usize,
    },
    StreamEnded(Box<StreamSummary>),
}

#[derive(Debug, Clone)]
pub enum WorkerEvent {
    WorkerSpawned {
        slot: usize,
        pid: u32,
        generation: u64,
    },
    WorkerSpawnFailed {
        slot: usize,
        error: String,
    },
    WorkerReady {
        slot: usize,
        pid: u32,
        handshake_ms: f64,
    },
    WorkerStateChanged {
        slot: usize,
        from: SlotState,
        to: SlotState,
    },
    WorkerExited {
        slot: usize,
        pid: u32,
        code: Option<i32>,
        signal: Option<i32>,
        reason: RestartReason,
        uptime_ms: u64,
        expected: bool,
    },
    RestartScheduled {
        slot: usize,
        attempt: u32,
        delay_ms: u64,
        reason: RestartReason,
    },
    RestartsExhausted {
        slot: usize,
        restarts: u32,
        window_ms: u64,
        retry_in_ms: u64,
    },
    WorkerUnresponsive {
        slot: usize,
        pid: u32,
        waited_ms: u64,
    },
    WorkerProtocolError {
        slot: usize,
        pid: u32,
        kind: ProtocolErrorKind,
        line_bytes: u64,
    },
    WorkerStderrObserved {
        slot: usize,
        lines: u64,
        bytes: u64,
    },
    WorkerRpcCompleted {
        slot: usize,
        ids: Option<ReqIds>,
        /// The `chat {model}` span the request belongs to (the RPC span's parent).
        parent_span_id: Option<String>,
        sampled: bool,
        rpc_id: u64,
        error_code: Option<i64>,
        method: RpcMethod,
        outcome: RpcOutcome,
        duration_ms: f64,
    },
    ServerRequestAnswered {
        slot: usize,
        ids: Option<ReqIds>,
        kind: ServerRequestKind,
        answer: ServerRequestAnswer,
    },
    LeaseGranted {
        slot: usize,
        ids: ReqIds,
        in_flight: u32,
    },
    LeaseReleased {
        slot: usize,
        in_flight: u32,
    },
    WorkerStopped {
        slot: usize,
        pid: u32,
        forced: bool,
    },
}

#[derive(Debug, Clone)]
pub enum HealthEvent {
    ReadinessChanged {
        ready: bool,
        reason: ReadinessReason,
        ready_workers: u32,
    },
}

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
    "stream_ended",
    "worker_spawned",
    "worker_spawn_failed",
    "worker_ready",
    "worker_state_changed",
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

fn opt_str(s: &mut dyn Serializer, key: &'static str, v: &Option<String>) -> slog::Result {
    match v {
        Some(v) => s.emit_str(key, v),
        None => Ok(()),
    }
}

fn opt_i32(s: &mut dyn Serializer, key: &'static str, v: Option<i32>) -> slog::Result {
    match v {
        Some(v) => s.emit_i32(key, v),
        None => s.emit_none(key),
    }
}

fn usage(s: &mut dyn Serializer, u: &TokenUsage) -> slog::Result {
    s.emit_u64("input_tokens", u.input)?;
    s.emit_u64("output_tokens", u.output)?;
    s.emit_u64("cached_input_tokens", u.cached_input)?;
    s.emit_u64("reasoning_tokens", u.reasoning)
}

fn req(s: &mut dyn Serializer, ids: &ReqIds) -> slog::Result {
    s.emit_str("req_id", &ids.req_id)?;
    s.emit_str("trace_id", &ids.trace_id)?;
    s.emit_str("span_id", &ids.span_id)
}

impl KV for Event {
    fn serialize(&self, _: &slog::Record<'_>, s: &mut dyn Serializer) -> slog::Result {
        match self {
            Event::Runtime(e) => runtime_fields(e, s),
            Event::Http(e) => http_fields(e, s),
            Event::Stream(e) => stream_fields(e, s),
            Event::Worker(e) => worker_fields(e, s),
            Event::Health(HealthEvent::ReadinessChanged {
                ready,
                reason,
                ready_workers,
            }) => {
                s.emit_bool("ready", *ready)?;
                s.emit_str("reason", reason.as_str())?;
                s.emit_u32("ready_workers", *ready_workers)
            }
        }
    }
}

fn runtime_fields(e: &RuntimeEvent, s: &mut dyn Serializer) -> slog::Result {
    match e {
        RuntimeEvent::DaemonStarted { workers, pid } => {
            s.emit_u32("workers", *workers)?;
            s.emit_u32("pid", *pid)
        }
        RuntimeEvent::ListenerBound { role, addr } => {
            s.emit_str("role", role)?;
            s.emit_str("addr", addr)
        }
        RuntimeEvent::ShutdownPhaseStarted { phase } => s.emit_str("phase", phase.as_str()),
        RuntimeEvent::ShutdownPhaseCompleted {
            phase,
            duration_ms,
            timed_out,
        } => {
            s.emit_str("phase", phase.as_str())?;
            s.emit_u64("duration_ms", *duration_ms)?;
            s.emit_bool("timed_out", *timed_out)
        }
        RuntimeEvent::ShutdownForced => Ok(()),
        RuntimeEvent::DaemonStopped { uptime_ms } => s.emit_u64("uptime_ms", *uptime_ms),
        RuntimeEvent::StartupFailed { error, error_code } => {
            s.emit_str("error", error)?;
            s.emit_str("error_code", error_code)
        }
        RuntimeEvent::PanicOccurred { location, error } => {
            s.emit_str("location", location)?;
            s.emit_str("error", error)?;
            s.emit_str("error_code", "panic")
        }
        RuntimeEvent::BusEventsDropped {
            subscriber,
            dropped,
        } => {
            s.emit_str("subscriber", subscriber)?;
            s.emit_u64("dropped", *dropped)
        }
        RuntimeEvent::SpansDropped { dropped, reason } => {
            s.emit_u64("dropped", *dropped)?;
            s.emit_str("error_code", reason)
        }
    }
}

fn http_fields(e: &HttpEvent, s: &mut dyn Serializer) -> slog::Result {
    match e {
        HttpEvent::RequestReceived { ids, method, route } => {
            req(s, ids)?;
            s.emit_str("method", method.as_str())?;
            s.emit_str("route", route.as_str())
        }
        HttpEvent::RequestCompleted(r) => {
            req(s, &r.ids)?;
            s.emit_str("method", r.method.as_str())?;
            s.emit_str("route", r.route.as_str())?;
            s.emit_u16("status", r.status)?;
            s.emit_f64("duration_ms", round3(r.duration_ms))?;
            s.emit_f64("upstream_wait_ms", round3(r.upstream_wait_ms))?;
            s.emit_u64("bytes_out", r.bytes_out)?;
            s.emit_bool("stream", r.stream)?;
            s.emit_str("outcome", r.outcome.as_str())?;
            opt_str(s, "model", &r.model)?;
            opt_str(s, "user_agent", &r.user_agent)?;
            if let Some(code) = r.error_code {
                s.emit_str("error_code", code)?;
            }
            opt_str(s, "error", &r.error)
        }
        HttpEvent::AdmissionRejected { ids, reason } => {
            req(s, ids)?;
            s.emit_str("reason", reason.as_str())
        }
    }
}

fn stream_fields(e: &StreamEvent, s: &mut dyn Serializer) -> slog::Result {
    match e {
        StreamEvent::StreamStarted {
            ids,
            route,
            model,
            slot,
            stream,
            queue_wait_ms,
        } => {
            req(s, ids)?;
            s.emit_str("route", route.as_str())?;
            s.emit_str("model", model)?;
            s.emit_usize("worker", *slot)?;
            s.emit_bool("stream", *stream)?;
            s.emit_f64("queue_wait_ms", round3(*queue_wait_ms))
        }
        StreamEvent::TurnStarted {
            ids,
            slot,
            thread_id,
            turn_id,
        } => {
            req(s, ids)?;
            s.emit_usize("worker", *slot)?;
            s.emit_str("thread_id", thread_id)?;
            s.emit_str("turn_id", turn_id)
        }
        StreamEvent::FirstTokenReceived {
            ids,
            route,
            model,
            ttft_ms,
        } => {
            req(s, ids)?;
            s.emit_str("route", route.as_str())?;
            s.emit_str("model", model)?;
            s.emit_f64("ttft_ms", round3(*ttft_ms))
        }
        StreamEvent::UpstreamErrorReceived { ids, slot, kind } => {
            req(s, ids)?;
            s.emit_usize("worker", *slot)?;
            s.emit_str("error_code", kind.as_str())
        }
        StreamEvent::TurnInterruptSent { ids, slot, cause } => {
            req(s, ids)?;
            s.emit_usize("worker", *slot)?;
            s.emit_str("cause", cause.as_str())
        }
        StreamEvent::TurnInterruptConfirmed { ids, slot } => {
            req(s, ids)?;
            s.emit_usize("worker", *slot)
        }
        StreamEvent::StreamEnded(x) => {
            req(s, &x.ids)?;
            s.emit_str("route", x.route.as_str())?;
            s.emit_str("model", &x.model)?;
            s.emit_usize("worker", x.slot)?;
            s.emit_str("outcome", x.outcome.as_str())?;
            s.emit_f64("duration_ms", round3(x.duration_ms))?;
            match x.ttft_ms {
                Some(t) => s.emit_f64("ttft_ms", round3(t))?,
                None => s.emit_none("ttft_ms")?,
            }
            s.emit_u64("chunks", x.chunks)?;
            usage(s, &x.usage)
        }
    }
}

fn worker_fields(e: &WorkerEvent, s: &mut dyn Serializer) -> slog::Result {
    match e {
        WorkerEvent::WorkerSpawned {
            slot,
            pid,
            generation,
        } => {
            s.emit_usize("worker", *slot)?;
            s.emit_u32("worker_pid", *pid)?;
            s.emit_u64("generation", *generation)
        }
        WorkerEvent::WorkerSpawnFailed { slot, error } => {
            s.emit_usize("worker", *slot)?;
            s.emit_str("error", error)?;
            s.emit_str("error_code", "spawn_failed")
        }
        WorkerEvent::WorkerReady {
            slot,
            pid,
            handshake_ms,
        } => {
            s.emit_usize("worker", *slot)?;
            s.emit_u32("worker_pid", *pid)?;
            s.emit_f64("handshake_ms", round3(*handshake_ms))
        }
        WorkerEvent::WorkerStateChanged { slot, from, to } => {
            s.emit_usize("worker", *slot)?;
            s.emit_str("from", from.as_str())?;
            s.emit_str("to", to.as_str())
        }
        WorkerEvent::WorkerExited {
            slot,
            pid,
            code,
            signal,
            reason,
            uptime_ms,
            expected,
        } => {
            s.emit_usize("worker", *slot)?;
            s.emit_u32("worker_pid", *pid)?;
            opt_i32(s, "exit_code", *code)?;
            opt_i32(s, "signal", *signal)?;
            s.emit_str("reason", reason.as_str())?;
            s.emit_u64("uptime_ms", *uptime_ms)?;
            s.emit_bool("expected", *expected)
        }
        WorkerEvent::RestartScheduled {
            slot,
            attempt,
            delay_ms,
            reason,
        } => {
            s.emit_usize("worker", *slot)?;
            s.emit_u32("attempt", *attempt)?;
            s.emit_u64("delay_ms", *delay_ms)?;
            s.emit_str("reason", reason.as_str())
        }
        WorkerEvent::RestartsExhausted {
            slot,
            restarts,
            window_ms,
            retry_in_ms,
        } => {
            s.emit_usize("worker", *slot)?;
            s.emit_u32("restarts", *restarts)?;
            s.emit_u64("window_ms", *window_ms)?;
            s.emit_u64("retry_in_ms", *retry_in_ms)
        }
        WorkerEvent::WorkerUnresponsive {
            slot,
            pid,
            waited_ms,
        } => {
            s.emit_usize("worker", *slot)?;
            s.emit_u32("worker_pid", *pid)?;
            s.emit_u64("waited_ms", *waited_ms)?;
            s.emit_str("error_code", "ping_timeout")
        }
        WorkerEvent::WorkerProtocolError {
            slot,
            pid,
            kind,
            line_bytes,
        } => {
            s.emit_usize("worker", *slot)?;
            s.emit_u32("worker_pid", *pid)?;
            s.emit_str("error_code", kind.as_str())?;
            s.emit_u64("line_bytes", *line_bytes)
        }
        WorkerEvent::WorkerStderrObserved { slot, lines, bytes } => {
            s.emit_usize("worker", *slot)?;
            s.emit_u64("lines", *lines)?;
            s.emit_u64("stderr_bytes", *bytes)
        }
        WorkerEvent::WorkerRpcCompleted {
            slot,
            ids,
            method,
            outcome,
            duration_ms,
            ..
        } => {
            s.emit_usize("worker", *slot)?;
            if let Some(ids) = ids {
                req(s, ids)?;
            }
            s.emit_str("method", method.as_str())?;
            s.emit_str("outcome", outcome.as_str())?;
            s.emit_f64("duration_ms", round3(*duration_ms))
        }
        WorkerEvent::ServerRequestAnswered {
            slot,
            ids,
            kind,
            answer,
        } => {
            s.emit_usize("worker", *slot)?;
            if let Some(ids) = ids {
                req(s, ids)?;
            }
            s.emit_str("kind", kind.as_str())?;
            s.emit_str("answer", answer.as_str())
        }
        WorkerEvent::LeaseGranted {
            slot,
            ids,
            in_flight,
        } => {
            s.emit_usize("worker", *slot)?;
            req(s, ids)?;
            s.emit_u32("in_flight", *in_flight)
        }
        WorkerEvent::LeaseReleased { slot, in_flight } => {
            s.emit_usize("worker", *slot)?;
            s.emit_u32("in_flight", *in_flight)
        }
        WorkerEvent::WorkerStopped { slot, pid, forced } => {
            s.emit_usize("worker", *slot)?;
            s.emit_u32("worker_pid", *pid)?;
            s.emit_bool("forced", *forced)
        }
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}
