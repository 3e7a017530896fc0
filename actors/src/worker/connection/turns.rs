//! Turns on one worker: starting a thread and its turn, routing notifications to the stream
//! that owns the thread, interrupting, and answering the worker's server→client requests
//! (approvals declined unless the operator opted in; anything unsupported gets an error).

use super::*;

impl WorkerConnection {
    pub(super) fn notify(&self, key: u64, update: TurnUpdate) {
        if let Some(t) = self.turns.get(&key) {
            t.sink.do_send(update);
        }
    }

    pub(super) fn drop_turn(&mut self, key: u64) {
        if let Some(t) = self.turns.remove(&key) {
            if let Some(th) = t.thread_id {
                self.by_thread.remove(&th);
            }
        }
    }

    pub(super) fn send_interrupt(&mut self, key: u64) {
        let Some(t) = self.turns.get(&key) else {
            return;
        };
        if let (Some(th), Some(tu)) = (t.thread_id.clone(), t.turn_id.clone()) {
            self.request(
                RpcMethod::TurnInterrupt,
                json!({"threadId": th, "turnId": tu}),
                Some(key),
            );
        }
    }

    pub(super) fn on_thread_started(&mut self, turn: Option<u64>, result: &Value) {
        let Some(key) = turn else { return };
        let Some(thread_id) = protocol::started_thread_id(result) else {
            self.notify(key, TurnUpdate::Refused);
            self.drop_turn(key);
            return;
        };
        self.by_thread.insert(thread_id.clone(), key);
        let Some(t) = self.turns.get_mut(&key) else {
            return;
        };
        t.thread_id = Some(thread_id.clone());
        if t.interrupt {
            t.sink
                .do_send(TurnUpdate::Completed(TurnStatus::Interrupted));
            self.drop_turn(key);
            return;
        }
        let mut params = json!({
            "threadId": thread_id,
            "input": [{"type": "text", "text": t.request.input}],
        });
        if let (Some(effort), Some(obj)) = (&t.request.reasoning_effort, params.as_object_mut()) {
            obj.insert("effort".into(), Value::String(effort.clone()));
        }
        self.request(RpcMethod::TurnStart, params, Some(key));
    }

    pub(super) fn on_turn_started(&mut self, turn: Option<u64>, turn_id: Option<String>) {
        let Some(key) = turn else { return };
        let Some(t) = self.turns.get_mut(&key) else {
            return;
        };
        if t.turn_id.is_none() {
            t.turn_id = turn_id;
        }
        if let (Some(th), Some(tu)) = (&t.thread_id, &t.turn_id) {
            t.sink.do_send(TurnUpdate::Started {
                thread_id: th.clone(),
                turn_id: tu.clone(),
            });
        }
        if t.interrupt {
            self.send_interrupt(key);
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
        let signal = protocol::classify(method, params);
        let Some(key) = key else {
            if signal == TurnSignal::Unknown {
                self.count_unknown();
            }
            return;
        };
        match signal {
            TurnSignal::Delta(kind, text) => self.notify(key, TurnUpdate::Delta { kind, text }),
            TurnSignal::Usage(u) => self.notify(key, TurnUpdate::Usage(u)),
            TurnSignal::Error(kind) => self.notify(key, TurnUpdate::UpstreamError(kind)),
            TurnSignal::Completed(status) => {
                self.notify(key, TurnUpdate::Completed(status));
                self.drop_turn(key);
            }
            TurnSignal::Ignored => {
                if let (Some(t), Some(id)) = (self.turns.get_mut(&key), started_turn) {
                    if t.turn_id.is_none() {
                        t.turn_id = Some(id);
                    }
                }
            }
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
        }
        self.turns.insert(
            msg.key,
            TurnEntry {
                request: msg.request,
                sink: msg.sink,
                thread_id: None,
                turn_id: None,
                interrupt: false,
            },
        );
        self.request(RpcMethod::ThreadStart, params, Some(msg.key));
    }
}

impl Handler<InterruptTurn> for WorkerConnection {
    type Result = ();
    fn handle(&mut self, msg: InterruptTurn, _: &mut Self::Context) {
        let Some(t) = self.turns.get_mut(&msg.key) else {
            return;
        };
        if t.interrupt {
            return;
        }
        t.interrupt = true;
        self.send_interrupt(msg.key);
    }
}

impl Handler<ForgetTurn> for WorkerConnection {
    type Result = ();
    fn handle(&mut self, msg: ForgetTurn, _: &mut Self::Context) {
        self.drop_turn(msg.key);
    }
}
