//! The handshake: `initialize` (answered at once, late, never or with an error, as `HANDSHAKE`
//! says) and the shapes of its result and of `account/read`, the liveness ping.

use std::rc::Rc;

use serde::Serialize;
use serde_json::Value;

use crate::client_messages::Params;
use crate::config::Handshake;
use crate::jsonrpc::INVALID_REQUEST;
use crate::session::Session;
use crate::CODEX_VERSION;

pub fn initialize(ctx: &Rc<Session>, id: &Value, params: Params<'_>) {
    if ctx.initialize_seen.get() {
        return ctx.out.err(id, INVALID_REQUEST, "Already initialized");
    }
    let Some(client) = params.client_info else {
        return ctx.missing(id, "clientInfo");
    };
    ctx.initialize_seen.set(true);
    let version = client.version.as_deref().unwrap_or("0.0.0");
    let user_agent = format!(
        "{name}/{CODEX_VERSION} (codexd demo-worker; {arch}) ({name}; {version})",
        name = client.name,
        arch = std::env::consts::ARCH,
    );
    *ctx.client_name.borrow_mut() = client.name.into_owned();
    match ctx.config.handshake {
        Handshake::Ok => answer_initialize(ctx, id, &user_agent),
        Handshake::Delay(delay) => {
            let (ctx, id) = (Rc::clone(ctx), id.clone());
            tokio::task::spawn_local(async move {
                tokio::time::sleep(delay).await;
                answer_initialize(&ctx, &id, &user_agent);
            });
        }
        Handshake::Hang => {}
        Handshake::Error => {
            let message = "demo worker refused to initialize (CODEXD_DEMO_HANDSHAKE=error)";
            ctx.out.err(id, -32603, message);
        }
    }
}

fn answer_initialize(ctx: &Session, id: &Value, user_agent: &str) {
    let result = InitializeResult {
        user_agent,
        codex_home: &ctx.codex_home,
        platform_family: "unix",
        platform_os: std::env::consts::OS,
    };
    ctx.out.ok(id, result);
    ctx.initialized.set(true);
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
