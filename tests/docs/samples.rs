//! One sample of every event in `CATALOGUE` (more where the level or a nullable field varies),
//! with every optional field present, for the event catalogue checks.

use codexd::http::routes::{status_class, Method, Route};
use codexd_actors::accounts::quota::QuotaWindow;
use codexd_actors::accounts::state::{AccountCause, AccountState};
use codexd_actors::events::{
    AccountEvent, Event, HealthEvent, HttpEvent, RequestSummary, RuntimeEvent, StreamEvent,
    StreamSummary, WorkerEvent,
};
use codexd_actors::labels::*;
use codexd_actors::turn::{ReqIds, TokenUsage};
use codexd_actors::worker::state::SlotState;

fn ids() -> ReqIds {
    ReqIds {
        req_id: "req".into(),
        trace_id: "trace".into(),
        span_id: "span".into(),
        key_id: Some("team-a".into()),
    }
}

fn usage() -> TokenUsage {
    TokenUsage {
        input: 1,
        output: 2,
        cached_input: 3,
        reasoning: 4,
        total: 3,
    }
}

fn request_completed(route: Route) -> Event {
    Event::Http(HttpEvent::RequestCompleted(Box::new(RequestSummary {
        ids: ids(),
        parent_span_id: Some("parent".into()),
        sampled: true,
        method: Method::Post.label(),
        route: route.label(),
        status: 200,
        status_class: status_class(200),
        duration_ms: 1.5,
        upstream_wait_ms: 1.0,
        bytes_out: 10,
        stream: true,
        outcome: RequestOutcome::Completed,
        model: Some("codex-demo".into()),
        user_agent: Some("curl".into()),
        error_code: Some("server_error"),
        error: Some("detail".into()),
    })))
}

fn stream_ended(outcome: StreamOutcome, ttft_ms: Option<f64>) -> Event {
    Event::Stream(StreamEvent::StreamEnded(Box::new(StreamSummary {
        ids: ids(),
        chat_span_id: "chat".into(),
        sampled: true,
        stream: true,
        codex_model: "demo".into(),
        error_type: None,
        route: Route::ChatCompletions.label(),
        model: "codex-demo".into(),
        slot: 0,
        outcome,
        duration_ms: 2.0,
        ttft_ms,
        chunks: 3,
        usage: usage(),
        features: Default::default(),
    })))
}

/// At least one instance of every event, with every optional field present, and one instance
/// per level (or per nullable field) an event can take.
pub(super) fn sample_events() -> Vec<Event> {
    use RuntimeEvent as R;
    use StreamEvent as S;
    use WorkerEvent as W;
    let phase = ShutdownPhase::DrainStreams;
    let exited = |expected: bool, code: Option<i32>, signal: Option<i32>| {
        Event::Worker(W::WorkerExited {
            slot: 0,
            pid: 42,
            code,
            signal,
            reason: RestartReason::Signal,
            uptime_ms: 5,
            expected,
        })
    };
    let readiness = |ready: bool| {
        Event::Health(HealthEvent::ReadinessChanged {
            ready,
            reason: if ready {
                ReadinessReason::Ready
            } else {
                ReadinessReason::NoReadyWorkers
            },
            ready_workers: 1,
        })
    };
    vec![
        Event::Runtime(R::DaemonStarted { workers: 2, pid: 1 }),
        Event::Runtime(R::ListenerBound {
            role: "api",
            addr: "127.0.0.1:1".into(),
        }),
        Event::Runtime(R::ShutdownPhaseStarted { phase }),
        Event::Runtime(R::ShutdownPhaseCompleted {
            phase,
            duration_ms: 1,
            timed_out: false,
        }),
        Event::Runtime(R::ShutdownPhaseCompleted {
            phase,
            duration_ms: 1,
            timed_out: true,
        }),
        Event::Runtime(R::ShutdownForced),
        Event::Runtime(R::DescriptorLimitSet {
            previous_soft: 1024,
            soft: 4096,
            hard: 4096,
        }),
        Event::Runtime(R::DescriptorLimitSet {
            previous_soft: 1024,
            soft: 1024,
            hard: 4096,
        }),
        Event::Runtime(R::DaemonStopped { uptime_ms: 1 }),
        Event::Runtime(R::StartupFailed {
            error: "x".into(),
            error_code: "bind_failed",
        }),
        Event::Runtime(R::PanicOccurred {
            location: "a.rs:1".into(),
            error: "boom",
        }),
        Event::Runtime(R::ContentCaptureEnabled),
        Event::Runtime(R::BusEventsDropped {
            subscriber: "tracing",
            dropped: 1,
        }),
        Event::Runtime(R::SpansDropped {
            dropped: 1,
            reason: "queue_full",
        }),
        Event::Runtime(R::UsageFlushFailed {
            backend: "sqlite",
            rows: 3,
            failures: 1,
            error: "sqlite: disk I/O error".into(),
        }),
        Event::Http(HttpEvent::RequestReceived {
            ids: ids(),
            method: Method::Post.label(),
            route: Route::ChatCompletions.label(),
        }),
        request_completed(Route::ChatCompletions),
        request_completed(Route::Readyz),
        Event::Http(HttpEvent::AdmissionRejected {
            ids: ids(),
            reason: RejectReason::QueueFull,
        }),
        Event::Http(HttpEvent::RequestHeadRejected),
        Event::Http(HttpEvent::FollowupServed {
            ids: ids(),
            sampled: false,
            path: codexd_actors::tools::FollowupPath::Replay,
            reason: "not_parked",
            link: None,
        }),
        Event::Http(HttpEvent::HostedToolsIgnored {
            ids: ids(),
            count: 1,
        }),
        Event::Stream(S::StreamStarted {
            ids: ids(),
            route: Route::ChatCompletions.label(),
            model: "codex-demo".into(),
            slot: 0,
            stream: true,
            queue_wait_ms: 0.5,
        }),
        Event::Stream(S::TurnStarted {
            ids: ids(),
            slot: 0,
            thread_id: "th".into(),
            turn_id: "tu".into(),
        }),
        Event::Stream(S::FirstTokenReceived {
            ids: ids(),
            route: Route::ChatCompletions.label(),
            model: "codex-demo".into(),
            ttft_ms: 1.0,
        }),
        Event::Stream(S::UpstreamErrorReceived {
            ids: ids(),
            slot: 0,
            kind: UpstreamErrorKind::RateLimited,
        }),
        Event::Stream(S::TurnInterruptSent {
            ids: ids(),
            slot: 0,
            cause: StreamOutcome::ClientAbort,
        }),
        Event::Stream(S::TurnInterruptConfirmed {
            ids: ids(),
            slot: 0,
        }),
        Event::Stream(S::ContentCaptured {
            ids: ids(),
            input: "in".into(),
            output: "out".into(),
        }),
        Event::Stream(S::StreamRetried {
            ids: ids(),
            route: Route::ChatCompletions.label(),
            from_slot: 0,
            slot: 1,
            reason: codexd_actors::retry::RetryReason::WorkerLost,
        }),
        stream_ended(StreamOutcome::Completed, Some(1.0)),
        stream_ended(StreamOutcome::WorkerLost, None),
        Event::Worker(W::WorkerSpawned {
            slot: 0,
            pid: 42,
            generation: 1,
        }),
        Event::Worker(W::WorkerSpawnFailed {
            slot: 0,
            error: "no such file".into(),
        }),
        Event::Worker(W::WorkerReady {
            slot: 0,
            pid: 42,
            handshake_ms: 3.0,
        }),
        Event::Worker(W::WorkerStateChanged {
            slot: 0,
            from: SlotState::Ready,
            to: SlotState::Busy,
        }),
        Event::Worker(W::SlotTransitionRefused {
            slot: 0,
            from: SlotState::Starting,
            to: SlotState::Ready,
        }),
        exited(true, Some(0), None),
        exited(false, None, Some(9)),
        Event::Worker(W::RestartScheduled {
            slot: 0,
            attempt: 1,
            delay_ms: 200,
            reason: RestartReason::Exit,
        }),
        Event::Worker(W::RestartsExhausted {
            slot: 0,
            restarts: 5,
            window_ms: 60_000,
            retry_in_ms: 300_000,
        }),
        Event::Worker(W::WorkerUnresponsive {
            slot: 0,
            pid: 42,
            waited_ms: 3000,
        }),
        Event::Worker(W::WorkerProtocolError {
            slot: 0,
            pid: 42,
            kind: ProtocolErrorKind::InvalidJson,
            line_bytes: 12,
        }),
        Event::Worker(W::WorkerStderrObserved {
            slot: 0,
            lines: 1,
            bytes: 10,
        }),
        Event::Worker(W::WorkerRpcCompleted {
            slot: 0,
            ids: Some(ids()),
            parent_span_id: Some("chat".into()),
            sampled: true,
            rpc_id: 7,
            error_code: Some(-32600),
            method: RpcMethod::TurnStart,
            outcome: RpcOutcome::Error,
            duration_ms: 1.0,
        }),
        Event::Worker(W::ServerRequestAnswered {
            slot: 0,
            ids: Some(ids()),
            kind: ServerRequestKind::CommandApproval,
            answer: ServerRequestAnswer::Declined,
        }),
        Event::Worker(W::LeaseGranted {
            slot: 0,
            ids: ids(),
            in_flight: 1,
        }),
        Event::Worker(W::LeaseReleased {
            slot: 0,
            in_flight: 0,
        }),
        Event::Worker(W::WorkerStopped {
            slot: 0,
            pid: 42,
            forced: false,
        }),
        Event::Worker(W::ToolCallReceived {
            slot: 0,
            ids: Some(ids()),
        }),
        Event::Worker(W::TurnParked {
            slot: 0,
            ids: ids(),
            calls: 2,
        }),
        Event::Worker(W::ParkedTurnContinued {
            slot: 0,
            ids: ids(),
        }),
        Event::Worker(W::ParkedTurnDiscarded {
            slot: 0,
            ids: Some(ids()),
            reason: codexd_actors::tools::ParkDiscard::Expired,
        }),
        Event::Worker(W::WorkerRecycleStarted {
            slot: 0,
            reason: RecycleReason::Turns,
            in_flight: 1,
        }),
        Event::Worker(W::WorkerMemorySampled {
            slot: 0,
            rss_bytes: 1 << 27,
        }),
        Event::Account(AccountEvent::AccountQuotaUpdated {
            account: "team".into(),
            window: QuotaWindow::Primary,
            used_ratio: Some(0.96),
            window_s: Some(18_000),
            resets_at_s: Some(1_900_000_000),
        }),
        Event::Account(AccountEvent::AccountQuotaUpdated {
            account: "team".into(),
            window: QuotaWindow::Secondary,
            used_ratio: None,
            window_s: None,
            resets_at_s: None,
        }),
        Event::Account(AccountEvent::AccountStateChanged {
            account: "team".into(),
            from: AccountState::Ok,
            to: AccountState::CoolingDown,
            cause: AccountCause::UsageLimitError,
            until_s: Some(1_900_000_000),
        }),
        Event::Account(AccountEvent::AccountStateChanged {
            account: "team".into(),
            from: AccountState::CoolingDown,
            to: AccountState::Ok,
            cause: AccountCause::Recovered,
            until_s: None,
        }),
        Event::Account(AccountEvent::CodexHomeSampled {
            account: "team".into(),
            bytes: 1 << 20,
        }),
        readiness(true),
        readiness(false),
    ]
}
