//! The SSE answer of a [`Reply::Reasoned`](super::super::Reply::Reasoned): a `reasoning` item
//! carrying `encrypted_content` (added and done), then a message with one text delta, then
//! `response.completed` with the usage — the shape of a reasoning model's answer when the
//! request included `reasoning.encrypted_content`.

use super::Script;
use crate::mock_provider::reply::Usage;
use serde_json::json;
use std::time::Duration;

impl Script {
    pub(super) fn reasoned(
        &mut self,
        ids: (&str, &str),
        model: &str,
        encrypted: &str,
        text: &str,
        usage: Usage,
    ) {
        let (response_id, item_id) = ids;
        let rs_id = format!("rs_{response_id}");
        self.push(Duration::ZERO, &super::created_event(response_id, model));
        self.push(
            Duration::ZERO,
            &json!({"type": "response.output_item.added", "output_index": 0, "item": {
                "type": "reasoning", "id": rs_id, "summary": []}}),
        );
        self.push(
            Duration::ZERO,
            &json!({"type": "response.output_item.done", "output_index": 0, "item": {
                "type": "reasoning", "id": rs_id, "summary": [], "encrypted_content": encrypted}}),
        );
        let message = |status: &str, content: serde_json::Value| {
            json!({"type": "message", "id": item_id, "status": status, "role": "assistant",
                   "content": content})
        };
        self.push(
            Duration::ZERO,
            &json!({"type": "response.output_item.added", "output_index": 1,
                    "item": message("in_progress", json!([]))}),
        );
        self.push(
            Duration::ZERO,
            &json!({"type": "response.output_text.delta", "item_id": item_id, "output_index": 1,
                    "content_index": 0, "delta": text}),
        );
        self.push(
            Duration::ZERO,
            &json!({"type": "response.output_item.done", "output_index": 1, "item": message(
                "completed", json!([{"type": "output_text", "text": text, "annotations": []}]))}),
        );
        self.push(
            Duration::ZERO,
            &json!({"type": "response.completed", "response": {
                "id": response_id, "object": "response", "status": "completed", "model": model,
                "usage": usage.to_json()}}),
        );
    }
}
