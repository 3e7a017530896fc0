//! The request features beyond text, read from either API's body: structured outputs
//! (`response_format` / `text.format`), reasoning (`reasoning_effort` / `reasoning`), stop
//! sequences, `include`, image parts and reasoning input items, and the fields codexd
//! accepts but has no place for (`ignored_fields`). Checks that need the server's state
//! (effort against the model's supported values, image size) happen in `resolve`.

use super::effort;
use super::ignored_fields;
use super::images::{self, ImageRef};
use super::schema_strict;
use super::ApiKind;
use crate::config::ModelEntry;
use crate::http::errors::ApiError;
use codexd_actors::turn::TurnFeatures;
use codexd_actors::worker::models::ModelTable;
use serde_json::{Map, Value};

/// The instruction added to the input for `json_object` (there is no JSON mode in Codex).
pub const JSON_OBJECT_INSTRUCTION: &str =
    "Answer with one valid JSON object only: no prose, no Markdown code fences.";

/// OpenAI's limit on stop sequences per request.
pub const MAX_STOP: usize = 4;

/// What a request asked for beyond text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Features {
    /// A strict-compatible JSON Schema for the answer.
    pub output_schema: Option<Value>,
    /// `json_object`: best effort, an instruction appended to the input.
    pub json_object: bool,
    /// Image parts as sent, checked in `resolve`.
    pub images: Vec<ImageRef>,
    /// The effort the client asked for, checked in `resolve`.
    pub effort: Option<String>,
    pub summary: Option<String>,
    pub stop: Vec<String>,
    /// Responses `include: ["reasoning.encrypted_content"]`.
    pub include_encrypted: bool,
    /// Responses `reasoning` input items, kept as sent (for replay).
    pub reasoning_items: Vec<Value>,
    /// Accepted fields codexd has no place for, counted per field.
    pub ignored: Vec<&'static str>,
    /// The Responses settings the response object echoes (`echo.rs`).
    pub echo: Map<String, Value>,
}

fn bad(param: impl Into<String>, message: impl Into<String>) -> ApiError {
    ApiError::field(param, message)
}

fn opt_str<'a>(
    o: &'a Map<String, Value>,
    key: &str,
    param: &str,
) -> Result<Option<&'a str>, ApiError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(param, format!("'{param}' must be a string."))),
    }
}

/// The json_schema format's `name`, `schema` and `strict`, checked; `prefix` is the param
/// path of the object holding them.
fn json_schema(o: &Map<String, Value>, prefix: &str) -> Result<Value, ApiError> {
    let name_param = format!("{prefix}.name");
    let name = match opt_str(o, "name", &name_param)? {
        Some(n) => n,
        None => return Err(bad(name_param, "Missing required parameter: 'name'.")),
    };
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid {
        return Err(bad(
            name_param,
            "'name' must be 1 to 64 characters of a-z, A-Z, 0-9, '_' and '-'.",
        ));
    }
    match o.get("strict") {
        None | Some(Value::Null | Value::Bool(_)) => {}
        Some(_) => {
            return Err(bad(
                format!("{prefix}.strict"),
                "'strict' must be a boolean.",
            ))
        }
    }
    let schema_param = format!("{prefix}.schema");
    let Some(schema) = o.get("schema").filter(|s| s.is_object()) else {
        return Err(bad(schema_param, "'schema' must be a JSON Schema object."));
    };
    schema_strict::check(schema).map_err(|v| {
        bad(
            schema_param,
            format!("Invalid schema for response_format '{name}': {v} codexd always runs structured outputs in strict mode."),
        )
    })?;
    Ok(schema.clone())
}

fn stop(o: &Map<String, Value>) -> Result<Vec<String>, ApiError> {
    let list = match o.get("stop") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("stop", "'stop' must be a string or an array of strings."))?,
        Some(_) => {
            return Err(bad(
                "stop",
                "'stop' must be a string or an array of strings.",
            ))
        }
    };
    if list.len() > MAX_STOP {
        return Err(bad(
            "stop",
            format!("At most {MAX_STOP} stop sequences are supported."),
        ));
    }
    Ok(list)
}

/// The Chat Completions features of a body object.
pub fn chat(o: &Map<String, Value>) -> Result<Features, ApiError> {
    let mut f = Features {
        ignored: ignored_fields::classify(ApiKind::Chat, o)?,
        stop: stop(o)?,
        ..Features::default()
    };
    match o.get("response_format") {
        None | Some(Value::Null) => {}
        Some(Value::Object(rf)) => match rf.get("type").and_then(Value::as_str) {
            Some("text") => {}
            Some("json_object") => f.json_object = true,
            Some("json_schema") => {
                let Some(Value::Object(js)) = rf.get("json_schema") else {
                    return Err(bad(
                        "response_format.json_schema",
                        "Missing required parameter: 'response_format.json_schema'.",
                    ));
                };
                f.output_schema = Some(json_schema(js, "response_format.json_schema")?);
            }
            _ => {
                return Err(bad(
                    "response_format.type",
                    "'response_format.type' must be one of text, json_object, json_schema.",
                ))
            }
        },
        Some(_) => {
            return Err(bad(
                "response_format",
                "'response_format' must be an object.",
            ))
        }
    }
    f.effort = opt_str(o, "reasoning_effort", "reasoning_effort")?.map(str::to_owned);
    Ok(f)
}

const INCLUDE_IGNORED: &[&str] = &[
    "file_search_call.results",
    "web_search_call.results",
    "web_search_call.action.sources",
    "message.input_image.image_url",
    "computer_call_output.output.image_url",
    "code_interpreter_call.outputs",
    "message.output_text.logprobs",
];

/// The Responses features of a body object.
pub fn responses(o: &Map<String, Value>) -> Result<Features, ApiError> {
    let mut f = Features {
        ignored: ignored_fields::classify(ApiKind::Responses, o)?,
        ..Features::default()
    };
    match o.get("text") {
        None | Some(Value::Null) => {}
        Some(Value::Object(t)) => match t.get("format") {
            None | Some(Value::Null) => {}
            Some(Value::Object(fmt)) => match fmt.get("type").and_then(Value::as_str) {
                Some("text") => {}
                Some("json_object") => f.json_object = true,
                Some("json_schema") => f.output_schema = Some(json_schema(fmt, "text.format")?),
                _ => {
                    return Err(bad(
                        "text.format.type",
                        "'text.format.type' must be one of text, json_object, json_schema.",
                    ))
                }
            },
            Some(_) => return Err(bad("text.format", "'text.format' must be an object.")),
        },
        Some(_) => return Err(bad("text", "'text' must be an object.")),
    }
    match o.get("reasoning") {
        None | Some(Value::Null) => {}
        Some(Value::Object(r)) => {
            f.effort = opt_str(r, "effort", "reasoning.effort")?.map(str::to_owned);
            let summary = match opt_str(r, "summary", "reasoning.summary")? {
                Some(s) => Some(s),
                None => opt_str(r, "generate_summary", "reasoning.generate_summary")?,
            };
            if let Some(s) = summary {
                if !matches!(s, "auto" | "concise" | "detailed" | "none") {
                    return Err(bad(
                        "reasoning.summary",
                        "'reasoning.summary' must be one of auto, concise, detailed, none.",
                    ));
                }
                f.summary = Some(s.to_owned());
            }
        }
        Some(_) => return Err(bad("reasoning", "'reasoning' must be an object.")),
    }
    match o.get("include") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, v) in items.iter().enumerate() {
                match v.as_str() {
                    Some("reasoning.encrypted_content") => f.include_encrypted = true,
                    Some(s) if INCLUDE_IGNORED.contains(&s) => {
                        if !f.ignored.contains(&"include") {
                            f.ignored.push("include");
                        }
                    }
                    _ => {
                        return Err(bad(
                            format!("include[{i}]"),
                            "Unsupported value in 'include'.",
                        ))
                    }
                }
            }
        }
        Some(_) => return Err(bad("include", "'include' must be an array of strings.")),
    }
    f.echo = super::echo::responses_settings(o);
    Ok(f)
}

/// A Responses `reasoning` input item (`{type:"reasoning", id, summary, encrypted_content}`),
/// checked; `None` when `item` is not one.
pub fn reasoning_item(item: &Value, param: &str) -> Option<Result<Value, ApiError>> {
    if item.get("type").and_then(Value::as_str) != Some("reasoning") {
        return None;
    }
    // Checked (neither a summary nor encrypted content is a 400) and normalised for replay.
    Some(super::reasoning_items::check(item, param))
}

/// Checks what needs the server's state and builds the turn's features: images against
/// `max_image_bytes`, the effort against the model's supported efforts (or the catalogue
/// entry's default effort when the client named none). Returns the features and the effort.
pub fn resolve(
    f: &Features,
    kind: ApiKind,
    model: &ModelEntry,
    table: &ModelTable,
    max_image_bytes: usize,
) -> Result<(TurnFeatures, Option<String>), ApiError> {
    let images = f
        .images
        .iter()
        .map(|i| images::check(i, max_image_bytes))
        .collect::<Result<Vec<_>, _>>()?;
    let param = match kind {
        ApiKind::Chat => "reasoning_effort",
        ApiKind::Responses => "reasoning.effort",
    };
    let effort = effort::resolve(f.effort.as_deref(), param, model, table)?;
    Ok((
        TurnFeatures {
            output_schema: f.output_schema.clone(),
            images,
            reasoning_summary: f.summary.clone(),
            stop: f.stop.clone(),
            include_encrypted: f.include_encrypted,
            effort_requested: f.effort.is_some(),
        },
        effort,
    ))
}

/// The `feature` label values of `codexd_request_features_total`.
pub const FEATURE_LABELS: &[&str] = &[
    "structured_output",
    "json_object",
    "image",
    "reasoning_effort",
    "reasoning_summary",
    "stop",
];

impl Features {
    /// The features this request uses, as `feature` label values.
    pub fn used(&self) -> Vec<&'static str> {
        let flags = [
            self.output_schema.is_some(),
            self.json_object,
            !self.images.is_empty(),
            self.effort.is_some(),
            self.summary.as_deref().is_some_and(|s| s != "none"),
            !self.stop.is_empty(),
        ];
        FEATURE_LABELS
            .iter()
            .zip(flags)
            .filter_map(|(l, on)| on.then_some(*l))
            .collect()
    }
}

/// Creates every series at 0 and counts one request's features.
pub fn count_used(counter: &prometheus::IntCounterVec, route: Option<&str>, used: &[&str]) {
    match route {
        None => {
            for r in ["/v1/chat/completions", "/v1/responses"] {
                for f in FEATURE_LABELS {
                    counter.with_label_values(&[r, f]);
                }
            }
        }
        Some(r) => {
            for f in used {
                counter.with_label_values(&[r, f]).inc();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chat_err(v: Value) -> (String, String) {
        let e = chat(v.as_object().unwrap()).unwrap_err();
        (e.param().unwrap_or("").to_owned(), e.message("r"))
    }

    #[test]
    fn response_format_json_schema_becomes_the_output_schema() {
        let schema = json!({"type": "object", "properties": {"a": {"type": "string"}},
            "required": ["a"], "additionalProperties": false});
        let f = chat(
            json!({"response_format": {"type": "json_schema",
            "json_schema": {"name": "A", "schema": schema, "strict": true}}})
            .as_object()
            .unwrap(),
        )
        .unwrap();
        assert_eq!(f.output_schema, Some(schema.clone()));
        let f = responses(
            json!({"text": {"format": {"type": "json_schema", "name": "A",
            "schema": schema}}})
            .as_object()
            .unwrap(),
        )
        .unwrap();
        assert_eq!(f.output_schema, Some(schema));
    }

    #[test]
    fn bad_structured_output_requests_name_the_field() {
        let (p, m) = chat_err(
            json!({"response_format": {"type": "json_schema", "json_schema":
            {"name": "A", "schema": {"type": "object", "properties": {"x": {"type": "string"}}}}}}),
        );
        assert_eq!(p, "response_format.json_schema.schema");
        assert!(m.contains("In context=#,"), "{m}");
        assert_eq!(
            chat_err(json!({"response_format": {"type": "xml"}})).0,
            "response_format.type"
        );
        assert_eq!(
            chat_err(json!({"response_format": {"type": "json_schema", "json_schema": {"name": "a b", "schema": {}}}})).0,
            "response_format.json_schema.name"
        );
        assert_eq!(
            chat_err(json!({"stop": ["a", "b", "c", "d", "e"]})).0,
            "stop"
        );
        assert_eq!(chat_err(json!({"stop": 3})).0, "stop");
    }

    #[test]
    fn reasoning_and_include_are_read() {
        let f = responses(
            json!({"reasoning": {"effort": "high", "summary": "auto"},
            "include": ["reasoning.encrypted_content", "message.output_text.logprobs"]})
            .as_object()
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            (f.effort.as_deref(), f.summary.as_deref()),
            (Some("high"), Some("auto"))
        );
        assert!(f.include_encrypted);
        assert_eq!(f.ignored, vec!["include"]);
        assert_eq!(f.used(), vec!["reasoning_effort", "reasoning_summary"]);
        let e = responses(
            json!({"reasoning": {"summary": "long"}})
                .as_object()
                .unwrap(),
        )
        .unwrap_err();
        assert_eq!(e.param(), Some("reasoning.summary"));
        let e = responses(json!({"include": ["x"]}).as_object().unwrap()).unwrap_err();
        assert_eq!(e.param(), Some("include[0]"));
    }
}
