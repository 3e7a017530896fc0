//! One turn as a task: optional approval round trip, timed deltas, faults, and the turn's end.

use std::rc::Rc;

use tokio::time::sleep;

use super::out::{now_ms, now_secs, stderr};
use super::state::{Ctx, TurnRef, TurnSpec};
use super::text::{chunks, reply_for, tokens_for};
use super::turn_wire::{
    AgentMessage, AgentMessageDelta, ErrorEvent, ItemCompleted, ItemStarted, TokenUsage,
    TokenUsageUpdated, Turn, TurnError, TurnEvent, TurnStatus, Usage,
};
use super::wire::{Tagged, MESSAGE, MODEL_CONTEXT_WINDOW, THREAD, TURN};
use super::{approval, extras};

/// Exit code of `CRASH_AFTER_CHUNKS`, the code of a Rust panic.
const CRASH_EXIT_CODE: i32 = 101;
/// Exit code of `EXIT_AFTER_TURNS`.
const RETIRE_EXIT_CODE: i32 = 3;

/// Runs the turn after `turn/started` has been written. `turn/interrupt` may abort this task at
/// any `.await`; it then writes the turn's end itself.
pub async fn run(ctx: Rc<Ctx>, spec: TurnSpec) {
    let config = &ctx.config;
    if let Some(flood) = &ctx.stderr_flood {
        stderr(flood);
    }
    let reply = match config.approval {
        Some(kind) => {
            let word = approval::ask(&ctx, kind, spec.at.thread, spec.at.turn).await;
            format!("approval: {word}")
        }
        None => reply_for(config.reply.as_deref(), &spec.input),
    };
    if let Some(delay) = config.first_token_delay {
        sleep(delay).await;
    }

    let (thread_id, turn_id) = (Tagged(THREAD, spec.at.thread), Tagged(TURN, spec.at.turn));
    let item_id = Tagged(MESSAGE, spec.at.turn);
    let pieces = chunks(&reply, config.chunks);
    let to_send = match config.upstream_error {
        Some(_) => config.upstream_error_after_chunks.min(pieces.total()),
        None => pieces.total(),
    };
    let item_started_ms = now_ms();
    let mut item = AgentMessage {
        moderation: (),
        id: item_id,
        text: "",
        phase: (),
        memory_citation: (),
        delivery: (),
        questions: (),
        started_at_ms: item_started_ms,
        completed_at_ms: None,
    };
    if to_send > 0 {
        let params = ItemStarted {
            item: &item,
            thread_id,
            turn_id,
            started_at_ms: item_started_ms,
        };
        ctx.out.notify("item/started", params);
    }
    if config.garbage_line {
        ctx.out.raw_line(b"this is not json {{{");
    }
    if let Some(line) = &ctx.oversized_line {
        ctx.out.raw_line(line);
    }
    crash_if_due(&ctx, 0);
    for (sent, delta) in pieces.take(to_send).enumerate() {
        if sent > 0 {
            if let Some(gap) = config.chunk_interval {
                sleep(gap).await;
            }
        }
        let params = AgentMessageDelta {
            thread_id,
            turn_id,
            item_id,
            delta,
        };
        ctx.out.notify("item/agentMessage/delta", params);
        crash_if_due(&ctx, sent + 1);
    }

    if let Some(kind) = config.upstream_error {
        let error = TurnError::upstream(kind);
        extras::turn_ending(&ctx, spec.at.thread, true);
        let params = ErrorEvent {
            error: &error,
            will_retry: false,
            thread_id,
            turn_id,
        };
        ctx.out.notify("error", params);
        end(&ctx, &spec, TurnStatus::Failed, &[], Some(&error));
        return;
    }

    let completed_ms = now_ms();
    item.text = &reply;
    item.completed_at_ms = Some(completed_ms);
    let params = ItemCompleted {
        item: &item,
        thread_id,
        turn_id,
        content_token_count: (),
        completed_at_ms: completed_ms,
    };
    ctx.out.notify("item/completed", params);
    report_usage(&ctx, &spec, &reply);
    extras::turn_ending(&ctx, spec.at.thread, false);
    end(&ctx, &spec, TurnStatus::Completed, &[item], None);

    let completed = ctx.completed_turns.get() + 1;
    ctx.completed_turns.set(completed);
    if config.exit_after_turns == Some(completed) {
        #[expect(
            clippy::disallowed_methods,
            reason = "the demo worker's scripted retirement: a separate program, not the daemon"
        )]
        std::process::exit(RETIRE_EXIT_CODE);
    }
}

fn crash_if_due(ctx: &Ctx, sent: usize) {
    if ctx.config.crash_after_chunks == Some(sent) {
        // Abrupt on purpose: every line written so far has already been flushed.
        #[expect(
            clippy::disallowed_methods,
            reason = "the demo worker's scripted crash: a separate program, not the daemon"
        )]
        std::process::exit(CRASH_EXIT_CODE);
    }
}

fn report_usage(ctx: &Ctx, spec: &TurnSpec, reply: &str) {
    let (input, output) = (tokens_for(&spec.input), tokens_for(reply));
    let last = Usage {
        total_tokens: input + output,
        input_tokens: input,
        cached_input_tokens: ctx.config.cached_tokens,
        cache_write_input_tokens: 0,
        output_tokens: output,
        reasoning_output_tokens: ctx.config.reasoning_tokens,
    };
    // A thread unsubscribed mid-turn has no running total left; report this turn alone.
    let total = match ctx.threads.borrow_mut().get_mut(&spec.at.thread) {
        Some(total) => {
            total.add(&last);
            *total
        }
        None => last,
    };
    let params = TokenUsageUpdated {
        thread_id: Tagged(THREAD, spec.at.thread),
        turn_id: Tagged(TURN, spec.at.turn),
        token_usage: TokenUsage {
            total,
            last,
            model_context_window: MODEL_CONTEXT_WINDOW,
        },
    };
    ctx.out.notify("thread/tokenUsage/updated", params);
    extras::usage_reported(ctx);
}

/// Forgets the turn and writes its `turn/completed`.
fn end(
    ctx: &Ctx,
    spec: &TurnSpec,
    status: TurnStatus,
    items: &[AgentMessage<'_>],
    error: Option<&TurnError>,
) {
    ctx.turns.borrow_mut().remove(&spec.at.turn);
    completed(ctx, spec.at, status, items, error);
}

/// Writes `turn/completed` for a turn of any outcome; shared with `turn/interrupt`.
pub fn completed(
    ctx: &Ctx,
    at: TurnRef,
    status: TurnStatus,
    items: &[AgentMessage<'_>],
    error: Option<&TurnError>,
) {
    let params = TurnEvent {
        thread_id: Tagged(THREAD, at.thread),
        turn: Turn {
            id: Tagged(TURN, at.turn),
            root_turn_id: Tagged(TURN, at.turn),
            items,
            items_view: if items.is_empty() {
                "notLoaded"
            } else {
                "summary"
            },
            status,
            error,
            started_at: Some(at.started_at),
            completed_at: Some(now_secs()),
            duration_ms: Some(at.started.elapsed().as_millis() as u64),
        },
    };
    ctx.out.notify("turn/completed", params);
}
