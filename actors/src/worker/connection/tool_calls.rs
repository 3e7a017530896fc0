//! Client tool calls on one worker: counting the raw `function_call` items of a model
//! response, collecting the `item/tool/call` requests, parking the turn once the response is
//! complete and every call has arrived, continuing a parked turn with the outputs a later
//! request brings, expiring and discarding parked turns, and injecting a replayed history
//! before a fresh thread's turn.

use super::turns::TurnPhase;
use super::*;
use crate::parked::{ParkedTurn, ParkedTurns};
use crate::tools::{transcript_digest, Followup, ParkDiscard, ParkedAt, ToolCall};

/// How tool turns behave on every connection of a pool.
#[derive(Debug, Clone)]
pub struct ToolSettings {
    pub parked: Arc<ParkedTurns>,
    /// A parked turn not continued within this time is discarded.
    pub park_ttl: Duration,
    /// At most this many parked turns per worker; beyond it a turn's calls are still
    /// answered to the client, but the turn is discarded (its follow-up is replayed).
    pub max_parked: usize,
}

impl Default for ToolSettings {
    fn default() -> Self {
        Self {
            parked: Arc::default(),
            park_ttl: Duration::from_secs(300),
            max_parked: 16,
        }
    }
}

/// Discards a parked turn (sent by the supervisor for the front end).
#[derive(Message)]
#[rtype(result = "()")]
pub struct DiscardParked {
    pub key: u64,
    pub reason: ParkDiscard,
}

impl Handler<DiscardParked> for WorkerConnection {
    type Result = ();
    fn handle(&mut self, msg: DiscardParked, _: &mut Self::Context) {
        self.discard_parked(msg.key, msg.reason);
    }
}

/// A call the model made, whose JSON-RPC request waits for its answer.
#[derive(Debug, Clone)]
struct PendingCall {
    rpc_id: Value,
    call: ToolCall,
}

/// One turn's tool-call bookkeeping.
#[derive(Debug, Default)]
pub(super) struct ToolCalls {
    /// Raw `function_call` items of the current model response.
    raw_calls: usize,
    /// `rawResponse/completed` arrived for the current model response.
    response_done: bool,
    pending: Vec<PendingCall>,
    /// The thread whose replayed history is being injected (`thread/inject_items` in flight).
    injecting: Option<String>,
    /// The history was injected: the next `thread/start` pass starts the turn.
    injected: bool,
    /// The thread's usage as last reported by the worker, what of it the parking request
    /// reported (the last value before it parked), and what earlier requests reported in all:
    /// a continued turn reports only the rest, so the thread is counted once.
    seen: TokenUsage,
    reported: TokenUsage,
    baseline: TokenUsage,
}

/// A tool call answered with the output text, in the shape Codex 0.171 accepts.
pub fn tool_answer(text: &str, success: bool) -> Value {
    json!({"contentItems": [{"type": "inputText", "text": text}], "success": success})
}

impl WorkerConnection {
    fn key_of_thread(&self, thread_id: Option<&str>) -> Option<u64> {
        thread_id.and_then(|th| self.by_thread.get(th)).copied()
    }

    /// `rawResponseItem/completed` and `rawResponse/completed`: counted for the turn that owns
    /// the thread. Returns false for any other method.
    pub(super) fn on_raw_event(&mut self, key: u64, method: &str, item_type: Option<&str>) -> bool {
        let Some(t) = self.turns.get_mut(&key) else {
            return matches!(
                method,
                "rawResponseItem/completed" | "rawResponse/completed"
            );
        };
        match method {
            "rawResponseItem/completed" => {
                if t.tools.response_done {
                    // A new model response of the same turn.
                    t.tools.response_done = false;
                    t.tools.raw_calls = 0;
                }
                if item_type == Some("function_call") {
                    t.tools.raw_calls += 1;
                }
            }
            "rawResponse/completed" => {
                t.tools.response_done = true;
                self.maybe_park(key);
            }
            _ => return false,
        }
        true
    }

    /// An `item/tool/call` request: the call goes to the stream now, the answer waits for
    /// the outputs. Returns false when no turn owns the thread (answered as unsupported).
    pub(super) fn on_tool_call(&mut self, id: &Value, params: &Value) -> bool {
        let Some(key) = self.key_of_thread(protocol::thread_id(params)) else {
            return false;
        };
        let text = |k: &str| {
            params
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let arguments = match params.get("arguments") {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => "{}".to_owned(),
        };
        let call = ToolCall {
            call_id: text("callId"),
            name: text("tool"),
            arguments,
        };
        // Only a turn that declared client tools waits for their outputs; any other call is
        // answered as unsupported (Codex then tells the model the call was invalid).
        let Some(t) = self
            .turns
            .get_mut(&key)
            .filter(|t| !t.request.tools.tools.is_empty())
        else {
            return false;
        };
        t.tools.pending.push(PendingCall {
            rpc_id: id.clone(),
            call: call.clone(),
        });
        self.notify(key, TurnUpdate::ToolCall(call));
        self.bus
            .publish(Event::Worker(WorkerEvent::ToolCallReceived {
                slot: self.slot,
                ids: self.ids_of(Some(key)),
            }));
        self.maybe_park(key);
        true
    }

    /// Parks the turn once its model response is complete and every call it made arrived.
    fn maybe_park(&mut self, key: u64) {
        let Some(t) = self.turns.get(&key) else {
            return;
        };
        let ready = t.tools.response_done
            && !t.tools.pending.is_empty()
            && t.tools.pending.len() >= t.tools.raw_calls;
        let TurnPhase::Running { thread_id, turn_id } = &t.phase else {
            return;
        };
        if !ready {
            return;
        }
        let (thread_id, turn_id) = (thread_id.clone(), turn_id.clone());
        let calls: Vec<ToolCall> = t.tools.pending.iter().map(|p| p.call.clone()).collect();
        let at = ParkedAt {
            slot: self.slot,
            generation: self.generation,
            key,
        };
        let turn = ParkedTurn {
            at,
            call_ids: calls.iter().map(|c| c.call_id.clone()).collect(),
            digest: transcript_digest(t.request.tools.history_digest, &calls),
            parked_at: Instant::now(),
            trace_link: t.request.tools.trace_link.clone(),
        };
        let ids = t.request.ctx.ids.clone();
        if let Some(t) = self.turns.get_mut(&key) {
            t.tools.reported = t.tools.seen;
        }
        let parked = &self.settings.tools.parked;
        let full = parked.count_on(self.slot, self.generation) >= self.settings.tools.max_parked;
        self.notify(key, TurnUpdate::Parked);
        if full {
            self.publish_discard(Some(ids), ParkDiscard::CapReached);
            self.send_interrupt(key, thread_id, turn_id);
            return;
        }
        self.settings.tools.parked.insert(turn);
        self.set_phase(key, TurnPhase::Parked { thread_id, turn_id });
        self.bus.publish(Event::Worker(WorkerEvent::TurnParked {
            slot: self.slot,
            ids,
            calls: calls.len(),
        }));
    }

    fn publish_discard(&self, ids: Option<ReqIds>, reason: ParkDiscard) {
        self.bus
            .publish(Event::Worker(WorkerEvent::ParkedTurnDiscarded {
                slot: self.slot,
                ids,
                reason,
            }));
    }

    /// Interrupts a parked turn; its thread is released once the worker confirms.
    pub(super) fn discard_parked(&mut self, key: u64, reason: ParkDiscard) {
        let Some(TurnPhase::Parked { thread_id, turn_id }) =
            self.turns.get(&key).map(|t| t.phase.clone())
        else {
            return;
        };
        self.settings.tools.parked.remove(ParkedAt {
            slot: self.slot,
            generation: self.generation,
            key,
        });
        self.publish_discard(self.ids_of(Some(key)), reason);
        self.send_interrupt(key, thread_id, turn_id);
    }

    /// Discards the parked turns older than the TTL (runs every second).
    pub(super) fn sweep_parked(&mut self) {
        let ttl = self.settings.tools.park_ttl;
        let Some(cutoff) = Instant::now().checked_sub(ttl) else {
            return;
        };
        for t in self
            .settings
            .tools
            .parked
            .expire(self.slot, self.generation, cutoff)
        {
            self.discard_parked(t.at.key, ParkDiscard::Expired);
        }
    }

    /// The worker is gone: its parked turns can never be continued.
    pub(super) fn forget_parked(&mut self) {
        for _ in self
            .settings
            .tools
            .parked
            .remove_worker(self.slot, self.generation)
        {
            self.publish_discard(None, ParkDiscard::WorkerExit);
        }
    }

    pub(super) fn is_parked(&self, key: u64) -> bool {
        self.turns
            .get(&key)
            .is_some_and(|t| matches!(t.phase, TurnPhase::Parked { .. }))
    }

    /// A follow-up continues a parked turn: the stream of `msg` takes the turn over, the
    /// pending calls are answered with the outputs, and the rest of the turn streams to it.
    /// Returns false when `msg` is not a continuation.
    pub(super) fn continue_parked(&mut self, msg: &mut StartTurn) -> bool {
        let Some(Followup::Continue { parked, outputs }) = &msg.request.tools.followup else {
            return false;
        };
        let Some(sink) = msg.sink.take() else {
            return true;
        };
        let usable = parked.slot == self.slot
            && parked.generation == self.generation
            && self.is_parked(parked.key);
        let entry = if usable {
            self.turns.remove(&parked.key)
        } else {
            None
        };
        let Some(mut entry) = entry else {
            sink.do_send(TurnUpdate::Refused);
            return true;
        };
        let TurnPhase::Parked { thread_id, turn_id } = entry.phase.clone() else {
            sink.do_send(TurnUpdate::Refused);
            return true;
        };
        let pending = std::mem::take(&mut entry.tools.pending);
        let (seen, reported) = (entry.tools.seen, entry.tools.reported);
        entry.tools = ToolCalls {
            seen,
            reported,
            baseline: reported,
            ..ToolCalls::default()
        };
        entry.request = msg.request.clone();
        entry.sink = sink;
        entry.phase = TurnPhase::Running {
            thread_id: thread_id.clone(),
            turn_id: turn_id.clone(),
        };
        self.by_thread.insert(thread_id.clone(), msg.key);
        self.turns.insert(msg.key, entry);
        self.notify(msg.key, TurnUpdate::Started { thread_id, turn_id });
        for p in pending {
            let output = outputs
                .iter()
                .find(|(id, _)| *id == p.call.call_id)
                .map(|(_, text)| text.as_str());
            let answer = tool_answer(output.unwrap_or_default(), output.is_some());
            self.send_line(protocol::encode_response(&p.rpc_id, Ok(answer)));
        }
        self.bus
            .publish(Event::Worker(WorkerEvent::ParkedTurnContinued {
                slot: self.slot,
                ids: msg.request.ctx.ids.clone(),
            }));
        true
    }

    /// The usage to report for a turn: the thread's running total minus what the requests
    /// before a continuation already reported.
    pub(super) fn turn_usage(&mut self, key: u64, u: TokenUsage) -> TokenUsage {
        let Some(t) = self.turns.get_mut(&key) else {
            return u;
        };
        t.tools.seen = u;
        // A parked turn's usage is nobody's yet: it goes to the request that continues it.
        let b = t.tools.baseline;
        TokenUsage {
            input: u.input.saturating_sub(b.input),
            output: u.output.saturating_sub(b.output),
            cached_input: u.cached_input.saturating_sub(b.cached_input),
            reasoning: u.reasoning.saturating_sub(b.reasoning),
            total: u.total.saturating_sub(b.total),
        }
    }

    /// For a replay, injects the history on the fresh thread first; returns true if it did
    /// (the turn starts when the worker answers).
    pub(super) fn inject_history(&mut self, key: u64, thread_id: &str) -> bool {
        let Some(t) = self.turns.get_mut(&key) else {
            return false;
        };
        let Some(Followup::Replay { items }) = &t.request.tools.followup else {
            return false;
        };
        if t.tools.injected {
            return false;
        }
        t.tools.injected = true;
        t.tools.injecting = Some(thread_id.to_owned());
        let params = json!({"threadId": thread_id, "items": items});
        self.request(RpcMethod::ThreadInjectItems, params, Some(key));
        true
    }

    /// The history is on the thread: start the turn as `thread/start` would have.
    pub(super) fn on_history_injected(&mut self, turn: Option<u64>) {
        let Some(key) = turn else { return };
        let thread = self
            .turns
            .get_mut(&key)
            .and_then(|t| t.tools.injecting.take());
        if let Some(th) = thread {
            self.on_thread_started(Some(key), Some(&th));
        }
    }

    /// `thread/start` params for a turn with client tools: the tools, and the raw events
    /// that tell when a model response is complete.
    pub(super) fn add_tool_params<'a>(
        request: &'a TurnRequest,
        params: &mut protocol::ThreadStartParams<'a>,
    ) {
        let tools = &request.tools.tools;
        if tools.is_empty() {
            return;
        }
        params.dynamic_tools = protocol::DynamicTools(tools);
        params.experimental_raw_events = true;
        // A client that brings its own tools brings its own prompt: when the operator lets
        // client system text through, it replaces Codex's built-in agent prompt.
        params.base_instructions = params.developer_instructions.take();
    }

    /// Whether the turn is a replay: its history is injected on the thread and its
    /// `turn/start` input is empty.
    pub(super) fn is_replay(request: &TurnRequest) -> bool {
        matches!(request.tools.followup, Some(Followup::Replay { .. }))
    }
}
