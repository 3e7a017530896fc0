//! The Responses `response` object as typed values serialised straight into the bytes (no
//! `Value` tree): the default fields, the request settings it echoes (`echo.rs`) laid over
//! them, and the output items (reasoning, message, function calls). The non-stream body and
//! the stream's `response.*` snapshots both write it.
//! Keys come out in the order serde_json's sorted map wrote them, so the bytes are the ones
//! the `json!` form (`super::body` and friends, kept as the reference the tests compare
//! with) produced.

use codexd_actors::tools::ToolCall;
use codexd_actors::turn::TokenUsage;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;
use serde_json::{Map, Value};

/// Usage in Responses vocabulary.
#[derive(Serialize)]
pub struct Usage {
    input_tokens: u64,
    input_tokens_details: Cached,
    output_tokens: u64,
    output_tokens_details: Reasoning,
    total_tokens: u64,
}

#[derive(Serialize)]
struct Cached {
    cached_tokens: u64,
}

#[derive(Serialize)]
struct Reasoning {
    reasoning_tokens: u64,
}

impl Usage {
    pub fn of(u: &TokenUsage) -> Self {
        Self {
            input_tokens: u.input,
            input_tokens_details: Cached {
                cached_tokens: u.cached_input,
            },
            output_tokens: u.output,
            output_tokens_details: Reasoning {
                reasoning_tokens: u.reasoning,
            },
            total_tokens: u.total.max(u.input + u.output),
        }
    }
}

/// One completed output item.
pub enum Item<'a> {
    /// The reasoning summary (no summary part when empty) and the `encrypted_content` the
    /// request asked for.
    Reasoning {
        id: &'a str,
        text: &'a str,
        encrypted: Option<&'a str>,
    },
    Message {
        id: &'a str,
        text: &'a str,
    },
    /// A `function_call` item, id `fc_{call_id}`.
    Call(&'a ToolCall),
}

#[derive(Serialize)]
struct TextPart<'a> {
    annotations: [(); 0],
    text: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct SummaryPart<'a> {
    text: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
}

impl Serialize for Item<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self {
            Item::Reasoning {
                id,
                text,
                encrypted,
            } => {
                if let Some(e) = encrypted {
                    m.serialize_entry("encrypted_content", e)?;
                }
                m.serialize_entry("id", id)?;
                if text.is_empty() {
                    m.serialize_entry("summary", &[(); 0])?;
                } else {
                    let part = SummaryPart {
                        text,
                        kind: "summary_text",
                    };
                    m.serialize_entry("summary", &[part])?;
                }
                m.serialize_entry("type", "reasoning")?;
            }
            Item::Message { id, text } => {
                let part = TextPart {
                    annotations: [],
                    text,
                    kind: "output_text",
                };
                m.serialize_entry("content", &[part])?;
                m.serialize_entry("id", id)?;
                m.serialize_entry("role", "assistant")?;
                m.serialize_entry("status", "completed")?;
                m.serialize_entry("type", "message")?;
            }
            Item::Call(c) => {
                m.serialize_entry("arguments", &c.arguments)?;
                m.serialize_entry("call_id", &c.call_id)?;
                m.serialize_entry("id", &CallItemId(&c.call_id))?;
                m.serialize_entry("name", &c.name)?;
                m.serialize_entry("status", "completed")?;
                m.serialize_entry("type", "function_call")?;
            }
        }
        m.end()
    }
}

/// `fc_{call_id}`, written without building the string.
struct CallItemId<'a>(&'a str);

impl Serialize for CallItemId<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("fc_{}", self.0))
    }
}

struct Items<'a>(&'a [Item<'a>]);

impl Serialize for Items<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(item)?;
        }
        seq.end()
    }
}

/// The default fields of a `response` object, in key order.
#[derive(Clone, Copy)]
enum Field {
    CreatedAt,
    Error,
    Id,
    Null,
    Metadata,
    Model,
    Object,
    Output,
    False,
    Reasoning,
    Status,
    Text,
    ToolChoice,
    Tools,
    Truncation,
    Usage,
}

const FIELDS: [(&str, Field); 22] = [
    ("created_at", Field::CreatedAt),
    ("error", Field::Error),
    ("id", Field::Id),
    ("incomplete_details", Field::Null),
    ("instructions", Field::Null),
    ("max_output_tokens", Field::Null),
    ("metadata", Field::Metadata),
    ("model", Field::Model),
    ("object", Field::Object),
    ("output", Field::Output),
    ("parallel_tool_calls", Field::False),
    ("previous_response_id", Field::Null),
    ("reasoning", Field::Reasoning),
    ("status", Field::Status),
    ("store", Field::False),
    ("temperature", Field::Null),
    ("text", Field::Text),
    ("tool_choice", Field::ToolChoice),
    ("tools", Field::Tools),
    ("top_p", Field::Null),
    ("truncation", Field::Truncation),
    ("usage", Field::Usage),
];

#[derive(Serialize)]
struct ReasoningDefault {
    effort: Option<()>,
    summary: Option<()>,
}

#[derive(Serialize)]
struct TextDefault {
    format: FormatDefault,
}

#[derive(Serialize)]
struct FormatDefault {
    #[serde(rename = "type")]
    kind: &'static str,
}

/// The `output` list: typed items (the non-stream body) or the stream's items as built.
pub enum Output<'a> {
    Items(&'a [Item<'a>]),
    Values(&'a [Value]),
}

/// A `response` object.
pub struct Response<'a> {
    pub id: &'a str,
    pub created: u64,
    pub model: &'a str,
    /// `completed`, `in_progress` or `failed`.
    pub status: &'a str,
    pub output: Output<'a>,
    /// `null` until the response completes.
    pub usage: Option<Usage>,
    /// The error object of a failed response.
    pub error: Option<&'a Value>,
    /// The request settings laid over the defaults (a sorted map, as serde_json's is).
    pub echo: &'a Map<String, Value>,
}

impl<'a> Response<'a> {
    /// A completed non-stream body.
    pub fn completed(
        id: &'a str,
        created: u64,
        model: &'a str,
        output: &'a [Item<'a>],
        usage: Usage,
        echo: &'a Map<String, Value>,
    ) -> Self {
        Self {
            id,
            created,
            model,
            status: "completed",
            output: Output::Items(output),
            usage: Some(usage),
            error: None,
            echo,
        }
    }
}

impl Response<'_> {
    fn field<M: SerializeMap>(&self, m: &mut M, key: &str, f: Field) -> Result<(), M::Error> {
        match f {
            Field::CreatedAt => m.serialize_entry(key, &self.created),
            Field::Error => m.serialize_entry(key, &self.error),
            Field::Null => m.serialize_entry(key, &None::<()>),
            Field::Id => m.serialize_entry(key, self.id),
            Field::Metadata => m.serialize_entry(key, &Map::new()),
            Field::Model => m.serialize_entry(key, self.model),
            Field::Object => m.serialize_entry(key, "response"),
            Field::Output => match self.output {
                Output::Items(items) => m.serialize_entry(key, &Items(items)),
                Output::Values(values) => m.serialize_entry(key, values),
            },
            Field::False => m.serialize_entry(key, &false),
            Field::Reasoning => m.serialize_entry(
                key,
                &ReasoningDefault {
                    effort: None,
                    summary: None,
                },
            ),
            Field::Status => m.serialize_entry(key, self.status),
            Field::Text => m.serialize_entry(
                key,
                &TextDefault {
                    format: FormatDefault { kind: "text" },
                },
            ),
            Field::ToolChoice => m.serialize_entry(key, "auto"),
            Field::Tools => m.serialize_entry(key, &[(); 0]),
            Field::Truncation => m.serialize_entry(key, "disabled"),
            Field::Usage => m.serialize_entry(key, &self.usage),
        }
    }

    /// The body's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024);
        let _ = serde_json::to_writer(&mut out, self);
        out
    }
}

impl Serialize for Response<'_> {
    /// The defaults and the echoed settings merged in key order; an echoed key replaces
    /// the default.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        let mut echo = self.echo.iter().peekable();
        for (key, f) in FIELDS {
            while let Some((k, v)) = echo.next_if(|(k, _)| k.as_str() < key) {
                m.serialize_entry(k, v)?;
            }
            match echo.next_if(|(k, _)| k.as_str() == key) {
                Some((k, v)) => m.serialize_entry(k, v)?,
                None => self.field(&mut m, key, f)?,
            }
        }
        for (k, v) in echo {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(id: &str) -> ToolCall {
        ToolCall {
            call_id: id.into(),
            name: "f".into(),
            arguments: r#"{"a":1}"#.into(),
        }
    }

    #[test]
    fn the_default_fields_are_in_key_order() {
        assert!(FIELDS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    /// The reference: the `json!` body, calls, echo and reasoning as the route built them.
    fn reference(
        text: &str,
        calls: &[ToolCall],
        echo: &Map<String, Value>,
        reasoning: Option<(&str, Option<&str>)>,
        u: &TokenUsage,
    ) -> String {
        let mut body = super::super::body("resp_1", "msg_1", 9, "m", text, u);
        super::super::tool_calls::attach(&mut body, calls);
        let mut body = crate::http::openai::echo::apply(body, echo);
        if let (Some((t, e)), Some(Value::Array(out))) = (reasoning, body.get_mut("output")) {
            out.insert(
                0,
                crate::http::openai::reasoning_sse::item_with("rs_1", t, e),
            );
        }
        body.to_string()
    }

    #[test]
    fn the_typed_object_is_byte_for_byte_the_json_form() {
        let u = TokenUsage {
            input: 2,
            output: 4,
            cached_input: 1,
            reasoning: 3,
            total: 0,
        };
        let rich = crate::http::openai::echo::responses_settings(
            json!({"instructions": "be \"brief\"", "temperature": 0.2, "text": {"verbosity": "low"},
                   "reasoning": {"effort": "low"}, "metadata": {"k": "v"}, "user": "u",
                   "service_tier": "auto", "max_tool_calls": 2, "safety_identifier": "s",
                   "prompt_cache_key": "p", "top_logprobs": 0,
                   "tools": [{"type": "function", "name": "f"}]})
            .as_object()
            .unwrap(),
        );
        let none = Map::new();
        let calls = [call("a"), call("b")];
        for echo in [&none, &rich] {
            for (text, calls) in [
                ("You said: \"x\"\n✓", &calls[..0]),
                ("", &calls[..]),
                ("t", &calls[..1]),
            ] {
                for reasoning in [None, Some(("thought", None)), Some(("", Some("E")))] {
                    let mut output = Vec::new();
                    if let Some((t, e)) = reasoning {
                        output.push(Item::Reasoning {
                            id: "rs_1",
                            text: t,
                            encrypted: e,
                        });
                    }
                    if !text.is_empty() || calls.is_empty() {
                        output.push(Item::Message { id: "msg_1", text });
                    }
                    output.extend(calls.iter().map(Item::Call));
                    let got = Response::completed("resp_1", 9, "m", &output, Usage::of(&u), echo)
                        .to_bytes();
                    assert_eq!(
                        String::from_utf8(got).unwrap(),
                        reference(text, calls, echo, reasoning, &u)
                    );
                }
            }
        }
    }
}
