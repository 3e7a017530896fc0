//! Outgoing shapes of threads, field for field as Codex 0.171.0 writes them: the thread object,
//! the `thread/start` result and `thread/started`, the sandbox policy, `thread/unsubscribe` and `thread/loaded/list`.

use serde::Serialize;
use serde_json::Value;

use crate::ids::Tagged;

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

/// Result of `thread/loaded/list`: every loaded thread, no further page.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadedListResult {
    pub data: Vec<Tagged>,
    pub next_cursor: (),
}
