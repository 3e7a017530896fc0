//! The OTLP/HTTP (protobuf) span exporter: a bounded queue in front of a dedicated thread
//! that batches spans and posts them with awc. awc is not `Send`, so it lives on its own
//! thread with its own actix system; the request path only ever does a non-blocking
//! `try_send`, so a slow or unreachable collector can never slow a request. Every span that
//! is lost (queue full, export failed) is counted and reported by one rate-limited warning.

use super::TraceSettings;
use crate::logging::VERSION;
use codexd_actors::events::{Event, RuntimeEvent};
use codexd_actors::BusHandle;
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;
use prost::Message;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MAX_BATCH: usize = 512;
const FLUSH_EVERY: Duration = Duration::from_millis(500);
const WARN_EVERY: Duration = Duration::from_secs(10);

enum Msg {
    Span(Box<SpanData>),
    Flush(mpsc::Sender<()>),
}

/// Counts lost spans and warns at most once per interval.
struct DropReporter {
    counter: prometheus::IntCounter,
    bus: BusHandle,
    state: Mutex<(u64, Option<Instant>)>,
}

impl DropReporter {
    fn lost(&self, n: u64, reason: &'static str) {
        self.counter.inc_by(n);
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        st.0 += n;
        if st.1.is_none_or(|t| t.elapsed() >= WARN_EVERY) {
            self.bus.publish(Event::Runtime(RuntimeEvent::SpansDropped {
                dropped: st.0,
                reason,
            }));
            *st = (0, Some(Instant::now()));
        }
    }
}

/// The exporter handle used by the recorder.
pub struct Exporter {
    tx: SyncSender<Msg>,
    drops: Arc<DropReporter>,
}

impl Exporter {
    /// Starts the export thread.
    pub fn start(
        settings: TraceSettings,
        dropped: prometheus::IntCounter,
        bus: BusHandle,
    ) -> std::io::Result<Exporter> {
        let (tx, rx) = mpsc::sync_channel(settings.queue_size);
        let drops = Arc::new(DropReporter {
            counter: dropped,
            bus,
            state: Mutex::new((0, None)),
        });
        let thread_drops = drops.clone();
        std::thread::Builder::new()
            .name("codexd-otlp".into())
            .spawn(move || run(rx, settings, thread_drops))?;
        Ok(Exporter { tx, drops })
    }

    /// Queues a finished span; never blocks.
    pub fn submit(&self, span: SpanData) {
        match self.tx.try_send(Msg::Span(Box::new(span))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => self.drops.lost(1, "queue_full"),
            Err(TrySendError::Disconnected(_)) => self.drops.lost(1, "exporter_stopped"),
        }
    }

    /// Exports everything queued so far; true when done within `timeout`.
    pub fn flush(&self, timeout: Duration) -> bool {
        let (ack, done) = mpsc::channel();
        let deadline = Instant::now() + timeout;
        let mut msg = Msg::Flush(ack);
        loop {
            match self.tx.try_send(msg) {
                Ok(()) => break,
                Err(TrySendError::Full(m)) if Instant::now() < deadline => {
                    msg = m;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(_) => return false,
            }
        }
        done.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .is_ok()
    }
}

fn resource(settings: &TraceSettings) -> Resource {
    let attrs = settings
        .resource
        .iter()
        .filter(|(k, _)| k.as_str() != "service.name")
        .map(|(k, v)| KeyValue::new(k.clone(), v.clone()));
    Resource::builder_empty()
        .with_service_name(settings.service_name.clone())
        .with_attributes(attrs)
        .with_attribute(KeyValue::new("service.version", VERSION))
        .build()
}

/// The scope every codexd span is recorded under.
pub fn scope() -> InstrumentationScope {
    InstrumentationScope::builder("codexd")
        .with_version(VERSION)
        .build()
}

fn run(rx: Receiver<Msg>, settings: TraceSettings, drops: Arc<DropReporter>) {
    let system = actix_rt::System::new();
    system.block_on(async move {
        let client = awc::Client::builder()
            .timeout(settings.export_timeout)
            .disable_redirects()
            .finish();
        let resource = ResourceAttributesWithSchema::from(&resource(&settings));
        let mut batch: Vec<SpanData> = Vec::new();
        loop {
            // Blocking here is fine: this thread's system runs nothing but this loop.
            let msg = rx.recv_timeout(FLUSH_EVERY);
            let (flush, ack, stop) = match msg {
                Ok(Msg::Span(s)) => {
                    batch.push(*s);
                    (batch.len() >= MAX_BATCH, None, false)
                }
                Ok(Msg::Flush(ack)) => (true, Some(ack), false),
                Err(RecvTimeoutError::Timeout) => (!batch.is_empty(), None, false),
                Err(RecvTimeoutError::Disconnected) => (true, None, true),
            };
            if flush && !batch.is_empty() {
                let spans = std::mem::take(&mut batch);
                let n = spans.len() as u64;
                let body = ExportTraceServiceRequest {
                    resource_spans: group_spans_by_resource_and_scope(spans, &resource),
                }
                .encode_to_vec();
                let sent = client
                    .post(settings.url.as_str())
                    .insert_header(("content-type", "application/x-protobuf"))
                    .send_body(body)
                    .await;
                match sent {
                    Ok(resp) if resp.status().is_success() => {}
                    _ => drops.lost(n, "export_failed"),
                }
            }
            if let Some(ack) = ack {
                let _ = ack.send(());
            }
            if stop {
                break;
            }
        }
    });
}
