//! Turns on one worker: a turn's phases (`TurnPhase`), starting a thread and its turn,
//! routing notifications to the stream that owns the thread, interrupting, and answering the
//! worker's server→client requests (approvals declined unless the operator opted in; anything
//! unsupported gets an error).

use super::*;

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
    pub(super) fn notify(&self, key: u64, update: TurnUpdate) {
        if let Some(t) = self.turns.get(&key) {
            t.sink.do_send(update);
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
                let params = json!({ "threadId": th });
                self.request(RpcMethod::ThreadUnsubscribe, params, None);
            }
        }
    }

    /// Sends `turn/interrupt` for a turn whose ids are known; it becomes `Interrupting`.
    pub(super) fn send_interrupt(&mut self, key: u64, thread_id: String, turn_id: String) {
        self.request(
            RpcMethod::TurnInterrupt,
            json!({"threadId": thread_id, "turnId": turn_id}),
            Some(key),
        );
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

    pub(super) fn on_thread_started(&mut self, turn: Option<u64>, result: &Value) {
        let Some(key) = turn else { return };
        let Some(thread_id) = protocol::started_thread_id(result) else {
            self.notify(key, TurnUpdate::Refused);
            self.drop_turn(key);
            return;
        };
        let Some(phase) = self.take_phase(key) else {
            // The stream gave up on the turn before its thread existed: release it now.
            if self.alive() {
                let params = json!({ "threadId": thread_id });
                self.request(RpcMethod::ThreadUnsubscribe, params, None);
            }
            return;
        };
        match phase {
            TurnPhase::StartingThread => {
                // A replay injects the history first and comes back here when it is on.
                if self.inject_history(key, &thread_id) {
                    return self.set_phase(key, TurnPhase::StartingThread);
                }
                self.by_thread.insert(thread_id.clone(), key);
                self.set_phase(
                    key,
                    TurnPhase::StartingTurn {
                        thread_id: thread_id.clone(),
                    },
                );
                let Some(t) = self.turns.get(&key) else {
                    return;
                };
                let mut params = json!({
                    "threadId": thread_id,
                    "input": [{"type": "text", "text": t.request.input}],
                });
                if let (Some(effort), Some(obj)) =
                    (&t.request.reasoning_effort, params.as_object_mut())
                {
                    obj.insert("effort".into(), Value::String(effort.clone()));
                }
                Self::adjust_turn_start(&t.request, &mut params);
                crate::worker::turn_options::apply(&mut params, &t.request.features);
                self.request(RpcMethod::TurnStart, params, Some(key));
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
    pub(super) fn on_turn_started(&mut self, turn: Option<u64>, turn_id: Option<String>) {
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
                        turn_id: turn_id.clone(),
                    },
                );
                self.set_phase(key, TurnPhase::Running { thread_id, turn_id });
            }
            TurnPhase::CancelledBeforeTurn { thread_id } => {
                self.notify(
                    key,
                    TurnUpdate::Started {
                        thread_id: thread_id.clone(),
                        turn_id: turn_id.clone(),
                    },
                );
                self.send_interrupt(key, thread_id, turn_id);
            }
            other @ (TurnPhase::StartingThread
            | TurnPhase::CancelledBeforeThread
            | TurnPhase::Running { .. }
            | TurnPhase::Interrupting { .. }
            | TurnPhase::Parked { .. }) => self.set_phase(key, other),
        }
    }

    pub(super) fn on_notification(&mut self, method: &str, params: protocol::NoteParams<'_>) {
        let key = params
            .thread_id
            .as_deref()
            .and_then(|th| self.by_thread.get(th))
            .copied();
        let started_turn = match method {
            "turn/started" => params.turn.as_ref().and_then(|t| t.id.clone()),
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
            TurnSignal::Ignored => self.on_turn_started(Some(key), started_turn),
            TurnSignal::Unknown => self.count_unknown(),
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
    fn handle(&mut self, msg: StartTurn, _: &mut Self::Context) {
        // A worker that is being killed or is gone takes no turn: the stream learns now,
        // not when its first-token timer fires.
        if !self.alive() {
            msg.sink.do_send(TurnUpdate::WorkerLost);
            return;
        }
        if self.continue_parked(&msg) {
            return;
        }
        let r = &msg.request;
        let mut params = json!({
            "ephemeral": true,
            "model": r.codex_model,
            "approvalPolicy": self.settings.approval_policy,
            "sandbox": self.settings.sandbox,
        });
        if let Some(obj) = params.as_object_mut() {
            if let Some(di) = &r.developer_instructions {
                obj.insert("developerInstructions".into(), Value::String(di.clone()));
            }
            if let Some(cwd) = &self.settings.cwd {
                obj.insert("cwd".into(), Value::String(cwd.clone()));
            }
            Self::add_tool_params(r, obj);
            Self::add_raw_reasoning_params(r, obj);
        }
        self.turns.insert(
            msg.key,
            TurnEntry {
                request: msg.request,
                sink: msg.sink,
                phase: TurnPhase::StartingThread,
                tools: Default::default(),
            },
        );
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
