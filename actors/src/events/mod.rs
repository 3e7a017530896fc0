//! The event taxonomy: one `Event` enum of per-domain enums. Every lifecycle fact is one of
//! these; the bus writes its log line, metrics and health derive state from it. Fields are
//! typed and none can hold user content (prompts, completions, worker output).

mod fields;
mod meta;

pub use meta::{Meta, CATALOGUE};

use crate::labels::*;
use crate::turn::{ReqIds, TokenUsage};
use crate::worker::state::SlotState;

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
    ContentCaptureEnabled,
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
    /// Debug-only (`log.capture_content`, loopback listeners only): the one event that
    /// carries content, the turn input and the generated text.
    ContentCaptured {
        ids: ReqIds,
        input: String,
        output: String,
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
    /// The supervisor refused an illegal slot transition; the slot stays in `from`.
    SlotTransitionRefused {
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
