//! Domain types for one turn: what the front end asks for, what a worker reports back, and
//! what an upstream stream hands to its consumer. No wire formats here.

use crate::ingress::RouteLabel;
use crate::outcome::StreamOutcome;
use crate::worker::labels::UpstreamErrorKind;
use std::time::Instant;

/// The ids that join every log line about one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReqIds {
    pub req_id: String,
    pub trace_id: String,
    pub span_id: String,
    /// The id of the API key the request authenticated with (never the secret); `None`
    /// when the API has no keys. Logged as `key_id`.
    pub key_id: Option<std::sync::Arc<str>>,
}

/// Identity of the request a turn serves, carried onto every event about it.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub ids: ReqIds,
    /// The span id of the `chat {model}` span; the worker's spans become its children.
    pub chat_span_id: String,
    pub sampled: bool,
    /// W3C `traceparent` of the span that owns the turn, forwarded to the worker.
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
}

/// Everything a worker needs to run one turn on a fresh ephemeral thread.
#[derive(Debug, Clone)]
pub struct TurnRequest {
    pub ctx: RequestContext,
    pub route: RouteLabel,
    /// The catalogue id the client asked for (a closed set: it was validated).
    pub model_id: String,
    pub codex_model: String,
    pub reasoning_effort: Option<String>,
    pub developer_instructions: Option<String>,
    pub input: String,
    pub stream: bool,
    pub accepted_at: Instant,
    /// Client tools and the follow-up this request brings (empty for a plain turn).
    pub tools: crate::tools::ToolTurn,
    /// Request features beyond text (structured output, images, reasoning, stop).
    pub features: TurnFeatures,
}

/// What a request asks of its turn beyond the text input (all optional; checked by the front
/// end before the turn is queued).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TurnFeatures {
    /// The turn's `outputSchema` (strict-compatible JSON Schema). Never logged.
    pub output_schema: Option<serde_json::Value>,
    /// Images as checked `data:` URLs, sent as `{type:"image", url}` input items. Never logged.
    pub images: Vec<String>,
    /// The turn's reasoning `summary` (`auto`, `concise`, `detailed`, `none`).
    pub reasoning_summary: Option<String>,
    /// Stop sequences, emulated by the stream (`crate::stop`).
    pub stop: Vec<String>,
    /// Responses `include: ["reasoning.encrypted_content"]`: the thread runs with raw events
    /// and the model's reasoning items reach the stream (`crate::reasoning_item`).
    pub include_encrypted: bool,
    /// The client named the effort (the turn's effort may also be the catalogue's default).
    pub effort_requested: bool,
}

/// Token usage as reported by the worker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenUsage {
    pub input: u64,
    pub output: u64,
    pub cached_input: u64,
    pub reasoning: u64,
    pub total: u64,
}

/// The status the worker reports for a finished turn: an input to the stream's
/// [`StreamOutcome`], not the outcome itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnStatus {
    Completed,
    Interrupted,
    Failed,
}

/// The kind of generated delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeltaKind {
    Text,
    Tool,
    /// A reasoning summary piece: generated, so it counts as the first token and as bytes
    /// sent (no retry after it), but it is handed on as `StreamOutput::Reasoning`.
    Reasoning,
}

/// What a worker connection reports to the stream that owns a turn.
#[derive(Debug, Clone, actix::Message)]
#[rtype(result = "()")]
pub enum TurnUpdate {
    Started {
        thread_id: String,
        turn_id: String,
    },
    Delta {
        kind: DeltaKind,
        text: String,
    },
    Usage(TokenUsage),
    /// A piece of the reasoning summary the turn asked for.
    Reasoning(String),
    UpstreamError(UpstreamErrorKind),
    Completed(TurnStatus),
    /// A JSON-RPC request for the turn was refused by the worker.
    Refused,
    /// The worker process went away with the turn in flight.
    WorkerLost,
    /// The model called a client tool.
    ToolCall(crate::tools::ToolCall),
    /// The model's response is complete and every call it made has arrived: the turn now
    /// waits (parked) for the outputs, and this request is done.
    Parked,
    /// A raw reasoning item of the model (only for a request that asked for its
    /// `encrypted_content`).
    ReasoningItem(crate::reasoning_item::ReasoningItem),
    /// Several of the above, in order, that arrived in one read of the worker's stdout (the
    /// connection's outbox sends them as one message); never nested.
    Batch(Vec<TurnUpdate>),
}

/// What an upstream stream hands to its consumer, in order.
#[derive(Debug, Clone)]
pub enum StreamOutput {
    /// Generated text; `first` marks the first generated token of the stream.
    Text(String),
    /// A piece of the model's reasoning summary (Responses shows it as a reasoning item).
    Reasoning(String),
    /// A comment line to keep idle connections alive.
    Keepalive,
    /// A call to a client tool (before `Ended(Completed)`: the answer ends with tool calls).
    ToolCall(crate::tools::ToolCall),
    /// Final usage, sent just before `Ended(Completed)`.
    Usage(TokenUsage),
    /// A raw reasoning item with its `encrypted_content` (only when the request asked).
    ReasoningItem(crate::reasoning_item::ReasoningItem),
    /// The stream ended, once, last: `Completed`, or the failure to report. A client that
    /// went away (`ClientAbort`) is never sent anything.
    Ended(StreamOutcome),
}
