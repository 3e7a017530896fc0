//! The events one streamed chat request puts on the bus, in publication order, shared by the
//! log-line and metrics benchmarks.

use codexd_actors::events::{
    Event, HttpEvent, RequestSummary, StreamEvent, StreamSummary, WorkerEvent,
};
use codexd_actors::ingress::{MethodLabel, RouteClass, RouteLabel};
use codexd_actors::labels::{RequestOutcome, RpcMethod, RpcOutcome, StreamOutcome};

/// The labels the front end's route table hands over for a chat request.
const POST: MethodLabel = MethodLabel::new("POST");
const CHAT: RouteLabel = RouteLabel::new("/v1/chat/completions", RouteClass::Generation);
use codexd_actors::turn::{ReqIds, TokenUsage};

fn ids() -> ReqIds {
    ReqIds {
        req_id: "req_01JH8Z0Q6W3V4T5S6R7Q8P9N0M".into(),
        trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
        span_id: "00f067aa0ba902b7".into(),
        key_id: None,
    }
}

/// The request's summary (`request_completed`, logged at info).
pub fn request_completed() -> Event {
    Event::Http(HttpEvent::RequestCompleted(Box::new(RequestSummary {
        ids: ids(),
        parent_span_id: None,
        sampled: false,
        method: POST,
        route: CHAT,
        status: 200,
        status_class: "2xx",
        duration_ms: 1.234,
        upstream_wait_ms: 1.1,
        bytes_out: 1650,
        stream: true,
        outcome: RequestOutcome::Completed,
        model: Some("codex-demo".into()),
        user_agent: Some("codexd-bench/0.1".into()),
        error_code: None,
        error: None,
    })))
}

/// The stream's summary (`stream_ended`, logged at info).
pub fn stream_ended() -> Event {
    Event::Stream(StreamEvent::StreamEnded(Box::new(StreamSummary {
        ids: ids(),
        chat_span_id: "a3ce929d0e0e4736".into(),
        sampled: false,
        stream: true,
        codex_model: "demo".into(),
        error_type: None,
        route: CHAT,
        model: "codex-demo".into(),
        slot: 1,
        outcome: StreamOutcome::Completed,
        duration_ms: 1.1,
        ttft_ms: Some(0.6),
        chunks: 5,
        usage: TokenUsage {
            input: 3,
            output: 5,
            cached_input: 0,
            reasoning: 0,
            total: 8,
        },
        features: Default::default(),
    })))
}

fn rpc(method: RpcMethod, rpc_id: u64) -> Event {
    Event::Worker(WorkerEvent::WorkerRpcCompleted {
        slot: 1,
        ids: Some(ids()),
        parent_span_id: Some("a3ce929d0e0e4736".into()),
        sampled: false,
        rpc_id,
        error_code: None,
        method,
        outcome: RpcOutcome::Ok,
        duration_ms: 0.2,
    })
}

/// Every event of one streamed request, in the order the daemon publishes them.
pub fn request_events() -> Vec<Event> {
    vec![
        Event::Http(HttpEvent::RequestReceived {
            ids: ids(),
            method: POST,
            route: CHAT,
        }),
        Event::Worker(WorkerEvent::LeaseGranted {
            slot: 1,
            ids: ids(),
            in_flight: 1,
        }),
        Event::Stream(StreamEvent::StreamStarted {
            ids: ids(),
            route: CHAT,
            model: "codex-demo".into(),
            slot: 1,
            stream: true,
            queue_wait_ms: 0.01,
        }),
        rpc(RpcMethod::ThreadStart, 41),
        Event::Stream(StreamEvent::TurnStarted {
            ids: ids(),
            slot: 1,
            thread_id: "thr_21".into(),
            turn_id: "turn_21".into(),
        }),
        rpc(RpcMethod::TurnStart, 42),
        Event::Stream(StreamEvent::FirstTokenReceived {
            ids: ids(),
            route: CHAT,
            model: "codex-demo".into(),
            ttft_ms: 0.6,
        }),
        stream_ended(),
        Event::Worker(WorkerEvent::LeaseReleased {
            slot: 1,
            in_flight: 0,
        }),
        request_completed(),
    ]
}
