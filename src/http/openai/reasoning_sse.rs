//! The reasoning summary on the Responses API: one `reasoning` output item whose summary text
//! streams as OpenAI's events (`response.output_item.added`,
//! `response.reasoning_summary_part.added`, `response.reasoning_summary_text.delta` / `.done`,
//! `response.reasoning_summary_part.done`, `response.output_item.done`). In a stream the item
//! follows the message item the prelude opened (output index 1); in a non-stream body it comes
//! first, as OpenAI orders it.

use serde_json::{json, Value};

/// One stream's reasoning item.
#[derive(Debug, Default)]
pub struct ReasoningSse {
    id: String,
    output_index: usize,
    text: String,
    state: State,
}

#[derive(Debug, Default, PartialEq, Eq)]
enum State {
    #[default]
    None,
    Open,
    Done,
}

/// A reasoning output item with its summary text.
pub fn item(id: &str, text: &str) -> Value {
    json!({"type": "reasoning", "id": id, "summary": [{"type": "summary_text", "text": text}]})
}

/// Puts a reasoning item with `text` first in a non-stream `response` body's `output`.
pub fn prepend(mut body: Value, text: &str) -> Value {
    let id = format!("rs_{}", crate::http::ids::hex(24));
    if let Some(Value::Array(output)) = body.get_mut("output") {
        output.insert(0, item(&id, text));
    }
    body
}

impl ReasoningSse {
    pub fn new(id: String, output_index: usize) -> Self {
        Self {
            id,
            output_index,
            ..Self::default()
        }
    }

    /// The events for one summary delta (opening the item first); empty once it is closed.
    pub fn delta(&mut self, delta: &str) -> Vec<(&'static str, Value)> {
        let mut out = Vec::new();
        let (id, idx) = (self.id.clone(), self.output_index);
        match self.state {
            State::Done => return out,
            State::None => {
                self.state = State::Open;
                out.push((
                    "response.output_item.added",
                    json!({"output_index": idx, "item": {"type": "reasoning", "id": id, "summary": []}}),
                ));
                out.push((
                    "response.reasoning_summary_part.added",
                    json!({"item_id": id, "output_index": idx, "summary_index": 0,
                           "part": {"type": "summary_text", "text": ""}}),
                ));
            }
            State::Open => {}
        }
        self.text.push_str(delta);
        out.push((
            "response.reasoning_summary_text.delta",
            json!({"item_id": id, "output_index": idx, "summary_index": 0, "delta": delta}),
        ));
        out
    }

    /// The closing events, once, if the item was opened.
    pub fn close(&mut self) -> Vec<(&'static str, Value)> {
        if self.state != State::Open {
            return Vec::new();
        }
        self.state = State::Done;
        let (id, idx, text) = (self.id.clone(), self.output_index, self.text.clone());
        vec![
            (
                "response.reasoning_summary_text.done",
                json!({"item_id": id, "output_index": idx, "summary_index": 0, "text": text}),
            ),
            (
                "response.reasoning_summary_part.done",
                json!({"item_id": id, "output_index": idx, "summary_index": 0,
                       "part": {"type": "summary_text", "text": text}}),
            ),
            (
                "response.output_item.done",
                json!({"output_index": idx, "item": item(&id, &text)}),
            ),
        ]
    }

    /// The finished item for the final `response` snapshot, if there was a summary.
    pub fn finished(&self) -> Option<Value> {
        (self.state != State::None).then(|| item(&self.id, &self.text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_item_opens_on_the_first_delta_and_closes_once() {
        let mut r = ReasoningSse::new("rs_1".into(), 1);
        assert!(r.close().is_empty() && r.finished().is_none());
        let types: Vec<&str> = r.delta("a").iter().map(|(t, _)| *t).collect();
        assert_eq!(
            types,
            [
                "response.output_item.added",
                "response.reasoning_summary_part.added",
                "response.reasoning_summary_text.delta"
            ]
        );
        assert_eq!(r.delta("b").len(), 1);
        let done = r.close();
        assert_eq!(done.len(), 3);
        assert_eq!(done[0].1["text"], "ab");
        assert!(r.close().is_empty() && r.delta("c").is_empty());
        assert_eq!(r.finished().unwrap()["summary"][0]["text"], "ab");
    }
}
