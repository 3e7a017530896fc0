//! Client tools in the demo worker, deterministically: `thread/start.dynamicTools` are kept
//! per thread, `thread/inject_items` appends Responses items to a thread's history, and a turn
//! on a thread with tools follows one rule (docs/demo-worker.md):
//!
//! - If the last user text (the turn input, or the last injected user message when the
//!   input is empty) names declared tools (case-insensitive), the model calls each named
//!   tool, in declaration order: a raw `function_call` item each, `rawResponse/completed`,
//!   then one `item/tool/call` request each (after the raw completion, as fast providers
//!   were seen to order them). String arguments are the last word of the text, numbers 1,
//!   booleans true. Once every call is answered, the turn answers
//!   `<tool> returned <n> characters: <output>` per call, and completes.
//! - If the turn's input is empty and the injected history ends with tool outputs, the turn
//!   answers the same sentence for those outputs.
//! - Otherwise the turn is an ordinary demo turn.
//!
//! A tool answer on a thread whose injected history holds reasoning items ends with
//! ` [<n> reasoning items replayed]` (`raw_reasoning.rs`).

use std::collections::HashMap;
use std::rc::Rc;

use serde_json::{json, Map, Value};
use tokio::sync::oneshot;

use crate::clock::now_ms;
use crate::ids::{Tagged, MESSAGE, THREAD, TURN};
use crate::reply_text::tokens_for;
use crate::session::{Session, TurnSpec};
use crate::turn_messages::TurnStatus;
use crate::{extra_notifications, turn_task};

/// A thread's client tools and injected history.
#[derive(Default)]
pub struct ToolThread {
    tools: Vec<(String, Value)>,
    injected: Vec<Value>,
    /// Started with `experimentalRawEvents` (`raw_reasoning.rs`).
    raw_events: bool,
}

/// What a turn on a thread with tools does.
enum Plan {
    Call(Vec<(String, String)>),
    Answer(Vec<(String, String)>),
}

/// Keeps the thread's `dynamicTools`.
pub fn declare(ctx: &Session, thread: u64, tools: Option<&Value>) {
    let Some(Value::Array(list)) = tools else {
        return;
    };
    let tools = list
        .iter()
        .filter_map(|t| {
            let name = t.get("name")?.as_str()?.to_owned();
            Some((name, t.get("inputSchema").cloned().unwrap_or(Value::Null)))
        })
        .collect();
    ctx.tool_threads.borrow_mut().insert(
        thread,
        ToolThread {
            tools,
            injected: Vec::new(),
            raw_events: false,
        },
    );
}

/// Remembers a thread started with `experimentalRawEvents`.
pub fn set_raw_events(ctx: &Session, thread: u64, on: Option<bool>) {
    if on == Some(true) {
        ctx.tool_threads
            .borrow_mut()
            .entry(thread)
            .or_default()
            .raw_events = true;
    }
}

/// Whether the thread was started with `experimentalRawEvents`.
pub fn raw_events(ctx: &Session, thread: u64) -> bool {
    ctx.tool_threads
        .borrow()
        .get(&thread)
        .is_some_and(|t| t.raw_events)
}

pub fn forget(ctx: &Session, thread: u64) {
    ctx.tool_threads.borrow_mut().remove(&thread);
}

/// `thread/inject_items`: appends the items (kept as given).
pub fn inject(ctx: &Session, id: &Value, thread: Option<u64>, items: Option<&Value>) {
    let known = thread.filter(|n| ctx.threads.borrow().contains_key(n));
    let Some(thread) = known else {
        return ctx
            .out
            .err(id, crate::jsonrpc::INVALID_REQUEST, "thread not found");
    };
    let items = items.and_then(Value::as_array).cloned().unwrap_or_default();
    ctx.tool_threads
        .borrow_mut()
        .entry(thread)
        .or_default()
        .injected
        .extend(items);
    ctx.out.ok(id, json!({}));
}

/// Routes the client's answer to a pending `item/tool/call`; false if it is not one.
pub fn resolve(ctx: &Session, id: &Value, result: Option<&Value>) -> bool {
    let Some(n) = id.as_u64() else { return false };
    let Some(tx) = ctx.tool_pending.borrow_mut().remove(&n) else {
        return false;
    };
    let _ = tx.send(result.cloned().unwrap_or(Value::Null));
    true
}

fn last_word(text: &str) -> String {
    text.split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .rfind(|w| !w.is_empty())
        .unwrap_or("demo")
        .to_owned()
}

/// Arguments built from the schema's properties.
fn arguments(schema: &Value, text: &str) -> String {
    let mut args = Map::new();
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (k, p) in props {
            let v = match p.get("type").and_then(Value::as_str) {
                Some("integer" | "number") => json!(1),
                Some("boolean") => json!(true),
                Some("array") => json!([]),
                Some("object") => json!({}),
                _ => Value::String(last_word(text)),
            };
            args.insert(k.clone(), v);
        }
    }
    Value::Object(args).to_string()
}

fn message_text(item: &Value) -> String {
    match item.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

fn plan(ctx: &Session, spec: &TurnSpec) -> Option<Plan> {
    let threads = ctx.tool_threads.borrow();
    let t = threads.get(&spec.at.thread)?;
    let mut text = spec.input.clone();
    if text.is_empty() {
        let outputs: Vec<(String, String)> = t
            .injected
            .iter()
            .rev()
            .take_while(|i| i.get("type").and_then(Value::as_str) == Some("function_call_output"))
            .filter_map(|o| {
                let call_id = o.get("call_id")?.as_str()?;
                let name = t.injected.iter().find_map(|c| {
                    (c.get("call_id")?.as_str()? == call_id && c.get("type")? == "function_call")
                        .then(|| c.get("name")?.as_str().map(str::to_owned))?
                })?;
                Some((name, o.get("output")?.as_str()?.to_owned()))
            })
            .collect();
        if !outputs.is_empty() {
            return Some(Plan::Answer(outputs.into_iter().rev().collect()));
        }
        text = t
            .injected
            .iter()
            .rev()
            .find(|i| i.get("role").and_then(Value::as_str) == Some("user"))
            .map(message_text)
            .unwrap_or_default();
    }
    let lower = text.to_lowercase();
    let calls: Vec<(String, String)> = t
        .tools
        .iter()
        .filter(|(name, _)| lower.contains(&name.to_lowercase()))
        .map(|(name, schema)| (name.clone(), arguments(schema, &text)))
        .collect();
    (!calls.is_empty()).then_some(Plan::Call(calls))
}

/// Runs the turn by the tool rule; false if the rule does not apply (an ordinary turn).
pub async fn run(ctx: &Rc<Session>, spec: &TurnSpec) -> bool {
    let Some(plan) = plan(ctx, spec) else {
        return false;
    };
    let (thread_id, turn_id) = (Tagged(THREAD, spec.at.thread), Tagged(TURN, spec.at.turn));
    let answers = match plan {
        Plan::Answer(outputs) => outputs,
        Plan::Call(calls) => {
            let mut ids = Vec::new();
            for (i, (name, args)) in calls.iter().enumerate() {
                let call_id = format!("call_demo_{}_{i}", spec.at.turn);
                let item = json!({"type": "function_call", "name": name, "arguments": args,
                                  "call_id": call_id});
                ctx.out.notify(
                    "rawResponseItem/completed",
                    json!({"threadId": thread_id, "turnId": turn_id, "item": item}),
                );
                ids.push(call_id);
            }
            ctx.out.notify(
                "rawResponse/completed",
                json!({"threadId": thread_id, "turnId": turn_id,
                       "responseId": format!("resp_demo_{}", spec.at.turn), "usage": null}),
            );
            let mut waiting = Vec::new();
            for ((name, args), call_id) in calls.iter().zip(&ids) {
                let id = ctx.new_request();
                let (tx, rx) = oneshot::channel();
                ctx.tool_pending.borrow_mut().insert(id, tx);
                let arguments: Value = serde_json::from_str(args).unwrap_or(Value::Null);
                ctx.out.request(
                    "item/tool/call",
                    id,
                    json!({"threadId": thread_id, "turnId": turn_id, "callId": call_id,
                           "namespace": null, "tool": name, "arguments": arguments}),
                );
                waiting.push((name.clone(), rx));
            }
            let mut answers = Vec::new();
            for (name, rx) in waiting {
                let result = rx.await.unwrap_or(Value::Null);
                let text = result
                    .pointer("/contentItems/0/text")
                    .and_then(Value::as_str)
                    .unwrap_or("dynamic tool response was invalid")
                    .to_owned();
                answers.push((name, text));
            }
            answers
        }
    };
    let reply: Vec<String> = answers
        .iter()
        .map(|(name, out)| format!("{name} returned {} characters: {out}", out.chars().count()))
        .collect();
    let mut reply = reply.join(" ");
    let replayed = ctx
        .tool_threads
        .borrow()
        .get(&spec.at.thread)
        .map_or(0, |t| crate::raw_reasoning::injected_count(&t.injected));
    if replayed > 0 {
        reply.push_str(&format!(" [{replayed} reasoning items replayed]"));
    }
    answer(ctx, spec, &reply);
    true
}

/// Streams the answer text and completes the turn.
fn answer(ctx: &Session, spec: &TurnSpec, reply: &str) {
    let (thread_id, turn_id) = (Tagged(THREAD, spec.at.thread), Tagged(TURN, spec.at.turn));
    let item_id = Tagged(MESSAGE, spec.at.turn);
    let started = now_ms();
    let item = |text: &str, done: Option<u64>| {
        json!({"type": "agentMessage", "id": item_id, "text": text, "phase": null,
               "startedAtMs": started, "completedAtMs": done})
    };
    ctx.out.notify(
        "item/started",
        json!({"item": item("", None), "threadId": thread_id, "turnId": turn_id, "startedAtMs": started}),
    );
    ctx.out.notify(
        "item/agentMessage/delta",
        json!({"threadId": thread_id, "turnId": turn_id, "itemId": item_id, "delta": reply}),
    );
    let done = now_ms();
    ctx.out.notify(
        "item/completed",
        json!({"item": item(reply, Some(done)), "threadId": thread_id, "turnId": turn_id, "completedAtMs": done}),
    );
    let (input, output) = (tokens_for(&spec.input).max(1), tokens_for(reply));
    let usage = json!({"totalTokens": input + output, "inputTokens": input, "cachedInputTokens": 0,
                       "outputTokens": output, "reasoningOutputTokens": 0});
    ctx.out.notify(
        "thread/tokenUsage/updated",
        json!({"threadId": thread_id, "turnId": turn_id,
               "tokenUsage": {"total": usage, "last": usage, "modelContextWindow": null}}),
    );
    extra_notifications::turn_ending(ctx, spec.at.thread, false);
    ctx.turns.borrow_mut().remove(&spec.at.turn);
    turn_task::completed(ctx, spec.at, TurnStatus::Completed, &[], None);
}

/// The session's tool state.
pub type ToolThreads = HashMap<u64, ToolThread>;
