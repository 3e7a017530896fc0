//! Chat completions on the wire: the non-stream body and the `chat.completion.chunk` SSE
//! frames (role chunk, content deltas, finish chunk, optional usage chunk, `[DONE]`).

use crate::http::errors::ApiError;
use codexd_actors::outcome::StreamOutcome;
use codexd_actors::turn::{StreamOutput, TokenUsage};
use serde_json::{json, Value};

pub mod tool_calls;

/// Usage in chat-completions vocabulary.
pub fn usage(u: &TokenUsage) -> Value {
    json!({
        "prompt_tokens": u.input,
        "completion_tokens": u.output,
        "total_tokens": u.total.max(u.input + u.output),
        "prompt_tokens_details": {"cached_tokens": u.cached_input},
        "completion_tokens_details": {"reasoning_tokens": u.reasoning},
    })
}

/// The non-stream body.
pub fn body(id: &str, created: u64, model: &str, text: &str, u: &TokenUsage) -> Value {
    json!({
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text, "refusal": null},
            "logprobs": null,
            "finish_reason": "stop",
        }],
        "usage": usage(u),
        "system_fingerprint": null,
    })
}

/// Encodes one chat stream's frames.
pub struct ChatSse {
    pub id: String,
    pub created: u64,
    pub model: String,
    pub include_usage: bool,
    pub req_id: String,
    usage: TokenUsage,
    /// Everything of a content chunk before the escaped text, built once per stream: the
    /// per-delta frame is then a copy, the escaped text and a fixed tail.
    content_head: Vec<u8>,
    /// Tool calls streamed so far (the next call's `index`).
    tool_calls: usize,
}

const CONTENT_TAIL: &[u8] = b"},\"logprobs\":null,\"finish_reason\":null}]}\n\n";

fn frame(out: &mut Vec<u8>, v: &Value) {
    out.extend_from_slice(b"data: ");
    let _ = serde_json::to_writer(&mut *out, v);
    out.extend_from_slice(b"\n\n");
}

impl ChatSse {
    pub fn new(
        id: String,
        created: u64,
        model: String,
        include_usage: bool,
        req_id: String,
    ) -> Self {
        let mut content_head = b"data: {\"id\":".to_vec();
        let _ = serde_json::to_writer(&mut content_head, &id);
        content_head.extend_from_slice(
            format!(",\"object\":\"chat.completion.chunk\",\"created\":{created},\"model\":")
                .as_bytes(),
        );
        let _ = serde_json::to_writer(&mut content_head, &model);
        content_head.extend_from_slice(b",\"system_fingerprint\":null,");
        if include_usage {
            content_head.extend_from_slice(b"\"usage\":null,");
        }
        content_head.extend_from_slice(b"\"choices\":[{\"index\":0,\"delta\":{\"content\":");
        Self {
            id,
            created,
            model,
            include_usage,
            req_id,
            usage: TokenUsage::default(),
            content_head,
            tool_calls: 0,
        }
    }

    fn chunk(&self, delta: Value, finish: Option<&str>) -> Value {
        let mut v = json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": null,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        });
        if self.include_usage {
            if let Some(o) = v.as_object_mut() {
                o.insert("usage".into(), Value::Null);
            }
        }
        v
    }

    /// The first frame: the assistant role.
    pub fn prelude(&mut self, out: &mut Vec<u8>) {
        frame(
            out,
            &self.chunk(json!({"role": "assistant", "content": ""}), None),
        );
    }

    /// Encodes one output; returns true once the stream is over.
    pub fn encode(&mut self, item: StreamOutput, out: &mut Vec<u8>) -> bool {
        match item {
            StreamOutput::Text(t) => {
                out.extend_from_slice(&self.content_head);
                let _ = serde_json::to_writer(&mut *out, &t);
                out.extend_from_slice(CONTENT_TAIL);
                false
            }
            // Chat Completions has no place for a reasoning summary.
            StreamOutput::Reasoning(_) | StreamOutput::ReasoningItem(_) => false,
            StreamOutput::Keepalive => {
                out.extend_from_slice(super::KEEPALIVE);
                false
            }
            StreamOutput::Usage(u) => {
                self.usage = u;
                false
            }
            StreamOutput::ToolCall(c) => {
                self.tool_call_frames(&c, out);
                false
            }
            StreamOutput::Ended(StreamOutcome::Completed) => {
                frame(out, &self.chunk(json!({}), Some(self.finish_reason())));
                if self.include_usage {
                    frame(
                        out,
                        &json!({
                            "id": self.id, "object": "chat.completion.chunk", "created": self.created,
                            "model": self.model, "system_fingerprint": null, "choices": [], "usage": usage(&self.usage),
                        }),
                    );
                }
                out.extend_from_slice(b"data: [DONE]\n\n");
                true
            }
            StreamOutput::Ended(failure) => {
                frame(out, &ApiError::Stream(failure).body(&self.req_id));
                out.extend_from_slice(b"data: [DONE]\n\n");
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_content_frame_is_the_same_json_as_the_generic_chunk() {
        for include_usage in [false, true] {
            let mut sse = ChatSse::new(
                "chatcmpl-1".into(),
                7,
                "m\"x".into(),
                include_usage,
                "r".into(),
            );
            let mut out = Vec::new();
            sse.encode(StreamOutput::Text("a \"quoted\"\n line ✓".into()), &mut out);
            let text = String::from_utf8(out).unwrap();
            let data = text
                .strip_prefix("data: ")
                .unwrap()
                .strip_suffix("\n\n")
                .unwrap();
            let got: Value = serde_json::from_str(data).unwrap();
            let want = sse.chunk(json!({"content": "a \"quoted\"\n line ✓"}), None);
            assert_eq!(got, want);
        }
    }
}
