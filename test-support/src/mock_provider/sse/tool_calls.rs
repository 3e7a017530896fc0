//! The SSE answer of a [`Reply::Calls`](super::super::Reply::Calls): optional text (a message
//! item with its deltas), then one `function_call` item per call (`output_item.added`, the
//! arguments as one delta, `output_item.done`), then `response.completed` with the usage.

use super::Script;
use crate::mock_provider::reply::{MockCall, Usage};
use serde_json::json;
use std::time::Duration;

impl Script {
    pub(super) fn calls(
        &mut self,
        ids: (&str, &str),
        model: &str,
        text: Option<&str>,
        calls: &[MockCall],
        usage: Usage,
    ) {
        let (response_id, item_id) = ids;
        let mut index = 0;
        match text {
            Some(t) => {
                self.deltas(ids, model, &[t.to_owned()], [Duration::ZERO; 2]);
                self.push(
                    Duration::ZERO,
                    &json!({"type": "response.output_item.done", "output_index": 0, "item": {
                        "type": "message", "id": item_id, "status": "completed", "role": "assistant",
                        "content": [{"type": "output_text", "text": t, "annotations": []}]}}),
                );
                index = 1;
            }
            None => self.push(Duration::ZERO, &super::created_event(response_id, model)),
        }
        for (i, c) in calls.iter().enumerate() {
            let fc_id = format!("fc_{response_id}_{i}");
            let output_index = index + i;
            self.push(
                Duration::ZERO,
                &json!({"type": "response.output_item.added", "output_index": output_index, "item": {
                    "type": "function_call", "id": fc_id, "call_id": c.call_id, "name": c.name,
                    "arguments": "", "status": "in_progress"}}),
            );
            self.push(
                Duration::ZERO,
                &json!({"type": "response.function_call_arguments.delta", "item_id": fc_id,
                        "output_index": output_index, "delta": c.arguments}),
            );
            self.push(
                Duration::ZERO,
                &json!({"type": "response.output_item.done", "output_index": output_index, "item": {
                    "type": "function_call", "id": fc_id, "call_id": c.call_id, "name": c.name,
                    "arguments": c.arguments, "status": "completed"}}),
            );
        }
        self.push(
            Duration::ZERO,
            &json!({"type": "response.completed", "response": {
                "id": response_id, "object": "response", "status": "completed", "model": model,
                "usage": usage.to_json()}}),
        );
    }
}
