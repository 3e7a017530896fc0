//! Per-request bookkeeping around every route: request and trace ids, CORS exposure, the
//! in-flight gauge, and exactly one `request_completed` event per request — emitted when the
//! body is fully sent, or when the client goes away first.

use super::errors::ApiError;
use super::hot::Hot;
use super::ids;
use super::routes::{status_class, Method, Route};
use super::state::AppState;
use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::web::Bytes;
use actix_web::HttpMessage;
use codexd_actors::events::{Event, HttpEvent, RequestSummary};
use codexd_actors::labels::RequestOutcome;
use codexd_actors::stream::UpstreamTiming;
use codexd_actors::turn::ReqIds;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

/// What a handler learns about its request, read back when the request completes.
#[derive(Default)]
pub struct RequestFacts {
    pub ids: ReqIds,
    pub sampled: bool,
    pub parent_span_id: Option<String>,
    inner: Mutex<FactsInner>,
}

#[derive(Default)]
struct FactsInner {
    model: Option<String>,
    stream: bool,
    error_code: Option<&'static str>,
    error: Option<String>,
    failed_after_headers: bool,
    client_gone: bool,
    timing: Option<Arc<UpstreamTiming>>,
    /// The key's `x-ratelimit-*` state, for the response headers.
    rate: Option<crate::limits::Snapshot>,
    /// The admitted request's concurrency slot: released when the request completes.
    permit: Option<crate::limits::Permit>,
}

impl RequestFacts {
    pub fn set_model(&self, model: &str, stream: bool) {
        if let Ok(mut f) = self.inner.lock() {
            f.model = Some(model.to_owned());
            f.stream = stream;
        }
    }
    /// Records the request's error: its code, and the detail for the log line.
    pub fn set_error(&self, e: &ApiError, after_headers: bool) {
        if let Ok(mut f) = self.inner.lock() {
            f.error_code = Some(e.code());
            f.error = Some(e.to_string());
            f.failed_after_headers |= after_headers;
        }
    }
    /// The handler noticed the client hung up before the response existed.
    pub fn set_client_gone(&self) {
        if let Ok(mut f) = self.inner.lock() {
            f.client_gone = true;
        }
    }
    /// Records what the per-key limits saw and holds the request's slot until it completes.
    pub fn set_limits(
        &self,
        rate: Option<crate::limits::Snapshot>,
        permit: Option<crate::limits::Permit>,
    ) {
        if let Ok(mut f) = self.inner.lock() {
            f.rate = rate;
            f.permit = permit;
        }
    }
    fn rate(&self) -> Option<crate::limits::Snapshot> {
        self.inner.lock().ok().and_then(|f| f.rate)
    }
    pub fn set_timing(&self, t: Arc<UpstreamTiming>) {
        if let Ok(mut f) = self.inner.lock() {
            f.timing = Some(t);
        }
    }
}

/// Everything needed to emit the request's completion event.
struct Completion {
    /// The worker thread's state and handles: shared, not cloned per request.
    state: Rc<AppState>,
    hot: Rc<Hot>,
    facts: Arc<RequestFacts>,
    method: Method,
    route: Route,
    status: u16,
    started: Instant,
    user_agent: Option<String>,
    bytes_out: u64,
    done: bool,
}

impl Completion {
    fn finish(&mut self, aborted: bool) {
        if self.done {
            return;
        }
        self.done = true;
        // The request is over, however it ended: give its concurrency slot back.
        drop(
            self.facts
                .inner
                .lock()
                .ok()
                .and_then(|mut f| f.permit.take()),
        );
        if let Some(g) = self.hot.in_flight(self.route) {
            g.dec();
        }
        // Taken, not cloned: this runs once, and nothing reads the facts' model or error after.
        let (model, stream, error_code, error, failed_after, gone, wait) =
            match self.facts.inner.lock() {
                Ok(mut f) => (
                    f.model.take(),
                    f.stream,
                    f.error_code,
                    f.error.take(),
                    f.failed_after_headers,
                    f.client_gone,
                    f.timing.as_ref().map(|t| t.wait()),
                ),
                Err(_) => (None, false, None, None, false, false, None),
            };
        let aborted = aborted || gone;
        let status = if aborted && self.status < 400 {
            499
        } else {
            self.status
        };
        let outcome = RequestOutcome::classify(aborted, status, failed_after);
        self.state
            .bus
            .publish(Event::Http(HttpEvent::RequestCompleted(Box::new(
                RequestSummary {
                    ids: self.facts.ids.clone(),
                    parent_span_id: self.facts.parent_span_id.clone(),
                    sampled: self.facts.sampled,
                    method: self.method.label(),
                    route: self.route.label(),
                    status,
                    status_class: status_class(status),
                    duration_ms: self.started.elapsed().as_secs_f64() * 1000.0,
                    upstream_wait_ms: wait.map(|w| w.as_secs_f64() * 1000.0).unwrap_or(0.0),
                    bytes_out: self.bytes_out,
                    stream,
                    outcome,
                    model,
                    user_agent: self.user_agent.take(),
                    error_code,
                    error,
                },
            ))));
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        self.finish(true);
    }
}

/// A body that counts its bytes and completes the request when it ends or is dropped.
pub struct MeteredBody {
    inner: BoxBody,
    completion: Completion,
}

impl MessageBody for MeteredBody {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.inner.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(b))) => {
                this.completion.bytes_out += b.len() as u64;
                Poll::Ready(Some(Ok(b)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => {
                this.completion.finish(false);
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Prepares a request: ids, facts and the in-flight gauge. Returns the completion guard,
/// which records a client abort if it is dropped before the response exists.
fn begin(state: &Rc<AppState>, hot: &Rc<Hot>, req: &ServiceRequest) -> Completion {
    let headers = req.headers();
    let req_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|s| ids::valid_request_id(s))
        .map(str::to_owned)
        .unwrap_or_else(ids::new_request_id);
    let parent = headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(ids::parse_traceparent);
    let (trace_id, sampled, parent_span_id) = match parent {
        Some(p) => (p.trace_id, p.sampled, Some(p.parent_span_id)),
        None => {
            let trace_id = ids::hex(16);
            let sampled =
                crate::telemetry::sampling::sample_root(&trace_id, state.api.trace_sample_ratio);
            (trace_id, sampled, None)
        }
    };
    let route = Route::of(req.method(), req.path());
    // Probes and the scrape never authenticate with an API key.
    let key = (!route.is_operational())
        .then(|| super::auth::authenticate(req.request(), &state.api.api_keys))
        .flatten();
    let key_id = key.as_ref().map(|k| k.id.clone());
    if let Some(key) = key {
        req.extensions_mut().insert(key);
    }
    let facts = Arc::new(RequestFacts {
        ids: ReqIds {
            req_id,
            trace_id,
            span_id: ids::hex(8),
            key_id,
        },
        sampled,
        parent_span_id,
        inner: Mutex::default(),
    });
    req.extensions_mut().insert(facts.clone());
    if let Some(watch) = req.conn_data::<std::rc::Rc<super::conn::ConnWatch>>() {
        watch.request_seen();
    }
    let method = Method::parse(req.method().as_str());
    if !route.is_operational() {
        if let Some(g) = hot.in_flight(route) {
            g.inc();
        }
        state.bus.publish(Event::Http(HttpEvent::RequestReceived {
            ids: facts.ids.clone(),
            method: method.label(),
            route: route.label(),
        }));
    }
    let user_agent = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .map(user_agent);
    Completion {
        state: state.clone(),
        hot: hot.clone(),
        facts,
        method,
        route,
        status: 0,
        started: Instant::now(),
        user_agent,
        bytes_out: 0,
        done: false,
    }
}

/// The user agent as logged: printable ASCII and spaces only, at most 64 characters.
fn user_agent(s: &str) -> String {
    let keep = |c: char| c.is_ascii_graphic() || c == ' ';
    // The common case, a short clean header, is copied as is.
    if s.len() <= 64 && s.chars().all(keep) {
        return s.to_owned();
    }
    s.chars().filter(|c| keep(*c)).take(64).collect()
}

/// Runs the service for one request and wraps its response.
pub fn wrap<S>(
    req: ServiceRequest,
    srv: &S,
    state: Rc<AppState>,
    hot: Rc<Hot>,
) -> impl std::future::Future<Output = Result<ServiceResponse<MeteredBody>, actix_web::Error>> + 'static
where
    S: actix_web::dev::Service<
        ServiceRequest,
        Response = ServiceResponse<BoxBody>,
        Error = actix_web::Error,
    >,
    S::Future: 'static,
{
    let completion = begin(&state, &hot, &req);
    let fut = srv.call(req);
    finish(fut, completion)
}

async fn finish<F>(
    fut: F,
    mut completion: Completion,
) -> Result<ServiceResponse<MeteredBody>, actix_web::Error>
where
    F: std::future::Future<Output = Result<ServiceResponse<BoxBody>, actix_web::Error>>,
{
    let mut res = fut.await?;
    completion.status = res.status().as_u16();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&completion.facts.ids.req_id) {
        h.insert(HeaderName::from_static("x-request-id"), v);
    }
    if let Some(rate) = completion.facts.rate() {
        super::limits::insert_headers(h, &rate);
    }
    h.insert(
        HeaderName::from_static("access-control-expose-headers"),
        HeaderValue::from_static("X-Request-Id"),
    );
    if let Some(origin) = &completion.state.cors_origin {
        h.insert(
            HeaderName::from_static("access-control-allow-origin"),
            origin.clone(),
        );
    }
    Ok(res.map_body(|_, inner| MeteredBody { inner, completion }))
}
