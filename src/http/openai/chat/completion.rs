//! The non-stream `chat.completion` body as typed structs, serialised straight into the
//! response bytes (no `Value` tree). Fields are declared in the order serde_json's sorted map
//! wrote them, so the bytes are the ones the `json!` form (`super::body`, kept as the
//! reference the tests compare with) produced.

use codexd_actors::tools::ToolCall;
use codexd_actors::turn::TokenUsage;
use serde::ser::{SerializeSeq, Serializer};
use serde::Serialize;

/// Usage in chat-completions vocabulary.
#[derive(Serialize)]
pub struct Usage {
    completion_tokens: u64,
    completion_tokens_details: ReasoningTokens,
    prompt_tokens: u64,
    prompt_tokens_details: CachedTokens,
    total_tokens: u64,
}

#[derive(Serialize)]
struct ReasoningTokens {
    reasoning_tokens: u64,
}

#[derive(Serialize)]
struct CachedTokens {
    cached_tokens: u64,
}

impl Usage {
    pub fn of(u: &TokenUsage) -> Self {
        Self {
            completion_tokens: u.output,
            completion_tokens_details: ReasoningTokens {
                reasoning_tokens: u.reasoning,
            },
            prompt_tokens: u.input,
            prompt_tokens_details: CachedTokens {
                cached_tokens: u.cached_input,
            },
            total_tokens: u.total.max(u.input + u.output),
        }
    }
}

/// The answer: `content` is null when the answer is only tool calls.
#[derive(Serialize)]
pub struct Completion<'a> {
    choices: [Choice<'a>; 1],
    created: u64,
    id: &'a str,
    model: &'a str,
    object: &'static str,
    system_fingerprint: Option<()>,
    usage: Usage,
}

#[derive(Serialize)]
struct Choice<'a> {
    finish_reason: &'static str,
    index: u32,
    logprobs: Option<()>,
    message: Message<'a>,
}

#[derive(Serialize)]
struct Message<'a> {
    content: Option<&'a str>,
    refusal: Option<()>,
    role: &'static str,
    #[serde(skip_serializing_if = "Calls::is_empty")]
    tool_calls: Calls<'a>,
}

/// `message.tool_calls`: `{function: {arguments, name}, id, type}` per call.
struct Calls<'a>(&'a [ToolCall]);

impl Calls<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[derive(Serialize)]
struct CallEntry<'a> {
    function: Function<'a>,
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct Function<'a> {
    arguments: &'a str,
    name: &'a str,
}

impl Serialize for Calls<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for c in self.0 {
            seq.serialize_element(&CallEntry {
                function: Function {
                    arguments: &c.arguments,
                    name: &c.name,
                },
                id: &c.call_id,
                kind: "function",
            })?;
        }
        seq.end()
    }
}

impl<'a> Completion<'a> {
    pub fn new(
        id: &'a str,
        created: u64,
        model: &'a str,
        text: &'a str,
        u: &TokenUsage,
        calls: &'a [ToolCall],
    ) -> Self {
        let with_calls = !calls.is_empty();
        Self {
            choices: [Choice {
                finish_reason: if with_calls { "tool_calls" } else { "stop" },
                index: 0,
                logprobs: None,
                message: Message {
                    content: (!(with_calls && text.is_empty())).then_some(text),
                    refusal: None,
                    role: "assistant",
                    tool_calls: Calls(calls),
                },
            }],
            created,
            id,
            model,
            object: "chat.completion",
            system_fingerprint: None,
            usage: Usage::of(u),
        }
    }

    /// The body's bytes. An answer without tool calls (almost every one) is written field by
    /// field with its keys as literals; the serde form is the reference (and writes the rest).
    pub fn to_bytes(&self) -> Vec<u8> {
        let [choice] = &self.choices;
        let mut out = Vec::with_capacity(384 + choice.message.content.map_or(0, str::len));
        match choice.message.content {
            Some(text) if choice.message.tool_calls.is_empty() => self.write_plain(text, &mut out),
            _ => {
                let _ = serde_json::to_writer(&mut out, self);
            }
        }
        out
    }

    fn write_plain(&self, text: &str, out: &mut Vec<u8>) {
        use crate::json_text::{json_str, json_u64};
        let [choice] = &self.choices;
        out.extend_from_slice(b"{\"choices\":[{\"finish_reason\":");
        json_str(out, choice.finish_reason);
        out.extend_from_slice(b",\"index\":");
        json_u64(out, u64::from(choice.index));
        out.extend_from_slice(b",\"logprobs\":null,\"message\":{\"content\":");
        json_str(out, text);
        out.extend_from_slice(b",\"refusal\":null,\"role\":");
        json_str(out, choice.message.role);
        out.extend_from_slice(b"}}],\"created\":");
        json_u64(out, self.created);
        out.extend_from_slice(b",\"id\":");
        json_str(out, self.id);
        out.extend_from_slice(b",\"model\":");
        json_str(out, self.model);
        out.extend_from_slice(b",\"object\":");
        json_str(out, self.object);
        let u = &self.usage;
        out.extend_from_slice(b",\"system_fingerprint\":null,\"usage\":{\"completion_tokens\":");
        json_u64(out, u.completion_tokens);
        out.extend_from_slice(b",\"completion_tokens_details\":{\"reasoning_tokens\":");
        json_u64(out, u.completion_tokens_details.reasoning_tokens);
        out.extend_from_slice(b"},\"prompt_tokens\":");
        json_u64(out, u.prompt_tokens);
        out.extend_from_slice(b",\"prompt_tokens_details\":{\"cached_tokens\":");
        json_u64(out, u.prompt_tokens_details.cached_tokens);
        out.extend_from_slice(b"},\"total_tokens\":");
        json_u64(out, u.total_tokens);
        out.extend_from_slice(b"}}");
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
    fn the_typed_body_is_byte_for_byte_the_json_form() {
        let u = TokenUsage {
            input: 3,
            output: 4,
            cached_input: 1,
            reasoning: 2,
            total: 0,
        };
        let cases: [(&str, Vec<ToolCall>); 6] = [
            ("You said: \"hi\"\n✓", vec![]),
            ("plain text", vec![]),
            ("a \\ backslash\u{1} and 😀", vec![]),
            ("", vec![]),
            ("", vec![call("a"), call("b")]),
            ("before the call", vec![call("a")]),
        ];
        for (text, calls) in cases {
            let mut want = super::super::body("chatcmpl-1", 7, "m\"x", text, &u);
            super::super::tool_calls::attach(&mut want, &calls);
            let got = Completion::new("chatcmpl-1", 7, "m\"x", text, &u, &calls).to_bytes();
            assert_eq!(
                String::from_utf8(got).unwrap(),
                want.to_string(),
                "{text:?} with {} calls",
                calls.len()
            );
        }
    }
}
