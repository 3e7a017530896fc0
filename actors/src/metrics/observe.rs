//! How each event moves the series. Every event variant is matched by name, with no
//! wildcard arm: a new event does not compile until it says what it does to the metrics.

#![deny(clippy::wildcard_enum_match_arm)]

use super::resolved::{flat, ordinal, Resolved};
use super::{Metrics, MetricsSettings, TokenType};
use crate::events::{
    Component, Event, HealthEvent, HttpEvent, RuntimeEvent, StreamEvent, WorkerEvent,
};
use crate::outcome::StreamOutcome;
use crate::worker::labels::{RpcMethod, RpcOutcome};
use prometheus::{Histogram, IntCounter, IntGauge};

/// The methods whose request series are resolved up front (the API routes' methods); the
/// rest are looked up by label.
const HOT_METHODS: [&str; 2] = ["POST", "GET"];

/// `1xx` .. `5xx`.
const STATUS_CLASSES: usize = 5;

/// The children the per-request events move, resolved once: by component, by slot, by
/// JSON-RPC method × outcome, and the request, stream and token series by route, model,
/// method, status class and outcome (closed sets: the route table and the configured models,
/// unknown models folded to `other`).
pub(super) struct Hot {
    bus_events: Resolved<IntCounter>,
    turns_in_flight: Resolved<IntGauge>,
    rpc: Resolved<Histogram>,
    routes: Vec<&'static str>,
    models: Vec<String>,
    /// route × method × status class
    requests: Resolved<IntCounter>,
    /// route × method × stream
    request_duration: Resolved<Histogram>,
    /// route
    overhead: Resolved<Histogram>,
    /// route × model
    ttft: Resolved<Histogram>,
    /// route × outcome
    streams: Resolved<IntCounter>,
    /// route × model × outcome
    stream_duration: Resolved<Histogram>,
    /// model × token type
    tokens: Resolved<IntCounter>,
}

impl Hot {
    pub(super) fn new(settings: &MetricsSettings) -> Self {
        let routes: Vec<&'static str> = settings.routes.iter().map(|r| r.as_str()).collect();
        let (r, m) = (routes.len(), settings.models.len() + 1);
        let (methods, outcomes) = (HOT_METHODS.len(), StreamOutcome::ALL.len());
        Self {
            bus_events: Resolved::new(Component::ALL.len()),
            turns_in_flight: Resolved::new(settings.slots),
            rpc: Resolved::new(RpcMethod::ALL.len() * RpcOutcome::ALL.len()),
            requests: Resolved::new(r * methods * STATUS_CLASSES),
            request_duration: Resolved::new(r * methods * 2),
            overhead: Resolved::new(r),
            ttft: Resolved::new(r * m),
            streams: Resolved::new(r * outcomes),
            stream_duration: Resolved::new(r * m * outcomes),
            tokens: Resolved::new(m * TokenType::ALL.len()),
            routes,
            models: settings.models.clone(),
        }
    }

    fn route(&self, route: &str) -> (usize, usize) {
        let n = self.routes.len();
        (self.routes.iter().position(|r| *r == route).unwrap_or(n), n)
    }

    /// A configured model's position; `other` is the one after the last.
    fn model(&self, model: &str) -> (usize, usize) {
        let n = self.models.len();
        (
            self.models.iter().position(|m| m == model).unwrap_or(n),
            n + 1,
        )
    }

    pub(super) fn is_configured(&self, model: &str) -> bool {
        self.models.iter().any(|m| m == model)
    }

    fn method(method: &str) -> (usize, usize) {
        let n = HOT_METHODS.len();
        (
            HOT_METHODS.iter().position(|m| *m == method).unwrap_or(n),
            n,
        )
    }

    fn status_class(class: &str) -> (usize, usize) {
        let i = class.as_bytes().first().map_or(STATUS_CLASSES, |b| {
            usize::from(b.wrapping_sub(b'1')).min(STATUS_CLASSES)
        });
        (i, STATUS_CLASSES)
    }
}

impl crate::bus::Observe for Metrics {
    fn observe(&self, event: &Event) {
        Metrics::observe(self, event);
    }
}

impl Metrics {
    /// Updates series from one event.
    pub fn observe(&self, event: &Event) {
        let component = event.meta().component;
        self.hot.bus_events.with(
            Some(ordinal(Component::ALL, &component)),
            || self.bus_events.with_label_values(&[component.as_str()]),
            |c| c.inc(),
        );
        match event {
            Event::Runtime(e) => self.observe_runtime(e),
            Event::Http(e) => self.observe_http(e),
            Event::Stream(e) => self.observe_stream(e),
            Event::Worker(e) => self.observe_worker(e),
            Event::Health(e) => self.observe_health(e),
            Event::Account(e) => self.pool.observe_account(e),
        }
    }

    fn observe_runtime(&self, e: &RuntimeEvent) {
        match e {
            // Counted by `bus_events` only; the drop counters are bumped where the drop happens.
            RuntimeEvent::DaemonStarted { .. }
            | RuntimeEvent::ListenerBound { .. }
            | RuntimeEvent::ShutdownPhaseStarted { .. }
            | RuntimeEvent::ShutdownPhaseCompleted { .. }
            | RuntimeEvent::ShutdownForced
            | RuntimeEvent::DaemonStopped { .. }
            | RuntimeEvent::StartupFailed { .. }
            | RuntimeEvent::PanicOccurred { .. }
            | RuntimeEvent::ContentCaptureEnabled
            | RuntimeEvent::DescriptorLimitSet { .. }
            | RuntimeEvent::BusEventsDropped { .. }
            | RuntimeEvent::SpansDropped { .. }
            // Counted by the ledger's own families (codexd_usage_ledger_flush_errors_total).
            | RuntimeEvent::UsageFlushFailed { .. } => {}
        }
    }

    fn observe_http(&self, e: &HttpEvent) {
        match e {
            HttpEvent::RequestCompleted(s) => {
                // Probes and the scrape are not API traffic.
                if s.route.is_operational() {
                    return;
                }
                let (route, method) = (s.route.as_str(), s.method.as_str());
                let (r, m) = (self.hot.route(route), Hot::method(method));
                self.hot.requests.with(
                    flat(&[r, m, Hot::status_class(s.status_class)]),
                    || {
                        self.http_requests
                            .with_label_values(&[route, method, s.status_class])
                    },
                    |c| c.inc(),
                );
                let stream = if s.stream { "true" } else { "false" };
                self.hot.request_duration.with(
                    flat(&[r, m, (usize::from(s.stream), 2)]),
                    || {
                        self.http_duration
                            .with_label_values(&[route, method, stream])
                    },
                    |h| h.observe(s.duration_ms / 1000.0),
                );
                if s.route.runs_turns() && s.upstream_wait_ms > 0.0 {
                    let overhead = (s.duration_ms - s.upstream_wait_ms).max(0.0) / 1000.0;
                    self.hot.overhead.with(
                        flat(&[r]),
                        || self.overhead.with_label_values(&[route]),
                        |h| h.observe(overhead),
                    );
                }
            }
            HttpEvent::AdmissionRejected { reason, .. } => {
                self.rejected.with_label_values(&[reason.as_str()]).inc();
            }
            HttpEvent::RequestHeadRejected => self.heads_rejected.inc(),
            // The in-flight gauge is a hot-path handle of the front end.
            HttpEvent::RequestReceived { .. } => {}
            HttpEvent::FollowupServed { path, reason, .. } => self.tools.on_followup(*path, reason),
            HttpEvent::HostedToolsIgnored { count, .. } => self.tools.on_hosted_ignored(*count),
        }
    }

    fn observe_health(&self, e: &HealthEvent) {
        match e {
            HealthEvent::ReadinessChanged { ready, .. } => self.ready.set(i64::from(*ready)),
        }
    }

    fn observe_stream(&self, e: &StreamEvent) {
        match e {
            StreamEvent::StreamStarted { queue_wait_ms, .. } => {
                self.streams_active.inc();
                self.observe_queue_wait(queue_wait_ms / 1000.0);
            }
            StreamEvent::FirstTokenReceived {
                route,
                model,
                ttft_ms,
                ..
            } => {
                self.hot.ttft.with(
                    flat(&[self.hot.route(route.as_str()), self.hot.model(model)]),
                    || {
                        self.ttft
                            .with_label_values(&[route.as_str(), self.model_label(model)])
                    },
                    |h| h.observe(ttft_ms / 1000.0),
                );
            }
            StreamEvent::UpstreamErrorReceived { kind, .. } => {
                self.upstream_errors
                    .with_label_values(&[kind.as_str()])
                    .inc();
            }
            StreamEvent::StreamEnded(s) => {
                let route = s.route.as_str();
                let model = self.model_label(&s.model);
                let (r, m) = (self.hot.route(route), self.hot.model(model));
                let o = (
                    ordinal(StreamOutcome::ALL, &s.outcome),
                    StreamOutcome::ALL.len(),
                );
                self.streams_active.dec();
                self.hot.streams.with(
                    flat(&[r, o]),
                    || self.streams.with_label_values(&[route, s.outcome.as_str()]),
                    |c| c.inc(),
                );
                self.hot.stream_duration.with(
                    flat(&[r, m, o]),
                    || {
                        self.stream_duration
                            .with_label_values(&[route, model, s.outcome.as_str()])
                    },
                    |h| h.observe(s.duration_ms / 1000.0),
                );
                if s.ttft_ms.is_none() {
                    if let Some(reason) = s.outcome.no_token_reason() {
                        self.no_first_token
                            .with_label_values(&[route, reason.as_str()])
                            .inc();
                    }
                }
                for (t, n) in [
                    (TokenType::Input, s.usage.input),
                    (TokenType::Output, s.usage.output),
                    (TokenType::CachedInput, s.usage.cached_input),
                    (TokenType::Reasoning, s.usage.reasoning),
                ] {
                    if n > 0 {
                        self.hot.tokens.with(
                            flat(&[m, (ordinal(TokenType::ALL, &t), TokenType::ALL.len())]),
                            || self.tokens.with_label_values(&[model, t.as_str()]),
                            |c| c.inc_by(n),
                        );
                    }
                }
            }
            StreamEvent::StreamRetried { route, reason, .. } => {
                self.pool
                    .retries
                    .with_label_values(&[route.as_str(), reason.as_str()])
                    .inc();
            }
            // Logged only; chunk gaps are observed on the hot path.
            StreamEvent::TurnStarted { .. }
            | StreamEvent::TurnInterruptSent { .. }
            | StreamEvent::TurnInterruptConfirmed { .. }
            | StreamEvent::ContentCaptured { .. } => {}
        }
    }

    fn observe_worker(&self, e: &WorkerEvent) {
        match e {
            WorkerEvent::WorkerStateChanged { slot, from, to } => {
                let s = slot.to_string();
                self.worker_state
                    .with_label_values(&[s.as_str(), from.as_str()])
                    .set(0);
                self.worker_state
                    .with_label_values(&[s.as_str(), to.as_str()])
                    .set(1);
                self.worker_up
                    .with_label_values(&[s.as_str()])
                    .set(i64::from(to.is_serving()));
                match (from.is_serving(), to.is_serving()) {
                    (false, true) => self.workers_ready.inc(),
                    (true, false) => self.workers_ready.dec(),
                    _ => {}
                }
            }
            WorkerEvent::WorkerSpawned { slot, .. } => {
                self.backoff
                    .with_label_values(&[slot.to_string().as_str()])
                    .set(0.0);
            }
            WorkerEvent::WorkerReady { handshake_ms, .. } => {
                self.handshake.observe(handshake_ms / 1000.0)
            }
            WorkerEvent::RestartScheduled {
                slot,
                delay_ms,
                reason,
                ..
            } => {
                let s = slot.to_string();
                self.restarts
                    .with_label_values(&[s.as_str(), reason.as_str()])
                    .inc();
                self.backoff
                    .with_label_values(&[s.as_str()])
                    .set(*delay_ms as f64 / 1000.0);
            }
            WorkerEvent::RestartsExhausted {
                slot, retry_in_ms, ..
            } => {
                // The slot is failed, but one more start is still scheduled after the
                // failed-retry delay: that is the delay now in force.
                self.backoff
                    .with_label_values(&[slot.to_string().as_str()])
                    .set(*retry_in_ms as f64 / 1000.0);
            }
            WorkerEvent::WorkerRpcCompleted {
                method,
                outcome,
                duration_ms,
                ..
            } => {
                let i = flat(&[
                    (ordinal(RpcMethod::ALL, method), RpcMethod::ALL.len()),
                    (ordinal(RpcOutcome::ALL, outcome), RpcOutcome::ALL.len()),
                ]);
                self.hot.rpc.with(
                    i,
                    || {
                        self.rpc
                            .with_label_values(&[method.as_str(), outcome.as_str()])
                    },
                    |h| h.observe(duration_ms / 1000.0),
                );
            }
            WorkerEvent::LeaseGranted {
                slot, in_flight, ..
            }
            | WorkerEvent::LeaseReleased { slot, in_flight } => {
                self.hot.turns_in_flight.with(
                    Some(*slot),
                    || {
                        self.turns_in_flight
                            .with_label_values(&[slot.to_string().as_str()])
                    },
                    |g| g.set(i64::from(*in_flight)),
                );
            }
            WorkerEvent::WorkerRecycleStarted { slot, reason, .. } => {
                self.pool
                    .recycles
                    .with_label_values(&[slot.to_string().as_str(), reason.as_str()])
                    .inc();
            }
            WorkerEvent::WorkerMemorySampled { slot, rss_bytes } => {
                self.pool
                    .worker_rss
                    .with_label_values(&[slot.to_string().as_str()])
                    .set(i64::try_from(*rss_bytes).unwrap_or(i64::MAX));
            }
            WorkerEvent::WorkerExited { slot, .. } => {
                self.turns_in_flight
                    .with_label_values(&[slot.to_string().as_str()])
                    .set(0);
            }
            WorkerEvent::ToolCallReceived { .. } => self.tools.on_call(),
            WorkerEvent::TurnParked { .. } => self.tools.on_parked(),
            WorkerEvent::ParkedTurnContinued { .. } => self.tools.on_continued(),
            WorkerEvent::ParkedTurnDiscarded { reason, .. } => self.tools.on_discarded(*reason),
            // Logged only (unknown notifications are counted on the hot path; a refused
            // transition changed no state).
            WorkerEvent::WorkerSpawnFailed { .. }
            | WorkerEvent::SlotTransitionRefused { .. }
            | WorkerEvent::WorkerUnresponsive { .. }
            | WorkerEvent::WorkerProtocolError { .. }
            | WorkerEvent::WorkerStderrObserved { .. }
            | WorkerEvent::ServerRequestAnswered { .. }
            | WorkerEvent::WorkerStopped { .. } => {}
        }
    }
}
