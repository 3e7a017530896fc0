//! One actor per live worker process: owns its stdin/stdout framing, JSON-RPC id
//! correlation, the handshake and liveness pings, answers server→client requests, and routes
//! turn notifications to the stream that owns the thread.

mod account;
mod outbox;
mod raw_reasoning;
mod reader;
mod tool_calls;
mod turns;

pub use tool_calls::{tool_answer, DiscardParked, ToolSettings};

use super::lines::LineReader;
use super::process::{ExitInfo, Signal, Spawned};
use super::protocol::{self, Incoming, LineParams, RpcResult, TraceField, TurnSignal};
use crate::bus::BusHandle;
use crate::events::{Event, WorkerEvent};
use crate::labels::{
    ProtocolErrorKind, RestartReason, RpcMethod, RpcOutcome, ServerRequestAnswer, ServerRequestKind,
};
use crate::turn::{ReqIds, TokenUsage, TurnRequest, TurnStatus, TurnUpdate};
use actix::prelude::*;
use serde_json::{json, Value};
use std::collections::HashMap;

/// The hasher of the connection's per-request maps (see the workspace's `foldhash` note).
type FastHash = foldhash::fast::RandomState;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// Per-connection settings, shared by every connection of a pool.
#[derive(Debug, Clone)]
pub struct ConnectionSettings {
    pub handshake_timeout: Duration,
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
    pub max_line_bytes: usize,
    pub accept_approvals: bool,
    pub client_version: String,
    pub approval_policy: String,
    pub sandbox: String,
    pub cwd: Option<String>,
    pub unknown_notifications: Option<prometheus::IntCounter>,
    /// Client tools: the parked-turn registry, its TTL and per-worker cap.
    pub tools: ToolSettings,
    /// Supported reasoning efforts per model, filled from `model/list` after the handshake.
    pub models: Arc<super::models::ModelTable>,
    /// The pool's accounts: what this worker says about its account lands here.
    pub accounts: Arc<crate::accounts::AccountBook>,
}

/// What a connection reports to its supervisor.
#[derive(Message)]
#[rtype(result = "()")]
pub enum ConnectionReport {
    Handshaked {
        slot: usize,
        generation: u64,
        pid: u32,
        took: Duration,
    },
    Exited {
        slot: usize,
        generation: u64,
        pid: u32,
        exit: ExitInfo,
        failure: Option<RestartReason>,
        uptime: Duration,
    },
}

/// Starts one turn on this worker; updates go to `sink`. A connection whose worker is gone
/// (condemned or exited) answers `TurnUpdate::WorkerLost` at once; a message the connection
/// never handles (it stopped first) tells the stream the same when it is dropped
/// ([`TurnSink`]), so the sender needs no answer.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StartTurn {
    pub key: u64,
    pub request: Arc<TurnRequest>,
    pub sink: TurnSink,
}

/// The stream's address for a turn's updates, as `StartTurn` carries it. Dropped before the
/// connection took it (the message was never handled, or the turn was refused), it sends
/// the stream `TurnUpdate::WorkerLost`: what an unanswered request would have meant.
pub struct TurnSink(Option<Recipient<TurnUpdate>>);

impl TurnSink {
    pub fn new(sink: Recipient<TurnUpdate>) -> Self {
        Self(Some(sink))
    }

    /// The address, now the connection's to use (nothing is sent when the guard drops).
    fn take(&mut self) -> Option<Recipient<TurnUpdate>> {
        self.0.take()
    }
}

impl Drop for TurnSink {
    fn drop(&mut self) {
        if let Some(sink) = self.0.take() {
            sink.do_send(TurnUpdate::WorkerLost);
        }
    }
}

/// Interrupts a turn (now, or as soon as its ids are known).
#[derive(Message)]
#[rtype(result = "()")]
pub struct InterruptTurn {
    pub key: u64,
}

/// The stream is done with a turn: stop routing to it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ForgetTurn {
    pub key: u64,
}

/// Asks the worker which threads it holds in memory (`thread/loaded/list`); answered with
/// their ids, or `None` if the worker is gone or refuses. Tests and diagnostics use it to
/// check that finished threads are released.
#[derive(Message)]
#[rtype(result = "Option<Vec<String>>")]
pub struct ListLoadedThreads;

/// Stops the worker: SIGTERM and stdin EOF, then SIGKILL after `grace`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopWorker {
    pub grace: Duration,
}

struct Pending {
    id: u64,
    method: RpcMethod,
    sent_at: Instant,
    turn: Option<u64>,
    /// Who waits for the answer's result (`ListLoadedThreads`).
    answer: Option<tokio::sync::oneshot::Sender<Option<Value>>>,
}

struct TurnEntry {
    request: Arc<TurnRequest>,
    sink: Recipient<TurnUpdate>,
    phase: turns::TurnPhase,
    tools: tool_calls::ToolCalls,
}

#[derive(Default)]
struct StderrStats {
    lines: AtomicU64,
    bytes: AtomicU64,
}

/// The connection's own lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// `initialize` is in flight.
    Handshaking,
    /// Handshaked: turns and liveness pings run.
    Ready,
    /// Killed for this reason (the first one wins); nothing the worker says is trusted.
    Condemned(RestartReason),
}

/// The connection actor.
pub struct WorkerConnection {
    slot: usize,
    generation: u64,
    pid: u32,
    settings: Arc<ConnectionSettings>,
    bus: BusHandle,
    supervisor: Recipient<ConnectionReport>,
    writer: Option<mpsc::UnboundedSender<Vec<u8>>>,
    /// Turn updates held while a read of stdout is handled (`outbox.rs`).
    outbox: outbox::Outbox,
    control: mpsc::UnboundedSender<Signal>,
    next_id: u64,
    pending: HashMap<u64, Pending, FastHash>,
    turns: HashMap<u64, TurnEntry, FastHash>,
    by_thread: HashMap<String, u64, FastHash>,
    spawned_at: Instant,
    link: Link,
    stderr: Arc<StderrStats>,
    stderr_reported: (u64, u64),
    parts: Option<Spawned>,
    /// The stdin writer and stderr reader: tasks of their own (so lines queued while the
    /// actor handles a burst of messages go out in one write), owned here and aborted when
    /// the connection is dropped.
    pipes: tokio::task::JoinSet<()>,
    /// The process exited: no turn is taken any more.
    exited: bool,
}

impl WorkerConnection {
    pub fn new(
        slot: usize,
        generation: u64,
        spawned: Spawned,
        settings: Arc<ConnectionSettings>,
        bus: BusHandle,
        supervisor: Recipient<ConnectionReport>,
    ) -> Self {
        Self {
            slot,
            generation,
            pid: spawned.pid,
            settings,
            bus,
            supervisor,
            writer: None,
            outbox: outbox::Outbox::default(),
            control: spawned.control.clone(),
            next_id: 1,
            pending: HashMap::default(),
            turns: HashMap::default(),
            by_thread: HashMap::default(),
            spawned_at: Instant::now(),
            link: Link::Handshaking,
            stderr: Arc::default(),
            stderr_reported: (0, 0),
            parts: Some(spawned),
            pipes: tokio::task::JoinSet::new(),
            exited: false,
        }
    }

    fn send_line(&mut self, line: Vec<u8>) {
        if let Some(w) = &self.writer {
            let _ = w.send(line);
        }
    }

    /// Sends a request (its params serialised straight into the line) and tracks its answer.
    fn request<P: LineParams>(&mut self, method: RpcMethod, params: P, turn: Option<u64>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let line = self.encode_request(id, method, params, turn);
        self.send_line(line);
        self.track(id, method, turn);
        id
    }

    /// The request line: its trace context is the turn's, borrowed.
    fn encode_request<P: LineParams>(
        &self,
        id: u64,
        method: RpcMethod,
        params: P,
        turn: Option<u64>,
    ) -> Vec<u8> {
        let field = turn.and_then(|k| self.turns.get(&k)).and_then(|t| {
            let ctx = &t.request.ctx;
            ctx.traceparent.as_deref().map(|tp| TraceField {
                traceparent: tp,
                tracestate: ctx.tracestate.as_deref(),
            })
        });
        protocol::encode_request(id, method.as_str(), params, field)
    }

    /// Waits for the answer of a request just sent.
    fn track(&mut self, id: u64, method: RpcMethod, turn: Option<u64>) {
        self.pending.insert(
            id,
            Pending {
                id,
                method,
                sent_at: Instant::now(),
                turn,
                answer: None,
            },
        );
    }

    /// Whether the worker can still run turns (not condemned, not exited).
    fn alive(&self) -> bool {
        !self.exited && !matches!(self.link, Link::Condemned(_))
    }

    /// Tells every turn still routed here that its worker is gone, and forgets them.
    fn lose_turns(&mut self) {
        // What the worker said before it went comes first.
        self.outbox.flush();
        self.forget_parked();
        self.by_thread.clear();
        for (_, t) in self.turns.drain() {
            t.sink.do_send(TurnUpdate::WorkerLost);
        }
    }

    fn fail(&mut self, reason: RestartReason) {
        if !matches!(self.link, Link::Condemned(_)) {
            self.link = Link::Condemned(reason);
        }
        let _ = self.control.send(Signal::Kill);
    }

    fn ids_of(&self, turn: Option<u64>) -> Option<ReqIds> {
        turn.and_then(|k| self.turns.get(&k))
            .map(|t| t.request.ctx.ids.clone())
    }

    fn rpc_done(&self, p: &Pending, outcome: RpcOutcome, error_code: Option<i64>) {
        let duration_ms = p.sent_at.elapsed().as_secs_f64() * 1000.0;
        // The request's ids are for the debug line and the span only: copied when one of
        // them is wanted (the metrics read the method, outcome and duration).
        let wanted = || {
            self.bus
                .needs(&Event::Worker(WorkerEvent::WorkerRpcCompleted {
                    slot: self.slot,
                    ids: Some(ReqIds::default()),
                    parent_span_id: Some(String::new()),
                    sampled: true,
                    rpc_id: p.id,
                    error_code,
                    method: p.method,
                    outcome,
                    duration_ms,
                }))
        };
        let ctx = p
            .turn
            .and_then(|k| self.turns.get(&k))
            .map(|t| &t.request.ctx)
            .filter(|_| wanted());
        self.bus
            .publish(Event::Worker(WorkerEvent::WorkerRpcCompleted {
                slot: self.slot,
                ids: ctx.map(|c| c.ids.clone()),
                parent_span_id: ctx.map(|c| c.chat_span_id.clone()),
                sampled: ctx.is_some_and(|c| c.sampled),
                rpc_id: p.id,
                error_code,
                method: p.method,
                outcome,
                duration_ms,
            }));
    }

    fn on_response(
        &mut self,
        id: u64,
        outcome: Result<RpcResult<'_>, protocol::RpcError>,
        ctx: &mut Context<Self>,
    ) {
        let Some(mut p) = self.pending.remove(&id) else {
            return;
        };
        match &outcome {
            Ok(_) => self.rpc_done(&p, RpcOutcome::Ok, None),
            Err(e) => self.rpc_done(&p, RpcOutcome::Error, Some(e.code)),
        }
        if let Some(answer) = p.answer.take() {
            let _ = answer.send(outcome.as_ref().ok().map(RpcResult::value));
        }
        match (p.method, outcome) {
            (RpcMethod::Initialize, Ok(_)) => {
                self.send_line(protocol::encode_notification("initialized"));
                self.link = Link::Ready;
                self.supervisor.do_send(ConnectionReport::Handshaked {
                    slot: self.slot,
                    generation: self.generation,
                    pid: self.pid,
                    took: self.spawned_at.elapsed(),
                });
                self.schedule_ping(ctx);
                self.read_account();
                self.request(RpcMethod::ModelList, json!({"includeHidden": true}), None);
            }
            (RpcMethod::ModelList, Ok(result)) => {
                self.settings.models.record(&result.value());
            }
            (RpcMethod::Initialize, Err(_)) => self.fail(RestartReason::HandshakeFailed),
            (RpcMethod::AccountRead, answer) => {
                self.on_account_read(answer.ok().map(|r| r.value()).as_ref());
                self.schedule_ping(ctx)
            }
            (RpcMethod::AccountRateLimitsRead, answer) => {
                self.on_rate_limits_read(answer.ok().map(|r| r.value()))
            }
            (RpcMethod::ThreadStart, Ok(result)) => {
                self.on_thread_started(p.turn, result.thread_id().as_deref())
            }
            (RpcMethod::TurnStart, Ok(result)) => {
                self.on_turn_started(p.turn, result.turn_id().as_deref())
            }
            (RpcMethod::ThreadInjectItems, Ok(_)) => self.on_history_injected(p.turn),
            (
                RpcMethod::ThreadStart | RpcMethod::TurnStart | RpcMethod::ThreadInjectItems,
                Err(_),
            ) => {
                if let Some(key) = p.turn {
                    self.notify(key, TurnUpdate::Refused);
                    self.drop_turn(key);
                }
            }
            (
                RpcMethod::TurnInterrupt
                | RpcMethod::ThreadUnsubscribe
                | RpcMethod::ThreadLoadedList
                | RpcMethod::ModelList,
                _,
            ) => {}
        }
    }

    fn on_protocol_error(&mut self, kind: ProtocolErrorKind, bytes: u64) {
        self.bus
            .publish(Event::Worker(WorkerEvent::WorkerProtocolError {
                slot: self.slot,
                pid: self.pid,
                kind,
                line_bytes: bytes,
            }));
        // An oversized line means framing can no longer be trusted: restart the worker.
        if kind == ProtocolErrorKind::LineTooLong {
            self.fail(RestartReason::ProtocolError);
        }
    }

    fn schedule_ping(&mut self, ctx: &mut Context<Self>) {
        ctx.run_later(self.settings.ping_interval, |act, ctx| {
            let id = act.request(RpcMethod::AccountRead, json!({}), None);
            ctx.run_later(act.settings.ping_timeout, move |act, _| {
                if let Some(p) = act.pending.remove(&id) {
                    act.rpc_done(&p, RpcOutcome::Timeout, None);
                    act.bus
                        .publish(Event::Worker(WorkerEvent::WorkerUnresponsive {
                            slot: act.slot,
                            pid: act.pid,
                            waited_ms: p.sent_at.elapsed().as_millis() as u64,
                        }));
                    act.fail(RestartReason::Unresponsive);
                }
            });
        });
    }

    fn report_stderr(&mut self) {
        let lines = self.stderr.lines.load(Ordering::Relaxed);
        let bytes = self.stderr.bytes.load(Ordering::Relaxed);
        if (lines, bytes) != self.stderr_reported {
            self.bus
                .publish(Event::Worker(WorkerEvent::WorkerStderrObserved {
                    slot: self.slot,
                    lines: lines - self.stderr_reported.0,
                    bytes: bytes - self.stderr_reported.1,
                }));
            self.stderr_reported = (lines, bytes);
        }
    }

    fn on_exit(&mut self, exit: ExitInfo, ctx: &mut Context<Self>) {
        self.report_stderr();
        for (_, p) in std::mem::take(&mut self.pending) {
            self.rpc_done(&p, RpcOutcome::WorkerLost, None);
        }
        self.exited = true;
        self.lose_turns();
        self.supervisor.do_send(ConnectionReport::Exited {
            slot: self.slot,
            generation: self.generation,
            pid: self.pid,
            exit,
            failure: match self.link {
                Link::Condemned(reason) => Some(reason),
                Link::Handshaking | Link::Ready => None,
            },
            uptime: self.spawned_at.elapsed(),
        });
        ctx.stop();
    }
}

impl Actor for WorkerConnection {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let Some(parts) = self.parts.take() else {
            return;
        };
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let mut stdin = parts.stdin;
        // The pipe tasks are owned by `self.pipes`: they end with the connection.
        self.pipes.spawn_local(async move {
            // Lines queued together go out in one write: one wake-up of the worker, not one
            // per line. Woken by the first line, the writer first lets the arbiter run what
            // else is ready (other streams starting their turns, the rest of a read of
            // stdout), so that their lines join this write.
            while let Some(mut batch) = rx.recv().await {
                tokio::task::yield_now().await;
                while let Ok(more) = rx.try_recv() {
                    batch.extend_from_slice(&more);
                }
                if stdin.write_all(&batch).await.is_err() {
                    break;
                }
            }
        });
        self.writer = Some(tx);
        ctx.spawn(reader::StdoutReader::new(
            parts.stdout,
            self.settings.max_line_bytes,
        ));
        let stats = self.stderr.clone();
        let mut stderr = parts.stderr;
        self.pipes.spawn_local(async move {
            let mut buf = vec![0u8; 8192];
            while let Ok(n) = stderr.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                let lines = buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
                stats.lines.fetch_add(lines, Ordering::Relaxed);
                stats.bytes.fetch_add(n as u64, Ordering::Relaxed);
            }
        });
        ctx.spawn(
            actix::fut::wrap_future(parts.exited).map(|res, act: &mut Self, ctx| {
                let exit = res.unwrap_or(ExitInfo {
                    code: None,
                    signal: None,
                });
                act.on_exit(exit, ctx);
            }),
        );
        ctx.run_interval(Duration::from_secs(1), |act, _| act.report_stderr());
        ctx.run_interval(Duration::from_secs(1), |act, _| act.sweep_parked());
        self.request(
            RpcMethod::Initialize,
            json!({"clientInfo": {"name": "codexd", "version": self.settings.client_version},
                   "capabilities": {"experimentalApi": true}}),
            None,
        );
        ctx.run_later(self.settings.handshake_timeout, |act, _| {
            if act.link != Link::Ready {
                act.fail(RestartReason::HandshakeTimeout);
            }
        });
    }

    /// However the connection ends, no turn is left waiting on it.
    fn stopped(&mut self, _: &mut Self::Context) {
        self.lose_turns();
    }
}

impl Handler<StopWorker> for WorkerConnection {
    type Result = ();
    fn handle(&mut self, msg: StopWorker, ctx: &mut Self::Context) {
        self.writer = None;
        let _ = self.control.send(Signal::Terminate);
        ctx.run_later(msg.grace, |act, _| {
            let _ = act.control.send(Signal::Kill);
        });
    }
}
