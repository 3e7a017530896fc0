//! The app-server JSON-RPC subset codexd speaks: encoding our requests, decoding the
//! worker's lines leniently (no `jsonrpc` field, extra fields), and reading the few fields
//! we use out of results and notifications.

use crate::labels::{ProtocolErrorKind, ServerRequestKind, UpstreamErrorKind};
use crate::turn::{DeltaKind, TokenUsage, TurnStatus};
use serde::Deserialize;
use serde_json::{json, Value};

/// A decoded line from a worker.
#[derive(Debug)]
pub enum Incoming {
    Response {
        id: u64,
        outcome: Result<Value, RpcError>,
    },
    Notification {
        method: String,
        params: Value,
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
struct Raw {
    id: Option<Value>,
    method: Option<String>,
    #[serde(default)]
    params: Value,
    result: Option<Value>,
    error: Option<RpcError>,
}

/// Decodes one line. Anything that is not a JSON object of a known shape is an error kind.
pub fn decode(line: &[u8]) -> Result<Incoming, ProtocolErrorKind> {
    let raw: Raw = serde_json::from_slice(line).map_err(|_| ProtocolErrorKind::InvalidJson)?;
    match (raw.id, raw.method) {
        (Some(id), Some(method)) => Ok(Incoming::ServerRequest {
            id,
            method,
            params: raw.params,
        }),
        (None, Some(method)) => Ok(Incoming::Notification {
            method,
            params: raw.params,
        }),
        (Some(id), None) => {
            let id = id.as_u64().ok_or(ProtocolErrorKind::UnexpectedMessage)?;
            let outcome = match (raw.result, raw.error) {
                (_, Some(e)) => Err(e),
                (Some(r), None) => Ok(r),
                (None, None) => Ok(Value::Null),
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

/// `params.threadId` of a notification, used to route it to the owning turn.
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
    "item/reasoning/summaryTextDelta",
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
];

/// Classifies a turn notification.
pub fn classify(method: &str, params: &Value) -> TurnSignal {
    match method {
        "item/agentMessage/delta" => {
            let d = params.get("delta").and_then(Value::as_str).unwrap_or("");
            TurnSignal::Delta(DeltaKind::Text, d.to_owned())
        }
        "item/commandExecution/outputDelta"
        | "item/fileChange/outputDelta"
        | "item/mcpToolCall/progress" => TurnSignal::Delta(DeltaKind::Tool, String::new()),
        "thread/tokenUsage/updated" => TurnSignal::Usage(usage(params)),
        "error" => {
            if params.get("willRetry").and_then(Value::as_bool) == Some(true) {
                TurnSignal::Ignored
            } else {
                TurnSignal::Error(error_kind(params.pointer("/error/codexErrorInfo")))
            }
        }
        "turn/completed" => {
            let status = match params.pointer("/turn/status").and_then(Value::as_str) {
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

fn usage(params: &Value) -> TokenUsage {
    // `total` accumulates over the thread and `last` covers only the last model call. Each
    // thread is ephemeral and runs exactly one turn, so `total` is this turn's usage, tool
    // loops with several model calls included.
    let t = params.pointer("/tokenUsage/total").unwrap_or(&Value::Null);
    let n = |k: &str| t.get(k).and_then(Value::as_u64).unwrap_or(0);
    let input = n("inputTokens");
    let output = n("outputTokens");
    let total = match n("totalTokens") {
        0 => input + output,
        v => v,
    };
    TokenUsage {
        input,
        output,
        cached_input: n("cachedInputTokens"),
        reasoning: n("reasoningOutputTokens"),
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

    #[test]
    fn reads_usage_and_completion() {
        let p = json!({"threadId":"T","tokenUsage":{"total":{"totalTokens":18,"inputTokens":10,"cachedInputTokens":2,"outputTokens":8,"reasoningOutputTokens":1}}});
        let TurnSignal::Usage(u) = classify("thread/tokenUsage/updated", &p) else {
            panic!()
        };
        assert_eq!(
            (u.input, u.output, u.cached_input, u.reasoning, u.total),
            (10, 8, 2, 1, 18)
        );
        let c = classify("turn/completed", &json!({"turn":{"status":"interrupted"}}));
        assert_eq!(c, TurnSignal::Completed(TurnStatus::Interrupted));
        assert_eq!(classify("brand/new", &Value::Null), TurnSignal::Unknown);
        let rc = json!({"status": "disabled", "serverName": "vm"});
        assert_eq!(
            classify("remoteControl/status/changed", &rc),
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
