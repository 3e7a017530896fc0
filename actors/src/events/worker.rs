//! The worker domain's events: a slot's processes from spawn to stop, restarts, JSON-RPC
//! requests, server requests and leases. The slot index is logged as `worker`.

use super::declare::events;
use crate::tools::ParkDiscard;
use crate::turn::ReqIds;
use crate::worker::labels::{
    ProtocolErrorKind, RecycleReason, RestartReason, RpcMethod, RpcOutcome, ServerRequestAnswer,
    ServerRequestKind, SlotState,
};

events! {
    /// Worker supervision and protocol.
    pub enum WorkerEvent {
        WorkerSpawned { slot: usize => "worker", pid: u32 => "worker_pid", generation: u64 }
            => Info, Supervisor, "worker spawned";
        WorkerSpawnFailed { slot: usize => "worker", error: String }
            => Error, Supervisor, "worker spawn failed", error_code = "spawn_failed";
        WorkerReady { slot: usize => "worker", pid: u32 => "worker_pid", handshake_ms: f64 }
            => Info, Worker, "worker ready";
        WorkerStateChanged { slot: usize => "worker", from: SlotState, to: SlotState }
            => Debug, Supervisor, "worker state changed";
        /// The supervisor refused an illegal slot transition; the slot stays in `from`.
        SlotTransitionRefused { slot: usize => "worker", from: SlotState, to: SlotState }
            => Warning, Supervisor, "slot transition refused";
        /// Logged at warn unless the exit was expected.
        WorkerExited {
            slot: usize => "worker",
            pid: u32 => "worker_pid",
            code: Option<i32> => "exit_code",
            signal: Option<i32>,
            reason: RestartReason,
            uptime_ms: u64,
            expected: bool,
        } => if *expected { Info } else { Warning }, Supervisor, "worker exited";
        RestartScheduled {
            slot: usize => "worker",
            attempt: u32,
            delay_ms: u64,
            reason: RestartReason,
        } => Warning, Supervisor, "restart scheduled";
        RestartsExhausted {
            slot: usize => "worker",
            restarts: u32,
            window_ms: u64,
            retry_in_ms: u64,
        } => Error, Supervisor, "restart intensity exceeded";
        WorkerUnresponsive { slot: usize => "worker", pid: u32 => "worker_pid", waited_ms: u64 }
            => Error, Worker, "worker unresponsive", error_code = "ping_timeout";
        WorkerProtocolError {
            slot: usize => "worker",
            pid: u32 => "worker_pid",
            kind: ProtocolErrorKind => "error_code",
            line_bytes: u64,
        } => Warning, Worker, "worker protocol error";
        WorkerStderrObserved { slot: usize => "worker", lines: u64, bytes: u64 => "stderr_bytes" }
            => Debug, Worker, "worker stderr observed";
        WorkerRpcCompleted {
            slot: usize => "worker",
            ids: Option<ReqIds>,
            /// The `chat {model}` span the request belongs to (the RPC span's parent).
            parent_span_id: Option<String> => _,
            sampled: bool => _,
            rpc_id: u64 => _,
            error_code: Option<i64> => _,
            method: RpcMethod,
            outcome: RpcOutcome,
            duration_ms: f64,
        } => Debug, Worker, "worker rpc completed";
        ServerRequestAnswered {
            slot: usize => "worker",
            ids: Option<ReqIds>,
            kind: ServerRequestKind,
            answer: ServerRequestAnswer,
        } => Info, Worker, "server request answered";
        LeaseGranted { slot: usize => "worker", ids: ReqIds, in_flight: u32 }
            => Debug, Supervisor, "lease granted";
        LeaseReleased { slot: usize => "worker", in_flight: u32 }
            => Debug, Supervisor, "lease released";
        WorkerStopped { slot: usize => "worker", pid: u32 => "worker_pid", forced: bool }
            => Info, Supervisor, "worker stopped";
        /// The model called a client tool (`item/tool/call`); no tool name or arguments.
        ToolCallReceived { slot: usize => "worker", ids: Option<ReqIds> }
            => Debug, Worker, "tool call received";
        /// A turn ended its response with `calls` client tool calls and waits for the outputs.
        TurnParked { slot: usize => "worker", ids: ReqIds, calls: usize => "tool_calls" }
            => Info, Worker, "turn parked";
        /// A follow-up took a parked turn over (the continue path).
        ParkedTurnContinued { slot: usize => "worker", ids: ReqIds }
            => Info, Worker, "parked turn continued";
        /// A parked turn was interrupted and its thread released, never continued.
        ParkedTurnDiscarded { slot: usize => "worker", ids: Option<ReqIds>, reason: ParkDiscard => "discard_reason" }
            => Info, Worker, "parked turn discarded";
        /// The worker takes no new lease; it is restarted (`recycled`) once its `in_flight`
        /// turns are done.
        WorkerRecycleStarted { slot: usize => "worker", reason: RecycleReason, in_flight: u32 }
            => Info, Supervisor, "worker recycle started";
        WorkerMemorySampled { slot: usize => "worker", rss_bytes: u64 }
            => Debug, Supervisor, "worker memory sampled";
    }
}
