//! What a recorded Responses-API request carries for codexd's request features: the image
//! inputs (`input_image` parts), the structured-output format (`text.format`) and the
//! reasoning settings, read from the body Codex sent the mock.

use super::RecordedRequest;
use serde_json::Value;

impl RecordedRequest {
    /// The `image_url` of every `input[].content[]` part of type `input_image`, in order.
    pub fn input_images(&self) -> Vec<String> {
        let Some(items) = self
            .body
            .as_ref()
            .and_then(|b| b.get("input"))
            .and_then(Value::as_array)
        else {
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|item| item.get("content").and_then(Value::as_array))
            .flatten()
            .filter(|part| part.get("type").and_then(Value::as_str) == Some("input_image"))
            .filter_map(|part| part.get("image_url").and_then(Value::as_str))
            .map(str::to_owned)
            .collect()
    }

    /// `text.format` of the body (`{type:"json_schema", name, schema, strict}` for a turn with
    /// an output schema).
    pub fn text_format(&self) -> Option<&Value> {
        self.body.as_ref()?.get("text")?.get("format")
    }

    /// `reasoning.summary` of the body.
    pub fn reasoning_summary(&self) -> Option<&str> {
        self.body
            .as_ref()?
            .get("reasoning")?
            .get("summary")?
            .as_str()
    }
}
