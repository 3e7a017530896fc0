//! `EXTRA_NOTIFICATIONS`: the notifications real Codex interleaves with a turn that a client must
//! tolerate (thread status changes, the user-message item, rate-limit snapshots).

use serde_json::json;

use crate::clock::now_ms;
use crate::ids::{Tagged, THREAD, TURN, USER_MESSAGE};
use crate::session::Session;

/// After `turn/started`: the thread turns active and the user message is recorded as an item.
pub fn turn_began(ctx: &Session, thread: u64, turn: u64, input: &str) {
    if !ctx.config.extra_notifications {
        return;
    }
    status(ctx, thread, json!({"type": "active", "activeFlags": []}));
    let (thread_id, turn_id) = (Tagged(THREAD, thread), Tagged(TURN, turn));
    let at = now_ms();
    let content = json!([{"type": "text", "text": input, "text_elements": []}]);
    let item = |completed: Option<u64>| {
        json!({
            "type": "userMessage",
            "id": Tagged(USER_MESSAGE, turn),
            "clientId": null,
            "content": content,
            "startedAtMs": at,
            "completedAtMs": completed,
        })
    };
    ctx.out.notify(
        "item/started",
        json!({"item": item(None), "threadId": thread_id, "turnId": turn_id, "startedAtMs": at}),
    );
    ctx.out.notify(
        "item/completed",
        json!({
            "item": item(Some(at)),
            "threadId": thread_id,
            "turnId": turn_id,
            "contentTokenCount": null,
            "completedAtMs": at,
        }),
    );
}

/// After `thread/tokenUsage/updated`: an empty rate-limit snapshot, as a custom provider yields.
pub fn usage_reported(ctx: &Session) {
    if !ctx.config.extra_notifications {
        return;
    }
    ctx.out.notify(
        "account/rateLimits/updated",
        json!({"rateLimits": {
            "limitId": "codex",
            "limitName": null,
            "normalModelSlug": null,
            "primary": null,
            "secondary": null,
            "credits": null,
            "individualLimit": null,
            "spendControlReached": null,
            "planType": null,
            "rateLimitReachedType": null,
        }}),
    );
}

/// Before `turn/completed` (or before `error` when `failed`): the thread's new status.
pub fn turn_ending(ctx: &Session, thread: u64, failed: bool) {
    if !ctx.config.extra_notifications {
        return;
    }
    let kind = if failed { "systemError" } else { "idle" };
    status(ctx, thread, json!({"type": kind}));
}

fn status(ctx: &Session, thread: u64, status: serde_json::Value) {
    ctx.out.notify(
        "thread/status/changed",
        json!({"threadId": Tagged(THREAD, thread), "status": status}),
    );
}
