//! The stream domain's events: one upstream stream (one turn) from its start to its summary.

use super::declare::{events, log_struct};
use crate::ingress::RouteLabel;
use crate::labels::StreamOutcome;
use crate::retry::RetryReason;
use crate::turn::{ReqIds, TokenUsage};
use crate::worker::labels::UpstreamErrorKind;

log_struct! {
    /// One stream's end-of-life summary.
    pub struct StreamSummary {
        ids: ReqIds,
        chat_span_id: String => _,
        sampled: bool => _,
        stream: bool => _,
        codex_model: String => _,
        /// Low-cardinality error type for the span status, when the stream failed.
        error_type: Option<&'static str> => _,
        route: RouteLabel,
        model: String,
        slot: usize => "worker",
        outcome: StreamOutcome,
        duration_ms: f64,
        ttft_ms: Option<f64>,
        chunks: u64,
        usage: TokenUsage,
        /// Which request features the turn used (closed facts, span attributes only).
        features: crate::request_features::FeatureFacts => _,
    }
}

events! {
    /// One upstream stream's lifecycle.
    pub enum StreamEvent {
        StreamStarted {
            ids: ReqIds,
            route: RouteLabel,
            model: String,
            slot: usize => "worker",
            stream: bool,
            queue_wait_ms: f64,
        } => Debug, Stream, "stream started";
        TurnStarted { ids: ReqIds, slot: usize => "worker", thread_id: String, turn_id: String }
            => Debug, Stream, "turn started";
        FirstTokenReceived { ids: ReqIds, route: RouteLabel, model: String, ttft_ms: f64 }
            => Debug, Stream, "first token received";
        UpstreamErrorReceived {
            ids: ReqIds,
            slot: usize => "worker",
            kind: UpstreamErrorKind => "error_code",
        } => Warning, Stream, "upstream error received";
        TurnInterruptSent { ids: ReqIds, slot: usize => "worker", cause: StreamOutcome }
            => Info, Stream, "turn interrupt sent";
        TurnInterruptConfirmed { ids: ReqIds, slot: usize => "worker" }
            => Info, Stream, "turn interrupt confirmed";
        /// The turn failed before its first generated delta and starts again on `slot`.
        StreamRetried {
            ids: ReqIds,
            route: RouteLabel,
            from_slot: usize,
            slot: usize => "worker",
            reason: RetryReason,
        } => Warning, Stream, "stream retried";
        /// Debug-only (`log.capture_content`, loopback listeners only): the one event that
        /// carries content, the turn input and the generated text.
        ContentCaptured { ids: ReqIds, input: String, output: String }
            => Debug, Stream, "content captured";
        /// Logged at warn unless the stream completed.
        StreamEnded(summary: Box<StreamSummary>)
            => if summary.outcome == StreamOutcome::Completed { Info } else { Warning },
               Stream, "stream ended";
    }
}
