//! The reasoning summary on the Responses API: one `reasoning` output item whose summary text
//! streams as OpenAI's events (`response.output_item.added`,
//! `response.reasoning_summary_part.added`, `response.reasoning_summary_text.delta` / `.done`,
//! `response.reasoning_summary_part.done`, `response.output_item.done`). In a stream the item
//! follows the message item the prelude opened (output index 1); in a non-stream body it comes
//! first, as OpenAI orders it. When the request asked for `reasoning.encrypted_content`, the
//! model's raw reasoning item adds its `encrypted_content` to this same item (one reasoning
//! item, never two); without a summary the item is added and done at once, when the raw item
//! arrives. With several raw items in one turn the last one's content is kept.

use serde_json::{json, Value};

/// One stream's reasoning item.
#[derive(Debug, Default)]
pub struct ReasoningSse {
    id: String,
    output_index: usize,
    text: String,
    state: State,
    /// The raw item's `encrypted_content`, only when the request asked for it.
    encrypted: Option<String>,
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

/// A reasoning output item with its summary text (none when empty) and, if the request asked
/// for it, its `encrypted_content`.
pub fn item_with(id: &str, text: &str, encrypted: Option<&str>) -> Value {
    let mut v = if text.is_empty() {
        json!({"type": "reasoning", "id": id, "summary": []})
    } else {
        item(id, text)
    };
    if let (Some(e), Some(o)) = (encrypted, v.as_object_mut()) {
        o.insert("encrypted_content".into(), Value::String(e.to_owned()));
    }
    v
}

/// Puts a reasoning item with `text` first in a non-stream `response` body's `output`.
pub fn prepend(body: Value, text: &str) -> Value {
    prepend_with(body, text, None)
}

/// Puts one reasoning item (summary `text`, `encrypted_content`) first in a non-stream
/// `response` body's `output`; nothing when there is neither.
pub fn prepend_with(mut body: Value, text: &str, encrypted: Option<&str>) -> Value {
    if text.is_empty() && encrypted.is_none() {
        return body;
    }
    let id = format!("rs_{}", crate::http::ids::hex(24));
    if let Some(Value::Array(output)) = body.get_mut("output") {
        output.insert(0, item_with(&id, text, encrypted));
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
                json!({"output_index": idx,
                       "item": item_with(&id, &text, self.encrypted.as_deref())}),
            ),
        ]
    }

    /// A raw reasoning item (the request asked for its encrypted content): kept for the item
    /// being streamed, or, without a summary so far, the item added and done at once.
    pub fn raw_item(
        &mut self,
        r: &codexd_actors::reasoning_item::ReasoningItem,
    ) -> Vec<(&'static str, Value)> {
        if r.encrypted_content.is_some() {
            self.encrypted = r.encrypted_content.clone();
        }
        if self.state != State::None {
            return Vec::new();
        }
        self.state = State::Done;
        self.text = r.summary.join("\n\n");
        let (id, idx) = (self.id.clone(), self.output_index);
        vec![
            (
                "response.output_item.added",
                json!({"output_index": idx, "item": {"type": "reasoning", "id": id, "summary": []}}),
            ),
            (
                "response.output_item.done",
                json!({"output_index": idx,
                       "item": item_with(&id, &self.text, self.encrypted.as_deref())}),
            ),
        ]
    }

    /// The finished item for the final `response` snapshot, if there was a summary or a raw
    /// reasoning item.
    pub fn finished(&self) -> Option<Value> {
        (self.state != State::None)
            .then(|| item_with(&self.id, &self.text, self.encrypted.as_deref()))
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

    fn raw(enc: &str) -> codexd_actors::reasoning_item::ReasoningItem {
        codexd_actors::reasoning_item::ReasoningItem {
            id: None,
            summary: vec![],
            encrypted_content: Some(enc.into()),
        }
    }

    #[test]
    fn encrypted_content_joins_the_one_reasoning_item() {
        // With a summary streaming: the content lands on the same item's done event.
        let mut r = ReasoningSse::new("rs_1".into(), 1);
        r.delta("a");
        assert!(r.raw_item(&raw("E1")).is_empty());
        let done = r.close();
        assert_eq!(done[2].1["item"]["encrypted_content"], "E1");
        assert_eq!(done[2].1["item"]["summary"][0]["text"], "a");
        assert_eq!(r.finished().unwrap()["encrypted_content"], "E1");
        // Without a summary: added and done at once, an empty summary.
        let mut r = ReasoningSse::new("rs_2".into(), 1);
        let ev = r.raw_item(&raw("E2"));
        let types: Vec<&str> = ev.iter().map(|(t, _)| *t).collect();
        assert_eq!(
            types,
            ["response.output_item.added", "response.output_item.done"]
        );
        assert_eq!(
            ev[1].1["item"],
            json!({"type": "reasoning", "id": "rs_2", "summary": [], "encrypted_content": "E2"})
        );
        assert!(r.close().is_empty() && r.delta("late").is_empty());
        // Non-stream: one item, first.
        let body = prepend_with(json!({"output": [{"type": "message"}]}), "s", Some("E3"));
        assert_eq!(body["output"].as_array().unwrap().len(), 2);
        assert_eq!(body["output"][0]["encrypted_content"], "E3");
        assert_eq!(
            prepend_with(json!({"output": []}), "", None)["output"],
            json!([])
        );
    }
}
