//! `thread/start`, `thread/unsubscribe` and `thread/loaded/list`: thread creation with Codex's
//! full thread object, its release, and the ids of the threads still loaded.

use serde_json::Value;

use crate::client_messages::Params;
use crate::clock::now_secs;
use crate::ids::{parse_tagged, Tagged, THREAD};
use crate::jsonrpc::INVALID_REQUEST;
use crate::session::Session;
use crate::thread_messages::{
    Environment, LoadedListResult, SandboxPolicy, Thread, ThreadStartResult, ThreadStarted,
    ThreadStatus, UnsubscribeResult,
};
use crate::CODEX_VERSION;

pub fn start(ctx: &Session, id: &Value, params: Params<'_>) {
    let cwd = params.cwd.as_deref().unwrap_or(&ctx.cwd);
    let sandbox = match params.sandbox.as_deref().unwrap_or("read-only") {
        "read-only" => SandboxPolicy::ReadOnly {
            network_access: false,
        },
        "workspace-write" => SandboxPolicy::WorkspaceWrite {
            writable_roots: [cwd],
            network_access: false,
            exclude_tmpdir_env_var: false,
            exclude_slash_tmp: false,
        },
        "danger-full-access" => SandboxPolicy::DangerFullAccess,
        other => {
            let message = format!(
                "Invalid request: unknown variant `{other}`, expected one of `read-only`, \
                 `workspace-write`, `danger-full-access`"
            );
            return ctx.out.err(id, INVALID_REQUEST, &message);
        }
    };
    let default_policy = Value::from("never");
    let approval_policy = params.approval_policy.as_ref().unwrap_or(&default_policy);
    if let Some(problem) = policy_problem(approval_policy) {
        let message = format!("Invalid request: {problem}");
        return ctx.out.err(id, INVALID_REQUEST, &message);
    }

    let number = ctx.new_thread();
    ctx.threads.borrow_mut().insert(number, Default::default());
    crate::client_tools::declare(ctx, number, params.dynamic_tools.as_ref());
    crate::client_tools::set_raw_events(ctx, number, params.experimental_raw_events);
    let model = params.model.as_deref().unwrap_or("codexd-demo-model");
    let now = now_secs();
    let client_name = ctx.client_name.borrow();
    let thread = Thread {
        id: Tagged(THREAD, number),
        environments: [Environment {
            environment_id: "local",
            cwd,
            runtime_workspace_roots: [cwd],
        }],
        extra: (),
        session_id: Tagged(THREAD, number),
        forked_from_id: (),
        attached_to_thread_id: (),
        parent_thread_id: (),
        preview: "",
        ephemeral: params.ephemeral.unwrap_or(false),
        section: (),
        section_entered_at: (),
        project_id: (),
        history_mode: "paginated",
        model_provider: "codexd-demo",
        model,
        reasoning_effort: (),
        created_at: now,
        updated_at: now,
        recency_at: now,
        status: ThreadStatus::Idle,
        path: (),
        cwd,
        cli_version: CODEX_VERSION,
        originator: &client_name,
        source: "vscode",
        can_accept_direct_input: true,
        thread_source: (),
        agent_nickname: (),
        agent_role: (),
        git_info: (),
        name: (),
        daybreak_enabled: (),
        turns: [],
    };
    let result = ThreadStartResult {
        thread: &thread,
        model,
        model_provider: "codexd-demo",
        service_tier: (),
        disabled_plugin_ids: [],
        cwd,
        runtime_workspace_roots: [cwd],
        instruction_sources: [],
        approval_policy,
        approvals_reviewer: "user",
        sandbox,
        active_permission_profile: (),
        reasoning_effort: (),
        multi_agent_mode: "explicitRequestOnly",
    };
    ctx.out.ok(id, result);
    ctx.out
        .notify("thread/started", ThreadStarted { thread: &thread });
}

pub fn unsubscribe(ctx: &Session, id: &Value, params: Params<'_>) {
    let Some(thread_id) = params.thread_id else {
        return ctx.missing(id, "threadId");
    };
    let removed = {
        let mut threads = ctx.threads.borrow_mut();
        let number = parse_tagged(&thread_id, THREAD);
        if let Some(n) = number {
            crate::client_tools::forget(ctx, n);
        }
        let removed = number.and_then(|n| threads.remove(&n));
        // Give a burst's memory back once it is over.
        if threads.capacity() > 64 && threads.len() < threads.capacity() / 4 {
            threads.shrink_to_fit();
        }
        removed.is_some()
    };
    let status = if removed { "unsubscribed" } else { "notLoaded" };
    ctx.out.ok_uncounted(id, UnsubscribeResult { status });
}

/// The threads this worker holds (started and not unsubscribed), oldest first, in one page.
pub fn loaded_list(ctx: &Session, id: &Value) {
    let mut numbers: Vec<u64> = ctx.threads.borrow().keys().copied().collect();
    numbers.sort_unstable();
    let data: Vec<Tagged> = numbers.into_iter().map(|n| Tagged(THREAD, n)).collect();
    ctx.out.ok_uncounted(
        id,
        LoadedListResult {
            data,
            next_cursor: (),
        },
    );
}

/// Why Codex would refuse this `approvalPolicy`, worded as its deserializer words it.
fn policy_problem(policy: &Value) -> Option<String> {
    const EXPECTED: &str = "expected one of `untrusted`, `on-request`, `granular`, `never`";
    match policy {
        Value::String(s) if matches!(s.as_str(), "untrusted" | "on-request" | "never") => None,
        Value::String(s) => Some(format!("unknown variant `{s}`, {EXPECTED}")),
        Value::Object(map) if map.len() == 1 && map.contains_key("granular") => None,
        Value::Object(_) => Some(format!("invalid approvalPolicy, {EXPECTED}")),
        other => Some(format!("invalid type: {other}, expected string or map")),
    }
}
