//! One `UpstreamStream` actor per in-flight request: starts the turn on its leased worker,
//! forwards deltas to its consumer, owns the keepalive, first-token and idle timers, and
//! interrupts the turn when the client goes away, a timer fires or the daemon shuts down.

use crate::bus::BusHandle;
use crate::events::{Event, StreamEvent, StreamSummary};
use crate::labels::{StreamOutcome, UpstreamErrorKind};
use crate::turn::{
    DeltaKind, StreamFailure, StreamOutput, TokenUsage, TurnRequest, TurnStatus, TurnUpdate,
};
use crate::worker::connection::{ForgetTurn, InterruptTurn, StartTurn};
use crate::worker::Lease;
use actix::prelude::*;
use prometheus::Histogram;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

/// Timers and shared state for every stream.
#[derive(Clone)]
pub struct StreamSettings {
    pub first_token_timeout: Duration,
    pub idle_timeout: Duration,
    pub keepalive: Duration,
    /// How long to wait for the worker to confirm an interrupt.
    pub interrupt_grace: Duration,
    /// Flips to true when in-flight streams must end now (shutdown drain expired).
    pub shutdown: watch::Receiver<bool>,
    /// Streams currently alive, for the shutdown drain.
    pub active: Arc<AtomicUsize>,
    /// Debug-only content capture (`log.capture_content`): log input and output per turn.
    pub capture_content: bool,
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

/// The stream actor.
pub struct UpstreamStream {
    request: Arc<TurnRequest>,
    lease: Option<Lease>,
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
    /// Set when we asked the worker to stop the turn, with the outcome to record.
    aborting: Option<StreamOutcome>,
    idle_timer: Option<SpawnHandle>,
    finished: bool,
    /// The generated text, kept only when content capture is on.
    captured: String,
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
            request,
            lease: Some(lease),
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
            aborting: None,
            idle_timer: None,
            finished: false,
            captured: String::new(),
        }
    }

    fn slot(&self) -> usize {
        self.lease.as_ref().map(|l| l.slot).unwrap_or(0)
    }

    fn emit(&self, e: StreamEvent) {
        self.bus.publish(Event::Stream(e));
    }

    fn arm_idle(&mut self, ctx: &mut Context<Self>) {
        if let Some(h) = self.idle_timer.take() {
            ctx.cancel_future(h);
        }
        self.idle_timer = Some(ctx.run_later(self.settings.idle_timeout, |act, ctx| {
            act.abort(StreamOutcome::TimeoutIdle, ctx);
        }));
    }

    fn on_delta(&mut self, kind: DeltaKind, text: String, ctx: &mut Context<Self>) {
        if self.aborting.is_some() {
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
            if self.settings.capture_content {
                self.captured.push_str(&text);
            }
            let _ = self.out.send(StreamOutput::Text(text));
        }
        self.arm_idle(ctx);
    }

    /// Stops the turn on the worker; the stream ends once the worker confirms (or after the
    /// interrupt grace).
    fn abort(&mut self, outcome: StreamOutcome, ctx: &mut Context<Self>) {
        if self.aborting.is_some() || self.finished {
            return;
        }
        self.aborting = Some(outcome);
        let failure = match outcome {
            StreamOutcome::TimeoutFirstToken => Some(StreamFailure::FirstTokenTimeout),
            StreamOutcome::TimeoutIdle => Some(StreamFailure::IdleTimeout),
            StreamOutcome::Shutdown => Some(StreamFailure::Shutdown),
            _ => None,
        };
        if let Some(f) = failure {
            let _ = self.out.send(StreamOutput::Failed(f));
        }
        if let Some(lease) = &self.lease {
            lease.conn.do_send(InterruptTurn { key: self.key });
        }
        self.emit(StreamEvent::TurnInterruptSent {
            ids: self.request.ctx.ids.clone(),
            slot: self.slot(),
            cause: outcome,
        });
        ctx.run_later(self.settings.interrupt_grace, move |act, ctx| {
            act.finish(outcome, None, ctx);
        });
    }

    fn on_completed(&mut self, status: TurnStatus, ctx: &mut Context<Self>) {
        if let Some(outcome) = self.aborting {
            if status == TurnStatus::Interrupted {
                self.emit(StreamEvent::TurnInterruptConfirmed {
                    ids: self.request.ctx.ids.clone(),
                    slot: self.slot(),
                });
            }
            return self.finish(outcome, None, ctx);
        }
        match (status, self.upstream_error) {
            (TurnStatus::Completed, None) => self.finish(StreamOutcome::Completed, None, ctx),
            (_, Some(kind)) => self.finish(
                StreamOutcome::WorkerError,
                Some(StreamFailure::Upstream(kind)),
                ctx,
            ),
            (_, None) => self.finish(
                StreamOutcome::WorkerError,
                Some(StreamFailure::WorkerError),
                ctx,
            ),
        }
    }

    fn finish(
        &mut self,
        outcome: StreamOutcome,
        failure: Option<StreamFailure>,
        ctx: &mut Context<Self>,
    ) {
        if self.finished {
            return;
        }
        self.finished = true;
        // Time spent waiting on the worker: for a lease in the admission queue, then for the turn.
        let queue_wait = self
            .lease
            .as_ref()
            .map(|l| l.queue_wait)
            .unwrap_or_default();
        let waited = self.turn_sent_at.elapsed() + queue_wait;
        self.timing
            .wait_us
            .store(waited.as_micros() as u64, Ordering::Relaxed);
        match failure {
            Some(f) => {
                let _ = self.out.send(StreamOutput::Failed(f));
            }
            None if outcome == StreamOutcome::Completed => {
                let _ = self.out.send(StreamOutput::Usage(self.usage));
                let _ = self.out.send(StreamOutput::Finished);
            }
            None => {}
        }
        if self.settings.capture_content {
            let output = std::mem::take(&mut self.captured);
            self.emit(StreamEvent::ContentCaptured {
                ids: self.request.ctx.ids.clone(),
                input: self.request.input.clone(),
                output,
            });
        }
        let accepted = self.request.accepted_at;
        let error_type = failure.map(|f| match f {
            StreamFailure::Upstream(kind) => kind.as_str(),
            StreamFailure::WorkerError => "worker_error",
            StreamFailure::WorkerLost => "worker_lost",
            StreamFailure::FirstTokenTimeout => "timeout_first_token",
            StreamFailure::IdleTimeout => "timeout_idle",
            StreamFailure::Shutdown => "shutdown",
        });
        let error_type =
            error_type.or((outcome != StreamOutcome::Completed).then_some(outcome.as_str()));
        self.emit(StreamEvent::StreamEnded(Box::new(StreamSummary {
            ids: self.request.ctx.ids.clone(),
            chat_span_id: self.request.ctx.chat_span_id.clone(),
            sampled: self.request.ctx.sampled,
            stream: self.request.stream,
            codex_model: self.request.codex_model.clone(),
            error_type,
            route: self.request.route,
            model: self.request.model_id.clone(),
            slot: self.slot(),
            outcome,
            duration_ms: accepted.elapsed().as_secs_f64() * 1000.0,
            ttft_ms: self
                .first_token_at
                .map(|t| t.duration_since(accepted).as_secs_f64() * 1000.0),
            chunks: self.chunks,
            usage: self.usage,
        })));
        if let Some(lease) = self.lease.take() {
            lease.conn.do_send(ForgetTurn { key: self.key });
        }
        ctx.stop();
    }
}

impl Actor for UpstreamStream {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.settings.active.fetch_add(1, Ordering::SeqCst);
        let queue_wait = self
            .lease
            .as_ref()
            .map(|l| l.queue_wait)
            .unwrap_or_default();
        self.emit(StreamEvent::StreamStarted {
            ids: self.request.ctx.ids.clone(),
            route: self.request.route,
            model: self.request.model_id.clone(),
            slot: self.slot(),
            stream: self.request.stream,
            queue_wait_ms: queue_wait.as_secs_f64() * 1000.0,
        });
        if let Some(lease) = &self.lease {
            lease.conn.do_send(StartTurn {
                key: self.key,
                request: self.request.clone(),
                sink: ctx.address().recipient(),
            });
        }
        self.turn_sent_at = Instant::now();
        ctx.run_later(self.settings.first_token_timeout, |act, ctx| {
            if act.first_token_at.is_none() {
                act.abort(StreamOutcome::TimeoutFirstToken, ctx);
            }
        });
        if !self.settings.keepalive.is_zero() {
            ctx.run_interval(self.settings.keepalive, |act, _| {
                let _ = act.out.send(StreamOutput::Keepalive);
            });
        }
        let out = self.out.clone();
        ctx.spawn(
            async move { out.closed().await }
                .into_actor(self)
                .map(|_, act, ctx| act.abort(StreamOutcome::ClientAbort, ctx)),
        );
        let mut shutdown = self.settings.shutdown.clone();
        ctx.spawn(
            async move {
                while !*shutdown.borrow_and_update() {
                    if shutdown.changed().await.is_err() {
                        return false;
                    }
                }
                true
            }
            .into_actor(self)
            .map(|now, act, ctx| {
                if now {
                    act.abort(StreamOutcome::Shutdown, ctx);
                }
            }),
        );
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.settings.active.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Handler<TurnUpdate> for UpstreamStream {
    type Result = ();
    fn handle(&mut self, msg: TurnUpdate, ctx: &mut Self::Context) {
        if self.finished {
            return;
        }
        match msg {
            TurnUpdate::Started { thread_id, turn_id } => self.emit(StreamEvent::TurnStarted {
                ids: self.request.ctx.ids.clone(),
                slot: self.slot(),
                thread_id,
                turn_id,
            }),
            TurnUpdate::Delta { kind, text } => self.on_delta(kind, text, ctx),
            TurnUpdate::Usage(u) => self.usage = u,
            TurnUpdate::UpstreamError(kind) => {
                self.upstream_error = Some(kind);
                self.emit(StreamEvent::UpstreamErrorReceived {
                    ids: self.request.ctx.ids.clone(),
                    slot: self.slot(),
                    kind,
                });
            }
            TurnUpdate::Completed(status) => self.on_completed(status, ctx),
            TurnUpdate::Refused => self.finish(
                StreamOutcome::WorkerError,
                Some(StreamFailure::WorkerError),
                ctx,
            ),
            TurnUpdate::WorkerLost => {
                let outcome = self.aborting.unwrap_or(StreamOutcome::WorkerLost);
                let failure = self.aborting.is_none().then_some(StreamFailure::WorkerLost);
                self.finish(outcome, failure, ctx)
            }
        }
    }
}
