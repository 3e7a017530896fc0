//! A conversation with tool calls, read from either API into one list of items: user and
//! assistant messages, the assistant's function calls and the client's outputs for them.
//! `system`/`developer` text is not here (it becomes developer instructions). From these
//! items come the transcript digest that matches a follow-up to its parked turn, the split of
//! a follow-up into "history before the calls", "the calls" and "their outputs", and the
//! Responses items a replay injects. Every rejection names its field in `param`.

use crate::http::errors::ApiError;
use codexd_actors::tools::{canonical_arguments, ToolCall};
use serde_json::{json, Value};
use std::hash::{Hash, Hasher};

/// One item of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// `role` is `user` or `assistant`.
    Message {
        role: &'static str,
        text: String,
    },
    Call(ToolCall),
    Output {
        call_id: String,
        output: String,
    },
    /// A reasoning item (checked, in the shape `thread/inject_items` keeps:
    /// `reasoning_items.rs`). Not part of the transcript digest: request 1 never had it.
    Reasoning(Value),
}

/// A request's conversation, with where each item came from (for `param`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub items: Vec<Item>,
    /// The request field each item came from (`messages[3]`, `input[1]`).
    pub params: Vec<String>,
}

/// A request that brings tool outputs: the history before the assistant turn that made the
/// calls, those calls, and the outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowupSplit {
    pub prior: usize,
    pub calls: Vec<ToolCall>,
    pub outputs: Vec<(String, String)>,
}

impl History {
    pub fn push(&mut self, item: Item, param: String) {
        self.items.push(item);
        self.params.push(param);
    }

    pub fn has_tool_items(&self) -> bool {
        self.items
            .iter()
            .any(|i| matches!(i, Item::Call(_) | Item::Output { .. }))
    }

    /// Checks that every output answers a call made earlier in the history.
    pub fn validate(&self, output_param: &str) -> Result<(), ApiError> {
        let mut calls: Vec<&str> = Vec::new();
        for (item, param) in self.items.iter().zip(&self.params) {
            match item {
                Item::Call(c) => calls.push(&c.call_id),
                Item::Output { call_id, .. } if !calls.contains(&call_id.as_str()) => {
                    return Err(ApiError::field(
                        format!("{param}.{output_param}"),
                        format!("No tool call found for the output with call id '{call_id}'."),
                    ))
                }
                Item::Output { .. } | Item::Message { .. } | Item::Reasoning(_) => {}
            }
        }
        Ok(())
    }

    /// The digest of the first `n` items.
    pub fn digest(&self, n: usize) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for item in self.items.iter().take(n) {
            match item {
                Item::Message { role, text } => (0u8, role, text).hash(&mut h),
                Item::Call(c) => {
                    (1u8, &c.call_id, &c.name, canonical_arguments(&c.arguments)).hash(&mut h)
                }
                Item::Output { call_id, output } => (2u8, call_id, output).hash(&mut h),
                Item::Reasoning(_) => {}
            }
        }
        h.finish()
    }

    /// When the conversation ends with tool outputs: which calls they answer and what came
    /// before them. The assistant's text before its calls is not part of `prior` (clients
    /// echo it back in different ways).
    pub fn followup(&self) -> Option<FollowupSplit> {
        let items = &self.items;
        let tail = items
            .iter()
            .rev()
            .take_while(|i| matches!(i, Item::Output { .. }))
            .count();
        if tail == 0 {
            return None;
        }
        let outputs_at = items.len() - tail;
        // Reasoning items between the calls (or before them) belong to the same turn.
        let calls_from = items[..outputs_at]
            .iter()
            .rposition(|i| !matches!(i, Item::Call(_) | Item::Reasoning(_)))
            .map_or(0, |p| p + 1);
        let calls: Vec<ToolCall> = items[calls_from..outputs_at]
            .iter()
            .filter_map(|i| match i {
                Item::Call(c) => Some(c.clone()),
                _ => None,
            })
            .collect();
        let prior = match calls_from.checked_sub(1).map(|p| &items[p]) {
            Some(Item::Message {
                role: "assistant", ..
            }) => calls_from - 1,
            _ => calls_from,
        };
        let outputs = items[outputs_at..]
            .iter()
            .filter_map(|i| match i {
                Item::Output { call_id, output } => Some((call_id.clone(), output.clone())),
                _ => None,
            })
            .collect();
        Some(FollowupSplit {
            prior,
            calls,
            outputs,
        })
    }

    /// The Responses items `thread/inject_items` takes, in order; only shapes Codex keeps
    /// (it silently drops anything else, so nothing else is produced).
    pub fn inject_items(&self) -> Vec<Value> {
        self.items
            .iter()
            .map(|i| match i {
                Item::Message { role, text } => {
                    let part = if *role == "assistant" {
                        "output_text"
                    } else {
                        "input_text"
                    };
                    json!({"type": "message", "role": role,
                           "content": [{"type": part, "text": text}]})
                }
                Item::Call(c) => json!({"type": "function_call", "name": c.name,
                                        "arguments": c.arguments, "call_id": c.call_id}),
                Item::Output { call_id, output } => {
                    json!({"type": "function_call_output", "call_id": call_id, "output": output})
                }
                Item::Reasoning(v) => v.clone(),
            })
            .collect()
    }
}

/// The text of `content` (a string or text parts); an error names `param` + `field` (joined
/// only then, not for every message).
fn text_of(v: &Value, param: &str, field: &str) -> Result<String, ApiError> {
    match v {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s.clone()),
        Value::Array(parts) => {
            let mut out = String::new();
            for (j, p) in parts.iter().enumerate() {
                match p.get("text").and_then(Value::as_str) {
                    Some(t) => out.push_str(t),
                    None => {
                        return Err(ApiError::field(
                            format!("{param}{field}[{j}].text"),
                            "A text part needs a 'text' string.",
                        ))
                    }
                }
            }
            Ok(out)
        }
        _ => Err(ApiError::field(
            format!("{param}{field}"),
            "Must be a string or an array of text parts.",
        )),
    }
}

/// `name[i]`, the parameter path of an array element.
fn indexed(name: &str, i: usize) -> String {
    let mut s = String::with_capacity(name.len() + 6);
    s.push_str(name);
    s.push('[');
    s.push_str(itoa::Buffer::new().format(i));
    s.push(']');
    s
}

fn string_field(v: &Value, key: &str, param: &str) -> Result<String, ApiError> {
    match v.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(ApiError::field(
            format!("{param}.{key}"),
            format!("'{key}' must be a non-empty string."),
        )),
    }
}

/// Arguments as OpenAI sends them: a JSON string (an object is accepted and serialized).
fn arguments(v: &Value, param: &str) -> Result<String, ApiError> {
    match v.get("arguments") {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(o @ Value::Object(_)) => Ok(o.to_string()),
        None | Some(Value::Null) => Ok("{}".to_owned()),
        Some(_) => Err(ApiError::field(
            format!("{param}.arguments"),
            "'arguments' must be a JSON string.",
        )),
    }
}

fn role(r: &str) -> Option<&'static str> {
    match r {
        "user" => Some("user"),
        "assistant" => Some("assistant"),
        _ => None,
    }
}

/// A Chat `messages` array (roles already checked by the request parser).
pub fn from_chat(messages: &[Value]) -> Result<History, ApiError> {
    let mut h = History::default();
    for (i, m) in messages.iter().enumerate() {
        let param = indexed("messages", i);
        let r = m.get("role").and_then(Value::as_str).unwrap_or("");
        let content = m.get("content").unwrap_or(&Value::Null);
        match r {
            "tool" => {
                let call_id = string_field(m, "tool_call_id", &param)?;
                let output = text_of(content, &param, ".content")?;
                h.push(Item::Output { call_id, output }, param);
            }
            "user" | "assistant" => {
                let text = text_of(content, &param, ".content").unwrap_or_default();
                let calls = match m.get("tool_calls") {
                    None | Some(Value::Null) => &[][..],
                    Some(Value::Array(c)) if r == "assistant" => c.as_slice(),
                    Some(_) => {
                        return Err(ApiError::field(
                            format!("{param}.tool_calls"),
                            "'tool_calls' must be an array on an assistant message.",
                        ))
                    }
                };
                if !text.is_empty() || calls.is_empty() {
                    if let Some(role) = role(r) {
                        h.push(Item::Message { role, text }, param.clone());
                    }
                }
                for (j, c) in calls.iter().enumerate() {
                    let cparam = format!("{param}.tool_calls[{j}]");
                    let f = c.get("function").unwrap_or(&Value::Null);
                    let call = ToolCall {
                        call_id: string_field(c, "id", &cparam)?,
                        name: string_field(f, "name", &format!("{cparam}.function"))?,
                        arguments: arguments(f, &format!("{cparam}.function"))?,
                    };
                    h.push(Item::Call(call), cparam);
                }
            }
            _ => {}
        }
    }
    Ok(h)
}

/// A Responses `input` (a string, or an array of messages and tool items). `stored` is the
/// history of `previous_response_id`, if any, which comes first.
pub fn from_responses(input: &Value, stored: Option<&History>) -> Result<History, ApiError> {
    let mut h = stored.cloned().unwrap_or_default();
    match input {
        Value::String(s) => h.push(
            Item::Message {
                role: "user",
                text: s.clone(),
            },
            "input".into(),
        ),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let param = indexed("input", i);
                match item.get("type").and_then(Value::as_str) {
                    Some("function_call") => {
                        let call = ToolCall {
                            call_id: string_field(item, "call_id", &param)?,
                            name: string_field(item, "name", &param)?,
                            arguments: arguments(item, &param)?,
                        };
                        h.push(Item::Call(call), param);
                    }
                    Some("function_call_output") => {
                        let call_id = string_field(item, "call_id", &param)?;
                        let output = text_of(
                            item.get("output").unwrap_or(&Value::Null),
                            &param,
                            ".output",
                        )?;
                        h.push(Item::Output { call_id, output }, param);
                    }
                    None | Some("message") => {
                        let r = item.get("role").and_then(Value::as_str).unwrap_or("");
                        if let Some(role) = role(r) {
                            let content = item.get("content").unwrap_or(&Value::Null);
                            let text = text_of(content, &param, ".content").unwrap_or_default();
                            h.push(Item::Message { role, text }, param);
                        }
                    }
                    // Kept in place for a replay (checked as the request parser checks them).
                    Some("reasoning") => {
                        let v = super::reasoning_items::check(item, &param)?;
                        h.push(Item::Reasoning(v), param);
                    }
                    // Others are the request parser's to accept or refuse.
                    Some(_) => {}
                }
            }
        }
        _ => {}
    }
    Ok(h)
}

/// Whether a Responses input item is a tool item this module reads (the message parser
/// skips them).
pub fn is_tool_item(item: &Value) -> bool {
    matches!(
        item.get("type").and_then(Value::as_str),
        Some("function_call" | "function_call_output")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat_round() -> Vec<Value> {
        vec![
            json!({"role":"system","content":"s"}),
            json!({"role":"user","content":"weather?"}),
            json!({"role":"assistant","content":"Let me check.","tool_calls":[
                {"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}},
                {"id":"c2","type":"function","function":{"name":"get_weather","arguments":"{}"}}]}),
            json!({"role":"tool","tool_call_id":"c1","content":"sunny"}),
            json!({"role":"tool","tool_call_id":"c2","content":"rain"}),
        ]
    }

    #[test]
    fn a_chat_follow_up_splits_into_prior_calls_and_outputs() {
        let h = from_chat(&chat_round()).unwrap();
        h.validate("tool_call_id").unwrap();
        let f = h.followup().unwrap();
        assert_eq!(f.prior, 1);
        assert_eq!(f.calls.len(), 2);
        assert_eq!(
            f.outputs,
            vec![("c1".into(), "sunny".into()), ("c2".into(), "rain".into())]
        );
        // The prior digest is the digest of request 1's whole history.
        let first = from_chat(&chat_round()[..2]).unwrap();
        assert_eq!(h.digest(f.prior), first.digest(first.items.len()));
        assert_eq!(h.inject_items().len(), 6);
    }

    #[test]
    fn an_output_without_its_call_is_named() {
        let msgs = vec![
            json!({"role":"user","content":"x"}),
            json!({"role":"tool","tool_call_id":"nope","content":"y"}),
        ];
        let e = from_chat(&msgs)
            .unwrap()
            .validate("tool_call_id")
            .unwrap_err();
        assert_eq!(e.param(), Some("messages[1].tool_call_id"));
    }

    #[test]
    fn responses_items_and_stored_history_join() {
        let first = from_responses(&json!("weather?"), None).unwrap();
        let mut stored = first.clone();
        stored.push(
            Item::Call(ToolCall {
                call_id: "c1".into(),
                name: "f".into(),
                arguments: "{}".into(),
            }),
            "output".into(),
        );
        let h = from_responses(
            &json!([{"type":"function_call_output","call_id":"c1","output":"ok"}]),
            Some(&stored),
        )
        .unwrap();
        let f = h.followup().unwrap();
        assert_eq!(h.digest(f.prior), first.digest(1));
        assert_eq!(f.outputs, vec![("c1".into(), "ok".into())]);
    }

    #[test]
    fn reasoning_items_keep_their_place_and_leave_the_digest_alone() {
        let first = from_responses(&json!("weather?"), None).unwrap();
        let h = from_responses(
            &json!([{"role":"user","content":"weather?"},
                    {"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"E"},
                    {"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},
                    {"type":"function_call_output","call_id":"c1","output":"ok"}]),
            None,
        )
        .unwrap();
        let f = h.followup().unwrap();
        assert_eq!(f.calls.len(), 1);
        assert_eq!(h.digest(f.prior), first.digest(1));
        let items = h.inject_items();
        let types: Vec<&str> = items.iter().map(|i| i["type"].as_str().unwrap()).collect();
        assert_eq!(
            types,
            [
                "message",
                "reasoning",
                "function_call",
                "function_call_output"
            ]
        );
        assert_eq!(items[1]["encrypted_content"], "E");
        let e = from_responses(&json!([{"type":"reasoning","id":"rs_1"}]), None).unwrap_err();
        assert_eq!(e.param(), Some("input[0]"));
    }
}
