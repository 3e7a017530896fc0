//! The span recorder: an optional bus subscriber that turns request, stream, JSON-RPC and
//! worker events into OpenTelemetry spans (server span → `chat {model}` → one span per
//! JSON-RPC request; worker start-ups as their own short traces). Spans are built from the
//! same events the logs and metrics come from, with the ids those log lines carry. Content
//! attributes (prompts, completions) are never set: the events have no such fields. Every
//! event variant is matched by name, with no wildcard arm: a new event does not compile until
//! it says whether it makes a span.

#![deny(clippy::wildcard_enum_match_arm)]

use super::export::{scope, Exporter};
use codexd_actors::bus::Published;
use codexd_actors::events::{
    AccountEvent, Event, HealthEvent, HttpEvent, RequestSummary, RuntimeEvent, StreamEvent,
    StreamSummary, WorkerEvent,
};
use codexd_actors::turn::ReqIds;
use codexd_actors::worker::labels::{RpcMethod, RpcOutcome};
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use std::borrow::Cow;
use std::time::{Duration, SystemTime};

/// The recorder actor.
pub struct TraceRecorder {
    exporter: std::sync::Arc<Exporter>,
    scope: InstrumentationScope,
}

impl TraceRecorder {
    pub fn new(exporter: std::sync::Arc<Exporter>) -> Self {
        Self {
            exporter,
            scope: scope(),
        }
    }

    /// The events that make a span (the bus's interest filter): exactly those the handler
    /// below turns into one.
    pub fn wants(e: &Event) -> bool {
        matches!(
            e,
            Event::Http(HttpEvent::RequestCompleted(r)) if r.sampled && !r.route.is_operational()
        ) || matches!(
            e,
            Event::Http(HttpEvent::FollowupServed { sampled: true, .. })
        ) || matches!(e, Event::Stream(StreamEvent::StreamEnded(s)) if s.sampled)
            || matches!(
                e,
                Event::Worker(WorkerEvent::WorkerRpcCompleted {
                    ids: Some(_),
                    parent_span_id: Some(_),
                    sampled: true,
                    ..
                }) | Event::Worker(WorkerEvent::WorkerReady { .. })
            )
    }
}

impl actix::Actor for TraceRecorder {
    type Context = actix::Context<Self>;
    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(4096);
    }
}

struct SpanSpec {
    name: Cow<'static, str>,
    kind: SpanKind,
    trace_id: TraceId,
    span_id: SpanId,
    parent: Option<(SpanId, bool)>,
    end: SystemTime,
    duration: Duration,
    attributes: Vec<KeyValue>,
    error: Option<String>,
}

fn random_span_id() -> SpanId {
    SpanId::from(fastrand::u64(1..))
}

fn ms(v: f64) -> Duration {
    Duration::from_secs_f64((v / 1000.0).max(0.0))
}

fn ids(i: &ReqIds) -> Option<(TraceId, SpanId)> {
    Some((
        TraceId::from_hex(&i.trace_id).ok()?,
        SpanId::from_hex(&i.span_id).ok()?,
    ))
}

/// The request features of a `chat {model}` span: closed names and values only.
fn feature_attributes(
    attributes: &mut Vec<KeyValue>,
    f: &codexd_actors::request_features::FeatureFacts,
) {
    let names: Vec<StringValue> = f.names().into_iter().map(StringValue::from).collect();
    attributes.push(KeyValue::new("codexd.features", Value::Array(names.into())));
    if f.images > 0 {
        attributes.push(KeyValue::new("codexd.request.images", f.images as i64));
    }
    if let Some(e) = f.reasoning_effort {
        attributes.push(KeyValue::new("codexd.request.reasoning_effort", e));
    }
}

impl TraceRecorder {
    fn emit(&self, s: SpanSpec) {
        let mut attributes = s.attributes;
        let status = match s.error {
            Some(e) => {
                attributes.push(KeyValue::new("error.type", e.clone()));
                Status::error(e)
            }
            None => Status::Unset,
        };
        let (parent_span_id, parent_span_is_remote) = s.parent.unwrap_or((SpanId::INVALID, false));
        self.exporter.submit(SpanData {
            span_context: SpanContext::new(
                s.trace_id,
                s.span_id,
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id,
            parent_span_is_remote,
            span_kind: s.kind,
            name: s.name,
            start_time: s.end.checked_sub(s.duration).unwrap_or(s.end),
            end_time: s.end,
            attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status,
            instrumentation_scope: self.scope.clone(),
        });
    }

    fn server_span(&self, r: &RequestSummary, end: SystemTime) {
        let Some((trace_id, span_id)) = ids(&r.ids) else {
            return;
        };
        let parent = r
            .parent_span_id
            .as_deref()
            .and_then(|p| SpanId::from_hex(p).ok())
            .map(|p| (p, true));
        let error = (r.status >= 500).then(|| {
            r.error_code
                .map(str::to_owned)
                .unwrap_or_else(|| r.status.to_string())
        });
        self.emit(SpanSpec {
            name: format!("{} {}", r.method.as_str(), r.route.as_str()).into(),
            kind: SpanKind::Server,
            trace_id,
            span_id,
            parent,
            end,
            duration: ms(r.duration_ms),
            attributes: with_key_id(
                vec![
                    KeyValue::new("http.request.method", r.method.as_str()),
                    KeyValue::new("http.route", r.route.as_str()),
                    KeyValue::new("http.response.status_code", i64::from(r.status)),
                    KeyValue::new("codexd.request_id", r.ids.req_id.clone()),
                ],
                &r.ids,
            ),
            error,
        });
    }

    fn chat_span(&self, s: &StreamSummary, end: SystemTime) {
        let Some((trace_id, server)) = ids(&s.ids) else {
            return;
        };
        let Ok(span_id) = SpanId::from_hex(&s.chat_span_id) else {
            return;
        };
        let finish = if s.error_type.is_none() {
            "stop"
        } else {
            s.outcome.as_str()
        };
        let mut attributes = vec![
            KeyValue::new("gen_ai.operation.name", "chat"),
            KeyValue::new("gen_ai.provider.name", "codex"),
            KeyValue::new("gen_ai.request.model", s.model.clone()),
            KeyValue::new("gen_ai.response.model", s.codex_model.clone()),
            KeyValue::new("gen_ai.request.stream", s.stream),
            KeyValue::new("gen_ai.usage.input_tokens", s.usage.input as i64),
            KeyValue::new("gen_ai.usage.output_tokens", s.usage.output as i64),
            KeyValue::new(
                "gen_ai.response.finish_reasons",
                Value::Array(vec![StringValue::from(finish)].into()),
            ),
            KeyValue::new("codexd.worker.slot", s.slot as i64),
            KeyValue::new("codexd.request_id", s.ids.req_id.clone()),
        ];
        attributes = with_key_id(attributes, &s.ids);
        feature_attributes(&mut attributes, &s.features);
        if let Some(t) = s.ttft_ms {
            attributes.push(KeyValue::new(
                "gen_ai.response.time_to_first_chunk",
                t / 1000.0,
            ));
        }
        self.emit(SpanSpec {
            name: format!("chat {}", s.model).into(),
            kind: SpanKind::Client,
            trace_id,
            span_id,
            parent: Some((server, false)),
            end,
            duration: ms(s.duration_ms),
            attributes,
            error: s.error_type.map(str::to_owned),
        });
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one argument per span field of the worker_rpc_completed event"
    )]
    fn rpc_span(
        &self,
        ids_: &ReqIds,
        parent: &str,
        method: RpcMethod,
        rpc_id: u64,
        outcome: RpcOutcome,
        code: Option<i64>,
        duration_ms: f64,
        end: SystemTime,
    ) {
        let (Ok(trace_id), Ok(parent)) =
            (TraceId::from_hex(&ids_.trace_id), SpanId::from_hex(parent))
        else {
            return;
        };
        let mut attributes = vec![
            KeyValue::new("rpc.system.name", "jsonrpc"),
            KeyValue::new("rpc.method", method.as_str()),
            KeyValue::new("jsonrpc.request.id", rpc_id.to_string()),
        ];
        if let Some(c) = code {
            attributes.push(KeyValue::new("rpc.status_code", c.to_string()));
        }
        self.emit(SpanSpec {
            name: Cow::Borrowed(method.as_str()),
            kind: SpanKind::Client,
            trace_id,
            span_id: random_span_id(),
            parent: Some((parent, false)),
            end,
            duration: ms(duration_ms),
            attributes,
            error: (outcome != RpcOutcome::Ok).then(|| outcome.as_str().to_owned()),
        });
    }

    fn worker_span(&self, slot: usize, pid: u32, handshake_ms: f64, end: SystemTime) {
        self.emit(SpanSpec {
            name: Cow::Borrowed("worker start"),
            kind: SpanKind::Internal,
            trace_id: TraceId::from(fastrand::u128(1..)),
            span_id: random_span_id(),
            parent: None,
            end,
            duration: ms(handshake_ms),
            attributes: vec![
                KeyValue::new("codexd.worker.slot", slot as i64),
                KeyValue::new("process.pid", i64::from(pid)),
            ],
            error: None,
        });
    }
}

impl actix::Handler<Published> for TraceRecorder {
    type Result = ();
    fn handle(&mut self, msg: Published, _: &mut Self::Context) {
        let end = msg.0.at;
        match &msg.0.event {
            Event::Http(e) => self.on_http(e, end),
            Event::Stream(e) => self.on_stream(e, end),
            Event::Worker(e) => self.on_worker(e, end),
            Event::Runtime(e) => match e {
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
                | RuntimeEvent::UsageFlushFailed { .. } => {}
            },
            Event::Health(e) => match e {
                HealthEvent::ReadinessChanged { .. } => {}
            },
            // Account facts are not about a request: no span.
            Event::Account(e) => match e {
                AccountEvent::AccountQuotaUpdated { .. }
                | AccountEvent::AccountStateChanged { .. }
                | AccountEvent::CodexHomeSampled { .. } => {}
            },
        }
    }
}

impl TraceRecorder {
    /// The server span of every sampled API request.
    fn on_http(&self, e: &HttpEvent, end: SystemTime) {
        match e {
            HttpEvent::RequestCompleted(r) => {
                if r.sampled && !r.route.is_operational() {
                    self.server_span(r, end)
                }
            }
            HttpEvent::FollowupServed {
                ids,
                sampled: true,
                path,
                reason,
                link,
            } => self.followup_span(ids, path.as_str(), reason, link.as_ref(), end),
            HttpEvent::FollowupServed { sampled: false, .. } => {}
            HttpEvent::RequestReceived { .. }
            | HttpEvent::HostedToolsIgnored { .. }
            | HttpEvent::AdmissionRejected { .. }
            | HttpEvent::RequestHeadRejected => {}
        }
    }

    /// A short `tool followup` span under the request's server span: which path served the
    /// tool outputs, and for a continuation a link to the request that parked the turn.
    fn followup_span(
        &self,
        i: &ReqIds,
        path: &'static str,
        reason: &'static str,
        link: Option<&(String, String)>,
        end: SystemTime,
    ) {
        let Some((trace_id, server)) = ids(i) else {
            return;
        };
        let links = link
            .and_then(|(t, s)| Some((TraceId::from_hex(t).ok()?, SpanId::from_hex(s).ok()?)))
            .map(|(t, s)| {
                let cx = SpanContext::new(t, s, TraceFlags::SAMPLED, true, TraceState::default());
                opentelemetry::trace::Link::with_context(cx)
            })
            .into_iter()
            .collect();
        let mut span_links = SpanLinks::default();
        span_links.links = links;
        self.exporter.submit(SpanData {
            span_context: SpanContext::new(
                trace_id,
                random_span_id(),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: server,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: "tool followup".into(),
            start_time: end,
            end_time: end,
            attributes: with_key_id(
                vec![
                    KeyValue::new("codexd.tool.followup_path", path),
                    KeyValue::new("codexd.tool.replay_reason", reason),
                    KeyValue::new("codexd.request_id", i.req_id.clone()),
                ],
                i,
            ),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: span_links,
            status: Status::Unset,
            instrumentation_scope: self.scope.clone(),
        });
    }

    /// The `chat {model}` span of every sampled stream.
    fn on_stream(&self, e: &StreamEvent, end: SystemTime) {
        match e {
            StreamEvent::StreamEnded(s) => {
                if s.sampled {
                    self.chat_span(s, end)
                }
            }
            StreamEvent::StreamStarted { .. }
            | StreamEvent::TurnStarted { .. }
            | StreamEvent::FirstTokenReceived { .. }
            | StreamEvent::UpstreamErrorReceived { .. }
            | StreamEvent::TurnInterruptSent { .. }
            | StreamEvent::TurnInterruptConfirmed { .. }
            | StreamEvent::StreamRetried { .. }
            | StreamEvent::ContentCaptured { .. } => {}
        }
    }

    /// A span per JSON-RPC request of a sampled request, and one per worker start-up.
    fn on_worker(&self, e: &WorkerEvent, end: SystemTime) {
        match e {
            WorkerEvent::WorkerRpcCompleted {
                ids,
                parent_span_id,
                sampled,
                rpc_id,
                error_code,
                method,
                outcome,
                duration_ms,
                ..
            } => {
                if let (Some(i), Some(p), true) = (ids, parent_span_id, *sampled) {
                    self.rpc_span(
                        i,
                        p,
                        *method,
                        *rpc_id,
                        *outcome,
                        *error_code,
                        *duration_ms,
                        end,
                    )
                }
            }
            WorkerEvent::WorkerReady {
                slot,
                pid,
                handshake_ms,
            } => self.worker_span(*slot, *pid, *handshake_ms, end),
            WorkerEvent::WorkerSpawned { .. }
            | WorkerEvent::WorkerSpawnFailed { .. }
            | WorkerEvent::WorkerStateChanged { .. }
            | WorkerEvent::SlotTransitionRefused { .. }
            | WorkerEvent::WorkerExited { .. }
            | WorkerEvent::RestartScheduled { .. }
            | WorkerEvent::RestartsExhausted { .. }
            | WorkerEvent::WorkerUnresponsive { .. }
            | WorkerEvent::WorkerProtocolError { .. }
            | WorkerEvent::WorkerStderrObserved { .. }
            | WorkerEvent::ServerRequestAnswered { .. }
            | WorkerEvent::LeaseGranted { .. }
            | WorkerEvent::LeaseReleased { .. }
            | WorkerEvent::WorkerStopped { .. }
            | WorkerEvent::ToolCallReceived { .. }
            | WorkerEvent::TurnParked { .. }
            | WorkerEvent::ParkedTurnContinued { .. }
            | WorkerEvent::ParkedTurnDiscarded { .. }
            | WorkerEvent::WorkerRecycleStarted { .. }
            | WorkerEvent::WorkerMemorySampled { .. } => {}
        }
    }
}

/// Adds `codexd.key.id` (the API key's id, never its secret) when the request had one.
fn with_key_id(mut attributes: Vec<KeyValue>, ids: &ReqIds) -> Vec<KeyValue> {
    if let Some(id) = &ids.key_id {
        attributes.push(KeyValue::new("codexd.key.id", id.to_string()));
    }
    attributes
}
