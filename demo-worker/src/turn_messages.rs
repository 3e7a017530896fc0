//! Outgoing shapes of a turn: the turn object, its items, deltas, token usage and errors.

use serde::Serialize;

use crate::config::UpstreamError;
use crate::ids::Tagged;

/// Context window Codex reports for a model it has no metadata for.
pub const MODEL_CONTEXT_WINDOW: u64 = 258_400;

#[derive(Serialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "camelCase")]
pub enum TurnStatus {
    InProgress,
    Completed,
    Interrupted,
    Failed,
}

/// The `turn` object of `turn/start`, `turn/started` and `turn/completed`.
#[derive(Serialize, Clone, Copy)]
#[serde(rename_all = "camelCase")]
pub struct Turn<'a> {
    pub id: Tagged,
    pub root_turn_id: Tagged,
    pub items: &'a [AgentMessage<'a>],
    pub items_view: &'static str,
    pub status: TurnStatus,
    pub error: Option<&'a TurnError>,
    pub started_at: Option<u64>,
    pub completed_at: Option<u64>,
    pub duration_ms: Option<u64>,
}

/// Params of `turn/started` and `turn/completed`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnEvent<'a> {
    pub thread_id: Tagged,
    pub turn: Turn<'a>,
}

/// Result of `turn/start`.
#[derive(Serialize)]
pub struct TurnStartResult<'a> {
    pub turn: Turn<'a>,
}

/// An `agentMessage` thread item.
#[derive(Serialize)]
#[serde(tag = "type", rename = "agentMessage", rename_all = "camelCase")]
pub struct AgentMessage<'a> {
    pub moderation: (),
    pub id: Tagged,
    pub text: &'a str,
    pub phase: (),
    pub memory_citation: (),
    pub delivery: (),
    pub questions: (),
    pub started_at_ms: u64,
    pub completed_at_ms: Option<u64>,
}

/// Params of `item/started`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemStarted<'a, I> {
    pub item: &'a I,
    pub thread_id: Tagged,
    pub turn_id: Tagged,
    pub started_at_ms: u64,
}

/// Params of `item/completed`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemCompleted<'a, I> {
    pub item: &'a I,
    pub thread_id: Tagged,
    pub turn_id: Tagged,
    pub content_token_count: (),
    pub completed_at_ms: u64,
}

/// Params of `item/agentMessage/delta`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentMessageDelta<'a> {
    pub thread_id: Tagged,
    pub turn_id: Tagged,
    pub item_id: Tagged,
    pub delta: &'a str,
}

#[derive(Serialize, Clone, Copy, Default, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub total_tokens: u64,
    pub input_tokens: u64,
    pub cached_input_tokens: u64,
    pub cache_write_input_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_output_tokens: u64,
}

impl Usage {
    pub fn add(&mut self, other: &Usage) {
        self.total_tokens += other.total_tokens;
        self.input_tokens += other.input_tokens;
        self.cached_input_tokens += other.cached_input_tokens;
        self.cache_write_input_tokens += other.cache_write_input_tokens;
        self.output_tokens += other.output_tokens;
        self.reasoning_output_tokens += other.reasoning_output_tokens;
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenUsage {
    pub total: Usage,
    pub last: Usage,
    pub model_context_window: u64,
}

/// Params of `thread/tokenUsage/updated`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenUsageUpdated {
    pub thread_id: Tagged,
    pub turn_id: Tagged,
    pub token_usage: TokenUsage,
}

/// `codexErrorInfo`: a bare string for most kinds, an object for those carrying a status.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CodexErrorInfo {
    ContextWindowExceeded,
    UsageLimitExceeded,
    InternalServerError,
    Unauthorized,
    Other,
    ResponseTooManyFailedAttempts {
        #[serde(rename = "httpStatusCode")]
        http_status_code: u16,
    },
    HttpConnectionFailed {
        #[serde(rename = "httpStatusCode")]
        http_status_code: u16,
    },
}

/// The `error` object of the `error` notification and of a failed turn.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnError {
    pub message: &'static str,
    pub codex_error_info: CodexErrorInfo,
    pub additional_details: (),
    pub misalignment: (),
}

impl TurnError {
    /// The error Codex reports for `kind`; the messages are the ones 0.171.0 writes.
    pub fn upstream(kind: UpstreamError) -> TurnError {
        let (message, codex_error_info) = match kind {
            UpstreamError::RateLimited => (
                "exceeded retry limit, last status: 429 Too Many Requests",
                CodexErrorInfo::ResponseTooManyFailedAttempts {
                    http_status_code: 429,
                },
            ),
            UpstreamError::ServerError => (
                "We\u{2019}re currently experiencing high demand, which may cause temporary errors.",
                CodexErrorInfo::InternalServerError,
            ),
            UpstreamError::Unauthorized => (
                "unexpected status 401 Unauthorized: demo upstream rejected the credentials",
                CodexErrorInfo::Unauthorized,
            ),
            UpstreamError::ContextLength => (
                "Codex ran out of room in the model's context window. Start a new thread or clear \
                 earlier history before retrying.",
                CodexErrorInfo::ContextWindowExceeded,
            ),
            UpstreamError::Other => (
                "demo upstream failure: stream closed before response.completed",
                CodexErrorInfo::Other,
            ),
            UpstreamError::UsageLimit => (
                "You've hit your usage limit. Try again later.",
                CodexErrorInfo::UsageLimitExceeded,
            ),
            UpstreamError::HttpStatus(code) => (
                "unexpected status from the demo upstream",
                CodexErrorInfo::HttpConnectionFailed {
                    http_status_code: code,
                },
            ),
        };
        TurnError {
            message,
            codex_error_info,
            additional_details: (),
            misalignment: (),
        }
    }
}

/// Params of the `error` notification.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorEvent<'a> {
    pub error: &'a TurnError,
    pub will_retry: bool,
    pub thread_id: Tagged,
    pub turn_id: Tagged,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{MESSAGE, TURN};

    fn json<T: Serialize>(value: &T) -> String {
        serde_json::to_string(value).unwrap()
    }

    #[test]
    fn error_infos_are_spelled_as_codex_spells_them() {
        let info = |kind| json(&TurnError::upstream(kind).codex_error_info);
        assert_eq!(
            info(UpstreamError::RateLimited),
            r#"{"responseTooManyFailedAttempts":{"httpStatusCode":429}}"#
        );
        assert_eq!(info(UpstreamError::ServerError), r#""internalServerError""#);
        assert_eq!(info(UpstreamError::Unauthorized), r#""unauthorized""#);
        assert_eq!(
            info(UpstreamError::ContextLength),
            r#""contextWindowExceeded""#
        );
        assert_eq!(info(UpstreamError::Other), r#""other""#);
        assert_eq!(
            info(UpstreamError::HttpStatus(403)),
            r#"{"httpConnectionFailed":{"httpStatusCode":403}}"#
        );
    }

    #[test]
    fn a_completed_turn_carries_its_agent_message() {
        let item = AgentMessage {
            moderation: (),
            id: Tagged(MESSAGE, 7),
            text: "hi",
            phase: (),
            memory_citation: (),
            delivery: (),
            questions: (),
            started_at_ms: 1,
            completed_at_ms: Some(2),
        };
        let turn = Turn {
            id: Tagged(TURN, 7),
            root_turn_id: Tagged(TURN, 7),
            items: &[item],
            items_view: "summary",
            status: TurnStatus::Completed,
            error: None,
            started_at: Some(3),
            completed_at: Some(4),
            duration_ms: Some(5),
        };
        assert_eq!(
            json(&turn),
            r#"{"id":"turn_7","rootTurnId":"turn_7","items":[{"type":"agentMessage","moderation":null,"id":"msg_7","text":"hi","phase":null,"memoryCitation":null,"delivery":null,"questions":null,"startedAtMs":1,"completedAtMs":2}],"itemsView":"summary","status":"completed","error":null,"startedAt":3,"completedAt":4,"durationMs":5}"#
        );
    }
}
