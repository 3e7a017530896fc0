//! Outgoing JSON-RPC shapes, field for field as Codex 0.171.0 writes them (no `jsonrpc` member).

use serde::{Serialize, Serializer};
use serde_json::Value;

/// The Codex version whose wire format this module reproduces.
pub const CODEX_VERSION: &str = "0.171.0";

/// Context window Codex reports for a model it has no metadata for.
pub const MODEL_CONTEXT_WINDOW: u64 = 258_400;

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

/// A deterministic id such as `thr_3`, written without allocating.
#[derive(Clone, Copy)]
pub struct Tagged(pub &'static str, pub u64);

impl Serialize for Tagged {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{}_{}", self.0, self.1))
    }
}

pub const THREAD: &str = "thr";
pub const TURN: &str = "turn";
pub const MESSAGE: &str = "msg";
pub const USER_MESSAGE: &str = "umsg";
pub const CALL: &str = "call";

/// Reads back an id written by [`Tagged`].
pub fn parse_tagged(text: &str, prefix: &str) -> Option<u64> {
    text.strip_prefix(prefix)?.strip_prefix('_')?.parse().ok()
}

/// Result of `initialize`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeResult<'a> {
    pub user_agent: &'a str,
    pub codex_home: &'a str,
    pub platform_family: &'static str,
    pub platform_os: &'static str,
}

/// Result of `account/read` when no account is configured (a custom provider).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountReadResult {
    pub account: (),
    pub user_id: (),
    pub requires_openai_auth: bool,
    pub workspace_routing: (),
}

impl AccountReadResult {
    pub const NONE: AccountReadResult = AccountReadResult {
        account: (),
        user_id: (),
        requires_openai_auth: false,
        workspace_routing: (),
    };
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Environment<'a> {
    pub environment_id: &'static str,
    pub cwd: &'a str,
    pub runtime_workspace_roots: [&'a str; 1],
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ThreadStatus {
    Idle,
}

/// The `thread` object of `thread/start` and `thread/started`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Thread<'a> {
    pub id: Tagged,
    pub environments: [Environment<'a>; 1],
    pub extra: (),
    pub session_id: Tagged,
    pub forked_from_id: (),
    pub attached_to_thread_id: (),
    pub parent_thread_id: (),
    pub preview: &'static str,
    pub ephemeral: bool,
    pub section: (),
    pub section_entered_at: (),
    pub project_id: (),
    pub history_mode: &'static str,
    pub model_provider: &'static str,
    pub model: &'a str,
    pub reasoning_effort: (),
    pub created_at: u64,
    pub updated_at: u64,
    pub recency_at: u64,
    pub status: ThreadStatus,
    pub path: (),
    pub cwd: &'a str,
    pub cli_version: &'static str,
    pub originator: &'a str,
    pub source: &'static str,
    pub can_accept_direct_input: bool,
    pub thread_source: (),
    pub agent_nickname: (),
    pub agent_role: (),
    pub git_info: (),
    pub name: (),
    pub daybreak_enabled: (),
    pub turns: [(); 0],
}

/// Result of `thread/start`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadStartResult<'a> {
    pub thread: &'a Thread<'a>,
    pub model: &'a str,
    pub model_provider: &'static str,
    pub service_tier: (),
    pub disabled_plugin_ids: [(); 0],
    pub cwd: &'a str,
    pub runtime_workspace_roots: [&'a str; 1],
    pub instruction_sources: [(); 0],
    pub approval_policy: &'a Value,
    pub approvals_reviewer: &'static str,
    pub sandbox: SandboxPolicy<'a>,
    pub active_permission_profile: (),
    pub reasoning_effort: (),
    pub multi_agent_mode: &'static str,
}

/// Params of `thread/started`.
#[derive(Serialize)]
pub struct ThreadStarted<'a> {
    pub thread: &'a Thread<'a>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum SandboxPolicy<'a> {
    DangerFullAccess,
    #[serde(rename_all = "camelCase")]
    ReadOnly {
        network_access: bool,
    },
    #[serde(rename_all = "camelCase")]
    WorkspaceWrite {
        writable_roots: [&'a str; 1],
        network_access: bool,
        exclude_tmpdir_env_var: bool,
        exclude_slash_tmp: bool,
    },
}

/// Result of `thread/unsubscribe`.
#[derive(Serialize)]
pub struct UnsubscribeResult {
    pub status: &'static str,
}

/// Result of `turn/interrupt` (and of anything else answered with `{}`).
#[derive(Serialize)]
pub struct Empty {}
