//! One `UpstreamStream` actor per in-flight request: starts the turn on its leased worker,
//! forwards deltas to its consumer, owns the keepalive, first-token and idle timers, and
//! interrupts the turn when the client goes away, a timer fires or the supervisor's drain
//! deadline passes. Its phases (`Phase`) carry the lease while it holds capacity; it ends
//! exactly once, with one `StreamOutcome`.
//!
//! Cost per stream, on purpose: actix polls every future an actor has spawned each time the
//! actor wakes (each delta), so a stream keeps at most three: the turn start, one watcher
//! (client gone or drain, whichever comes first) and one timer (`stream/timer.rs`) that serves
//! keepalive, first-token and idle deadlines and is not re-armed per delta.

use crate::bus::BusHandle;
use crate::events::{Event, StreamEvent, StreamSummary};
use crate::labels::UpstreamErrorKind;
use crate::outcome::StreamOutcome;
use crate::turn::{DeltaKind, StreamOutput, TokenUsage, TurnRequest, TurnStatus, TurnUpdate};
use crate::worker::connection::{ForgetTurn, InterruptTurn, StartTurn, TurnSink};
use crate::worker::Lease;
use actix::prelude::*;
use prometheus::Histogram;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

mod retry;
mod timer;

static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

/// Timers and shared state for every stream.
#[derive(Clone)]
pub struct StreamSettings {
    pub first_token_timeout: Duration,
    pub idle_timeout: Duration,
    pub keepalive: Duration,
    /// How long to wait for the worker to confirm an interrupt.
    pub interrupt_grace: Duration,
    /// Streams currently alive (the idle heap trim watches it).
    pub active: Arc<AtomicUsize>,
    /// Debug-only content capture (`log.capture_content`): log input and output per turn.
    pub capture_content: bool,
    /// A turn that fails before its first generated delta is retried once elsewhere
    /// (`stream/retry.rs`).
    pub retry_before_first_byte: bool,
}

/// Time spent waiting on the worker, shared with the HTTP layer for the overhead metric.
#[derive(Default, Debug)]
pub struct UpstreamTiming {
    wait_us: AtomicU64,
}

impl UpstreamTiming {
    pub fn wait(&self) -> Duration {
        Duration::from_micros(self.wait_us.load(Ordering::Relaxed))
    }
}

/// The stream's lifecycle; the lease lives in the phases that hold capacity.
enum Phase {
    /// The turn runs on the leased worker.
    Running { lease: Lease },
    /// The worker was asked to stop the turn; the stream ends with `outcome` when it
    /// confirms, fails or the interrupt grace passes. The consumer was already told.
    Aborting {
        lease: Lease,
        outcome: StreamOutcome,
    },
    /// The outcome is recorded and the lease given back; the actor is stopping.
    Ended,
}

/// The stream actor.
pub struct UpstreamStream {
    request: Arc<TurnRequest>,
    phase: Phase,
    slot: usize,
    queue_wait: Duration,
    key: u64,
    out: mpsc::UnboundedSender<StreamOutput>,
    bus: BusHandle,
    settings: StreamSettings,
    chunk_gap: Histogram,
    timing: Arc<UpstreamTiming>,
    turn_sent_at: Instant,
    first_token_at: Option<Instant>,
    last_delta_at: Option<Instant>,
    chunks: u64,
    usage: TokenUsage,
    upstream_error: Option<UpstreamErrorKind>,
    /// The next keepalive comment, when keepalives are on (`stream/timer.rs`).
    next_keepalive: Option<Instant>,
    /// The generated text, kept only when content capture is on.
    captured: String,
    /// The request's stop sequences, when it sent some.
    stop: Option<crate::stop::StopMatcher>,
    /// Whether the one retry before the first byte was spent.
    retried: bool,
    /// A unary request's text so far: its consumer needs it only with the end, so it is
    /// sent once, before `Usage`, instead of waking the consumer's thread per delta batch.
    unary_text: String,
    /// The answer to an `AcquireStream` granted at once, held unanswered until the stream
    /// is dropped: answering, or dropping it, would wake the requester for nothing.
    _admission: Option<crate::worker::supervisor::Admitted>,
}

impl UpstreamStream {
    pub fn new(
        request: Arc<TurnRequest>,
        lease: Lease,
        out: mpsc::UnboundedSender<StreamOutput>,
        bus: BusHandle,
        settings: StreamSettings,
        chunk_gap: Histogram,
        timing: Arc<UpstreamTiming>,
    ) -> Self {
        Self {
            stop: crate::stop::StopMatcher::new(&request.features.stop),
            request,
            slot: lease.slot,
            queue_wait: lease.queue_wait,
            phase: Phase::Running { lease },
            key: NEXT_KEY.fetch_add(1, Ordering::Relaxed),
            out,
            bus,
            settings,
            chunk_gap,
            timing,
            turn_sent_at: Instant::now(),
            first_token_at: None,
            last_delta_at: None,
            chunks: 0,
            usage: TokenUsage::default(),
            upstream_error: None,
            next_keepalive: None,
            captured: String::new(),
            retried: false,
            unary_text: String::new(),
            _admission: None,
        }
    }

    /// Keeps the answer of an `AcquireStream` granted at once for as long as the stream lives.
    pub fn holding(mut self, admission: Option<crate::worker::supervisor::Admitted>) -> Self {
        self._admission = admission;
        self
    }

    fn emit(&self, e: StreamEvent) {
        self.bus.publish(Event::Stream(e));
    }

    fn on_delta(&mut self, kind: DeltaKind, text: String, ctx: &mut Context<Self>) {
        if !matches!(self.phase, Phase::Running { .. }) {
            return;
        }
        let now = Instant::now();
        match self.last_delta_at {
            None => {
                self.first_token_at = Some(now);
                let ttft = now.duration_since(self.request.accepted_at);
                self.emit(StreamEvent::FirstTokenReceived {
                    ids: self.request.ctx.ids.clone(),
                    route: self.request.route,
                    model: self.request.model_id.clone(),
                    ttft_ms: ttft.as_secs_f64() * 1000.0,
                });
            }
            Some(prev) => self
                .chunk_gap
                .observe(now.duration_since(prev).as_secs_f64()),
        }
        self.last_delta_at = Some(now);
        self.chunks += 1;
        if kind == DeltaKind::Text && !text.is_empty() {
            let (text, stopped) = match &mut self.stop {
                Some(m) => m.feed(&text),
                None => (text, false),
            };
            if self.settings.capture_content {
                self.captured.push_str(&text);
            }
            self.send_text(text);
            if stopped {
                // A stop sequence: the answer is complete; the rest of the turn is not wanted.
                self.flush_unary_text();
                let _ = self.out.send(StreamOutput::Usage(self.usage));
                self.abort(StreamOutcome::Completed, ctx);
            }
        }
        // No timer to re-arm: the idle deadline moves with `last_delta_at`, which the stream's
        // one timer reads when it fires (`stream/timer.rs`).
    }

    /// Text for the consumer: sent now when it streams, held until the end when it is unary.
    fn send_text(&mut self, text: String) {
        if text.is_empty() {
            return;
        }
        if self.request.stream {
            let _ = self.out.send(StreamOutput::Text(text));
        } else if self.unary_text.is_empty() {
            self.unary_text = text;
        } else {
            self.unary_text.push_str(&text);
        }
    }

    /// A unary answer's held text, sent before its `Usage` and `Ended`.
    fn flush_unary_text(&mut self) {
        if !self.unary_text.is_empty() {
            let text = std::mem::take(&mut self.unary_text);
            let _ = self.out.send(StreamOutput::Text(text));
        }
    }

    /// Stops the turn on the worker: `Running` becomes `Aborting`. The consumer learns the
    /// outcome now (a client that left learns nothing); the stream ends once the worker
    /// confirms, or after the interrupt grace.
    fn abort(&mut self, outcome: StreamOutcome, ctx: &mut Context<Self>) {
        let lease = match std::mem::replace(&mut self.phase, Phase::Ended) {
            Phase::Running { lease } => lease,
            other @ (Phase::Aborting { .. } | Phase::Ended) => {
                self.phase = other;
                return;
            }
        };
        if outcome != StreamOutcome::ClientAbort {
            let _ = self.out.send(StreamOutput::Ended(outcome));
        }
        // A connection that is gone has no turn left to stop: end now, not after the grace.
        let interrupt = lease.conn.send(InterruptTurn { key: self.key });
        ctx.spawn(interrupt.into_actor(self).map(|sent, act, ctx| {
            if sent.is_err() {
                act.end_aborted(ctx);
            }
        }));
        self.emit(StreamEvent::TurnInterruptSent {
            ids: self.request.ctx.ids.clone(),
            slot: self.slot,
            cause: outcome,
        });
        self.phase = Phase::Aborting { lease, outcome };
        ctx.run_later(self.settings.interrupt_grace, |act, ctx| {
            act.end_aborted(ctx)
        });
    }

    fn on_completed(&mut self, status: TurnStatus, ctx: &mut Context<Self>) {
        let outcome = match (&self.phase, status, self.upstream_error) {
            (Phase::Aborting { .. }, TurnStatus::Interrupted, _) => {
                self.emit(StreamEvent::TurnInterruptConfirmed {
                    ids: self.request.ctx.ids.clone(),
                    slot: self.slot,
                });
                return self.end_aborted(ctx);
            }
            (_, TurnStatus::Completed, None) => {
                let held = self.stop.as_mut().map(|m| m.flush()).unwrap_or_default();
                self.send_text(held);
                StreamOutcome::Completed
            }
            (_, _, upstream) => StreamOutcome::worker_error(upstream),
        };
        self.end(outcome, ctx)
    }

    /// Ends an interrupted stream with the abort's outcome.
    fn end_aborted(&mut self, ctx: &mut Context<Self>) {
        if let Phase::Aborting { outcome, .. } = &self.phase {
            let outcome = *outcome;
            self.end(outcome, ctx);
        }
    }

    /// Ends the stream, once: with `outcome` if the turn was running, with the abort's own
    /// outcome if it was being interrupted. Records the summary and gives the lease back.
    fn end(&mut self, outcome: StreamOutcome, ctx: &mut Context<Self>) {
        // A running turn's consumer learns the end last, once the summary is on the bus and
        // the wait is recorded: the request's own `request_completed` (published when the
        // consumer has its end, on another thread) then always comes after `stream_ended`
        // and reads the final upstream wait.
        let (lease, outcome, tell) = match std::mem::replace(&mut self.phase, Phase::Ended) {
            Phase::Running { lease } => (lease, outcome, true),
            Phase::Aborting { lease, outcome } => (lease, outcome, false),
            Phase::Ended => return,
        };
        // Time spent waiting on the worker: for a lease in the admission queue, then for the turn.
        let waited = self.turn_sent_at.elapsed() + self.queue_wait;
        self.timing
            .wait_us
            .store(waited.as_micros() as u64, Ordering::Relaxed);
        if self.settings.capture_content {
            let output = std::mem::take(&mut self.captured);
            self.emit(StreamEvent::ContentCaptured {
                ids: self.request.ctx.ids.clone(),
                input: self.request.input.clone(),
                output,
            });
        }
        let accepted = self.request.accepted_at;
        self.emit(StreamEvent::StreamEnded(Box::new(StreamSummary {
            ids: self.request.ctx.ids.clone(),
            chat_span_id: self.request.ctx.chat_span_id.clone(),
            sampled: self.request.ctx.sampled,
            stream: self.request.stream,
            codex_model: self.request.codex_model.clone(),
            error_type: outcome.error_type(),
            route: self.request.route,
            model: self.request.model_id.clone(),
            slot: self.slot,
            outcome,
            duration_ms: accepted.elapsed().as_secs_f64() * 1000.0,
            ttft_ms: self
                .first_token_at
                .map(|t| t.duration_since(accepted).as_secs_f64() * 1000.0),
            chunks: self.chunks,
            usage: self.usage,
            features: crate::request_features::FeatureFacts::of(&self.request),
        })));
        if tell {
            if outcome.is_completed() {
                self.flush_unary_text();
                let _ = self.out.send(StreamOutput::Usage(self.usage));
            }
            let _ = self.out.send(StreamOutput::Ended(outcome));
        }
        // Nothing to forget on a connection that is gone.
        lease.conn.do_send(ForgetTurn { key: self.key });
        drop(lease);
        ctx.stop();
    }
}

impl Actor for UpstreamStream {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.settings.active.fetch_add(1, Ordering::SeqCst);
        self.emit(StreamEvent::StreamStarted {
            ids: self.request.ctx.ids.clone(),
            route: self.request.route,
            model: self.request.model_id.clone(),
            slot: self.slot,
            stream: self.request.stream,
            queue_wait_ms: self.queue_wait.as_secs_f64() * 1000.0,
        });
        let Phase::Running { lease } = &self.phase else {
            return;
        };
        // The lease's connection may be gone already (its worker died after the lease was
        // granted), or stop before it handles the turn: either way the message is dropped
        // unhandled and its sink tells this stream `WorkerLost` (retried, or the stream
        // ends as `worker_lost`). Once the turn is accepted, the connection reports
        // its loss itself (`TurnUpdate::WorkerLost`, also when it stops).
        lease.conn.do_send(StartTurn {
            key: self.key,
            request: self.request.clone(),
            sink: TurnSink::new(ctx.address().recipient()),
        });
        let drain_deadline = lease.interrupted();
        self.turn_sent_at = Instant::now();
        self.start_timer(ctx);
        // One watcher for both ends from outside; the first to happen aborts the turn (the
        // other would find it aborted already). A vanished client wins a tie, as before.
        let out = self.out.clone();
        ctx.spawn(
            async move {
                tokio::select! {
                    biased;
                    () = out.closed() => StreamOutcome::ClientAbort,
                    () = drain_deadline => StreamOutcome::Shutdown,
                }
            }
            .into_actor(self)
            .map(|outcome, act, ctx| act.abort(outcome, ctx)),
        );
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.settings.active.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Handler<TurnUpdate> for UpstreamStream {
    type Result = ();
    fn handle(&mut self, msg: TurnUpdate, ctx: &mut Self::Context) {
        if let TurnUpdate::Batch(updates) = msg {
            for u in updates {
                self.handle(u, ctx);
            }
            return;
        }
        if matches!(self.phase, Phase::Ended) || self.retry_instead(&msg, ctx) {
            return;
        }
        match msg {
            TurnUpdate::Started { thread_id, turn_id } => self.emit(StreamEvent::TurnStarted {
                ids: self.request.ctx.ids.clone(),
                slot: self.slot,
                thread_id,
                turn_id,
            }),
            TurnUpdate::Delta { kind, text } => self.on_delta(kind, text, ctx),
            TurnUpdate::Usage(u) => self.usage = u,
            TurnUpdate::Reasoning(text) => {
                self.on_delta(DeltaKind::Reasoning, String::new(), ctx);
                if matches!(self.phase, Phase::Running { .. }) && !text.is_empty() {
                    let _ = self.out.send(StreamOutput::Reasoning(text));
                }
            }
            TurnUpdate::UpstreamError(kind) => {
                self.upstream_error = Some(kind);
                self.emit(StreamEvent::UpstreamErrorReceived {
                    ids: self.request.ctx.ids.clone(),
                    slot: self.slot,
                    kind,
                });
            }
            TurnUpdate::Completed(status) => self.on_completed(status, ctx),
            TurnUpdate::Refused => self.end(StreamOutcome::worker_error(None), ctx),
            TurnUpdate::WorkerLost => self.end(StreamOutcome::WorkerLost, ctx),
            TurnUpdate::ToolCall(call) => {
                self.on_delta(DeltaKind::Tool, String::new(), ctx);
                if matches!(self.phase, Phase::Running { .. }) {
                    let _ = self.out.send(StreamOutput::ToolCall(call));
                }
            }
            // The turn waits for the tool outputs on its worker: this request is complete.
            TurnUpdate::Parked => self.end(StreamOutcome::Completed, ctx),
            TurnUpdate::ReasoningItem(item) => {
                if matches!(self.phase, Phase::Running { .. }) {
                    let _ = self.out.send(StreamOutput::ReasoningItem(item));
                }
            }
            // Taken apart above.
            TurnUpdate::Batch(_) => {}
        }
    }
}
