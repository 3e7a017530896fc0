//! One turn as a task: optional server→client request round trip, timed deltas, faults, and
//! the turn's end.

use std::rc::Rc;

use tokio::time::sleep;

use crate::clock::{now_ms, now_secs};
use crate::ids::{Tagged, MESSAGE, THREAD, TURN};
use crate::reply_text::{chunks, tokens_for};
use crate::session::{Session, TurnRef, TurnSpec};
use crate::turn_messages::{
    AgentMessage, AgentMessageDelta, ErrorEvent, ItemCompleted, ItemStarted, TokenUsage,
    TokenUsageUpdated, Turn, TurnError, TurnEvent, TurnStatus, Usage, MODEL_CONTEXT_WINDOW,
};
use crate::{extra_notifications, server_requests};

/// Exit code of `CRASH_AFTER_CHUNKS`, the code of a Rust panic.
pub const CRASH_EXIT_CODE: i32 = 101;
/// Exit code of `EXIT_AFTER_TURNS`.
pub const RETIRE_EXIT_CODE: i32 = 3;

/// Runs the turn after `turn/started` has been written. `turn/interrupt` may abort this task at
/// any `.await`; it then writes the turn's end itself.
pub async fn run(ctx: Rc<Session>, spec: TurnSpec) {
    let config = &ctx.config;
    if let Some(flood) = &ctx.stderr_flood {
        ctx.stderr.write(flood.as_bytes());
    }
    // A thread with client tools follows the tool rule when it applies.
    if crate::client_tools::run(&ctx, &spec).await {
        return;
    }
    let reply = match config.approval {
        Some(kind) => {
            let word = server_requests::ask(&ctx, kind, spec.at.thread, spec.at.turn).await;
            format!("approval: {word}")
        }
        None => spec.options.reply(config.reply.as_deref(), &spec.input),
    };
    if let Some(delay) = config.first_token_delay {
        sleep(delay).await;
    }
    crate::turn_options::stream_summary(&ctx, &spec.options, spec.at.thread, spec.at.turn);
    crate::raw_reasoning::emit(&ctx, &spec);

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
    if crash_due(&ctx, 0) {
        return;
    }
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
        if crash_due(&ctx, sent + 1) {
            return;
        }
    }

    if let Some(kind) = config.upstream_error {
        crate::rate_limits::before_error(&ctx, kind);
        let error = TurnError::upstream(kind);
        extra_notifications::turn_ending(&ctx, spec.at.thread, true);
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
    extra_notifications::turn_ending(&ctx, spec.at.thread, false);
    end(&ctx, &spec, TurnStatus::Completed, &[item], None);

    crate::rate_limits::after_turn(&ctx);
    let completed = ctx.completed_turns.get() + 1;
    ctx.completed_turns.set(completed);
    if config.exit_after_turns == Some(completed) {
        ctx.exit(RETIRE_EXIT_CODE);
    }
}

/// Ends the run with `CRASH_EXIT_CODE` once `sent` deltas are out, if `CRASH_AFTER_CHUNKS` says
/// so; the turn then stops at once. Abrupt on purpose: every line written so far is delivered.
fn crash_due(ctx: &Session, sent: usize) -> bool {
    let due = ctx.config.crash_after_chunks == Some(sent);
    if due {
        ctx.exit(CRASH_EXIT_CODE);
    }
    due
}

fn report_usage(ctx: &Session, spec: &TurnSpec, reply: &str) {
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
    extra_notifications::usage_reported(ctx);
}

/// Forgets the turn and writes its `turn/completed`.
fn end(
    ctx: &Session,
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
    ctx: &Session,
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
