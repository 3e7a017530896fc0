//! Turns on one worker: a turn's phases (`TurnPhase`), starting a thread and its turn,
//! routing notifications to the stream that owns the thread, interrupting, and answering the
//! worker's server→client requests (approvals declined unless the operator opted in; anything
//! unsupported gets an error).

use super::*;
use crate::worker::protocol::{ThreadRef, ThreadStartParams, TurnInput, TurnRef, TurnStartParams};
use std::borrow::Cow;

/// One turn's lifecycle on this worker, with the ids the worker gave so far. A turn that
/// waits on client tool results across two HTTP requests is `Parked` between them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TurnPhase {
    /// `thread/start` is in flight.
    StartingThread,
    /// The stream gave up before the worker named the thread: the turn ends (interrupted) as
    /// soon as it does.
    CancelledBeforeThread,
    /// `turn/start` is in flight on the thread.
    StartingTurn { thread_id: String },
    /// The stream gave up before the worker named the turn: the interrupt goes out as soon
    /// as it does.
    CancelledBeforeTurn { thread_id: String },
    /// The turn runs.
    Running { thread_id: String, turn_id: String },
    /// `turn/interrupt` was sent; `turn/completed` ends the turn.
    Interrupting { thread_id: String, turn_id: String },
    /// The turn's response ended with client tool calls; it waits, with no stream, for a
    /// follow-up that brings the outputs (`tool_calls.rs`), or is discarded.
    Parked { thread_id: String, turn_id: String },
}

impl TurnPhase {
    fn thread_id(&self) -> Option<&str> {
        match self {
            TurnPhase::StartingThread | TurnPhase::CancelledBeforeThread => None,
            TurnPhase::StartingTurn { thread_id }
            | TurnPhase::CancelledBeforeTurn { thread_id }
            | TurnPhase::Running { thread_id, .. }
            | TurnPhase::Interrupting { thread_id, .. }
            | TurnPhase::Parked { thread_id, .. } => Some(thread_id),
        }
    }
}

impl WorkerConnection {
    pub(super) fn notify(&mut self, key: u64, update: TurnUpdate) {
        if let Some(t) = self.turns.get(&key) {
            self.outbox.send(key, &t.sink, update);
        }
    }

    /// Forgets a finished turn and releases its thread on the worker (`thread/unsubscribe`):
    /// every thread is per request, so a completed, failed or interrupted one is never used
    /// again (an interrupted thread's history is unusable anyway). Without it the worker
    /// keeps every thread loaded and grows per request.
    pub(super) fn drop_turn(&mut self, key: u64) {
        let Some(t) = self.turns.remove(&key) else {
            return;
        };
        if let Some(th) = t.phase.thread_id() {
            self.by_thread.remove(th);
            if self.alive() {
                self.request(
                    RpcMethod::ThreadUnsubscribe,
                    ThreadRef { thread_id: th },
                    None,
                );
            }
        }
    }

    /// Sends `turn/interrupt` for a turn whose ids are known; it becomes `Interrupting`.
    pub(super) fn send_interrupt(&mut self, key: u64, thread_id: String, turn_id: String) {
        let params = TurnRef {
            thread_id: &thread_id,
            turn_id: &turn_id,
        };
        self.request(RpcMethod::TurnInterrupt, params, Some(key));
        if let Some(t) = self.turns.get_mut(&key) {
            t.phase = TurnPhase::Interrupting { thread_id, turn_id };
        }
    }

    /// Takes a turn's phase out to move it on (the placeholder never stays: every caller
    /// puts the next phase back or drops the turn).
    fn take_phase(&mut self, key: u64) -> Option<TurnPhase> {
        self.turns
            .get_mut(&key)
            .map(|t| std::mem::replace(&mut t.phase, TurnPhase::StartingThread))
    }

    pub(super) fn set_phase(&mut self, key: u64, phase: TurnPhase) {
        if let Some(t) = self.turns.get_mut(&key) {
            t.phase = phase;
        }
    }

    /// The worker named the thread (`result.thread.id` of the `thread/start` answer).
    pub(super) fn on_thread_started(&mut self, turn: Option<u64>, thread_id: Option<&str>) {
        let Some(key) = turn else { return };
        let Some(thread_id) = thread_id else {
            self.notify(key, TurnUpdate::Refused);
            self.drop_turn(key);
            return;
        };
        let Some(phase) = self.take_phase(key) else {
            // The stream gave up on the turn before its thread existed: release it now.
            if self.alive() {
                self.request(RpcMethod::ThreadUnsubscribe, ThreadRef { thread_id }, None);
            }
            return;
        };
        let thread_id = thread_id.to_owned();
        match phase {
            TurnPhase::StartingThread => {
                // A replay injects the history first and comes back here when it is on.
                if self.inject_history(key, &thread_id) {
                    return self.set_phase(key, TurnPhase::StartingThread);
                }
                self.by_thread.insert(thread_id.clone(), key);
                let Some(r) = self.turns.get(&key).map(|t| t.request.clone()) else {
                    return;
                };
                let params = Self::turn_start_params(&r, &thread_id);
                self.request(RpcMethod::TurnStart, params, Some(key));
                self.set_phase(key, TurnPhase::StartingTurn { thread_id });
            }
            TurnPhase::CancelledBeforeThread => {
                self.notify(key, TurnUpdate::Completed(TurnStatus::Interrupted));
                // Known now, so that dropping the turn releases the thread.
                self.set_phase(key, TurnPhase::CancelledBeforeTurn { thread_id });
                self.drop_turn(key);
            }
            // A second answer for the same thread changes nothing.
            other @ (TurnPhase::StartingTurn { .. }
            | TurnPhase::CancelledBeforeTurn { .. }
            | TurnPhase::Running { .. }
            | TurnPhase::Interrupting { .. }
            | TurnPhase::Parked { .. }) => self.set_phase(key, other),
        }
    }

    /// The worker named the turn (in the `turn/start` answer or a `turn/started`
    /// notification, whichever comes first).
    pub(super) fn on_turn_started(&mut self, turn: Option<u64>, turn_id: Option<&str>) {
        let (Some(key), Some(turn_id)) = (turn, turn_id) else {
            return;
        };
        let Some(phase) = self.take_phase(key) else {
            return;
        };
        match phase {
            TurnPhase::StartingTurn { thread_id } => {
                self.notify(
                    key,
                    TurnUpdate::Started {
                        thread_id: thread_id.clone(),
                        turn_id: turn_id.to_owned(),
                    },
                );
                let turn_id = turn_id.to_owned();
                self.set_phase(key, TurnPhase::Running { thread_id, turn_id });
            }
            TurnPhase::CancelledBeforeTurn { thread_id } => {
                self.notify(
                    key,
                    TurnUpdate::Started {
                        thread_id: thread_id.clone(),
                        turn_id: turn_id.to_owned(),
                    },
                );
                self.send_interrupt(key, thread_id, turn_id.to_owned());
            }
            other @ (TurnPhase::StartingThread
            | TurnPhase::CancelledBeforeThread
            | TurnPhase::Running { .. }
            | TurnPhase::Interrupting { .. }
            | TurnPhase::Parked { .. }) => self.set_phase(key, other),
        }
    }

    pub(super) fn on_notification(&mut self, method: &str, mut params: protocol::NoteParams<'_>) {
        let key = params
            .thread_id
            .as_deref()
            .and_then(|th| self.by_thread.get(th))
            .copied();
        // Taken out (borrowed from the line): `classify` reads nothing else of it.
        let started_turn: Option<Cow<'_, str>> = match method {
            "turn/started" => params.turn.as_mut().and_then(|t| t.id.take()),
            _ => None,
        };
        if let Some(k) = key {
            let item_type = params.item.as_ref().and_then(|i| i.kind.as_deref());
            self.on_raw_reasoning(k, method, params.item.as_ref());
            if self.on_raw_event(k, method, item_type) {
                return;
            }
        }
        self.account_signal(method, &params);
        let signal = protocol::classify(method, params);
        let Some(key) = key else {
            if signal == TurnSignal::Unknown {
                self.count_unknown();
            }
            return;
        };
        match signal {
            TurnSignal::Delta(kind, text) => self.notify(key, TurnUpdate::Delta { kind, text }),
            TurnSignal::Usage(u) => {
                let u = self.turn_usage(key, u);
                self.notify(key, TurnUpdate::Usage(u))
            }
            TurnSignal::Reasoning(text) => self.notify(key, TurnUpdate::Reasoning(text)),
            TurnSignal::Error(kind) => self.notify(key, TurnUpdate::UpstreamError(kind)),
            TurnSignal::Completed(status) => {
                self.notify(key, TurnUpdate::Completed(status));
                self.drop_turn(key);
            }
            TurnSignal::Ignored => self.on_turn_started(Some(key), started_turn.as_deref()),
            TurnSignal::Unknown => self.count_unknown(),
        }
    }

    /// `thread/start` params of a fresh turn.
    fn thread_start_params<'a>(
        r: &'a TurnRequest,
        settings: &'a ConnectionSettings,
    ) -> ThreadStartParams<'a> {
        let mut params = ThreadStartParams {
            approval_policy: &settings.approval_policy,
            cwd: settings.cwd.as_deref(),
            developer_instructions: r.developer_instructions.as_deref(),
            ephemeral: true,
            model: &r.codex_model,
            sandbox: &settings.sandbox,
            ..ThreadStartParams::default()
        };
        Self::add_tool_params(r, &mut params);
        Self::add_raw_reasoning_params(r, &mut params);
        params
    }

    /// `turn/start` params: the text input (none for a replay, whose history is on the
    /// thread), the effort and the request's features (`turn_options.rs` names them).
    fn turn_start_params<'a>(r: &'a TurnRequest, thread_id: &'a str) -> TurnStartParams<'a> {
        TurnStartParams {
            effort: r.reasoning_effort.as_deref(),
            input: TurnInput {
                text: (!Self::is_replay(r)).then_some(r.input.as_str()),
                images: &r.features.images,
            },
            output_schema: r.features.output_schema.as_ref(),
            summary: r.features.reasoning_summary.as_deref(),
            thread_id,
        }
    }

    pub(super) fn count_unknown(&self) {
        if let Some(c) = &self.settings.unknown_notifications {
            c.inc();
        }
    }

    pub(super) fn on_server_request(&mut self, id: &Value, method: &str, params: &Value) {
        let kind = protocol::server_request_kind(method);
        // A client tool call is answered when the follow-up brings its output.
        if kind == ServerRequestKind::ToolCall && self.on_tool_call(id, params) {
            return;
        }
        let (answer, line) = match kind {
            ServerRequestKind::CommandApproval | ServerRequestKind::FileChangeApproval => {
                let accept = self.settings.accept_approvals;
                let answer = if accept {
                    ServerRequestAnswer::Accepted
                } else {
                    ServerRequestAnswer::Declined
                };
                (
                    answer,
                    protocol::encode_response(id, Ok(protocol::approval_answer(method, accept))),
                )
            }
            _ => (
                ServerRequestAnswer::Unsupported,
                protocol::encode_response(id, Err((-32601, "not supported by codexd"))),
            ),
        };
        self.send_line(line);
        let key = protocol::thread_id(params)
            .and_then(|th| self.by_thread.get(th))
            .copied();
        self.bus
            .publish(Event::Worker(WorkerEvent::ServerRequestAnswered {
                slot: self.slot,
                ids: self.ids_of(key),
                kind,
                answer,
            }));
    }
}

impl Handler<StartTurn> for WorkerConnection {
    type Result = ();
    fn handle(&mut self, mut msg: StartTurn, _: &mut Self::Context) {
        // A worker that is being killed or is gone takes no turn: the stream learns now
        // (the dropped sink says `WorkerLost`), not when its first-token timer fires.
        if !self.alive() {
            return;
        }
        if self.continue_parked(&mut msg) {
            return;
        }
        let Some(sink) = msg.sink.take() else {
            return;
        };
        let r = msg.request.clone();
        self.turns.insert(
            msg.key,
            TurnEntry {
                request: msg.request,
                sink,
                phase: TurnPhase::StartingThread,
                tools: Default::default(),
            },
        );
        let settings = self.settings.clone();
        let params = Self::thread_start_params(&r, &settings);
        self.request(RpcMethod::ThreadStart, params, Some(msg.key));
    }
}

impl Handler<InterruptTurn> for WorkerConnection {
    type Result = ();
    fn handle(&mut self, msg: InterruptTurn, _: &mut Self::Context) {
        let Some(phase) = self.take_phase(msg.key) else {
            return;
        };
        let next = match phase {
            TurnPhase::StartingThread => TurnPhase::CancelledBeforeThread,
            TurnPhase::StartingTurn { thread_id } => TurnPhase::CancelledBeforeTurn { thread_id },
            TurnPhase::Running { thread_id, turn_id }
            | TurnPhase::Parked { thread_id, turn_id } => {
                return self.send_interrupt(msg.key, thread_id, turn_id);
            }
            // Already stopping.
            other @ (TurnPhase::CancelledBeforeThread
            | TurnPhase::CancelledBeforeTurn { .. }
            | TurnPhase::Interrupting { .. }) => other,
        };
        self.set_phase(msg.key, next);
    }
}

impl Handler<ForgetTurn> for WorkerConnection {
    type Result = ();
    fn handle(&mut self, msg: ForgetTurn, _: &mut Self::Context) {
        // A parked turn outlives the stream that parked it.
        if self.is_parked(msg.key) {
            return;
        }
        self.drop_turn(msg.key);
    }
}

impl Handler<ListLoadedThreads> for WorkerConnection {
    type Result = ResponseFuture<Option<Vec<String>>>;
    fn handle(&mut self, _: ListLoadedThreads, _: &mut Self::Context) -> Self::Result {
        if !self.alive() {
            return Box::pin(async { None });
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let id = self.request(RpcMethod::ThreadLoadedList, json!({}), None);
        if let Some(p) = self.pending.get_mut(&id) {
            p.answer = Some(tx);
        }
        Box::pin(async move {
            let result = rx.await.ok().flatten()?;
            let ids = result.get("data")?.as_array()?;
            Some(
                ids.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
            )
        })
    }
}
