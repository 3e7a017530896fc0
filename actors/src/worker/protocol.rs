//! The app-server JSON-RPC subset codexd speaks: encoding our requests, decoding the
//! worker's lines leniently (no `jsonrpc` field, extra fields), and reading the few fields
//! we use out of results and notifications.

use crate::labels::{ProtocolErrorKind, ServerRequestKind, UpstreamErrorKind};
use crate::turn::{DeltaKind, TokenUsage, TurnStatus};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::borrow::Cow;

/// A decoded line from a worker. Notifications, the hot path, are decoded borrowing from
/// the line: only the fields codexd reads are materialised, the rest is skipped.
#[derive(Debug)]
pub enum Incoming<'a> {
    Response {
        id: u64,
        outcome: Result<Value, RpcError>,
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
    #[serde(default, borrow)]
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
    #[serde(rename = "threadId", borrow)]
    pub thread_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub delta: Option<Cow<'a, str>>,
    #[serde(rename = "willRetry")]
    pub will_retry: Option<bool>,
    pub error: Option<NoteError>,
    #[serde(rename = "tokenUsage")]
    pub token_usage: Option<NoteUsage>,
    pub turn: Option<NoteTurn>,
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
    #[serde(rename = "type", borrow)]
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
pub struct NoteTurn {
    pub id: Option<String>,
    pub status: Option<String>,
}

fn value_of(raw: Option<&RawValue>) -> Value {
    raw.and_then(|r| serde_json::from_str(r.get()).ok())
        .unwrap_or(Value::Null)
}

/// Decodes one line. Anything that is not a JSON object of a known shape is an error kind.
pub fn decode(line: &[u8]) -> Result<Incoming<'_>, ProtocolErrorKind> {
    let raw: Envelope<'_> =
        serde_json::from_slice(line).map_err(|_| ProtocolErrorKind::InvalidJson)?;
    match (raw.id, raw.method) {
        (Some(id), Some(method)) => Ok(Incoming::ServerRequest {
            id,
            method: method.into_owned(),
            params: value_of(raw.params),
        }),
        (None, Some(method)) => {
            // A notification whose params have an unexpected shape is still routed by
            // method (and counted if unknown), never a protocol error.
            let params = raw
                .params
                .and_then(|p| serde_json::from_str(p.get()).ok())
                .unwrap_or_default();
            Ok(Incoming::Notification { method, params })
        }
        (Some(id), None) => {
            let id = id.as_u64().ok_or(ProtocolErrorKind::UnexpectedMessage)?;
            let outcome = match (raw.result, raw.error) {
                (_, Some(e)) => Err(e),
                (r, None) => Ok(value_of(r)),
            };
            Ok(Incoming::Response { id, outcome })
        }
        (None, None) => Err(ProtocolErrorKind::UnexpectedMessage),
    }
}

/// Trace context sent in the JSON-RPC `trace` field.
#[derive(Debug, Clone, Copy)]
pub struct TraceField<'a> {
    pub traceparent: &'a str,
    pub tracestate: Option<&'a str>,
}

/// Encodes one request as a line (with its trailing newline).
pub fn encode_request(
    id: u64,
    method: &str,
    params: Value,
    trace: Option<TraceField<'_>>,
) -> Vec<u8> {
    let mut msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    if let (Some(t), Some(obj)) = (trace, msg.as_object_mut()) {
        let mut field = json!({"traceparent": t.traceparent});
        if let (Some(ts), Some(f)) = (t.tracestate, field.as_object_mut()) {
            f.insert("tracestate".into(), Value::String(ts.to_owned()));
        }
        obj.insert("trace".into(), field);
    }
    line(&msg)
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
    let mut out = serde_json::to_vec(v).unwrap_or_default();
    out.push(b'\n');
    out
}

/// `params.threadId` of a server→client request, used to find the owning turn.
pub fn thread_id(params: &Value) -> Option<&str> {
    params.get("threadId").and_then(Value::as_str)
}

/// `result.thread.id` of a `thread/start` answer.
pub fn started_thread_id(result: &Value) -> Option<String> {
    result
        .pointer("/thread/id")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// `result.turn.id` of a `turn/start` answer (also `params.turn.id` of `turn/started`).
pub fn started_turn_id(v: &Value) -> Option<String> {
    v.pointer("/turn/id")
        .and_then(Value::as_str)
        .map(str::to_owned)
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
