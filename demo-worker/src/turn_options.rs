//! What a `turn/start` asks beyond text, and how the demo plays along: an `outputSchema`
//! makes the answer the schema's minimal instance (`structured.rs`); image input items are
//! acknowledged (`You said: … [2 images]`); a `summary` other than `none` streams one
//! reasoning summary (`item/reasoning/summaryTextDelta`) naming the effort before the answer.

use serde::Serialize;
use serde_json::Value;

use crate::client_messages::InputItem;
use crate::ids::{Tagged, THREAD, TURN};
use crate::reply_text::reply_for;
use crate::session::Session;

/// The reasoning item id prefix.
const REASONING: &str = "rs";

#[derive(Debug, Clone, Default)]
pub struct TurnOptions {
    pub output_schema: Option<Value>,
    pub images: usize,
    pub effort: Option<String>,
    pub summary: Option<String>,
}

impl TurnOptions {
    pub fn new(
        items: &[InputItem<'_>],
        output_schema: Option<Value>,
        effort: Option<&str>,
        summary: Option<&str>,
    ) -> Self {
        Self {
            output_schema: output_schema.filter(|s| !s.is_null()),
            images: items.iter().filter(|i| i.kind == "image").count(),
            effort: effort.map(str::to_owned),
            summary: summary.map(str::to_owned),
        }
    }

    /// The answer text: the schema's instance, or the configured reply or echo, with the
    /// images acknowledged.
    pub fn reply(&self, configured: Option<&str>, input: &str) -> String {
        if let Some(schema) = &self.output_schema {
            return crate::structured::instance_text(schema);
        }
        let mut reply = reply_for(configured, input);
        match self.images {
            0 => {}
            1 => reply.push_str(" [1 image]"),
            n => reply.push_str(&format!(" [{n} images]")),
        }
        reply
    }

    /// The summary text streamed before the answer, if one was asked for.
    pub fn summary_text(&self) -> Option<String> {
        match self.summary.as_deref() {
            None | Some("none") => None,
            Some(_) => Some(format!(
                "Thinking with {} effort.",
                self.effort.as_deref().unwrap_or("default")
            )),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SummaryDelta<'a> {
    thread_id: Tagged,
    turn_id: Tagged,
    item_id: String,
    delta: &'a str,
    summary_index: u32,
}

/// Streams the reasoning summary, if any (one delta).
pub fn stream_summary(ctx: &Session, options: &TurnOptions, thread: u64, turn: u64) {
    let Some(text) = options.summary_text() else {
        return;
    };
    let params = SummaryDelta {
        thread_id: Tagged(THREAD, thread),
        turn_id: Tagged(TURN, turn),
        item_id: format!("{REASONING}_{turn}"),
        delta: &text,
        summary_index: 0,
    };
    ctx.out.notify("item/reasoning/summaryTextDelta", params);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_reply_follows_the_schema_or_acknowledges_images() {
        let o = TurnOptions {
            images: 2,
            ..TurnOptions::default()
        };
        assert_eq!(o.reply(None, "hi"), "You said: hi [2 images]");
        let o = TurnOptions {
            output_schema: Some(
                json!({"type": "object", "properties": {"a": {"type": "boolean"}}}),
            ),
            ..TurnOptions::default()
        };
        assert_eq!(o.reply(None, "hi"), r#"{"a":false}"#);
        let o = TurnOptions {
            effort: Some("high".into()),
            summary: Some("auto".into()),
            ..TurnOptions::default()
        };
        assert_eq!(
            o.summary_text().as_deref(),
            Some("Thinking with high effort.")
        );
    }
}
