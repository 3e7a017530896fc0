//! Chat completions on the wire: the non-stream body and the `chat.completion.chunk` SSE
//! frames (role chunk, content deltas, finish chunk, optional usage chunk, `[DONE]`).

use crate::http::errors::ApiError;
use codexd_actors::outcome::StreamOutcome;
use codexd_actors::turn::{StreamOutput, TokenUsage};
use serde_json::{json, Value};

pub mod completion;
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

/// The non-stream body as a `json!` tree: the reference the typed body the route sends
/// (`completion.rs`) is checked against.
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
    /// Everything of a chunk before its `delta` object, built once per stream: a content
    /// frame is then a copy, the escaped text and a fixed tail; the role and finish chunks
    /// are a copy and a fixed delta.
    chunk_head: Vec<u8>,
    /// Tool calls streamed so far (the next call's `index`).
    tool_calls: usize,
}

const CONTENT_TAIL: &[u8] = b"},\"logprobs\":null,\"finish_reason\":null}]}\n\n";
const ROLE_DELTA: &[u8] =
    b"{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n";

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
        use crate::json_text::{json_str, json_u64};
        let mut chunk_head = Vec::with_capacity(192);
        chunk_head.extend_from_slice(b"data: {\"id\":");
        json_str(&mut chunk_head, &id);
        chunk_head.extend_from_slice(b",\"object\":\"chat.completion.chunk\",\"created\":");
        json_u64(&mut chunk_head, created);
        chunk_head.extend_from_slice(b",\"model\":");
        json_str(&mut chunk_head, &model);
        chunk_head.extend_from_slice(b",\"system_fingerprint\":null,");
        if include_usage {
            chunk_head.extend_from_slice(b"\"usage\":null,");
        }
        chunk_head.extend_from_slice(b"\"choices\":[{\"index\":0,\"delta\":");
        Self {
            id,
            created,
            model,
            include_usage,
            req_id,
            usage: TokenUsage::default(),
            chunk_head,
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
        out.extend_from_slice(&self.chunk_head);
        out.extend_from_slice(ROLE_DELTA);
    }

    /// The finish chunk: an empty delta and the finish reason.
    fn finish_frame(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.chunk_head);
        out.extend_from_slice(b"{},\"logprobs\":null,\"finish_reason\":\"");
        out.extend_from_slice(self.finish_reason().as_bytes());
        out.extend_from_slice(b"\"}]}\n\n");
    }

    /// The usage chunk (`stream_options.include_usage`): no choices, the usage.
    fn usage_frame(&self, out: &mut Vec<u8>) {
        #[derive(serde::Serialize)]
        struct UsageChunk<'a> {
            choices: [(); 0],
            created: u64,
            id: &'a str,
            model: &'a str,
            object: &'static str,
            system_fingerprint: Option<()>,
            usage: completion::Usage,
        }
        out.extend_from_slice(b"data: ");
        let chunk = UsageChunk {
            choices: [],
            created: self.created,
            id: &self.id,
            model: &self.model,
            object: "chat.completion.chunk",
            system_fingerprint: None,
            usage: completion::Usage::of(&self.usage),
        };
        let _ = serde_json::to_writer(&mut *out, &chunk);
        out.extend_from_slice(b"\n\n");
    }

    /// Encodes one output; returns true once the stream is over.
    pub fn encode(&mut self, item: StreamOutput, out: &mut Vec<u8>) -> bool {
        match item {
            StreamOutput::Text(t) => {
                out.extend_from_slice(&self.chunk_head);
                out.extend_from_slice(b"{\"content\":");
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
                self.finish_frame(out);
                if self.include_usage {
                    self.usage_frame(out);
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

    fn frames(out: &[u8]) -> Vec<Value> {
        std::str::from_utf8(out)
            .unwrap()
            .split_terminator("\n\n")
            .map(|f| f.strip_prefix("data: ").unwrap())
            .filter(|d| *d != "[DONE]")
            .map(|d| serde_json::from_str(d).unwrap())
            .collect()
    }

    #[test]
    fn role_finish_and_usage_frames_are_the_json_chunks() {
        let u = TokenUsage {
            input: 2,
            output: 3,
            cached_input: 1,
            reasoning: 1,
            total: 0,
        };
        for include_usage in [false, true] {
            let mut sse = ChatSse::new("c-1".into(), 7, "m\"x".into(), include_usage, "r".into());
            let mut out = Vec::new();
            sse.prelude(&mut out);
            sse.encode(StreamOutput::Usage(u), &mut out);
            assert!(sse.encode(StreamOutput::Ended(StreamOutcome::Completed), &mut out));
            assert!(out.ends_with(b"data: [DONE]\n\n"));
            let mut want = vec![
                sse.chunk(json!({"role": "assistant", "content": ""}), None),
                sse.chunk(json!({}), Some("stop")),
            ];
            if include_usage {
                want.push(json!({"id": "c-1", "object": "chat.completion.chunk", "created": 7,
                    "model": "m\"x", "system_fingerprint": null, "choices": [], "usage": usage(&u)}));
            }
            assert_eq!(frames(&out), want);
        }
    }
}
