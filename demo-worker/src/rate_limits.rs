//! The account a demo worker pretends to have, in Codex 0.171's shapes: usage windows for
//! `account/rateLimits/read` (`RATE_LIMITS`, `RATE_LIMITS_RESET_S`), sparse
//! `account/rateLimits/updated` after each turn (`RATE_LIMITS_STEP`) and before a
//! usage-limit error (`UPSTREAM_ERROR=usage_limit`, `USAGE_LIMIT_RESET_S`), the login state
//! of `account/read` (`LOGGED_OUT`, `ACCOUNT_EMAIL`: a fake e-mail codexd must never
//! repeat), and memory that grows per turn (`GROW_BYTES_PER_TURN`).

use std::cell::{Cell, RefCell};

use serde_json::{json, Value};

use crate::clock::now_ms;
use crate::config::{Config, UpstreamError};
use crate::jsonrpc::INVALID_REQUEST;
use crate::session::Session;

/// Seconds in the secondary (weekly) window.
const WEEK_S: u64 = 7 * 24 * 3600;

/// The pretend account's state.
pub struct AccountSim {
    primary: Cell<u32>,
    secondary: u32,
    primary_resets_at: u64,
    started_s: u64,
    grown: RefCell<Vec<Vec<u8>>>,
}

impl AccountSim {
    pub fn new(config: &Config) -> AccountSim {
        let now = now_ms() / 1000;
        let (primary, secondary) = config.rate_limits.unwrap_or((0, 0));
        AccountSim {
            primary: Cell::new(primary),
            secondary,
            primary_resets_at: now + config.rate_limits_reset_s,
            started_s: now,
            grown: RefCell::new(Vec::new()),
        }
    }
}

fn window(used: u32, mins: u64, resets_at: u64) -> Value {
    json!({"usedPercent": used, "windowDurationMins": mins, "resetsAt": resets_at})
}

/// `account/rateLimits/read`: the windows, or, with none configured, the refusal Codex gives
/// for an account that is not a ChatGPT login.
pub fn read(ctx: &Session, id: &Value) {
    let a = &ctx.account;
    if ctx.config.rate_limits.is_none() {
        let message = "codex account authentication required to read rate limits";
        return ctx.out.err_uncounted(id, INVALID_REQUEST, message);
    }
    let snapshot = json!({
        "limitId": "codex",
        "limitName": null,
        "primary": window(a.primary.get(), 300, a.primary_resets_at),
        "secondary": window(a.secondary, 10_080, a.started_s + WEEK_S),
        "credits": null,
        "planType": "plus",
        "rateLimitReachedType": null,
    });
    let result = json!({
        "rateLimits": snapshot,
        "rateLimitsByLimitId": {"codex": snapshot},
    });
    ctx.out.ok_uncounted(id, result);
}

/// `account/read`: no account (an API-key provider), logged out, or a ChatGPT login with a
/// fake e-mail and user id.
pub fn account_read(ctx: &Session, id: &Value) {
    let c = &ctx.config;
    if c.account_email.is_none() && !c.logged_out {
        return ctx.out.ok(id, crate::handshake::AccountReadResult::NONE);
    }
    let result = match (&c.account_email, c.logged_out) {
        (_, true) => json!({"account": null, "userId": null, "requiresOpenaiAuth": true,
            "workspaceRouting": null}),
        (Some(email), false) => json!({
            "account": {"type": "chatgpt", "email": email, "planType": "plus"},
            "userId": format!("user-{}", email.len()),
            "requiresOpenaiAuth": true,
            "workspaceRouting": null,
        }),
        (None, false) => Value::Null,
    };
    ctx.out.ok(id, result);
}

/// After a completed turn: memory grows, and the primary window moves by the step.
pub fn after_turn(ctx: &Session) {
    let c = &ctx.config;
    if c.grow_bytes_per_turn > 0 {
        ctx.account
            .grown
            .borrow_mut()
            .push(vec![1u8; c.grow_bytes_per_turn]);
    }
    if let Some(step) = c.rate_limits_step {
        let used = (ctx.account.primary.get() + step).min(100);
        ctx.account.primary.set(used);
        let update = json!({"rateLimits": {"primary": {"usedPercent": used}}});
        ctx.out.notify("account/rateLimits/updated", update);
    }
}

/// Before a usage-limit error: the window it exhausted, as Codex announces it.
pub fn before_error(ctx: &Session, kind: UpstreamError) {
    if kind != UpstreamError::UsageLimit {
        return;
    }
    let resets_at = now_ms() / 1000 + ctx.config.usage_limit_reset_s;
    ctx.account.primary.set(100);
    let update = json!({"rateLimits": {"primary": {"usedPercent": 100, "windowDurationMins": 300,
        "resetsAt": resets_at}, "rateLimitReachedType": "rate_limit_reached"}});
    ctx.out.notify("account/rateLimits/updated", update);
}
