//! Server→client requests (`APPROVAL_REQUEST`): sending one, and matching the client's response.

use serde_json::{json, Value};
use tokio::sync::oneshot;

use crate::clock::now_ms;
use crate::config::ApprovalKind;
use crate::ids::{Tagged, CALL, THREAD, TURN};
use crate::session::{Answer, Session};

/// The command the fake model asks to run; harmless if a client ever accepts it (nothing runs).
const COMMAND: &str = "touch codexd-demo-approval.txt";

/// Sends the request `kind` for this turn, waits for the client's response and returns the word
/// the reply reports: the decision, `answered` or `error`.
pub async fn ask(ctx: &Session, kind: ApprovalKind, thread: u64, turn: u64) -> String {
    let id = ctx.new_request();
    let (tx, rx) = oneshot::channel();
    ctx.pending.borrow_mut().insert(id, tx);
    let (method, params) = request(ctx, kind, thread, turn);
    ctx.out.request(method, id, params);
    let answer = rx.await.unwrap_or(Answer::Error);
    ctx.out.notify(
        "serverRequest/resolved",
        json!({"threadId": Tagged(THREAD, thread), "requestId": id}),
    );
    match (kind, answer) {
        (_, Answer::Error) => "error".to_owned(),
        (ApprovalKind::UserInput, _) | (_, Answer::Answered) => "answered".to_owned(),
        (_, Answer::Decision(decision)) => decision,
    }
}

/// Routes a client response to the turn waiting for it; responses to unknown ids are dropped.
pub fn resolve(ctx: &Session, id: &Value, result: Option<Value>, is_error: bool) {
    let Some(id) = id.as_u64() else { return };
    let Some(tx) = ctx.pending.borrow_mut().remove(&id) else {
        return;
    };
    let answer = if is_error {
        Answer::Error
    } else {
        match result.as_ref().and_then(|r| r.get("decision")) {
            Some(Value::String(decision)) => Answer::Decision(decision.clone()),
            Some(Value::Object(map)) => map
                .keys()
                .next()
                .map_or(Answer::Answered, |k| Answer::Decision(k.clone())),
            _ => Answer::Answered,
        }
    };
    // The turn may have been interrupted meanwhile; then nobody is waiting.
    let _ = tx.send(answer);
}

fn request(ctx: &Session, kind: ApprovalKind, thread: u64, turn: u64) -> (&'static str, Value) {
    let (thread_id, turn_id, item_id) = (
        Tagged(THREAD, thread),
        Tagged(TURN, turn),
        Tagged(CALL, turn),
    );
    let started_at_ms = now_ms();
    match kind {
        ApprovalKind::Command => (
            "item/commandExecution/requestApproval",
            json!({
                "kind": "command",
                "threadId": thread_id,
                "turnId": turn_id,
                "itemId": item_id,
                "startedAtMs": started_at_ms,
                "environmentId": "local",
                "command": format!("/bin/bash -lc '{COMMAND}'"),
                "cwd": ctx.cwd,
                "commandActions": [{"type": "unknown", "command": COMMAND}],
                "proposedExecpolicyAmendment": ["touch", "codexd-demo-approval.txt"],
                "availableDecisions": [
                    "accept",
                    {"acceptWithExecpolicyAmendment": {
                        "execpolicy_amendment": ["touch", "codexd-demo-approval.txt"]
                    }},
                    "cancel"
                ],
            }),
        ),
        ApprovalKind::FileChange => (
            "item/fileChange/requestApproval",
            json!({
                "threadId": thread_id,
                "turnId": turn_id,
                "itemId": item_id,
                "startedAtMs": started_at_ms,
                "reason": null,
                "grantRoot": null,
            }),
        ),
        ApprovalKind::UserInput => (
            "item/tool/requestUserInput",
            json!({
                "threadId": thread_id,
                "turnId": turn_id,
                "itemId": item_id,
                "questions": [{
                    "id": "demo_choice",
                    "header": "Demo",
                    "question": "Which option should the demo worker take?",
                    "isOther": false,
                    "isSecret": false,
                    "options": [
                        {"label": "First (Recommended)", "description": "Take the first option."},
                        {"label": "Second", "description": "Take the second option."}
                    ],
                }],
                "isBlocking": true,
                "autoResolutionMs": null,
            }),
        ),
        ApprovalKind::Unknown => (
            "item/tool/call",
            json!({
                "threadId": thread_id,
                "turnId": turn_id,
                "callId": item_id,
                "namespace": null,
                "tool": "codexd_demo_tool",
                "arguments": {"demo": true},
            }),
        ),
    }
}
