//! JSON-RPC envelopes as Codex 0.171.0 writes them (no `jsonrpc` member), and its error code.

use serde::Serialize;
use serde_json::Value;

/// JSON-RPC code Codex uses for every request it refuses.
pub const INVALID_REQUEST: i64 = -32600;

/// `{"id":…,"result":…}`
#[derive(Serialize)]
pub struct Response<'a, R> {
    pub id: &'a Value,
    pub result: R,
}

/// `{"error":{"code":…,"message":…},"id":…}`
#[derive(Serialize)]
pub struct ErrorResponse<'a> {
    pub error: RpcError<'a>,
    pub id: &'a Value,
}

#[derive(Serialize)]
pub struct RpcError<'a> {
    pub code: i64,
    pub message: &'a str,
}

/// `{"method":…,"params":…,"emittedAtMs":…}`
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification<'a, P> {
    pub method: &'a str,
    pub params: P,
    pub emitted_at_ms: u64,
}

/// A server→client request: `{"method":…,"id":…,"params":…}`.
#[derive(Serialize)]
pub struct ServerRequest<'a, P> {
    pub method: &'a str,
    pub id: u64,
    pub params: P,
}

/// Result of `turn/interrupt` (and of anything else answered with `{}`).
#[derive(Serialize)]
pub struct Empty {}
