//! The demo's raw reasoning items, as Codex sends them on a thread started with
//! `experimentalRawEvents`: a turn that sets a `summary` or an `effort` gets one
//! `rawResponseItem/completed` with a `reasoning` item (after the summary delta, before the
//! answer) whose `encrypted_content` is the deterministic fake
//! `demo-encrypted:<effort>:<turn input>` (`default` without an effort). Replayed reasoning
//! items are counted (`injected_count`) so that the answer can say how many were injected.

use serde_json::{json, Value};

use crate::ids::{Tagged, THREAD, TURN};
use crate::session::{Session, TurnSpec};

/// The fake encrypted content of a turn.
pub fn encrypted_content(effort: Option<&str>, input: &str) -> String {
    format!("demo-encrypted:{}:{input}", effort.unwrap_or("default"))
}

/// Writes the turn's raw reasoning item, if the thread asked for raw events and the turn
/// for reasoning.
pub fn emit(ctx: &Session, spec: &TurnSpec) {
    let o = &spec.options;
    if o.summary.is_none() && o.effort.is_none() {
        return;
    }
    if !crate::client_tools::raw_events(ctx, spec.at.thread) {
        return;
    }
    let summary: Vec<Value> = o
        .summary_text()
        .into_iter()
        .map(|t| json!({"type": "summary_text", "text": t}))
        .collect();
    let item = json!({"type": "reasoning", "id": format!("rs_{}", spec.at.turn),
        "summary": summary, "content": null,
        "encrypted_content": encrypted_content(o.effort.as_deref(), &spec.input)});
    ctx.out.notify(
        "rawResponseItem/completed",
        json!({"threadId": Tagged(THREAD, spec.at.thread), "turnId": Tagged(TURN, spec.at.turn),
               "item": item}),
    );
}

/// How many `reasoning` items an injected history holds.
pub fn injected_count(items: &[Value]) -> usize {
    items
        .iter()
        .filter(|i| i.get("type").and_then(Value::as_str) == Some("reasoning"))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fake_content_is_deterministic() {
        assert_eq!(
            encrypted_content(Some("low"), "hi"),
            "demo-encrypted:low:hi"
        );
        assert_eq!(encrypted_content(None, ""), "demo-encrypted:default:");
        assert_eq!(
            injected_count(&[json!({"type": "reasoning"}), json!({"type": "message"})]),
            1
        );
    }
}
