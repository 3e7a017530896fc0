//! Every top-level request field of both APIs, sorted by what codexd does with it: honoured,
//! handled by the client-tools code ("see Tools"), accepted but ignored (Codex has no place for
//! it: counted per field in `codexd_request_fields_ignored_total{route,field}`), or refused
//! with a 400 naming it. A field neither API defines is accepted and counted as `other`
//! (OpenAI would answer 400 `unknown_parameter`; clients written for other compatible servers
//! send extension fields such as `top_k`). docs/api.md, "Request fields", has the same table.

use super::ApiKind;
use crate::http::errors::ApiError;
use prometheus::IntCounterVec;
use serde_json::{Map, Value};

const CHAT_HONOURED: &[&str] = &[
    "model",
    "messages",
    "stream",
    "stream_options",
    "n",
    "reasoning_effort",
    "response_format",
    "stop",
];
const CHAT_TOOLS: &[&str] = &[
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "functions",
    "function_call",
];
/// Chat fields accepted and ignored: the `field` label values of the Chat route.
pub const CHAT_IGNORED: &[&str] = &[
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "logprobs",
    "top_logprobs",
    "logit_bias",
    "user",
    "metadata",
    "store",
    "service_tier",
    "prompt_cache_key",
    "safety_identifier",
    "verbosity",
    "prediction",
    "modalities",
];
const CHAT_REFUSED: &[(&str, &str)] = &[
    ("audio", "Audio output is not supported."),
    (
        "web_search_options",
        "Web search is not supported: codexd serves only client function tools.",
    ),
];

const RESPONSES_HONOURED: &[&str] = &[
    "model",
    "input",
    "instructions",
    "stream",
    "text",
    "reasoning",
    "include",
];
const RESPONSES_TOOLS: &[&str] = &[
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "max_tool_calls",
    "previous_response_id",
];
/// Responses fields accepted and ignored: the `field` label values of the Responses route.
pub const RESPONSES_IGNORED: &[&str] = &[
    "temperature",
    "top_p",
    "max_output_tokens",
    "top_logprobs",
    "user",
    "metadata",
    "store",
    "service_tier",
    "prompt_cache_key",
    "safety_identifier",
    "truncation",
    "stream_options",
    "background",
    "include",
];
/// The `field` label of every field neither API defines.
pub const UNKNOWN: &str = "other";
const RESPONSES_REFUSED: &[(&str, &str)] = &[
    (
        "conversation",
        "Conversations are not supported: send the history in 'input'.",
    ),
    ("prompt", "Prompt templates are not supported."),
];

/// The accepted-and-ignored fields of `o` (non-null ones), or the 400 for a refused or
/// unknown field.
pub fn classify(kind: ApiKind, o: &Map<String, Value>) -> Result<Vec<&'static str>, ApiError> {
    let (honoured, tools, ignored, refused) = match kind {
        ApiKind::Chat => (CHAT_HONOURED, CHAT_TOOLS, CHAT_IGNORED, CHAT_REFUSED),
        ApiKind::Responses => (
            RESPONSES_HONOURED,
            RESPONSES_TOOLS,
            RESPONSES_IGNORED,
            RESPONSES_REFUSED,
        ),
    };
    let mut out = Vec::new();
    for (key, v) in o {
        let key = key.as_str();
        if honoured.contains(&key) || tools.contains(&key) {
            continue;
        }
        if let Some((_, why)) = refused.iter().find(|(k, _)| *k == key) {
            if v.is_null() {
                continue;
            }
            return Err(ApiError::field(key, *why));
        }
        if let Some(f) = ignored.iter().find(|f| **f == key) {
            refuse_value(key, v)?;
            if !v.is_null() {
                out.push(*f);
            }
            continue;
        }
        if !out.contains(&UNKNOWN) {
            out.push(UNKNOWN);
        }
    }
    Ok(out)
}

/// Values of ignorable fields that ask for something codexd would silently not do.
fn refuse_value(key: &str, v: &Value) -> Result<(), ApiError> {
    let refused = match key {
        "modalities" => v
            .as_array()
            .is_some_and(|m| m.iter().any(|x| x.as_str() != Some("text"))),
        "background" => v.as_bool() == Some(true),
        _ => false,
    };
    if refused {
        let why = match key {
            "modalities" => "Only the 'text' modality is supported.",
            _ => "Background responses are not supported.",
        };
        return Err(ApiError::field(key, why));
    }
    Ok(())
}

/// The route labels and their ignorable fields: the family's whole label set.
pub fn label_set() -> [(&'static str, &'static [&'static str]); 2] {
    [
        ("/v1/chat/completions", CHAT_IGNORED),
        ("/v1/responses", RESPONSES_IGNORED),
    ]
}

/// Creates every series at 0 (so `increase()` sees the first one).
pub fn init(counter: &IntCounterVec) {
    for (route, fields) in label_set() {
        for f in fields.iter().chain([&UNKNOWN]) {
            counter.with_label_values(&[route, f]);
        }
    }
}

/// Counts a request's ignored fields.
pub fn count(counter: &IntCounterVec, route: &str, fields: &[&'static str]) {
    for f in fields {
        counter.with_label_values(&[route, f]).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(kind: ApiKind, v: Value) -> Result<Vec<&'static str>, ApiError> {
        classify(kind, v.as_object().unwrap())
    }

    #[test]
    fn fields_are_honoured_ignored_refused_or_unknown() {
        let ok = run(
            ApiKind::Chat,
            json!({"model": "m", "messages": [], "temperature": 0.1, "seed": null, "tools": [],
                   "max_tokens": 5, "modalities": ["text"]}),
        )
        .unwrap();
        assert_eq!(ok, vec!["max_tokens", "modalities", "temperature"]);
        let unknown = run(
            ApiKind::Chat,
            json!({"model": "m", "frobnicate": 1, "top_k": 3}),
        );
        assert_eq!(unknown.unwrap(), vec!["other"]);
        let e = run(ApiKind::Chat, json!({"audio": {"voice": "x"}})).unwrap_err();
        assert_eq!((e.param(), e.code()), (Some("audio"), "invalid_value"));
        let e = run(ApiKind::Chat, json!({"modalities": ["text", "audio"]})).unwrap_err();
        assert_eq!(e.param(), Some("modalities"));
        let e = run(ApiKind::Responses, json!({"background": true})).unwrap_err();
        assert_eq!(e.param(), Some("background"));
        assert_eq!(
            run(ApiKind::Responses, json!({"max_tokens": 3})).unwrap(),
            vec!["other"]
        );
        assert_eq!(
            run(
                ApiKind::Responses,
                json!({"max_output_tokens": 3, "previous_response_id": "r"})
            )
            .unwrap(),
            vec!["max_output_tokens"]
        );
    }
}
