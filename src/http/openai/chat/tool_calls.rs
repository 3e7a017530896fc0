//! Tool calls in Chat Completions answers: `message.tool_calls` with `finish_reason:
//! "tool_calls"` in the body, and `delta.tool_calls` chunks in the stream (each entry with
//! its `index`; `id`, `type` and `function.name` on the first piece, then the arguments).

use super::{frame, ChatSse};
use codexd_actors::tools::ToolCall;
use serde_json::{json, Value};

fn entry(index: usize, c: &ToolCall) -> Value {
    json!({"index": index, "id": c.call_id, "type": "function",
           "function": {"name": c.name, "arguments": c.arguments}})
}

/// Puts the calls on a non-stream `json!` body: `content` is the text written before them
/// (null when there was none). The reference for the typed body (`completion.rs`).
pub fn attach(body: &mut Value, calls: &[ToolCall]) {
    if calls.is_empty() {
        return;
    }
    let Some(choice) = body.pointer_mut("/choices/0") else {
        return;
    };
    let list: Vec<Value> = calls
        .iter()
        .map(|c| {
            json!({"id": c.call_id, "type": "function",
                   "function": {"name": c.name, "arguments": c.arguments}})
        })
        .collect();
    if let Some(m) = choice.get_mut("message").and_then(Value::as_object_mut) {
        if m.get("content").and_then(Value::as_str) == Some("") {
            m.insert("content".into(), Value::Null);
        }
        m.insert("tool_calls".into(), Value::Array(list));
    }
    if let Some(o) = choice.as_object_mut() {
        o.insert("finish_reason".into(), Value::from("tool_calls"));
    }
}

impl ChatSse {
    /// The frames of one call: its head (id, type, name, empty arguments), then the
    /// arguments (Codex hands them over whole).
    pub(super) fn tool_call_frames(&mut self, c: &ToolCall, out: &mut Vec<u8>) {
        let index = self.tool_calls;
        self.tool_calls += 1;
        let mut head = entry(index, c);
        if let Some(f) = head.get_mut("function").and_then(Value::as_object_mut) {
            f.insert("arguments".into(), Value::from(""));
        }
        frame(out, &self.chunk(json!({"tool_calls": [head]}), None));
        let args = json!({"index": index, "function": {"arguments": c.arguments}});
        frame(out, &self.chunk(json!({"tool_calls": [args]}), None));
    }

    /// `tool_calls` once the stream carried calls, `stop` otherwise.
    pub(super) fn finish_reason(&self) -> &'static str {
        if self.tool_calls > 0 {
            "tool_calls"
        } else {
            "stop"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(id: &str) -> ToolCall {
        ToolCall {
            call_id: id.into(),
            name: "get_weather".into(),
            arguments: r#"{"city":"Paris"}"#.into(),
        }
    }

    #[test]
    fn a_body_with_calls_finishes_with_tool_calls() {
        let mut body = super::super::body("c", 1, "m", "", &Default::default());
        attach(&mut body, &[call("a"), call("b")]);
        assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(body["choices"][0]["message"]["content"], Value::Null);
        assert_eq!(body["choices"][0]["message"]["tool_calls"][1]["id"], "b");
    }

    #[test]
    fn stream_pieces_always_carry_their_index() {
        let mut sse = ChatSse::new("c".into(), 1, "m".into(), false, "r".into());
        let mut out = Vec::new();
        sse.tool_call_frames(&call("a"), &mut out);
        sse.tool_call_frames(&call("b"), &mut out);
        let text = String::from_utf8(out).unwrap();
        let chunks: Vec<Value> = text
            .split("\n\n")
            .filter_map(|f| f.strip_prefix("data: "))
            .map(|d| serde_json::from_str(d).unwrap())
            .collect();
        let idx: Vec<u64> = chunks
            .iter()
            .map(|c| {
                c["choices"][0]["delta"]["tool_calls"][0]["index"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(idx, vec![0, 0, 1, 1]);
        assert_eq!(chunks[0]["choices"][0]["delta"]["tool_calls"][0]["id"], "a");
        assert_eq!(sse.finish_reason(), "tool_calls");
    }
}
