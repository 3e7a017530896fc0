//! Starts the daemon's actor tree in the test's actix `System`, wired as `src/runtime.rs` and
//! `src/wiring.rs` wire it (bus; metrics, health and a recorder as required subscribers; the
//! supervisor on an in-process launcher), with millisecond timings, plus helpers to ask for
//! leases and to start streams.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use codexd_actors::bus::Subscribe;
use codexd_actors::health::{GetReadiness, HealthAggregator, HealthSettings, HealthSnapshot};
use codexd_actors::ingress::{RouteClass, RouteLabel};
use codexd_actors::labels::{ReadinessReason, RejectReason};
use codexd_actors::metrics::{Metrics, MetricsCollector, MetricsSettings};
use codexd_actors::stream::{StreamSettings, UpstreamStream, UpstreamTiming};
use codexd_actors::turn::{ReqIds, RequestContext, StreamOutput, TurnRequest};
use codexd_actors::worker::backoff::BackoffPolicy;
use codexd_actors::worker::connection::ConnectionSettings;
use codexd_actors::worker::supervisor::AcquireLease;
use codexd_actors::worker::{Lease, SupervisorSettings, WorkerSupervisor};
use codexd_actors::{Bus, BusHandle, Event};
use prometheus::Histogram;
use tokio::sync::{mpsc, oneshot};

/// The chat route as the front end's route table labels it.
pub const CHAT: RouteLabel = RouteLabel::new("/v1/chat/completions", RouteClass::Generation);

use super::events::Events;
use codexd_actors::worker::process::Launch;

use super::launcher::DemoLauncher;

/// The knobs a test turns; `Default` is one slot, one turn per worker, millisecond timers and
/// no pings to speak of.
#[derive(Clone)]
pub struct Options {
    pub slots: usize,
    pub max_turns_per_worker: u32,
    pub queue_size: usize,
    pub min_ready_workers: u32,
    pub backoff: BackoffPolicy,
    pub failed_retry: Duration,
    pub stop_grace: Duration,
    pub handshake_timeout: Duration,
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
    pub first_token_timeout: Duration,
    pub idle_timeout: Duration,
    pub interrupt_grace: Duration,
}

impl Default for Options {
    fn default() -> Self {
        let ms = Duration::from_millis;
        Options {
            slots: 1,
            max_turns_per_worker: 1,
            queue_size: 4,
            min_ready_workers: 1,
            backoff: backoff(3),
            failed_retry: Duration::from_secs(60),
            stop_grace: ms(500),
            handshake_timeout: ms(1000),
            ping_interval: Duration::from_secs(60),
            ping_timeout: Duration::from_secs(60),
            first_token_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(10),
            interrupt_grace: ms(500),
        }
    }
}

/// Backoff without jitter: 5, 10, 20, 40 ms…, at most `max_restarts` in 10 s; never "stable"
/// within a test.
pub fn backoff(max_restarts: u32) -> BackoffPolicy {
    let ms = Duration::from_millis;
    BackoffPolicy::try_new(ms(5), ms(40), 2.0, ms(60_000), max_restarts, ms(10_000))
        .expect("a valid test backoff policy")
        .without_jitter()
}

/// The running tree, its workers launched by `L`. Dropping it leaves the actors to the
/// `System`, which ends with the test.
pub struct Harness<L = DemoLauncher> {
    pub bus: BusHandle,
    pub supervisor: Addr<WorkerSupervisor>,
    pub health: Addr<HealthAggregator>,
    pub events: Events,
    pub launcher: Arc<L>,
    pub streams: StreamSettings,
    /// Flip to true to end every in-flight stream now (the drain timeout expired).
    chunk_gap: Histogram,
}

impl<L: Launch> Harness<L> {
    /// Starts the tree; must run inside an actix `System` (`#[actix_rt::test]`).
    pub fn start(options: Options, launcher: Arc<L>) -> Harness<L> {
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        let bus = BusHandle::new(Bus::new(logger, None).start());
        // The recorder subscribes first, so it sees every event the others cause.
        let events = Events::subscribe(&bus);
        let metrics = Metrics::try_new(&MetricsSettings {
            version: "test".into(),
            revision: "test".into(),
            models: vec!["demo".into()],
            slots: options.slots,
            routes: vec![CHAT],
        })
        .expect("metrics families register");
        let chunk_gap = metrics
            .handles
            .chunk_gap
            .with_label_values(&[CHAT.as_str(), "demo"]);
        let queue_depth = metrics.handles.queue_depth.clone();
        let collector = MetricsCollector::new(metrics).start();
        bus.addr().do_send(Subscribe {
            name: "metrics",
            recipient: collector.recipient(),
            required: true,
        });
        let health = HealthAggregator::new(
            HealthSettings {
                slots: options.slots,
                min_ready_workers: options.min_ready_workers,
                version: "test".into(),
                unready_when_exhausted: false,
            },
            bus.clone(),
        )
        .start();
        bus.addr().do_send(Subscribe {
            name: "health",
            recipient: health.clone().recipient(),
            required: true,
        });
        let settings = SupervisorSettings {
            count: options.slots,
            launch: launcher.clone(),
            backoff: options.backoff.clone(),
            failed_retry: options.failed_retry,
            max_turns_per_worker: options.max_turns_per_worker,
            queue_size: options.queue_size,
            stop_grace: options.stop_grace,
            connection: Arc::new(ConnectionSettings {
                handshake_timeout: options.handshake_timeout,
                ping_interval: options.ping_interval,
                ping_timeout: options.ping_timeout,
                max_line_bytes: 1 << 20,
                accept_approvals: false,
                client_version: "test".into(),
                approval_policy: "never".into(),
                sandbox: "read-only".into(),
                cwd: None,
                unknown_notifications: None,
                tools: Default::default(),
                models: Default::default(),
                accounts: Arc::new(codexd_actors::accounts::AccountBook::single(options.slots)),
            }),
            queue_depth: Some(queue_depth),
            pool: Default::default(),
        };
        let supervisor = WorkerSupervisor::new(settings, bus.clone()).start();
        let streams = StreamSettings {
            first_token_timeout: options.first_token_timeout,
            idle_timeout: options.idle_timeout,
            keepalive: Duration::ZERO,
            interrupt_grace: options.interrupt_grace,
            active: Arc::new(AtomicUsize::new(0)),
            capture_content: false,
            retry_before_first_byte: true,
        };
        Harness {
            bus,
            supervisor,
            health,
            events,
            launcher,
            streams,
            chunk_gap,
        }
    }

    /// Asks the supervisor for a lease for request `req`; the answer comes on the receiver.
    pub fn acquire(&self, req: &str) -> oneshot::Receiver<Result<Lease, RejectReason>> {
        let (reply, rx) = oneshot::channel();
        self.supervisor.do_send(AcquireLease {
            ids: ids(req),
            reply,
        });
        rx
    }

    /// A lease for `req`, granted within a second, or the test fails.
    pub async fn lease(&self, req: &str) -> Lease {
        let answer = tokio::time::timeout(Duration::from_secs(1), self.acquire(req))
            .await
            .expect("a lease answer within 1 s")
            .expect("the supervisor answers");
        answer.expect("a lease, not a rejection")
    }

    /// Starts an upstream stream for `req` on `lease`; returns its consumer end.
    pub fn stream(&self, req: &str, lease: Lease) -> mpsc::UnboundedReceiver<StreamOutput> {
        let (out, rx) = mpsc::unbounded_channel();
        UpstreamStream::new(
            request(req, "hi"),
            lease,
            out,
            self.bus.clone(),
            self.streams.clone(),
            self.chunk_gap.clone(),
            Arc::new(UpstreamTiming::default()),
        )
        .start();
        rx
    }

    /// Waits until readiness flips to ready.
    pub async fn until_ready(&mut self) {
        self.events
            .wait_for("readiness to flip to ready", Duration::from_secs(2), |e| {
                matches!(
                    e,
                    Event::Health(codexd_actors::events::HealthEvent::ReadinessChanged {
                        ready: true,
                        ..
                    })
                )
            })
            .await;
    }

    /// What `/readyz` would answer now.
    pub async fn readiness(&self) -> (bool, ReadinessReason) {
        self.health
            .send(GetReadiness)
            .await
            .expect("health answers")
    }

    /// What `/healthz` would answer now.
    pub async fn health(&self) -> HealthSnapshot {
        let get = codexd_actors::health::GetHealth;
        self.health.send(get).await.expect("health answers")
    }
}

/// The ids of request `req` (its `req_id`).
pub fn ids(req: &str) -> ReqIds {
    ReqIds {
        req_id: req.to_owned(),
        trace_id: format!("trace-{req}"),
        span_id: format!("span-{req}"),
        key_id: None,
    }
}

/// A chat turn for request `req` with this input.
pub fn request(req: &str, input: &str) -> Arc<TurnRequest> {
    Arc::new(TurnRequest {
        ctx: RequestContext {
            ids: ids(req),
            ..RequestContext::default()
        },
        route: CHAT,
        model_id: "demo".into(),
        codex_model: "demo".into(),
        reasoning_effort: None,
        developer_instructions: None,
        input: input.to_owned(),
        stream: true,
        accepted_at: Instant::now(),
        tools: Default::default(),
        features: Default::default(),
    })
}

/// Reads the consumer end until the stream ends (`Ended`), within `within`.
pub async fn drain_output(
    rx: &mut mpsc::UnboundedReceiver<StreamOutput>,
    within: Duration,
) -> Vec<StreamOutput> {
    let mut seen = Vec::new();
    let read = async {
        while let Some(output) = rx.recv().await {
            let end = matches!(output, StreamOutput::Ended(_));
            seen.push(output);
            if end {
                return;
            }
        }
    };
    if tokio::time::timeout(within, read).await.is_err() {
        panic!("the stream did not end within {within:?}; it wrote {seen:?}");
    }
    seen
}
