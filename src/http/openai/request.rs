//! Validating chat-completions and responses request bodies into one domain request. Every
//! rejection names the offending field in `param`. Unsupported-but-harmless fields are ignored.

use crate::http::errors::ApiError;
use serde_json::Value;

/// A validated request, independent of the API it came through.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub model: String,
    pub stream: bool,
    pub include_usage: bool,
    /// The conversation rendered as the turn input.
    pub input: String,
    /// `system`/`developer` text, used only when the operator allows client system prompts.
    pub system: Option<String>,
    /// Structured output, images, reasoning, stop, ignored fields (`features.rs`).
    pub features: super::features::Features,
}

fn obj(v: &Value) -> Result<&serde_json::Map<String, Value>, ApiError> {
    v.as_object()
        .ok_or_else(|| ApiError::field("body", "The request body must be a JSON object."))
}

fn model(o: &serde_json::Map<String, Value>) -> Result<String, ApiError> {
    match o.get("model") {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        None | Some(Value::Null) => Err(ApiError::field(
            "model",
            "Missing required parameter: 'model'.",
        )),
        _ => Err(ApiError::field(
            "model",
            "'model' must be a non-empty string.",
        )),
    }
}

fn flag(o: &serde_json::Map<String, Value>, key: &str) -> Result<bool, ApiError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        _ => Err(ApiError::field(key, format!("'{key}' must be a boolean."))),
    }
}

/// Text of a message `content`: a string or an array of text parts.
fn content_text(
    v: &Value,
    param: &str,
    part_types: &[&str],
    images: &mut Vec<super::images::ImageRef>,
) -> Result<String, ApiError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Ok(String::new()),
        Value::Array(parts) => {
            let mut out = String::new();
            for (j, p) in parts.iter().enumerate() {
                if let Some(image) = super::images::part_url(p, &format!("{param}[{j}]")) {
                    images.push(image?);
                    continue;
                }
                let ty = p.get("type").and_then(Value::as_str).unwrap_or("");
                if !part_types.contains(&ty) {
                    return Err(ApiError::field(
                        format!("{param}[{j}].type"),
                        "Only text content parts are supported.",
                    ));
                }
                match p.get("text").and_then(Value::as_str) {
                    Some(t) => out.push_str(t),
                    None => {
                        return Err(ApiError::field(
                            format!("{param}[{j}].text"),
                            "A text part needs a 'text' string.",
                        ))
                    }
                }
            }
            Ok(out)
        }
        _ => Err(ApiError::field(
            param,
            "Content must be a string or an array of text parts.",
        )),
    }
}

/// Renders role-labelled turns as the worker input; a lone user message is passed as is.
fn render(turns: &[(String, String)]) -> String {
    match turns {
        [(role, text)] if role == "user" => text.clone(),
        _ => turns
            .iter()
            .map(|(role, text)| format!("[{role}]\n{text}"))
            .collect::<Vec<_>>()
            .join("\n\n"),
    }
}

fn join_system(parts: Vec<String>) -> Option<String> {
    let parts: Vec<String> = parts.into_iter().filter(|s| !s.is_empty()).collect();
    (!parts.is_empty()).then(|| parts.join("\n\n"))
}

/// Validates a `/v1/chat/completions` body.
pub fn parse_chat(v: &Value) -> Result<Parsed, ApiError> {
    let o = obj(v)?;
    let model = model(o)?;
    match o.get("n") {
        None | Some(Value::Null) => {}
        Some(n) if n.as_u64() == Some(1) => {}
        Some(_) => return Err(ApiError::field("n", "Only n=1 is supported.")),
    }
    let stream = flag(o, "stream")?;
    let include_usage = match o.get("stream_options") {
        None | Some(Value::Null) => false,
        Some(Value::Object(so)) => flag(so, "include_usage").map_err(|_| {
            ApiError::field(
                "stream_options.include_usage",
                "'include_usage' must be a boolean.",
            )
        })?,
        Some(_) => {
            return Err(ApiError::field(
                "stream_options",
                "'stream_options' must be an object.",
            ))
        }
    };
    let messages = match o.get("messages") {
        Some(Value::Array(m)) if !m.is_empty() => m,
        Some(Value::Array(_)) => {
            return Err(ApiError::field("messages", "'messages' must not be empty."))
        }
        None | Some(Value::Null) => {
            return Err(ApiError::field(
                "messages",
                "Missing required parameter: 'messages'.",
            ))
        }
        Some(_) => return Err(ApiError::field("messages", "'messages' must be an array.")),
    };
    let mut turns = Vec::new();
    let mut system = Vec::new();
    let mut images = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        let param = format!("messages[{i}].content");
        let text = content_text(
            m.get("content").unwrap_or(&Value::Null),
            &param,
            &["text"],
            &mut images,
        )?;
        match role {
            "system" | "developer" => system.push(text),
            "user" | "assistant" | "tool" => turns.push((role.to_owned(), text)),
            _ => {
                return Err(ApiError::field(
                    format!("messages[{i}].role"),
                    "Role must be one of system, developer, user, assistant, tool.",
                ))
            }
        }
    }
    if turns.is_empty() {
        return Err(ApiError::field(
            "messages",
            "At least one user message is required.",
        ));
    }
    let mut features = super::features::chat(o)?;
    features.images = images;
    Ok(Parsed {
        model,
        stream,
        include_usage,
        input: render(&turns),
        system: join_system(system),
        features,
    })
}

/// Validates a `/v1/responses` body.
pub fn parse_responses(v: &Value) -> Result<Parsed, ApiError> {
    let o = obj(v)?;
    let model = model(o)?;
    let stream = flag(o, "stream")?;
    let mut system = Vec::new();
    match o.get("instructions") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => system.push(s.clone()),
        Some(_) => {
            return Err(ApiError::field(
                "instructions",
                "'instructions' must be a string.",
            ))
        }
    }
    let mut turns = Vec::new();
    let mut tool_items = 0;
    let mut images = Vec::new();
    let mut reasoning_items = Vec::new();
    match o.get("input") {
        Some(Value::String(s)) if !s.is_empty() => turns.push(("user".to_owned(), s.clone())),
        Some(Value::Array(items)) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                // Function calls and their outputs are read by `history.rs`.
                if super::history::is_tool_item(item) {
                    tool_items += 1;
                    continue;
                }
                if let Some(r) = super::features::reasoning_item(item, &format!("input[{i}]")) {
                    reasoning_items.push(r?);
                    continue;
                }
                let role = item.get("role").and_then(Value::as_str).unwrap_or("");
                let param = format!("input[{i}].content");
                let text = content_text(
                    item.get("content").unwrap_or(&Value::Null),
                    &param,
                    &["input_text", "output_text", "text"],
                    &mut images,
                )?;
                match role {
                    "system" | "developer" => system.push(text),
                    "user" | "assistant" => turns.push((role.to_owned(), text)),
                    _ => {
                        return Err(ApiError::field(
                            format!("input[{i}].role"),
                            "Role must be one of system, developer, user, assistant.",
                        ))
                    }
                }
            }
        }
        None | Some(Value::Null) => {
            return Err(ApiError::field(
                "input",
                "Missing required parameter: 'input'.",
            ))
        }
        Some(_) => {
            return Err(ApiError::field(
                "input",
                "'input' must be a non-empty string or array of messages.",
            ))
        }
    }
    if turns.is_empty() && tool_items == 0 {
        return Err(ApiError::field(
            "input",
            "At least one user message is required.",
        ));
    }
    let mut features = super::features::responses(o)?;
    features.images = images;
    features.reasoning_items = reasoning_items;
    Ok(Parsed {
        model,
        stream,
        include_usage: true,
        input: render(&turns),
        system: join_system(system),
        features,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn param(e: ApiError) -> String {
        e.param().unwrap_or("").to_owned()
    }

    #[test]
    fn a_lone_user_message_is_passed_as_is() {
        let p =
            parse_chat(&json!({"model":"m","messages":[{"role":"user","content":"hi"}]})).unwrap();
        assert_eq!(p.input, "hi");
        assert!(!p.stream);
    }

    #[test]
    fn history_is_role_labelled_and_system_is_separate() {
        let p = parse_chat(
            &json!({"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[
            {"role":"system","content":"be brief"},
            {"role":"user","content":[{"type":"text","text":"a"}]},
            {"role":"assistant","content":"b"},
            {"role":"user","content":"c"}]}),
        )
        .unwrap();
        assert_eq!(p.input, "[user]\na\n\n[assistant]\nb\n\n[user]\nc");
        assert_eq!(p.system.as_deref(), Some("be brief"));
        assert!(p.stream && p.include_usage);
    }

    #[test]
    fn invalid_fields_are_named() {
        assert_eq!(
            param(parse_chat(&json!({"messages":[]})).unwrap_err()),
            "model"
        );
        assert_eq!(
            param(parse_chat(&json!({"model":"m"})).unwrap_err()),
            "messages"
        );
        assert_eq!(
            param(
                parse_chat(&json!({"model":"m","n":2,"messages":[{"role":"user","content":"x"}]}))
                    .unwrap_err()
            ),
            "n"
        );
        assert_eq!(
            param(
                parse_chat(&json!({"model":"m","messages":[{"role":"wizard","content":"x"}]}))
                    .unwrap_err()
            ),
            "messages[0].role"
        );
        assert_eq!(
            param(
                parse_chat(
                    &json!({"model":"m","stream":"yes","messages":[{"role":"user","content":"x"}]})
                )
                .unwrap_err()
            ),
            "stream"
        );
        assert_eq!(
            param(parse_responses(&json!({"model":"m"})).unwrap_err()),
            "input"
        );
        assert_eq!(param(parse_chat(&json!([1])).unwrap_err()), "body");
    }

    #[test]
    fn responses_accept_strings_and_message_arrays() {
        let p =
            parse_responses(&json!({"model":"m","input":"hello","instructions":"sys"})).unwrap();
        assert_eq!(
            (p.input.as_str(), p.system.as_deref()),
            ("hello", Some("sys"))
        );
        let p = parse_responses(&json!({"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"x"}]}]})).unwrap();
        assert_eq!(p.input, "x");
    }
}
