//! The metrics collector: owns the Prometheus registry, turns bus events into series and
//! renders `/metrics`. Hot-path series (chunk gaps, in-flight gauges) are exposed as cloned
//! handles. Every label value comes from a closed set. How each event moves the series is
//! in `observe.rs`.

mod observe;
pub mod pool;
mod resolved;
mod tools;

use crate::bus::Published;
use crate::ingress::RouteLabel;
use crate::label_enum;
use crate::labels::{NoTokenReason, StreamOutcome};
use crate::worker::labels::{RejectReason, RestartReason, SlotState, UpstreamErrorKind};
use actix::prelude::*;
use prometheus::{
    Encoder, Gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec,
    IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

const LATENCY: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    120.0, 300.0,
];
const TTFT: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0,
    15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0,
];
const GAP: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const OVERHEAD: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
];
const RPC: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const HANDSHAKE: &[f64] = &[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
const QUEUE: &[f64] = &[
    0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

label_enum!(
    /// Token counter types.
    TokenType {
        Input => "input",
        Output => "output",
        CachedInput => "cached_input",
        Reasoning => "reasoning",
    }
);

/// What the collector needs to know up front.
#[derive(Debug, Clone)]
pub struct MetricsSettings {
    pub version: String,
    pub revision: String,
    pub models: Vec<String>,
    pub slots: usize,
    /// The front end's route table (every route label, `other` included), so bounded
    /// series exist at zero before the first request.
    pub routes: Vec<RouteLabel>,
}

/// Handles for series observed directly on the hot path.
#[derive(Clone)]
pub struct MetricsHandles {
    pub chunk_gap: HistogramVec,
    pub requests_in_flight: IntGaugeVec,
    pub queue_depth: IntGauge,
    pub unknown_notifications: IntCounter,
    pub bus_dropped: IntCounterVec,
    pub spans_dropped: IntCounter,
    /// Accepted request fields codexd has no place for, by route and field (the front end
    /// owns the closed field set and creates the series).
    pub fields_ignored: IntCounterVec,
    /// Requests that used a request feature (structured output, images, ...), by route and
    /// feature (the front end owns the closed feature set and creates the series).
    pub features_used: IntCounterVec,
}

/// Every family, registered once.
pub struct Metrics {
    registry: Registry,
    pub handles: MetricsHandles,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    ttft: HistogramVec,
    no_first_token: IntCounterVec,
    stream_duration: HistogramVec,
    streams: IntCounterVec,
    streams_active: IntGauge,
    overhead: HistogramVec,
    rpc: HistogramVec,
    upstream_errors: IntCounterVec,
    tokens: IntCounterVec,
    worker_up: IntGaugeVec,
    worker_state: IntGaugeVec,
    workers_ready: IntGauge,
    restarts: IntCounterVec,
    backoff: GaugeVec,
    handshake: Histogram,
    turns_in_flight: IntGaugeVec,
    rejected: IntCounterVec,
    heads_rejected: IntCounter,
    queue_wait: Histogram,
    ready: IntGauge,
    bus_events: IntCounterVec,
    /// Hot-path children, resolved once (`resolved.rs`).
    hot: observe::Hot,
    uptime_start: Gauge,
    tools: tools::ToolMetrics,
    pool: pool::PoolMetrics,
}

/// The routes that run turns (the `route` values of the retry counter).
fn turn_routes(settings: &MetricsSettings) -> Vec<&'static str> {
    settings
        .routes
        .iter()
        .filter(|r| r.runs_turns())
        .map(|r| r.as_str())
        .collect()
}

fn hist(
    name: &str,
    help: &str,
    buckets: &[f64],
    labels: &[&str],
) -> prometheus::Result<HistogramVec> {
    HistogramVec::new(
        HistogramOpts::new(name, help).buckets(buckets.to_vec()),
        labels,
    )
}

impl Metrics {
    /// Builds and registers every family.
    pub fn try_new(settings: &MetricsSettings) -> prometheus::Result<Self> {
        let r = Registry::new();
        macro_rules! reg {
            ($e:expr) => {{
                let m = $e;
                r.register(Box::new(m.clone()))?;
                m
            }};
        }
        let build = reg!(IntGaugeVec::new(
            Opts::new("codexd_build_info", "Build information; always 1."),
            &["version", "revision"]
        )?);
        build
            .with_label_values(&[settings.version.as_str(), settings.revision.as_str()])
            .set(1);
        let handles = MetricsHandles {
            chunk_gap: reg!(hist(
                "codexd_stream_time_per_output_chunk_seconds",
                "Gap between consecutive generated deltas of a stream.",
                GAP,
                &["route", "model"]
            )?),
            requests_in_flight: reg!(IntGaugeVec::new(
                Opts::new(
                    "codexd_http_requests_in_flight",
                    "API requests currently being served."
                ),
                &["route"]
            )?),
            queue_depth: reg!(IntGauge::new(
                "codexd_admission_queue_depth",
                "Requests waiting for a worker lease."
            )?),
            unknown_notifications: reg!(IntCounter::new(
                "codexd_worker_unknown_notifications_total",
                "Worker notifications with a method codexd does not know."
            )?),
            bus_dropped: reg!(IntCounterVec::new(
                Opts::new(
                    "codexd_bus_events_dropped_total",
                    "Events dropped for an optional bus subscriber whose mailbox was full."
                ),
                &["subscriber"]
            )?),
            spans_dropped: reg!(IntCounter::new(
                "codexd_trace_spans_dropped_total",
                "Spans dropped because the export queue was full or the collector failed."
            )?),
            fields_ignored: reg!(IntCounterVec::new(
                Opts::new(
                    "codexd_request_fields_ignored_total",
                    "Accepted request fields codexd has no place for, by route and field."
                ),
                &["route", "field"]
            )?),
            features_used: reg!(IntCounterVec::new(
                Opts::new(
                    "codexd_request_features_total",
                    "Requests that used a request feature, by route and feature."
                ),
                &["route", "feature"]
            )?),
        };
        let m = Self {
            http_requests: reg!(IntCounterVec::new(
                Opts::new(
                    "codexd_http_requests_total",
                    "API requests by route, method and status class, aborted ones included."
                ),
                &["route", "method", "status_class"]
            )?),
            http_duration: reg!(hist(
                "codexd_http_request_duration_seconds",
                "API request time from arrival to last byte.",
                LATENCY,
                &["route", "method", "stream"]
            )?),
            ttft: reg!(hist(
                "codexd_stream_time_to_first_token_seconds",
                "Request acceptance to the first generated content or tool delta from the worker.",
                TTFT,
                &["route", "model"]
            )?),
            no_first_token: reg!(IntCounterVec::new(
                Opts::new(
                    "codexd_stream_no_first_token_total",
                    "Streams that ended before any generated token."
                ),
                &["route", "reason"]
            )?),
            stream_duration: reg!(hist(
                "codexd_stream_duration_seconds",
                "Upstream stream (turn) duration by outcome.",
                LATENCY,
                &["route", "model", "outcome"]
            )?),
            streams: reg!(IntCounterVec::new(
                Opts::new(
                    "codexd_streams_total",
                    "Upstream streams ended, by outcome."
                ),
                &["route", "outcome"]
            )?),
            streams_active: reg!(IntGauge::new(
                "codexd_streams_active",
                "Upstream streams in progress."
            )?),
            overhead: reg!(hist(
                "codexd_proxy_overhead_seconds",
                "Request time not spent waiting on the worker: the daemon's own cost.",
                OVERHEAD,
                &["route"]
            )?),
            rpc: reg!(hist(
                "codexd_worker_rpc_duration_seconds",
                "Duration of each JSON-RPC request codexd sends to a worker.",
                RPC,
                &["method", "outcome"]
            )?),
            upstream_errors: reg!(IntCounterVec::new(
                Opts::new(
                    "codexd_upstream_errors_total",
                    "Errors the worker reported from the model provider."
                ),
                &["kind"]
            )?),
            tokens: reg!(IntCounterVec::new(
                Opts::new("codexd_tokens_total", "Tokens reported by workers."),
                &["model", "type"]
            )?),
            worker_up: reg!(IntGaugeVec::new(
                Opts::new(
                    "codexd_worker_up",
                    "1 when the worker slot is ready to take turns."
                ),
                &["slot"]
            )?),
            worker_state: reg!(IntGaugeVec::new(
                Opts::new(
                    "codexd_worker_state",
                    "1 for the worker slot's current state, 0 for every other state."
                ),
                &["slot", "state"]
            )?),
            workers_ready: reg!(IntGauge::new(
                "codexd_workers_ready",
                "Worker slots ready to take turns."
            )?),
            restarts: reg!(IntCounterVec::new(
                Opts::new(
                    "codexd_worker_restarts_total",
                    "Worker restarts scheduled, by cause."
                ),
                &["slot", "reason"]
            )?),
            backoff: reg!(GaugeVec::new(
                Opts::new(
                    "codexd_worker_restart_backoff_seconds",
                    "The delay before the slot's next scheduled start (0 when none is pending)."
                ),
                &["slot"]
            )?),
            handshake: reg!(Histogram::with_opts(
                HistogramOpts::new(
                    "codexd_worker_handshake_duration_seconds",
                    "Worker spawn to initialize answered."
                )
                .buckets(HANDSHAKE.to_vec())
            )?),
            turns_in_flight: reg!(IntGaugeVec::new(
                Opts::new(
                    "codexd_worker_turns_in_flight",
                    "Turns leased on the worker slot."
                ),
                &["slot"]
            )?),
            rejected: reg!(IntCounterVec::new(
                Opts::new(
                    "codexd_admission_rejected_total",
                    "Requests turned away by admission."
                ),
                &["reason"]
            )?),
            heads_rejected: reg!(IntCounter::new(
                "codexd_http_request_heads_rejected_total",
                "Connections actix-http answered itself (400/431/408) before any request reached codexd."
            )?),
            queue_wait: reg!(Histogram::with_opts(
                HistogramOpts::new(
                    "codexd_admission_queue_wait_seconds",
                    "Time a request waited for a worker lease."
                )
                .buckets(QUEUE.to_vec())
            )?),
            ready: reg!(IntGauge::new(
                "codexd_ready",
                "1 when /readyz would answer 200."
            )?),
            bus_events: reg!(IntCounterVec::new(
                Opts::new(
                    "codexd_bus_events_total",
                    "Events published on the bus, by component."
                ),
                &["component"]
            )?),
            uptime_start: reg!(Gauge::new(
                "codexd_start_time_seconds",
                "Unix time the daemon started."
            )?),
            tools: tools::ToolMetrics::register(&r)?,
            pool: pool::PoolMetrics::try_new(&r, settings.slots, &turn_routes(settings))?,
            hot: observe::Hot::new(settings),
            handles,
            registry: r,
        };
        #[cfg(target_os = "linux")]
        m.registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        m.uptime_start.set(crate::clock::unix_seconds() as f64);
        m.zero_series(settings);
        Ok(m)
    }

    fn zero_series(&self, settings: &MetricsSettings) {
        for slot in 0..settings.slots {
            let s = slot.to_string();
            self.worker_up.with_label_values(&[s.as_str()]).set(0);
            for state in SlotState::ALL {
                let on = i64::from(*state == SlotState::Stopped);
                self.worker_state
                    .with_label_values(&[s.as_str(), state.as_str()])
                    .set(on);
            }
            self.backoff.with_label_values(&[s.as_str()]).set(0.0);
            self.turns_in_flight.with_label_values(&[s.as_str()]).set(0);
            for reason in RestartReason::ALL {
                self.restarts
                    .with_label_values(&[s.as_str(), reason.as_str()])
                    .inc_by(0);
            }
        }
        for route in settings.routes.iter().filter(|r| !r.is_operational()) {
            self.handles
                .requests_in_flight
                .with_label_values(&[route.as_str()])
                .set(0);
        }
        for model in &settings.models {
            for t in TokenType::ALL {
                self.tokens
                    .with_label_values(&[model.as_str(), t.as_str()])
                    .inc_by(0);
            }
        }
        for r in RejectReason::ALL {
            self.rejected.with_label_values(&[r.as_str()]).inc_by(0);
        }
        for k in UpstreamErrorKind::ALL {
            self.upstream_errors
                .with_label_values(&[k.as_str()])
                .inc_by(0);
        }
        for route in settings.routes.iter().filter(|r| r.runs_turns()) {
            for o in StreamOutcome::ALL {
                self.streams
                    .with_label_values(&[route.as_str(), o.as_str()])
                    .inc_by(0);
            }
            for reason in NoTokenReason::ALL {
                self.no_first_token
                    .with_label_values(&[route.as_str(), reason.as_str()])
                    .inc_by(0);
            }
        }
    }

    /// The model label: a catalogue id or `other`.
    pub fn model_label<'a>(&self, model: &'a str) -> &'a str {
        if self.hot.is_configured(model) {
            model
        } else {
            "other"
        }
    }

    /// Observes the admission queue wait of a granted lease.
    pub fn observe_queue_wait(&self, seconds: f64) {
        self.queue_wait.observe(seconds);
    }

    /// The registry, for families owned outside this crate (the daemon's per-key limits).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Registers a family owned elsewhere (the usage ledger's) with this registry.
    pub fn register(&self, c: Box<dyn prometheus::core::Collector>) -> prometheus::Result<()> {
        self.registry.register(c)
    }

    /// Renders the text exposition.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// Renders `/metrics`.
#[derive(Message)]
#[rtype(result = "String")]
pub struct RenderMetrics;

/// The collector actor: renders `/metrics`. In the daemon the series are moved by the
/// publishing threads (`Bus::start_inline`) and the collector only renders; as a bus
/// subscriber (tests, tools) it observes what it receives.
pub struct MetricsCollector {
    metrics: std::sync::Arc<Metrics>,
}

impl MetricsCollector {
    pub fn new(metrics: Metrics) -> Self {
        Self {
            metrics: std::sync::Arc::new(metrics),
        }
    }

    /// A collector that renders series observed elsewhere.
    pub fn shared(metrics: std::sync::Arc<Metrics>) -> Self {
        Self { metrics }
    }
}

impl Actor for MetricsCollector {
    type Context = Context<Self>;
}

impl Handler<Published> for MetricsCollector {
    type Result = ();
    fn handle(&mut self, msg: Published, _: &mut Self::Context) {
        self.metrics.observe(&msg.0.event);
    }
}

impl Handler<RenderMetrics> for MetricsCollector {
    type Result = String;
    fn handle(&mut self, _: RenderMetrics, _: &mut Self::Context) -> String {
        self.metrics.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Event, WorkerEvent};
    use crate::ingress::RouteClass;

    fn metrics() -> Metrics {
        Metrics::try_new(&MetricsSettings {
            version: "0.0.0".into(),
            revision: "test".into(),
            models: vec!["m1".into()],
            slots: 2,
            routes: vec![
                RouteLabel::new("/v1/chat/completions", RouteClass::Generation),
                RouteLabel::new("/v1/models/{id}", RouteClass::Api),
                RouteLabel::new("/metrics", RouteClass::Operational),
                RouteLabel::new("other", RouteClass::Api),
            ],
        })
        .unwrap()
    }

    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn bounded_series_exist_at_zero_before_any_event() {
        let text = metrics().render();
        for series in [
            "codexd_worker_restarts_total{reason=\"handshake_timeout\",slot=\"1\"}",
            "codexd_http_requests_in_flight{route=\"/v1/models/{id}\"}",
            "codexd_http_requests_in_flight{route=\"other\"}",
            "codexd_tokens_total{model=\"m1\",type=\"reasoning\"}",
            "codexd_admission_rejected_total{reason=\"no_worker\"}",
            "codexd_worker_restart_backoff_seconds{slot=\"1\"}",
        ] {
            assert_eq!(sample(&text, series), Some(0.0), "{series} in\n{text}");
        }
        assert!(!text.contains("codexd_http_requests_in_flight{route=\"/metrics\"}"));
    }

    #[test]
    fn backoff_gauge_follows_the_scheduled_delay() {
        let m = metrics();
        let gauge = "codexd_worker_restart_backoff_seconds{slot=\"1\"}";
        m.observe(&Event::Worker(WorkerEvent::RestartScheduled {
            slot: 1,
            attempt: 2,
            delay_ms: 1234,
            reason: RestartReason::Signal,
        }));
        assert_eq!(sample(&m.render(), gauge), Some(1.234));
        m.observe(&Event::Worker(WorkerEvent::WorkerSpawned {
            slot: 1,
            pid: 42,
            generation: 3,
        }));
        assert_eq!(sample(&m.render(), gauge), Some(0.0));
        m.observe(&Event::Worker(WorkerEvent::RestartsExhausted {
            slot: 1,
            restarts: 5,
            window_ms: 60_000,
            retry_in_ms: 30_000,
        }));
        assert_eq!(sample(&m.render(), gauge), Some(30.0));
        let text = m.render();
        assert_eq!(
            sample(
                &text,
                "codexd_worker_restarts_total{reason=\"signal\",slot=\"1\"}"
            ),
            Some(1.0)
        );
    }

    #[test]
    fn unknown_models_fold_to_other() {
        let m = metrics();
        assert_eq!(m.model_label("m1"), "m1");
        assert_eq!(m.model_label("gpt-<script>"), "other");
    }
}
