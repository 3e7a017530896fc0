//! The request settings a Responses `response` object echoes, as OpenAI's does
//! (`instructions`, `temperature`, `text`, `reasoning`, `tool_choice`, ...): read once from the
//! request body and laid over the default object.

use serde_json::{json, Map, Value};

/// Top-level fields echoed as sent when present (and not null).
const AS_SENT: &[&str] = &[
    "instructions",
    "max_output_tokens",
    "max_tool_calls",
    "metadata",
    "parallel_tool_calls",
    "previous_response_id",
    "service_tier",
    "temperature",
    "tool_choice",
    "top_logprobs",
    "top_p",
    "truncation",
    "user",
    "prompt_cache_key",
    "safety_identifier",
];

/// The settings of a Responses request body, as the response object shows them.
pub fn responses_settings(o: &Map<String, Value>) -> Map<String, Value> {
    let mut echo = Map::new();
    for key in AS_SENT {
        if let Some(v) = o.get(*key).filter(|v| !v.is_null()) {
            echo.insert((*key).to_owned(), v.clone());
        }
    }
    if let Some(Value::Object(t)) = o.get("text") {
        let mut text = t.clone();
        text.entry("format")
            .or_insert_with(|| json!({"type": "text"}));
        echo.insert("text".into(), Value::Object(text));
    }
    if let Some(Value::Object(r)) = o.get("reasoning") {
        let summary = r.get("summary").or_else(|| r.get("generate_summary"));
        echo.insert(
            "reasoning".into(),
            json!({"effort": r.get("effort").cloned().unwrap_or(Value::Null),
                   "summary": summary.cloned().unwrap_or(Value::Null)}),
        );
    }
    if let Some(tools) = tools_echo(o) {
        echo.insert("tools".into(), tools);
    }
    echo
}

/// The `tools` the response object shows: the request's function tools as sent (the ones
/// the turn declared). Hosted tool types never reach a turn (refused, or dropped and counted
/// with `tools.hosted_tools = "ignore"`), so they are not echoed.
pub fn tools_echo(o: &Map<String, Value>) -> Option<Value> {
    let tools = o.get("tools")?.as_array()?;
    let functions: Vec<Value> = tools
        .iter()
        .filter(|t| t.get("type").and_then(Value::as_str) == Some("function"))
        .cloned()
        .collect();
    Some(Value::Array(functions))
}

/// Lays `echo` over a `response` object.
pub fn apply(mut response: Value, echo: &Map<String, Value>) -> Value {
    if let Some(r) = response.as_object_mut() {
        for (k, v) in echo {
            r.insert(k.clone(), v.clone());
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_tools_are_echoed_and_hosted_ones_are_not() {
        let body = json!({"model": "m", "input": "x", "tool_choice": "auto", "tools": [
            {"type": "function", "name": "get_weather", "parameters": {"type": "object"}},
            {"type": "web_search"}]});
        let echo = responses_settings(body.as_object().unwrap());
        assert_eq!(
            echo["tools"],
            json!([{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}])
        );
        assert_eq!(echo["tool_choice"], "auto");
        assert!(
            !responses_settings(json!({"input": "x"}).as_object().unwrap()).contains_key("tools")
        );
    }

    #[test]
    fn settings_are_echoed_over_the_defaults() {
        let body = json!({"model": "m", "input": "x", "instructions": "be brief", "temperature": 0.2,
            "top_p": null, "text": {"verbosity": "low"}, "reasoning": {"effort": "low"},
            "metadata": {"k": "v"}, "max_output_tokens": 50});
        let echo = responses_settings(body.as_object().unwrap());
        let r = apply(
            json!({"temperature": null, "top_p": null, "text": {"format": {"type": "text"}}}),
            &echo,
        );
        assert_eq!(r["temperature"], 0.2);
        assert_eq!(r["top_p"], Value::Null);
        assert_eq!(r["instructions"], "be brief");
        assert_eq!(
            r["text"],
            json!({"format": {"type": "text"}, "verbosity": "low"})
        );
        assert_eq!(r["reasoning"], json!({"effort": "low", "summary": null}));
        assert_eq!(r["metadata"], json!({"k": "v"}));
        assert_eq!(r["max_output_tokens"], 50);
        assert!(echo.get("model").is_none() && echo.get("input").is_none());
    }
}
