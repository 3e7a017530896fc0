//! Client-tool series: calls received, parked turns (gauge), discards by reason, and the path
//! that served each follow-up (with why a replay was needed). Labels come from closed sets
//! only: never a tool name, a call id, arguments or outputs.

use crate::tools::{FollowupPath, ParkDiscard, ReplayReason};
use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// The families, registered once.
pub struct ToolMetrics {
    calls: IntCounter,
    parked: IntGauge,
    discarded: IntCounterVec,
    followups: IntCounterVec,
    hosted_ignored: IntCounter,
}

impl ToolMetrics {
    pub fn register(r: &Registry) -> prometheus::Result<Self> {
        let calls = IntCounter::new(
            "codexd_tool_calls_total",
            "Client tool calls the model made (item/tool/call requests).",
        )?;
        let parked = IntGauge::new(
            "codexd_parked_turns",
            "Turns waiting on their worker for client tool outputs.",
        )?;
        let discarded = IntCounterVec::new(
            Opts::new(
                "codexd_parked_turns_discarded_total",
                "Parked turns interrupted without being continued, by reason.",
            ),
            &["reason"],
        )?;
        let followups = IntCounterVec::new(
            Opts::new(
                "codexd_tool_followups_total",
                "Requests that brought tool outputs, by the path that served them and why a replay was needed (reason none for continue).",
            ),
            &["path", "reason"],
        )?;
        let hosted_ignored = IntCounter::new(
            "codexd_hosted_tools_ignored_total",
            "Hosted tool entries (web search, file search, ...) dropped from requests because tools.hosted_tools is ignore.",
        )?;
        r.register(Box::new(calls.clone()))?;
        r.register(Box::new(parked.clone()))?;
        r.register(Box::new(discarded.clone()))?;
        r.register(Box::new(followups.clone()))?;
        r.register(Box::new(hosted_ignored.clone()))?;
        for d in ParkDiscard::ALL {
            discarded.with_label_values(&[d.as_str()]);
        }
        followups.with_label_values(&[FollowupPath::Continue.as_str(), "none"]);
        for r in ReplayReason::ALL {
            followups.with_label_values(&[FollowupPath::Replay.as_str(), r.as_str()]);
        }
        Ok(Self {
            calls,
            parked,
            discarded,
            followups,
            hosted_ignored,
        })
    }

    pub fn on_call(&self) {
        self.calls.inc();
    }

    pub fn on_parked(&self) {
        self.parked.inc();
    }

    pub fn on_continued(&self) {
        self.parked.dec();
    }

    pub fn on_discarded(&self, reason: ParkDiscard) {
        self.discarded.with_label_values(&[reason.as_str()]).inc();
        // A turn turned away at the cap was never parked.
        if reason != ParkDiscard::CapReached {
            self.parked.dec();
        }
    }

    /// `reason` is a `ReplayReason` wire name, or `none` for the continue path.
    pub fn on_followup(&self, path: FollowupPath, reason: &str) {
        self.followups
            .with_label_values(&[path.as_str(), reason])
            .inc();
    }

    pub fn on_hosted_ignored(&self, count: u64) {
        self.hosted_ignored.inc_by(count);
    }
}
