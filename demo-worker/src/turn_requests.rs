//! `turn/start` (answer, `turn/started`, then the turn's task) and `turn/interrupt` (abort the
//! task and end the turn as `interrupted`).

use std::rc::Rc;
use std::time::Instant;

use serde_json::Value;

use crate::client_messages::{input_text, Params};
use crate::clock::now_secs;
use crate::ids::{parse_tagged, Tagged, THREAD, TURN};
use crate::jsonrpc::{Empty, INVALID_REQUEST};
use crate::session::{ActiveTurn, Session, TurnRef, TurnSpec};
use crate::turn_messages::{Turn, TurnEvent, TurnStartResult, TurnStatus};
use crate::{extra_notifications, turn_task};

pub fn start(ctx: &Rc<Session>, id: &Value, params: Params<'_>) {
    let Some(thread_id) = params.thread_id else {
        return ctx.missing(id, "threadId");
    };
    let Some(input) = params.input else {
        return ctx.missing(id, "input");
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
    let options = crate::turn_options::TurnOptions::new(
        &input,
        params.output_schema,
        params.effort.as_deref(),
        params.summary.as_deref(),
    );
    let input = input_text(&input);
    extra_notifications::turn_began(ctx, thread, at.turn, &input);
    let spec = TurnSpec { at, input, options };
    let task = tokio::task::spawn_local(turn_task::run(Rc::clone(ctx), spec));
    let abort = task.abort_handle();
    ctx.turns
        .borrow_mut()
        .insert(at.turn, ActiveTurn { at, abort });
}

pub fn interrupt(ctx: &Session, id: &Value, params: Params<'_>) {
    let Some(thread_id) = params.thread_id else {
        return ctx.missing(id, "threadId");
    };
    let Some(turn_id) = params.turn_id else {
        return ctx.missing(id, "turnId");
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
    extra_notifications::turn_ending(ctx, active.at.thread, false);
    turn_task::completed(ctx, active.at, TurnStatus::Interrupted, &[], None);
}
