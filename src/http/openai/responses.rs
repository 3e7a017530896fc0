//! The Responses API on the wire: the non-stream `response` object and the typed SSE events
//! (`response.created` … `response.completed` / `response.failed`) with `sequence_number`.

use crate::http::errors::ApiError;
use codexd_actors::outcome::StreamOutcome;
use codexd_actors::turn::{StreamOutput, TokenUsage};
use serde_json::{json, Value};
use std::io::Write as _;

pub mod object;
pub mod tool_calls;

/// Usage in Responses vocabulary.
pub fn usage(u: &TokenUsage) -> Value {
    json!({
        "input_tokens": u.input,
        "input_tokens_details": {"cached_tokens": u.cached_input},
        "output_tokens": u.output,
        "output_tokens_details": {"reasoning_tokens": u.reasoning},
        "total_tokens": u.total.max(u.input + u.output),
    })
}

fn message_item(msg_id: &str, text: &str, status: &str) -> Value {
    let content = if status == "completed" {
        json!([{"type": "output_text", "text": text, "annotations": []}])
    } else {
        json!([])
    };
    json!({"type": "message", "id": msg_id, "status": status, "role": "assistant", "content": content})
}

/// A `response` object in the given state.
pub fn response(
    id: &str,
    created: u64,
    model: &str,
    status: &str,
    output: Vec<Value>,
    usage_v: Value,
    error: Value,
) -> Value {
    json!({
        "id": id,
        "object": "response",
        "created_at": created,
        "status": status,
        "error": error,
        "incomplete_details": null,
        "instructions": null,
        "max_output_tokens": null,
        "model": model,
        "output": output,
        "parallel_tool_calls": false,
        "previous_response_id": null,
        "reasoning": {"effort": null, "summary": null},
        "store": false,
        "temperature": null,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": null,
        "truncation": "disabled",
        "usage": usage_v,
        "metadata": {},
    })
}

/// The non-stream body as a `json!` tree: the reference the typed object the route sends
/// (`object.rs`) is checked against.
pub fn body(
    id: &str,
    msg_id: &str,
    created: u64,
    model: &str,
    text: &str,
    u: &TokenUsage,
) -> Value {
    response(
        id,
        created,
        model,
        "completed",
        vec![message_item(msg_id, text, "completed")],
        usage(u),
        Value::Null,
    )
}

/// Encodes one response stream's events.
pub struct ResponsesSse {
    id: String,
    msg_id: String,
    created: u64,
    model: String,
    req_id: String,
    seq: u64,
    text: String,
    usage: TokenUsage,
    /// A delta event before its escaped text, built once per stream.
    delta_head: Vec<u8>,
    /// The `function_call` items streamed so far, completed.
    tool_items: Vec<Value>,
    /// The request settings every `response` snapshot echoes (`echo.rs`).
    echo: serde_json::Map<String, Value>,
    /// The reasoning summary item, after the message item.
    reasoning: super::reasoning_sse::ReasoningSse,
}

const DELTA_TAIL: &[u8] = b",\"logprobs\":[],\"sequence_number\":";

impl ResponsesSse {
    pub fn new(id: String, msg_id: String, created: u64, model: String, req_id: String) -> Self {
        let mut delta_head = b"event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"item_id\":".to_vec();
        let _ = serde_json::to_writer(&mut delta_head, &msg_id);
        delta_head.extend_from_slice(b",\"output_index\":0,\"content_index\":0,\"delta\":");
        Self {
            delta_head,
            id,
            msg_id,
            created,
            model,
            req_id,
            seq: 0,
            text: String::new(),
            usage: TokenUsage::default(),
            tool_items: Vec::new(),
            echo: serde_json::Map::new(),
            reasoning: super::reasoning_sse::ReasoningSse::new(
                format!("rs_{}", crate::http::ids::hex(24)),
                1,
            ),
        }
    }

    /// Sets the request settings the snapshots echo.
    pub fn with_echo(mut self, echo: serde_json::Map<String, Value>) -> Self {
        self.echo = echo;
        self
    }

    fn event(&mut self, out: &mut Vec<u8>, ty: &str, mut v: Value) {
        if let Some(o) = v.as_object_mut() {
            o.insert("type".into(), Value::String(ty.to_owned()));
            o.insert("sequence_number".into(), Value::from(self.seq));
        }
        self.seq += 1;
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(ty.as_bytes());
        out.extend_from_slice(b"\ndata: ");
        let _ = serde_json::to_writer(&mut *out, &v);
        out.extend_from_slice(b"\n\n");
    }

    /// A `response` snapshot in `status`, with the request settings echoed.
    fn snapshot<'a>(
        &'a self,
        status: &'a str,
        output: &'a [Value],
        usage: Option<object::Usage>,
    ) -> object::Response<'a> {
        object::Response {
            id: &self.id,
            created: self.created,
            model: &self.model,
            status,
            output: object::Output::Values(output),
            usage,
            error: None,
            echo: &self.echo,
        }
    }

    /// `response.created`, `response.in_progress`, and the opened message item and part.
    pub fn prelude(&mut self, out: &mut Vec<u8>) {
        let r = self.snapshot("in_progress", &[], None);
        let mut seq = self.seq;
        response_event(out, &mut seq, "response.created", &r);
        response_event(out, &mut seq, "response.in_progress", &r);
        self.seq = seq;
        let item = message_item(&self.msg_id, "", "in_progress");
        self.event(
            out,
            "response.output_item.added",
            json!({"output_index": 0, "item": item}),
        );
        let part = json!({"type": "output_text", "text": "", "annotations": []});
        let id = self.msg_id.clone();
        self.event(
            out,
            "response.content_part.added",
            json!({"item_id": id, "output_index": 0, "content_index": 0, "part": part}),
        );
    }

    /// Encodes one output; returns true once the stream is over.
    pub fn encode(&mut self, item: StreamOutput, out: &mut Vec<u8>) -> bool {
        match item {
            StreamOutput::Reasoning(t) => {
                for (ty, v) in self.reasoning.delta(&t) {
                    self.event(out, ty, v);
                }
                false
            }
            StreamOutput::ReasoningItem(r) => {
                for (ty, v) in self.reasoning.raw_item(&r) {
                    self.event(out, ty, v);
                }
                false
            }
            StreamOutput::Text(t) => {
                for (ty, v) in self.reasoning.close() {
                    self.event(out, ty, v);
                }
                out.extend_from_slice(&self.delta_head);
                let _ = serde_json::to_writer(&mut *out, &t);
                out.extend_from_slice(DELTA_TAIL);
                // Written in place: a `to_string` here would allocate per delta.
                let _ = write!(out, "{}", self.seq);
                out.extend_from_slice(b"}\n\n");
                self.seq += 1;
                self.text.push_str(&t);
                false
            }
            StreamOutput::Keepalive => {
                out.extend_from_slice(super::KEEPALIVE);
                false
            }
            StreamOutput::Usage(u) => {
                self.usage = u;
                false
            }
            StreamOutput::ToolCall(c) => {
                self.tool_call_events(&c, out);
                false
            }
            StreamOutput::Ended(StreamOutcome::Completed) => {
                for (ty, v) in self.reasoning.close() {
                    self.event(out, ty, v);
                }
                let id = self.msg_id.clone();
                let text = std::mem::take(&mut self.text);
                self.event(out, "response.output_text.done", json!({"item_id": id, "output_index": 0, "content_index": 0, "text": text, "logprobs": []}));
                let part = json!({"type": "output_text", "text": text, "annotations": []});
                self.event(
                    out,
                    "response.content_part.done",
                    json!({"item_id": id, "output_index": 0, "content_index": 0, "part": part}),
                );
                let item = message_item(&id, &text, "completed");
                self.event(
                    out,
                    "response.output_item.done",
                    json!({"output_index": 0, "item": item.clone()}),
                );
                let mut output = self.final_output(item, &text);
                output.extend(self.reasoning.finished());
                let r = self.snapshot("completed", &output, Some(object::Usage::of(&self.usage)));
                let mut seq = self.seq;
                response_event(out, &mut seq, "response.completed", &r);
                self.seq = seq;
                true
            }
            StreamOutput::Ended(failure) => {
                self.fail(failure, out);
                true
            }
        }
    }

    fn fail(&mut self, failure: StreamOutcome, out: &mut Vec<u8>) {
        let e = ApiError::Stream(failure);
        let error = json!({"code": e.code(), "message": e.message(&self.req_id)});
        // No echo: an error frame never carries client content (instructions, metadata, ...).
        let no_echo = serde_json::Map::new();
        let r = object::Response {
            id: &self.id,
            created: self.created,
            model: &self.model,
            status: "failed",
            output: object::Output::Values(&[]),
            usage: None,
            error: Some(&error),
            echo: &no_echo,
        };
        let mut seq = self.seq;
        response_event(out, &mut seq, "response.failed", &r);
        self.seq = seq;
    }
}

/// One `response.*` event carrying a snapshot, keys in the order the `json!` form had them.
fn response_event(out: &mut Vec<u8>, seq: &mut u64, ty: &str, r: &object::Response) {
    #[derive(serde::Serialize)]
    struct Event<'a> {
        response: &'a object::Response<'a>,
        sequence_number: u64,
        #[serde(rename = "type")]
        kind: &'a str,
    }
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(ty.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    let ev = Event {
        response: r,
        sequence_number: *seq,
        kind: ty,
    };
    let _ = serde_json::to_writer(&mut *out, &ev);
    out.extend_from_slice(b"\n\n");
    *seq += 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delta_event_carries_the_text_and_the_next_sequence_number() {
        let mut sse =
            ResponsesSse::new("resp_1".into(), "msg_\"1".into(), 7, "m".into(), "r".into());
        let mut out = Vec::new();
        sse.prelude(&mut out);
        out.clear();
        sse.encode(StreamOutput::Text("a \"b\"\n✓".into()), &mut out);
        let text = String::from_utf8(out).unwrap();
        let data = text
            .strip_prefix("event: response.output_text.delta\ndata: ")
            .unwrap()
            .strip_suffix("\n\n")
            .unwrap();
        let got: Value = serde_json::from_str(data).unwrap();
        assert_eq!(
            got,
            json!({"type": "response.output_text.delta", "item_id": "msg_\"1", "output_index": 0,
                   "content_index": 0, "delta": "a \"b\"\n✓", "logprobs": [], "sequence_number": 4})
        );
    }

    /// The events of `out`, as (type, data).
    fn events(out: &[u8]) -> Vec<(String, String)> {
        std::str::from_utf8(out)
            .unwrap()
            .split_terminator("\n\n")
            .map(|e| {
                let (ty, data) = e.split_once("\ndata: ").unwrap();
                (
                    ty.strip_prefix("event: ").unwrap().to_owned(),
                    data.to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn snapshots_are_byte_for_byte_the_json_response_objects() {
        let echo = super::super::echo::responses_settings(
            json!({"instructions": "be \"brief\"", "temperature": 0.5, "metadata": {"a": "b"},
                   "user": "u", "text": {"verbosity": "low"}})
            .as_object()
            .unwrap(),
        );
        let u = TokenUsage {
            input: 2,
            output: 3,
            cached_input: 1,
            reasoning: 0,
            total: 0,
        };
        let mut sse = ResponsesSse::new("resp_1".into(), "msg_1".into(), 7, "m".into(), "r".into())
            .with_echo(echo.clone());
        let mut out = Vec::new();
        sse.prelude(&mut out);
        sse.encode(StreamOutput::Text("hi \"x\"".into()), &mut out);
        sse.encode(StreamOutput::Usage(u), &mut out);
        assert!(sse.encode(StreamOutput::Ended(StreamOutcome::Completed), &mut out));
        let ev = events(&out);
        let snap = |status: &str, output: Vec<Value>, usage_v: Value| {
            super::super::echo::apply(
                response("resp_1", 7, "m", status, output, usage_v, Value::Null),
                &echo,
            )
        };
        let want = |ty: &str, seq: u64, r: Value| {
            json!({"response": r, "sequence_number": seq, "type": ty}).to_string()
        };
        let in_progress = snap("in_progress", vec![], Value::Null);
        assert_eq!(
            ev[0],
            (
                "response.created".into(),
                want("response.created", 0, in_progress.clone())
            )
        );
        assert_eq!(
            ev[1],
            (
                "response.in_progress".into(),
                want("response.in_progress", 1, in_progress)
            )
        );
        let last = ev.last().unwrap();
        let completed = snap(
            "completed",
            vec![message_item("msg_1", "hi \"x\"", "completed")],
            usage(&u),
        );
        let seq = (ev.len() - 1) as u64;
        assert_eq!(
            last,
            &(
                "response.completed".into(),
                want("response.completed", seq, completed)
            )
        );

        let mut sse = ResponsesSse::new(
            "resp_2".into(),
            "msg_2".into(),
            8,
            "m".into(),
            "req_9".into(),
        )
        .with_echo(echo.clone());
        let mut out = Vec::new();
        sse.prelude(&mut out);
        assert!(sse.encode(StreamOutput::Ended(StreamOutcome::WorkerLost), &mut out));
        let e = ApiError::Stream(StreamOutcome::WorkerLost);
        let error = json!({"code": e.code(), "message": e.message("req_9")});
        let failed = response("resp_2", 8, "m", "failed", vec![], Value::Null, error);
        assert_eq!(
            events(&out).last().unwrap(),
            &("response.failed".into(), want("response.failed", 4, failed))
        );
    }
}
