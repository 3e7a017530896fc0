//! The HTTP domain's events: a request received, completed (with its summary) or turned
//! away by admission. Routes and methods are opaque labels from the front end's tables.

use super::declare::{events, log_struct};
use crate::ingress::{MethodLabel, RouteLabel};
use crate::labels::RequestOutcome;
use crate::tools::FollowupPath;
use crate::turn::ReqIds;
use crate::worker::labels::RejectReason;

log_struct! {
    /// One HTTP request's summary; `model` is a catalogue id or `other`.
    pub struct RequestSummary {
        ids: ReqIds,
        /// The inbound `traceparent`'s span id (the server span's parent), if any.
        parent_span_id: Option<String> => _,
        sampled: bool => _,
        method: MethodLabel,
        route: RouteLabel,
        status: u16,
        /// The status folded to `1xx`..`5xx` by the front end (a metric label).
        status_class: &'static str => _,
        duration_ms: f64,
        upstream_wait_ms: f64,
        bytes_out: u64,
        stream: bool,
        outcome: RequestOutcome,
        model: Option<String>,
        user_agent: Option<String>,
        error_code: Option<&'static str>,
        error: Option<String>,
    }
}

events! {
    /// One HTTP request's lifecycle.
    pub enum HttpEvent {
        RequestReceived { ids: ReqIds, method: MethodLabel, route: RouteLabel }
            => Debug, Http, "request received";
        /// Probe and scrape requests complete at debug.
        RequestCompleted(summary: Box<RequestSummary>)
            => if summary.route.is_operational() { Debug } else { Info },
               Http, "request completed";
        AdmissionRejected { ids: ReqIds, reason: RejectReason }
            => Warning, Http, "admission rejected";
        /// A connection that actix-http answered itself (400/431/408) before any request
        /// reached codexd: a malformed or oversized request head, or a head timeout.
        RequestHeadRejected => Info, Http, "request head rejected";
        /// A request brought client tool outputs; `replay_reason` is a replay reason's name
        /// or `none` (continue path).
        FollowupServed {
            ids: ReqIds,
            sampled: bool => _,
            path: FollowupPath => "followup_path",
            reason: &'static str => "replay_reason",
            /// `(trace_id, span_id)` of the request that parked the continued turn (a span link).
            link: Option<(String, String)> => _,
        }
            => Info, Http, "tool followup served";
        /// Hosted tool entries dropped from a request (`tools.hosted_tools = "ignore"`).
        HostedToolsIgnored { ids: ReqIds, count: u64 => "hosted_tools" }
            => Info, Http, "hosted tools ignored";
    }
}
