//! Tool calls in Responses answers: `function_call` output items (`call_id`, `name`,
//! `arguments`, `status`) in the body, and in the stream the typed events OpenAI sends for
//! them (`response.output_item.added`, `response.function_call_arguments.delta` / `.done`,
//! `response.output_item.done`). The message item keeps output index 0 in the stream.

use super::ResponsesSse;
use codexd_actors::tools::ToolCall;
use serde_json::{json, Value};

/// A `function_call` output item.
pub fn call_item(item_id: &str, c: &ToolCall, status: &str) -> Value {
    let arguments = if status == "completed" {
        c.arguments.as_str()
    } else {
        ""
    };
    json!({"type": "function_call", "id": item_id, "call_id": c.call_id, "name": c.name,
           "arguments": arguments, "status": status})
}

fn item_id(c: &ToolCall) -> String {
    format!("fc_{}", c.call_id)
}

/// Puts the calls on a non-stream body, after the message (dropped when it is empty).
pub fn attach(body: &mut Value, calls: &[ToolCall]) {
    if calls.is_empty() {
        return;
    }
    let Some(output) = body.get_mut("output").and_then(Value::as_array_mut) else {
        return;
    };
    output.retain(|item| {
        item.pointer("/content/0/text")
            .and_then(Value::as_str)
            .is_some_and(|t| !t.is_empty())
    });
    output.extend(calls.iter().map(|c| call_item(&item_id(c), c, "completed")));
}

impl ResponsesSse {
    /// The events of one call (Codex hands the arguments over whole: one delta).
    pub(super) fn tool_call_events(&mut self, c: &ToolCall, out: &mut Vec<u8>) {
        let output_index = 1 + self.tool_items.len();
        let id = item_id(c);
        let added = call_item(&id, c, "in_progress");
        self.event(
            out,
            "response.output_item.added",
            json!({"output_index": output_index, "item": added}),
        );
        self.event(
            out,
            "response.function_call_arguments.delta",
            json!({"item_id": id, "output_index": output_index, "delta": c.arguments}),
        );
        self.event(
            out,
            "response.function_call_arguments.done",
            json!({"item_id": id, "output_index": output_index, "arguments": c.arguments}),
        );
        let done = call_item(&id, c, "completed");
        self.event(
            out,
            "response.output_item.done",
            json!({"output_index": output_index, "item": done.clone()}),
        );
        self.tool_items.push(done);
    }

    /// The final output: the message (unless empty next to calls), then the calls.
    pub(super) fn final_output(&mut self, message: Value, text: &str) -> Vec<Value> {
        let calls = std::mem::take(&mut self.tool_items);
        let mut output = Vec::with_capacity(1 + calls.len());
        if !text.is_empty() || calls.is_empty() {
            output.push(message);
        }
        output.extend(calls);
        output
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_with_only_calls_has_only_function_call_items() {
        let c = ToolCall {
            call_id: "call_1".into(),
            name: "f".into(),
            arguments: "{}".into(),
        };
        let mut body = super::super::body("r", "m", 1, "model", "", &Default::default());
        attach(&mut body, &[c]);
        let out = body["output"].as_array().unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0]["type"], "function_call");
        assert_eq!(out[0]["call_id"], "call_1");
        assert_eq!(out[0]["status"], "completed");
    }
}
