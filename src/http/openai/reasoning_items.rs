//! Reasoning items across requests: a Responses `reasoning` input item checked and turned
//! into the shape `thread/inject_items` keeps (`{type:"reasoning", id, summary:[summary_text
//! parts], encrypted_content}`), and the model's raw reasoning item of an answer kept the same
//! way for `previous_response_id`. A replay injects them where they stood in the history, so
//! the model keeps its reasoning. Their content is never logged.

use crate::http::errors::ApiError;
use codexd_actors::reasoning_item::ReasoningItem;
use serde_json::{json, Map, Value};

const SHAPE: &str = "A reasoning item needs 'summary' (an array of summary_text parts) or an 'encrypted_content' string.";

/// Checks a `reasoning` input item; the item to inject. An item with neither a `summary`
/// nor an `encrypted_content` carries nothing and is refused, naming `param`.
pub fn check(item: &Value, param: &str) -> Result<Value, ApiError> {
    let bad = || ApiError::field(param, SHAPE);
    let summary: Vec<&str> = match item.get("summary") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(parts)) => parts
            .iter()
            .map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Option<_>>()
            .ok_or_else(bad)?,
        Some(_) => return Err(bad()),
    };
    let has_summary = matches!(item.get("summary"), Some(Value::Array(_)));
    let encrypted = match item.get("encrypted_content") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return Err(bad()),
    };
    if !has_summary && encrypted.is_none() {
        return Err(bad());
    }
    let id = item
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    Ok(injected(id, summary.into_iter(), encrypted))
}

fn injected<'a>(
    id: Option<&str>,
    summary: impl Iterator<Item = &'a str>,
    encrypted: Option<&str>,
) -> Value {
    let mut o = Map::new();
    o.insert("type".into(), json!("reasoning"));
    if let Some(id) = id {
        o.insert("id".into(), json!(id));
    }
    let parts: Vec<Value> = summary
        .map(|t| json!({"type": "summary_text", "text": t}))
        .collect();
    o.insert("summary".into(), Value::Array(parts));
    if let Some(e) = encrypted {
        o.insert("encrypted_content".into(), json!(e));
    }
    Value::Object(o)
}

/// An answer's raw reasoning item, as a later replay injects it.
pub fn from_answer(r: &ReasoningItem) -> Value {
    injected(
        r.id.as_deref(),
        r.summary.iter().map(String::as_str),
        r.encrypted_content.as_deref(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasoning_items_are_checked_and_normalised() {
        let v = check(
            &json!({"type": "reasoning", "id": "rs_1", "summary": [{"text": "s"}],
                    "encrypted_content": "E"}),
            "input[1]",
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"type": "reasoning", "id": "rs_1",
                   "summary": [{"type": "summary_text", "text": "s"}], "encrypted_content": "E"})
        );
        let only_enc = check(&json!({"type": "reasoning", "encrypted_content": "E"}), "p").unwrap();
        assert_eq!(only_enc["summary"], json!([]));
        for bad in [
            json!({"type": "reasoning", "id": "rs_1"}),
            json!({"type": "reasoning", "summary": "nope"}),
            json!({"type": "reasoning", "summary": [], "encrypted_content": 3}),
        ] {
            assert_eq!(
                check(&bad, "input[4]").unwrap_err().param(),
                Some("input[4]")
            );
        }
    }
}
