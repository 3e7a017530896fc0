//! Dispatch of client lines and the request handlers: `initialize`, `account/read`,
//! `thread/start`, `thread/unsubscribe`, `turn/start`, `turn/interrupt`.

use std::rc::Rc;
use std::time::Instant;

use serde_json::Value;

use super::config::Handshake;
use super::incoming::{input_text, invalid_request, Incoming, Minimal, Params};
use super::out::{now_secs, INVALID_REQUEST};
use super::state::{ActiveTurn, Ctx, TurnRef, TurnSpec};
use super::turn_wire::{Turn, TurnEvent, TurnStartResult, TurnStatus};
use super::wire::{
    parse_tagged, AccountReadResult, Empty, InitializeResult, Tagged, CODEX_VERSION, THREAD, TURN,
};
use super::{approval, extras, threads, turn};

/// Handles one line from stdin. Lines that are not a JSON object are ignored, like Codex does.
pub fn dispatch(ctx: &Rc<Ctx>, line: &[u8]) {
    let message: Incoming = match serde_json::from_slice(line) {
        Ok(message) => message,
        Err(error) => {
            // Valid JSON but ill-typed params: answer by id, as Codex does.
            if let Ok(Minimal {
                id: Some(id),
                method: Some(_),
            }) = serde_json::from_slice(line)
            {
                ctx.out.err(&id, INVALID_REQUEST, &invalid_request(&error));
            }
            return;
        }
    };
    match (message.id, message.method) {
        (Some(id), Some(method)) => request(ctx, &id, &method, message.params),
        (Some(id), None) => approval::resolve(ctx, &id, message.result, message.error.is_some()),
        // Notifications (`initialized`, …) get no reply.
        (None, _) => {}
    }
}

fn request(ctx: &Rc<Ctx>, id: &Value, method: &str, params: Option<Params<'_>>) {
    if method != "initialize" && !ctx.initialized.get() {
        ctx.out.err(id, INVALID_REQUEST, "Not initialized");
        return;
    }
    let known = matches!(
        method,
        "initialize"
            | "account/read"
            | "thread/start"
            | "thread/unsubscribe"
            | "turn/start"
            | "turn/interrupt"
    );
    if !known {
        let message = format!("Invalid request: unknown variant `{method}`");
        ctx.out.err(id, INVALID_REQUEST, &message);
        return;
    }
    let Some(params) = params else {
        return missing(ctx, id, "params");
    };
    match method {
        "initialize" => initialize(ctx, id, params),
        "account/read" => ctx.out.ok(id, AccountReadResult::NONE),
        "thread/start" => threads::start(ctx, id, params),
        "thread/unsubscribe" => threads::unsubscribe(ctx, id, params),
        "turn/start" => turn_start(ctx, id, params),
        _ => turn_interrupt(ctx, id, params),
    }
}

pub fn missing(ctx: &Ctx, id: &Value, field: &str) {
    let message = format!("Invalid request: missing field `{field}`");
    ctx.out.err(id, INVALID_REQUEST, &message);
}

fn initialize(ctx: &Rc<Ctx>, id: &Value, params: Params<'_>) {
    if ctx.initialize_seen.get() {
        return ctx.out.err(id, INVALID_REQUEST, "Already initialized");
    }
    let Some(client) = params.client_info else {
        return missing(ctx, id, "clientInfo");
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

fn answer_initialize(ctx: &Ctx, id: &Value, user_agent: &str) {
    let result = InitializeResult {
        user_agent,
        codex_home: &ctx.codex_home,
        platform_family: "unix",
        platform_os: std::env::consts::OS,
    };
    ctx.out.ok(id, result);
    ctx.initialized.set(true);
}

fn turn_start(ctx: &Rc<Ctx>, id: &Value, params: Params<'_>) {
    let Some(thread_id) = params.thread_id else {
        return missing(ctx, id, "threadId");
    };
    let Some(input) = params.input else {
        return missing(ctx, id, "input");
    };
    let thread = parse_tagged(&thread_id, THREAD).filter(|n| ctx.threads.borrow().contains_key(n));
    let Some(thread) = thread else {
        let message = format!("thread not found: {}", &*thread_id);
        return ctx.out.err(id, INVALID_REQUEST, &message);
    };
    let at = TurnRef {
        thread,
        turn: ctx.new_turn(),
        started: Instant::now(),
        started_at: now_secs(),
    };
    let mut turn = Turn {
        id: Tagged(TURN, at.turn),
        root_turn_id: Tagged(TURN, at.turn),
        items: &[],
        items_view: "notLoaded",
        status: TurnStatus::InProgress,
        error: None,
        started_at: None,
        completed_at: None,
        duration_ms: None,
    };
    ctx.out.ok(id, TurnStartResult { turn });
    turn = Turn {
        started_at: Some(at.started_at),
        ..turn
    };
    let thread_id = Tagged(THREAD, thread);
    ctx.out
        .notify("turn/started", TurnEvent { thread_id, turn });
    let input = input_text(&input);
    extras::turn_began(ctx, thread, at.turn, &input);
    let task = tokio::task::spawn_local(turn::run(Rc::clone(ctx), TurnSpec { at, input }));
    let abort = task.abort_handle();
    ctx.turns
        .borrow_mut()
        .insert(at.turn, ActiveTurn { at, abort });
}

fn turn_interrupt(ctx: &Ctx, id: &Value, params: Params<'_>) {
    let Some(thread_id) = params.thread_id else {
        return missing(ctx, id, "threadId");
    };
    let Some(turn_id) = params.turn_id else {
        return missing(ctx, id, "turnId");
    };
    let thread = parse_tagged(&thread_id, THREAD);
    let active = parse_tagged(&turn_id, TURN).and_then(|n| {
        let mut turns = ctx.turns.borrow_mut();
        let matches = turns.get(&n).is_some_and(|t| Some(t.at.thread) == thread);
        if matches {
            turns.remove(&n)
        } else {
            None
        }
    });
    let Some(active) = active else {
        return ctx
            .out
            .err(id, INVALID_REQUEST, "no active turn to interrupt");
    };
    // The task is not running (one thread), so once aborted it never writes again.
    active.abort.abort();
    ctx.out.ok(id, Empty {});
    extras::turn_ending(ctx, active.at.thread, false);
    turn::completed(ctx, active.at, TurnStatus::Interrupted, &[], None);
}
