//! Client tools across requests: reading a request's tools and conversation, and deciding
//! how a request that brings tool outputs is served. *Continue*: the parked turn that waits
//! on exactly these calls, with a matching transcript digest, is claimed and its worker
//! leased. *Replay*: otherwise the whole history is injected on a fresh thread. Each
//! follow-up publishes which path served it and why a replay was needed.

pub mod store;

use super::completions::acquire;
use super::errors::ApiError;
use super::openai::history::{self, History, Item};
use super::openai::tools::{self, Shape, ToolsRequest};
use super::openai::ApiKind;
use super::peer::PeerSocket;
use super::state::AppState;
use crate::config::{Config, HostedTools};
use codexd_actors::events::{Event, HttpEvent};
use codexd_actors::outcome::StreamOutcome;
use codexd_actors::parked::{ParkedTurn, ParkedTurns};
use codexd_actors::tools::{
    transcript_digest, Followup, FollowupPath, ParkDiscard, ReplayReason, ToolCall, ToolTurn,
};
use codexd_actors::turn::{ReqIds, StreamOutput};
use codexd_actors::worker::supervisor::{AcquireSlotLease, DiscardParkedTurn};
use codexd_actors::worker::Lease;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use store::ResponseStore;

/// Tool state every handler shares.
pub struct ToolState {
    pub parked: Arc<ParkedTurns>,
    pub store: ResponseStore,
    pub hosted: HostedTools,
}

impl ToolState {
    pub fn from_config(c: &Config, parked: Arc<ParkedTurns>) -> Self {
        Self {
            parked,
            store: ResponseStore::new(
                c.tools.response_store_size as usize,
                Duration::from_millis(c.tools.response_store_ttl_ms),
            ),
            hosted: c.tools.hosted_tools,
        }
    }
}

/// A follow-up's state between planning and leasing.
struct Pending {
    claimed: Option<ParkedTurn>,
    outputs: Vec<(String, String)>,
    reason: ReplayReason,
    items: Vec<Value>,
}

/// The tool part of one request.
pub struct ToolPlan {
    pub tools: ToolsRequest,
    pub history: History,
    pub turn: ToolTurn,
    pending: Option<Pending>,
}

impl ToolPlan {
    /// Whether the request is a follow-up (it brings tool outputs): its lease is then a
    /// pinned one or a replay's (`lease`), not a plain one.
    pub fn is_followup(&self) -> bool {
        self.pending.is_some()
    }

    /// Whether the request carries anything tool-related (tools, tool items, a follow-up).
    pub fn is_tool_request(&self) -> bool {
        !self.tools.declared.is_empty() || self.history.has_tool_items()
    }
}

/// Reads the request's tools and conversation (`previous_response_id` resolved), and claims
/// the parked turn a follow-up continues, if there is one.
pub fn plan(
    kind: ApiKind,
    v: &Value,
    state: &AppState,
    ids: &ReqIds,
) -> Result<ToolPlan, ApiError> {
    let empty = serde_json::Map::new();
    let o = v.as_object().unwrap_or(&empty);
    let shape = match kind {
        ApiKind::Chat => Shape::Chat,
        ApiKind::Responses => Shape::Responses,
    };
    let tools = tools::parse(o, shape, state.tools.hosted)?;
    if tools.hosted_ignored > 0 {
        state
            .bus
            .publish(Event::Http(HttpEvent::HostedToolsIgnored {
                ids: ids.clone(),
                count: tools.hosted_ignored,
            }));
    }
    let (history, output_field) = match kind {
        ApiKind::Chat => {
            let messages = o.get("messages").and_then(Value::as_array);
            let h = history::from_chat(messages.map_or(&[][..], Vec::as_slice))?;
            (h, "tool_call_id")
        }
        ApiKind::Responses => {
            let stored = match o.get("previous_response_id") {
                None | Some(Value::Null) => None,
                Some(Value::String(id)) => Some(
                    state
                        .tools
                        .store
                        .get(id)
                        .ok_or_else(|| ApiError::PreviousResponseNotFound { id: id.clone() })?,
                ),
                Some(_) => {
                    return Err(ApiError::field(
                        "previous_response_id",
                        "'previous_response_id' must be a string.",
                    ))
                }
            };
            let input = o.get("input").unwrap_or(&Value::Null);
            (history::from_responses(input, stored.as_ref())?, "call_id")
        }
    };
    history.validate(output_field)?;
    let mut turn = ToolTurn {
        tools: tools.tools.clone(),
        history_digest: history.digest(history.items.len()),
        followup: None,
        trace_link: Some((ids.trace_id.clone(), ids.span_id.clone())),
    };
    let pending = match history.followup() {
        Some(split) => {
            let call_ids: Vec<String> = split.outputs.iter().map(|(c, _)| c.clone()).collect();
            let digest = transcript_digest(history.digest(split.prior), &split.calls);
            let (claimed, reason) = match state.tools.parked.claim(&call_ids, digest) {
                Ok(t) => (Some(t), ReplayReason::NotParked),
                Err((reason, stale)) => {
                    if let Some(at) = stale {
                        state.supervisor.do_send(DiscardParkedTurn {
                            at,
                            reason: ParkDiscard::Mismatch,
                        });
                    }
                    (None, reason)
                }
            };
            Some(Pending {
                claimed,
                outputs: split.outputs,
                reason,
                items: history.inject_items(),
            })
        }
        None if history.has_tool_items() => {
            // A history with tool calls that does not end in outputs: replayed as is, so
            // that the calls are not lost (not a follow-up: not counted as one).
            turn.followup = Some(Followup::Replay {
                items: history.inject_items(),
            });
            None
        }
        None => None,
    };
    Ok(ToolPlan {
        tools,
        history,
        turn,
        pending,
    })
}

async fn pinned(state: &AppState, t: &ParkedTurn, ids: &ReqIds) -> Option<Lease> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    state.supervisor.do_send(AcquireSlotLease {
        at: t.at,
        ids: ids.clone(),
        reply: tx,
    });
    rx.await.ok()?.ok()
}

fn served(
    state: &AppState,
    facts: &super::access::RequestFacts,
    path: FollowupPath,
    reason: Option<ReplayReason>,
    link: Option<(String, String)>,
) {
    state.bus.publish(Event::Http(HttpEvent::FollowupServed {
        ids: facts.ids.clone(),
        sampled: facts.sampled,
        path,
        reason: reason.map_or("none", ReplayReason::as_str),
        link,
    }));
}

/// The lease for the request: on the parked turn's worker for a continuation (replay if that
/// worker cannot take it), from admission otherwise.
pub async fn lease(
    plan: &mut ToolPlan,
    state: &AppState,
    facts: &super::access::RequestFacts,
    peer: Option<&PeerSocket>,
) -> Result<Option<Lease>, ApiError> {
    let ids = &facts.ids;
    if let Some(mut p) = plan.pending.take() {
        if let Some(t) = p.claimed.take() {
            if let Some(lease) = pinned(state, &t, ids).await {
                plan.turn.followup = Some(Followup::Continue {
                    parked: t.at,
                    outputs: p.outputs,
                });
                served(state, facts, FollowupPath::Continue, None, t.trace_link);
                return Ok(Some(lease));
            }
            state.supervisor.do_send(DiscardParkedTurn {
                at: t.at,
                reason: ParkDiscard::WorkerExit,
            });
            p.reason = ReplayReason::WorkerGone;
        }
        plan.turn.followup = Some(Followup::Replay { items: p.items });
        served(state, facts, FollowupPath::Replay, Some(p.reason), None);
    }
    acquire(state, facts, peer).await
}

/// Keeps a Responses answer's conversation for `previous_response_id`: the request's
/// history plus what the answer added (its text, its calls), stored once it completed.
pub struct Memo {
    tools: Arc<ToolState>,
    id: String,
    history: History,
    text: String,
    calls: Vec<ToolCall>,
    /// The answer's raw reasoning item (only when the request asked for its content).
    reasoning: Option<Value>,
}

impl Memo {
    /// A memo for a Responses request (none for Chat).
    pub fn new(kind: ApiKind, state: &AppState, history: History) -> Option<Memo> {
        (kind == ApiKind::Responses).then(|| Memo {
            tools: state.tools.clone(),
            id: super::ids::prefixed("resp_", 24),
            history,
            text: String::new(),
            calls: Vec::new(),
            reasoning: None,
        })
    }

    /// The response id the stream will carry.
    pub fn id(&self) -> String {
        self.id.clone()
    }

    /// Stores the conversation under `id` with the answer's text and calls.
    pub fn finish(&mut self, id: &str, text: &str, calls: &[ToolCall]) {
        let mut history = std::mem::take(&mut self.history);
        if let Some(r) = self.reasoning.take() {
            history.push(Item::Reasoning(r), "output".into());
        }
        if !text.is_empty() {
            history.push(
                Item::Message {
                    role: "assistant",
                    text: text.to_owned(),
                },
                "output".into(),
            );
        }
        for c in calls {
            history.push(Item::Call(c.clone()), "output".into());
        }
        self.tools.store.insert(id.to_owned(), history);
    }
}

/// Keeps an answer's raw reasoning item for `previous_response_id` (the last one of a turn).
pub fn note_reasoning(memo: &mut Option<Memo>, r: &codexd_actors::reasoning_item::ReasoningItem) {
    if let Some(m) = memo.as_mut() {
        m.reasoning = Some(super::openai::reasoning_items::from_answer(r));
    }
}

/// Follows a stream's outputs; stores the conversation when it completes.
pub fn observe(memo: &mut Option<Memo>, item: &StreamOutput) {
    let Some(m) = memo.as_mut() else { return };
    match item {
        StreamOutput::Text(t) => m.text.push_str(t),
        StreamOutput::ToolCall(c) => m.calls.push(c.clone()),
        StreamOutput::ReasoningItem(r) => {
            m.reasoning = Some(super::openai::reasoning_items::from_answer(r))
        }
        StreamOutput::Ended(StreamOutcome::Completed) => {
            let (id, text, calls) = (
                m.id.clone(),
                std::mem::take(&mut m.text),
                std::mem::take(&mut m.calls),
            );
            m.finish(&id, &text, &calls);
        }
        StreamOutput::Keepalive
        | StreamOutput::Usage(_)
        | StreamOutput::Reasoning(_)
        | StreamOutput::Ended(_) => {}
    }
}
