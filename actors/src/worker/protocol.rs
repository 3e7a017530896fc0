//! The app-server JSON-RPC subset codexd speaks: encoding our requests (`encode.rs`),
//! decoding the worker's lines leniently (no `jsonrpc` field, extra fields; one pass on the
//! hot path, `envelope.rs`, and the hottest lines read where they stand, `unread.rs`), and
//! reading the few fields we use out of results and
//! notifications.

mod encode;
mod envelope;
mod unread;

pub use encode::{
    encode_request, DynamicTools, LineParams, ThreadRef, ThreadStartParams, TraceField, TurnInput,
    TurnRef, TurnStartParams,
};

use crate::labels::{ProtocolErrorKind, ServerRequestKind, UpstreamErrorKind};
use crate::turn::{DeltaKind, TokenUsage, TurnStatus};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::borrow::Cow;

/// A decoded line from a worker. Notifications and the per-request RPC results, the hot
/// path, are decoded borrowing from the line: only the fields codexd reads are
/// materialised, the rest is skipped.
#[derive(Debug)]
pub enum Incoming<'a> {
    Response {
        id: u64,
        outcome: Result<RpcResult<'a>, RpcError>,
    },
    Notification {
        method: Cow<'a, str>,
        params: NoteParams<'a>,
    },
    ServerRequest {
        id: Value,
        method: String,
        params: Value,
    },
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct RpcError {
    pub code: i64,
    #[serde(default)]
    pub message: String,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default, borrow, deserialize_with = "borrowed_text")]
    method: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    params: Option<&'a RawValue>,
    #[serde(default, borrow)]
    result: Option<&'a RawValue>,
    #[serde(default)]
    error: Option<RpcError>,
}

/// The notification fields codexd uses; everything else in `params` is skipped unread.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NoteParams<'a> {
    #[serde(rename = "threadId", borrow, deserialize_with = "borrowed_text")]
    pub thread_id: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "borrowed_text")]
    pub delta: Option<Cow<'a, str>>,
    #[serde(rename = "willRetry")]
    pub will_retry: Option<bool>,
    pub error: Option<NoteError>,
    #[serde(rename = "tokenUsage")]
    pub token_usage: Option<NoteUsage>,
    #[serde(borrow)]
    pub turn: Option<NoteTurn<'a>>,
    /// `params.item` (only its type: raw `function_call` items are counted).
    #[serde(borrow)]
    pub item: Option<NoteItem<'a>>,
    /// `params.rateLimits` of `account/rateLimits/updated` (its windows only).
    #[serde(rename = "rateLimits")]
    pub rate_limits: Option<Box<crate::accounts::quota::SnapshotReport>>,
}

/// `params.item` of an item notification: its `type`, and for a raw `reasoning` item its
/// `id`, `summary` and `encrypted_content` (read lazily: `crate::reasoning_item`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NoteItem<'a> {
    #[serde(rename = "type", borrow, deserialize_with = "borrowed_text")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub id: Option<&'a RawValue>,
    #[serde(borrow)]
    pub summary: Option<&'a RawValue>,
    #[serde(borrow)]
    pub encrypted_content: Option<&'a RawValue>,
}

/// `params.error` of an `error` notification.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NoteError {
    #[serde(rename = "codexErrorInfo")]
    pub info: Option<Value>,
}

/// `params.tokenUsage`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NoteUsage {
    pub total: Option<UsageBreakdown>,
}

/// One token-usage breakdown.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UsageBreakdown {
    pub total_tokens: u64,
    pub input_tokens: u64,
    pub cached_input_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_output_tokens: u64,
}

/// `params.turn` of `turn/started` and `turn/completed` (its items are skipped).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NoteTurn<'a> {
    #[serde(borrow, deserialize_with = "borrowed_text")]
    pub id: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "borrowed_text")]
    pub status: Option<Cow<'a, str>>,
}

/// A successful answer's `result`: raw, each method reading what it needs of it (the rare
/// ones a whole `Value`), or, when the decoder was told the answer is a `thread/start` or
/// `turn/start` one (`decode_with`), only its ids, read in the same pass as the envelope.
#[derive(Debug, Clone)]
pub enum RpcResult<'a> {
    Raw(Option<&'a RawValue>),
    Ids(StartedIds<'a>),
}

/// What the decoder reads of a result (`decode_with`), by the request's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultShape {
    /// Kept raw (`RpcResult::value` reads it).
    Raw,
    /// `thread.id` and `turn.id` only (the answer of `thread/start` or `turn/start`).
    Ids,
}

/// `result.thread.id` and `result.turn.id`, everything else skipped.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StartedIds<'a> {
    #[serde(borrow)]
    thread: Option<IdOnly<'a>>,
    #[serde(borrow)]
    turn: Option<IdOnly<'a>>,
}

/// `{"id": ...}`, everything else skipped.
#[derive(Debug, Clone, Deserialize)]
struct IdOnly<'a> {
    #[serde(borrow, deserialize_with = "borrowed_text", default)]
    id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ThreadStartResult<'a> {
    #[serde(borrow, default)]
    thread: Option<IdOnly<'a>>,
}

#[derive(Deserialize)]
struct TurnStartResult<'a> {
    #[serde(borrow, default)]
    turn: Option<IdOnly<'a>>,
}

impl<'a> RpcResult<'a> {
    /// The whole result as a `Value` (`null` when absent, and for a result read for its
    /// ids only).
    pub fn value(&self) -> Value {
        match self {
            RpcResult::Raw(r) => value_of(*r),
            RpcResult::Ids(_) => Value::Null,
        }
    }

    /// `result.thread.id` of a `thread/start` answer.
    pub fn thread_id(&self) -> Option<Cow<'a, str>> {
        match self {
            RpcResult::Raw(r) => {
                let r: ThreadStartResult<'a> = serde_json::from_str(r.as_ref()?.get()).ok()?;
                r.thread?.id
            }
            RpcResult::Ids(ids) => ids.thread.as_ref()?.id.clone(),
        }
    }

    /// `result.turn.id` of a `turn/start` answer.
    pub fn turn_id(&self) -> Option<Cow<'a, str>> {
        match self {
            RpcResult::Raw(r) => {
                let r: TurnStartResult<'a> = serde_json::from_str(r.as_ref()?.get()).ok()?;
                r.turn?.id
            }
            RpcResult::Ids(ids) => ids.turn.as_ref()?.id.clone(),
        }
    }
}

/// An optional string borrowed from the line when it has no escapes: serde borrows a
/// `Cow` field, but never one inside an `Option`.
fn borrowed_text<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Cow<'de, str>>, D::Error> {
    Ok(Option::<envelope::Text<'de>>::deserialize(d)?.map(|t| t.0))
}

fn value_of(raw: Option<&RawValue>) -> Value {
    raw.and_then(|r| serde_json::from_str(r.get()).ok())
        .unwrap_or(Value::Null)
}

/// Decodes one line. Anything that is not a JSON object of a known shape is an error kind.
pub fn decode(line: &[u8]) -> Result<Incoming<'_>, ProtocolErrorKind> {
    decode_with(line, |_| ResultShape::Raw)
}

/// Decodes one line; an answer's result is read as `shape(id)` says (when the id comes
/// before the result, as Codex writes it; else it is kept raw).
pub fn decode_with(
    line: &[u8],
    shape: impl Fn(u64) -> ResultShape,
) -> Result<Incoming<'_>, ProtocolErrorKind> {
    if let Some(read) = unread::read(line, &shape) {
        return Ok(read);
    }
    match envelope::decode_fast(line, shape) {
        Ok(f) => incoming(f.id, f.method, f.params, f.result, f.error),
        Err(_) => decode_lenient(line),
    }
}

/// The message an envelope's fields make.
fn incoming<'a>(
    id: Option<Value>,
    method: Option<Cow<'a, str>>,
    params: envelope::Params<'a>,
    result: RpcResult<'a>,
    error: Option<RpcError>,
) -> Result<Incoming<'a>, ProtocolErrorKind> {
    use envelope::Params;
    match (id, method) {
        (Some(id), Some(method)) => Ok(Incoming::ServerRequest {
            id,
            method: method.into_owned(),
            params: match params {
                Params::Absent => Value::Null,
                Params::Raw(r) => value_of(Some(r)),
                // Only a notification's params are read as `NoteParams` (never here).
                Params::Note(_) => Value::Null,
            },
        }),
        (None, Some(method)) => {
            // A notification whose params have an unexpected shape is still routed by
            // method (and counted if unknown), never a protocol error.
            let params = match params {
                Params::Absent => NoteParams::default(),
                Params::Note(p) => p,
                Params::Raw(r) => serde_json::from_str(r.get()).unwrap_or_default(),
            };
            Ok(Incoming::Notification { method, params })
        }
        (Some(id), None) => {
            let id = id.as_u64().ok_or(ProtocolErrorKind::UnexpectedMessage)?;
            let outcome = match (result, error) {
                (_, Some(e)) => Err(e),
                (r, None) => Ok(r),
            };
            Ok(Incoming::Response { id, outcome })
        }
        (None, None) => Err(ProtocolErrorKind::UnexpectedMessage),
    }
}

/// The two-pass decoder: the envelope with `params` raw, then the params. It takes every
/// line the one-pass decoder leaves (see `envelope.rs`) and is the reference for both.
fn decode_lenient(line: &[u8]) -> Result<Incoming<'_>, ProtocolErrorKind> {
    let raw: Envelope<'_> =
        serde_json::from_slice(line).map_err(|_| ProtocolErrorKind::InvalidJson)?;
    let params = match raw.params {
        Some(r) => envelope::Params::Raw(r),
        None => envelope::Params::Absent,
    };
    incoming(
        raw.id,
        raw.method,
        params,
        RpcResult::Raw(raw.result),
        raw.error,
    )
}

/// Encodes a notification such as `initialized`.
pub fn encode_notification(method: &str) -> Vec<u8> {
    line(&json!({"jsonrpc": "2.0", "method": method}))
}

/// Encodes a response to a server→client request.
pub fn encode_response(id: &Value, outcome: Result<Value, (i64, &str)>) -> Vec<u8> {
    match outcome {
        Ok(result) => line(&json!({"jsonrpc": "2.0", "id": id, "result": result})),
        Err((code, message)) => line(&json!({
            "jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}
        })),
    }
}

fn line(v: &Value) -> Vec<u8> {
    encode::line(v)
}

/// `params.threadId` of a server→client request, used to find the owning turn.
pub fn thread_id(params: &Value) -> Option<&str> {
    params.get("threadId").and_then(Value::as_str)
}

/// What a turn notification means for the stream that owns it.
#[derive(Debug, PartialEq)]
pub enum TurnSignal {
    Delta(DeltaKind, String),
    Usage(TokenUsage),
    Error(UpstreamErrorKind),
    Completed(TurnStatus),
    /// A piece of the model's reasoning summary (`item/reasoning/summaryTextDelta`).
    Reasoning(String),
    Ignored,
    Unknown,
}

/// Methods that are known and carry nothing codexd uses.
const IGNORED: &[&str] = &[
    "thread/started",
    "turn/started",
    "item/started",
    "item/completed",
    "thread/status/changed",
    "warning",
    "configWarning",
    "account/rateLimits/updated",
    "account/updated",
    "item/reasoning/summaryPartAdded",
    "item/reasoning/textDelta",
    "turn/diff/updated",
    "turn/plan/updated",
    "thread/name/updated",
    "mcpServer/startupStatus/updated",
    "thread/closed",
    "serverRequest/resolved",
    "deprecationNotice",
    // Sent once after `initialized` by Codex 0.171 (remote control off), never about a turn.
    "remoteControl/status/changed",
    // Sent on every thread/start once the worker is initialized with `experimentalApi`.
    "thread/settings/updated",
    // Raw model-response events (`experimentalRawEvents`), read by the tool-call tracking.
    "rawResponseItem/completed",
    "rawResponse/completed",
];

/// Classifies a turn notification, taking the delta text out of `params`.
pub fn classify(method: &str, params: NoteParams<'_>) -> TurnSignal {
    match method {
        "item/agentMessage/delta" => TurnSignal::Delta(
            DeltaKind::Text,
            params.delta.map(Cow::into_owned).unwrap_or_default(),
        ),
        "item/commandExecution/outputDelta"
        | "item/fileChange/outputDelta"
        | "item/mcpToolCall/progress" => TurnSignal::Delta(DeltaKind::Tool, String::new()),
        "item/reasoning/summaryTextDelta" => {
            TurnSignal::Reasoning(params.delta.map(Cow::into_owned).unwrap_or_default())
        }
        "thread/tokenUsage/updated" => TurnSignal::Usage(usage(params.token_usage)),
        "error" => {
            if params.will_retry == Some(true) {
                TurnSignal::Ignored
            } else {
                TurnSignal::Error(error_kind(params.error.and_then(|e| e.info).as_ref()))
            }
        }
        "turn/completed" => {
            let status = match params.turn.and_then(|t| t.status).as_deref() {
                Some("completed") => TurnStatus::Completed,
                Some("interrupted") => TurnStatus::Interrupted,
                _ => TurnStatus::Failed,
            };
            TurnSignal::Completed(status)
        }
        m if IGNORED.contains(&m) => TurnSignal::Ignored,
        _ => TurnSignal::Unknown,
    }
}

fn usage(u: Option<NoteUsage>) -> TokenUsage {
    // `total` accumulates over the thread and `last` covers only the last model call. Each
    // thread is ephemeral and runs exactly one turn, so `total` is this turn's usage, tool
    // loops with several model calls included.
    let t = u.and_then(|u| u.total).unwrap_or_default();
    let total = match t.total_tokens {
        0 => t.input_tokens + t.output_tokens,
        v => v,
    };
    TokenUsage {
        input: t.input_tokens,
        output: t.output_tokens,
        cached_input: t.cached_input_tokens,
        reasoning: t.reasoning_output_tokens,
        total,
    }
}

/// Folds Codex's `codexErrorInfo` into the closed set of upstream error kinds.
pub fn error_kind(info: Option<&Value>) -> UpstreamErrorKind {
    let Some(info) = info else {
        return UpstreamErrorKind::Other;
    };
    if let Some(s) = info.as_str() {
        return match s {
            "internalServerError" | "serverOverloaded" => UpstreamErrorKind::ServerError,
            "unauthorized" => UpstreamErrorKind::Unauthorized,
            "contextWindowExceeded" => UpstreamErrorKind::ContextLength,
            "usageLimitExceeded" | "rateLimitExceeded" => UpstreamErrorKind::RateLimited,
            _ => UpstreamErrorKind::Other,
        };
    }
    let status = info
        .as_object()
        .and_then(|o| o.values().next())
        .and_then(|v| v.get("httpStatusCode"))
        .and_then(Value::as_u64);
    match status {
        Some(429) => UpstreamErrorKind::RateLimited,
        Some(401 | 403) => UpstreamErrorKind::Unauthorized,
        Some(500..=599) => UpstreamErrorKind::ServerError,
        _ => UpstreamErrorKind::Other,
    }
}

/// Folds a server→client request method into its kind.
pub fn server_request_kind(method: &str) -> ServerRequestKind {
    match method {
        "item/commandExecution/requestApproval" | "execCommandApproval" => {
            ServerRequestKind::CommandApproval
        }
        "item/fileChange/requestApproval" | "applyPatchApproval" => {
            ServerRequestKind::FileChangeApproval
        }
        "item/permissions/requestApproval" => ServerRequestKind::PermissionsApproval,
        "item/tool/requestUserInput" => ServerRequestKind::UserInput,
        "item/tool/call" => ServerRequestKind::ToolCall,
        "mcpServer/elicitation/request" => ServerRequestKind::Elicitation,
        _ => ServerRequestKind::Other,
    }
}

/// The approval answer for a method, in the vocabulary that method's schema uses.
pub fn approval_answer(method: &str, accept: bool) -> Value {
    let legacy = matches!(method, "execCommandApproval" | "applyPatchApproval");
    let decision = match (legacy, accept) {
        (true, true) => "approved",
        (true, false) => "denied",
        (false, true) => "accept",
        (false, false) => "decline",
    };
    json!({ "decision": decision })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unread_notification_is_routed_by_its_method_alone() {
        let line =
            br#"{"method":"thread/started","params":{"thread":{"id":"T","extra":[1,{"a":"b"}]}}}"#;
        let Ok(Incoming::Notification { method, params }) = decode(line) else {
            panic!("a notification")
        };
        assert_eq!(method, "thread/started");
        assert!(params.thread_id.is_none() && params.turn.is_none());
        assert_eq!(
            classify(&method, params),
            TurnSignal::Ignored,
            "known, and nothing codexd uses"
        );
        // Not decoded at all: what follows the method is not checked (a decoded line this
        // broken would be a protocol error).
        let broken = br#"{"method":"thread/started",{{{ not json"#;
        assert!(matches!(
            decode(broken),
            Ok(Incoming::Notification { method, .. }) if method == "thread/started"
        ));
        assert!(decode(br#"{"method":"turn/started",{{{ not json"#).is_err());
        // The item notifications as Codex writes them (the item first, then the thread).
        for (line, m) in [
            (
                &br#"{"method":"item/started","params":{"item":{"type":"agentMessage","id":"msg_1","text":""},"threadId":"thr_1","turnId":"turn_1"}}"#[..],
                "item/started",
            ),
            (
                br#"{"method":"item/completed","params":{"item":{"type":"agentMessage","text":"a \"b\""},"threadId":"thr_1"}}"#,
                "item/completed",
            ),
        ] {
            let Ok(Incoming::Notification { method, params }) = decode(line) else {
                panic!("a notification")
            };
            assert_eq!(method, m);
            assert!(params.thread_id.is_none() && params.item.is_none());
            assert_eq!(classify(&method, params), TurnSignal::Ignored);
        }
        // An item of another type is decoded.
        let reasoning =
            br#"{"method":"item/started","params":{"item":{"type":"reasoning"},"threadId":"t"}}"#;
        let Ok(Incoming::Notification { params, .. }) = decode(reasoning) else {
            panic!("a notification")
        };
        assert_eq!(params.thread_id.as_deref(), Some("t"));
        // Only the exact method opens the shortcut; others are decoded as before.
        for other in [
            &br#"{"method":"thread/started/x","params":{}}"#[..],
            br#"{"method":"thread/startedx","params":{}}"#,
        ] {
            let Ok(Incoming::Notification { method, .. }) = decode(other) else {
                panic!("a notification")
            };
            assert_ne!(method, "thread/started");
        }
    }

    #[test]
    fn decodes_codex_messages_without_jsonrpc_field() {
        let r = decode(br#"{"id":3,"result":{"turn":{"id":"U"}}}"#).unwrap();
        assert!(matches!(
            r,
            Incoming::Response {
                id: 3,
                outcome: Ok(_)
            }
        ));
        let n = decode(br#"{"method":"turn/started","params":{"threadId":"T"},"emittedAtMs":1}"#)
            .unwrap();
        assert!(matches!(n, Incoming::Notification { .. }));
        let s = decode(br#"{"id":0,"method":"item/commandExecution/requestApproval","params":{}}"#)
            .unwrap();
        assert!(matches!(s, Incoming::ServerRequest { .. }));
        let e = decode(br#"{"id":1,"error":{"code":-32600,"message":"Not initialized"}}"#).unwrap();
        assert!(matches!(
            e,
            Incoming::Response {
                id: 1,
                outcome: Err(RpcError { code: -32600, .. })
            }
        ));
    }

    #[test]
    fn garbage_is_a_protocol_error_not_a_crash() {
        assert_eq!(
            decode(b"not json {{{").unwrap_err(),
            ProtocolErrorKind::InvalidJson
        );
        assert_eq!(
            decode(b"[1,2]").unwrap_err(),
            ProtocolErrorKind::InvalidJson
        );
        assert_eq!(
            decode(b"{}").unwrap_err(),
            ProtocolErrorKind::UnexpectedMessage
        );
    }

    #[test]
    fn classifies_upstream_errors_into_the_closed_set() {
        let rl = json!({"responseTooManyFailedAttempts": {"httpStatusCode": 429}});
        assert_eq!(error_kind(Some(&rl)), UpstreamErrorKind::RateLimited);
        assert_eq!(
            error_kind(Some(&json!("internalServerError"))),
            UpstreamErrorKind::ServerError
        );
        assert_eq!(
            error_kind(Some(&json!("contextWindowExceeded"))),
            UpstreamErrorKind::ContextLength
        );
        assert_eq!(
            error_kind(Some(&json!("rateLimitExceeded"))),
            UpstreamErrorKind::RateLimited
        );
        assert_eq!(
            error_kind(Some(&json!("somethingNew"))),
            UpstreamErrorKind::Other
        );
        assert_eq!(error_kind(None), UpstreamErrorKind::Other);
    }

    fn note(v: Value) -> NoteParams<'static> {
        let text: &'static str = Box::leak(v.to_string().into_boxed_str());
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn notifications_are_decoded_borrowing_only_what_is_used() {
        let line = br#"{"method":"item/agentMessage/delta","params":{"threadId":"T","turnId":"U","itemId":"m","delta":"Hi \"there\""},"emittedAtMs":1}"#;
        let Incoming::Notification { method, params } = decode(line).unwrap() else {
            panic!()
        };
        assert_eq!(params.thread_id.as_deref(), Some("T"));
        assert_eq!(
            classify(&method, params),
            TurnSignal::Delta(DeltaKind::Text, "Hi \"there\"".into())
        );
        // Unexpected params shapes still decode, as an unknown-but-harmless notification.
        let odd = decode(br#"{"method":"x/y","params":[1,2]}"#).unwrap();
        assert!(matches!(odd, Incoming::Notification { .. }));
    }

    #[test]
    fn reads_usage_and_completion() {
        let p = note(
            json!({"threadId":"T","tokenUsage":{"total":{"totalTokens":18,"inputTokens":10,"cachedInputTokens":2,"outputTokens":8,"reasoningOutputTokens":1}}}),
        );
        let TurnSignal::Usage(u) = classify("thread/tokenUsage/updated", p) else {
            panic!()
        };
        assert_eq!(
            (u.input, u.output, u.cached_input, u.reasoning, u.total),
            (10, 8, 2, 1, 18)
        );
        let c = classify(
            "turn/completed",
            note(json!({"turn":{"status":"interrupted","items":[{"text":"x"}]}})),
        );
        assert_eq!(c, TurnSignal::Completed(TurnStatus::Interrupted));
        assert_eq!(
            classify("brand/new", NoteParams::default()),
            TurnSignal::Unknown
        );
        let rc = note(json!({"status": "disabled", "serverName": "vm"}));
        assert_eq!(
            classify("remoteControl/status/changed", rc),
            TurnSignal::Ignored
        );
    }

    /// Lines of every shape: Codex's hot ones, and the odd ones the one pass leaves.
    const CORPUS: &[&str] = &[
        r#"{"method":"item/agentMessage/delta","params":{"threadId":"thr_42","turnId":"turn_42","itemId":"msg_42","delta":" sa"},"emittedAtMs":1795979509385}"#,
        r#"{"method":"item/agentMessage/delta","params":{"threadId":"t","delta":"a\"b\u00e9\n"}}"#,
        r#"{"method":"turn/started","params":{"threadId":"t","turn":{"id":"u","items":[],"status":"inProgress"}}}"#,
        r#"{"method":"turn/completed","params":{"threadId":"t","turn":{"id":"u","items":[{"type":"agentMessage","text":"x"}],"status":"completed","error":null}}}"#,
        r#"{"method":"thread/tokenUsage/updated","params":{"threadId":"t","tokenUsage":{"total":{"totalTokens":8,"inputTokens":3,"outputTokens":5},"last":{}}}}"#,
        r#"{"method":"item/started","params":{"item":{"type":"reasoning","id":"r","summary":["x"]},"threadId":"t"}}"#,
        r#"{"method":"error","params":{"threadId":"t","willRetry":false,"error":{"codexErrorInfo":{"responseTooManyFailedAttempts":{"httpStatusCode":429}}}}}"#,
        r#"{"method":"account/rateLimits/updated","params":{"rateLimits":{"primary":{"usedPercent":5.0}}}}"#,
        r#"{"method":"x/y","params":[1,2]}"#,
        r#"{"method":"x/y","params":{"threadId":5}}"#,
        r#"{"method":"x/y","params":null}"#,
        r#"{"method":"x/y"}"#,
        r#"{"params":{"threadId":"t","delta":"d"},"method":"item/agentMessage/delta"}"#,
        r#"{"method":"a","method":"b"}"#,
        r#"{"method":"x","params":{"threadId":"t"},"id":3}"#,
        r#"{"id":3,"method":"item/tool/call","params":{"threadId":"t","callId":"c","tool":"f","arguments":{"a":1}}}"#,
        r#"{"id":"s1","method":"item/commandExecution/requestApproval","params":{}}"#,
        r#"{"id":17,"result":{"turn":{"id":"turn_42","items":[],"status":"inProgress"}}}"#,
        r#"{"id":18,"result":null}"#,
        r#"{"id":19}"#,
        r#"{"id":1,"error":{"code":-32600,"message":"Not initialized"}}"#,
        r#"{"id":-1,"result":{}}"#,
        r#"{"id":1.5,"result":{}}"#,
        r#"{"jsonrpc":"2.0","id":2,"result":{"thread":{"id":"thr_1","turns":[]}}}"#,
        r#"{}"#,
        r#"[1,2]"#,
        r#"not json {{{"#,
        r#"{"method":"x"} trailing"#,
        r#"{"method":1}"#,
    ];

    #[test]
    fn the_one_pass_decodes_every_line_as_the_lenient_decoder_does() {
        for line in CORPUS {
            assert_eq!(
                format!("{:?}", decode(line.as_bytes())),
                format!("{:?}", decode_lenient(line.as_bytes())),
                "{line}"
            );
        }
    }

    #[test]
    fn results_read_for_their_ids_in_one_pass_give_the_ids_the_raw_ones_give() {
        let lines = [
            r#"{"id":2,"result":{"thread":{"id":"thr_1","cwd":"/","turns":[]},"model":"m"}}"#,
            r#"{"id":3,"result":{"turn":{"id":"turn_1","items":[],"status":"inProgress"}}}"#,
            r#"{"id":4,"result":{"thread":{"id":7}}}"#,
            r#"{"id":4,"result":{"thread":"x"}}"#,
            r#"{"id":4,"result":{"turn":{"id":null}}}"#,
            r#"{"id":4,"result":null}"#,
            r#"{"id":4,"result":[]}"#,
            r#"{"id":4}"#,
            r#"{"result":{"thread":{"id":"late"}},"id":4}"#,
            r#"{"id":5,"error":{"code":-1,"message":"no"}}"#,
        ];
        let ids = |line: &str, shape: ResultShape| match decode_with(line.as_bytes(), |_| shape) {
            Ok(Incoming::Response { id, outcome }) => Some((
                id,
                outcome
                    .as_ref()
                    .map(|r| {
                        (
                            r.thread_id().map(Cow::into_owned),
                            r.turn_id().map(Cow::into_owned),
                        )
                    })
                    .map_err(|e| e.code),
            )),
            _ => None,
        };
        for line in lines {
            assert_eq!(
                ids(line, ResultShape::Ids),
                ids(line, ResultShape::Raw),
                "{line}"
            );
        }
        let Ok(Incoming::Response { outcome: Ok(r), .. }) =
            decode_with(lines[0].as_bytes(), |_| ResultShape::Ids)
        else {
            panic!()
        };
        assert!(matches!(r, RpcResult::Ids(_)));
        assert!(matches!(r.thread_id(), Some(Cow::Borrowed("thr_1"))));
    }

    #[test]
    fn started_ids_are_taken_where_codex_writes_them_without_decoding_the_rest() {
        let ids = |line: &[u8], shape: ResultShape| match decode_with(line, |_| shape) {
            Ok(Incoming::Response { id, outcome: Ok(r) }) => Some((
                id,
                r.thread_id().map(Cow::into_owned),
                r.turn_id().map(Cow::into_owned),
                matches!(r, RpcResult::Ids(_)),
            )),
            _ => None,
        };
        let thr = |id: &str| Some(id.to_owned());
        // The rest of the line is not read: a broken tail still gives the leading id.
        let broken = br#"{"id":2,"result":{"thread":{"id":"thr_1",{{{"#;
        assert_eq!(
            ids(broken, ResultShape::Ids),
            Some((2, thr("thr_1"), None, true))
        );
        let turn = br#"{"id":3,"result":{"turn":{"id":"turn_9",{{{"#;
        assert_eq!(
            ids(turn, ResultShape::Ids),
            Some((3, None, thr("turn_9"), true))
        );
        // Only an answer read for its ids takes the shortcut; a raw one is decoded (and
        // this broken one is not JSON).
        assert_eq!(ids(broken, ResultShape::Raw), None);
        // An id with an escape, or another opening, goes through the decoder.
        let escaped = br#"{"id":2,"result":{"thread":{"id":"a\u0041",{{{"#;
        assert_eq!(ids(escaped, ResultShape::Ids), None);
        let escaped = br#"{"id":2,"result":{"thread":{"id":"a\u0041"}}}"#;
        assert_eq!(
            ids(escaped, ResultShape::Ids),
            Some((2, thr("aA"), None, true))
        );
        let spaced = br#"{"id": 2,"result":{"thread":{"id":"thr_1",{{{"#;
        assert_eq!(ids(spaced, ResultShape::Ids), None);
    }

    #[test]
    fn hot_notifications_borrow_their_strings_from_the_line() {
        let Ok(Incoming::Notification { method, params }) = decode(CORPUS[0].as_bytes()) else {
            panic!()
        };
        assert!(matches!(method, Cow::Borrowed("item/agentMessage/delta")));
        assert!(matches!(params.thread_id, Some(Cow::Borrowed("thr_42"))));
        assert!(matches!(params.delta, Some(Cow::Borrowed(" sa"))));
        let Ok(Incoming::Notification { params, .. }) = decode(CORPUS[2].as_bytes()) else {
            panic!()
        };
        let turn = params.turn.unwrap();
        assert!(matches!(turn.id, Some(Cow::Borrowed("u"))));
        assert!(matches!(turn.status, Some(Cow::Borrowed("inProgress"))));
    }

    #[test]
    fn results_give_their_ids_borrowed_and_the_rest_as_values() {
        let thread =
            br#"{"id":2,"result":{"thread":{"id":"thr_1","cwd":"/","turns":[]},"model":"m"}}"#;
        let Ok(Incoming::Response { outcome: Ok(r), .. }) = decode(thread) else {
            panic!()
        };
        assert!(matches!(r.thread_id(), Some(Cow::Borrowed("thr_1"))));
        assert_eq!(r.turn_id(), None);
        assert_eq!(r.value()["model"], "m");
        let turn = br#"{"id":3,"result":{"turn":{"id":"turn_1","items":[]}}}"#;
        let Ok(Incoming::Response { outcome: Ok(r), .. }) = decode(turn) else {
            panic!()
        };
        assert_eq!(r.turn_id().as_deref(), Some("turn_1"));
        // What the `Value` pointers answered: no id unless it is a string where expected.
        for odd in [
            r#"{"id":4,"result":{"thread":{"id":7}}}"#,
            r#"{"id":4,"result":{"thread":"x"}}"#,
            r#"{"id":4,"result":null}"#,
            r#"{"id":4}"#,
        ] {
            let Ok(Incoming::Response { outcome: Ok(r), .. }) = decode(odd.as_bytes()) else {
                panic!("{odd}")
            };
            assert_eq!(r.thread_id(), None, "{odd}");
        }
    }

    #[test]
    fn trace_context_rides_in_the_trace_field() {
        let line = encode_request(
            2,
            "turn/start",
            json!({}),
            Some(TraceField {
                traceparent: "00-a-b-01",
                tracestate: None,
            }),
        );
        let v: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["trace"]["traceparent"], "00-a-b-01");
        assert!(line.ends_with(b"\n"));
    }
}
