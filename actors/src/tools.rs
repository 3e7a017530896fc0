//! Client tools as a turn sees them: the declared function tools, the calls the model makes,
//! the follow-up a later request brings (continue a parked turn, or replay the history on a
//! fresh thread), and the closed label sets that count them. No wire formats here.

use crate::label_enum;
use serde_json::Value;

/// One client function tool, as `thread/start.dynamicTools` declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// The JSON schema of the arguments (an object schema).
    pub parameters: Value,
}

/// A call the model made to a client tool. `arguments` is the JSON text OpenAI clients expect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    pub call_id: String,
    pub name: String,
    pub arguments: String,
}

/// Where a parked turn lives: the worker slot and process generation, and the turn's key on
/// that worker's connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ParkedAt {
    pub slot: usize,
    pub generation: u64,
    pub key: u64,
}

/// What a later request brings for a turn's tool calls.
#[derive(Debug, Clone, PartialEq)]
pub enum Followup {
    /// Answer the parked turn's pending calls with these outputs (`call_id`, text) and stream
    /// the rest of that turn.
    Continue {
        parked: ParkedAt,
        outputs: Vec<(String, String)>,
    },
    /// Inject these Responses items on a fresh thread (`thread/inject_items`) and run the
    /// turn with an empty input.
    Replay { items: Vec<Value> },
}

/// The client-tool part of a turn request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolTurn {
    /// The client's function tools (empty: a plain turn).
    pub tools: Vec<ToolSpec>,
    /// The digest of the history before this turn's answer, joined with the calls the turn
    /// makes to give the parked turn's transcript digest.
    pub history_digest: u64,
    pub followup: Option<Followup>,
    /// The request's trace context, kept with a parked turn so that the continuing request's
    /// span can link to it.
    pub trace_link: Option<(String, String)>,
}

impl ToolTurn {
    pub fn is_continue(&self) -> bool {
        matches!(self.followup, Some(Followup::Continue { .. }))
    }
}

label_enum!(
    /// Which path served a follow-up request that carried tool outputs.
    FollowupPath {
        Continue => "continue",
        Replay => "replay",
    }
);

label_enum!(
    /// Why a follow-up was replayed instead of continuing a parked turn: `not_parked`, no
    /// parked turn waits on these calls (expired, discarded, another replica, a restart);
    /// `mismatch`, one does but the transcript or the call set differs (edited history,
    /// changed tools, outputs for a subset of the calls); `worker_gone`, the parked turn's
    /// worker is gone or cannot take the turn now.
    ReplayReason {
        NotParked => "not_parked",
        Mismatch => "mismatch",
        WorkerGone => "worker_gone",
    }
);

label_enum!(
    /// Why a parked turn was discarded (interrupted, its thread never reused).
    ParkDiscard {
        Expired => "expired",
        Mismatch => "mismatch",
        WorkerExit => "worker_exit",
        CapReached => "cap_reached",
    }
);

/// The digest of a history prefix joined with the calls of the assistant turn that follows it.
/// Deterministic within one process (the parked registry lives in memory only).
pub fn transcript_digest(history_digest: u64, calls: &[ToolCall]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    history_digest.hash(&mut h);
    for c in calls {
        c.call_id.hash(&mut h);
        c.name.hash(&mut h);
        canonical_arguments(&c.arguments).hash(&mut h);
    }
    h.finish()
}

/// Arguments compared as JSON, not as text: `{"a": 1}` and `{"a":1}` are the same call.
pub fn canonical_arguments(arguments: &str) -> String {
    match serde_json::from_str::<Value>(arguments) {
        Ok(v) => v.to_string(),
        Err(_) => arguments.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(args: &str) -> ToolCall {
        ToolCall {
            call_id: "c1".into(),
            name: "f".into(),
            arguments: args.into(),
        }
    }

    #[test]
    fn the_digest_ignores_argument_whitespace_but_not_values() {
        let a = transcript_digest(7, &[call(r#"{"x": 1}"#)]);
        assert_eq!(a, transcript_digest(7, &[call(r#"{"x":1}"#)]));
        assert_ne!(a, transcript_digest(7, &[call(r#"{"x":2}"#)]));
        assert_ne!(a, transcript_digest(8, &[call(r#"{"x":1}"#)]));
    }
}
