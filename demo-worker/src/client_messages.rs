//! Parsing of client lines: one typed pass over every field any handled method reads.

use std::borrow::Cow;

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;

/// A request, notification or response from the client. Unknown members (`jsonrpc`, `trace`, …)
/// are skipped without being materialized.
#[derive(Deserialize)]
pub struct Incoming<'a> {
    #[serde(default)]
    pub id: Option<Value>,
    #[serde(default, borrow)]
    pub method: Option<Str<'a>>,
    #[serde(default, borrow)]
    pub params: Option<Params<'a>>,
    #[serde(default)]
    pub result: Option<Value>,
    #[serde(default)]
    pub error: Option<IgnoredAny>,
}

/// The union of the params of every method the worker answers; each handler checks the fields it
/// requires.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Params<'a> {
    #[serde(default, borrow)]
    pub client_info: Option<ClientInfo<'a>>,
    #[serde(default, borrow)]
    pub thread_id: Option<Str<'a>>,
    #[serde(default, borrow)]
    pub turn_id: Option<Str<'a>>,
    #[serde(default, borrow)]
    pub input: Option<Vec<InputItem<'a>>>,
    #[serde(default, borrow)]
    pub cwd: Option<Str<'a>>,
    #[serde(default, borrow)]
    pub model: Option<Str<'a>>,
    #[serde(default)]
    pub ephemeral: Option<bool>,
    #[serde(default)]
    pub approval_policy: Option<Value>,
    #[serde(default, borrow)]
    pub sandbox: Option<Str<'a>>,
    /// `thread/start.dynamicTools` (client tools).
    #[serde(default)]
    pub dynamic_tools: Option<Value>,
    /// `thread/start.experimentalRawEvents` (raw reasoning items: `raw_reasoning.rs`).
    #[serde(default)]
    pub experimental_raw_events: Option<bool>,
    /// `thread/inject_items.items`.
    #[serde(default)]
    pub items: Option<Value>,
    #[serde(default, borrow)]
    pub effort: Option<Str<'a>>,
    #[serde(default, borrow)]
    pub summary: Option<Str<'a>>,
    #[serde(default)]
    pub output_schema: Option<Value>,
}

/// A string borrowed from the line unless it contains escapes (a bare `Option<Cow>` always copies).
#[derive(Deserialize)]
#[serde(transparent)]
pub struct Str<'a>(#[serde(borrow)] pub Cow<'a, str>);

impl std::ops::Deref for Str<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

#[derive(Deserialize)]
pub struct ClientInfo<'a> {
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    #[serde(default, borrow)]
    pub version: Option<Str<'a>>,
}

/// One `UserInput`; only `text` items contribute to the reply.
#[derive(Deserialize)]
pub struct InputItem<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    #[serde(default, borrow)]
    pub text: Option<Str<'a>>,
}

/// Fallback used when the typed pass fails, to still answer a malformed request by id.
#[derive(Deserialize)]
pub struct Minimal {
    #[serde(default)]
    pub id: Option<Value>,
    #[serde(default)]
    pub method: Option<IgnoredAny>,
}

/// A serde error as Codex words it: without the " at line L column C" position.
pub fn invalid_request(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let text = text.split(" at line ").next().unwrap_or_default();
    format!("Invalid request: {text}")
}

/// The concatenated text of the `text` items.
pub fn input_text(items: &[InputItem<'_>]) -> String {
    let mut text = String::new();
    for item in items.iter().filter(|i| i.kind == "text") {
        text.push_str(item.text.as_deref().unwrap_or_default());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_turn_start_with_trace_and_escapes_parses() {
        let line = br#"{"jsonrpc":"2.0","id":3,"method":"turn/start","trace":{"traceparent":"00-a-b-01","tracestate":null},"params":{"threadId":"thr_1","input":[{"type":"text","text":"a\"b","text_elements":[]},{"type":"image","url":"x"},{"type":"text","text":"c"}],"effort":"low"}}"#;
        let msg: Incoming = serde_json::from_slice(line).unwrap();
        assert_eq!(msg.id, Some(Value::from(3)));
        assert_eq!(msg.method.as_deref(), Some("turn/start"));
        let params = msg.params.unwrap();
        let thread_id = params.thread_id.unwrap();
        assert!(matches!(thread_id.0, Cow::Borrowed("thr_1")));
        assert_eq!(input_text(&params.input.unwrap()), "a\"bc");
    }

    #[test]
    fn a_response_to_a_server_request_parses() {
        let msg: Incoming =
            serde_json::from_slice(br#"{"id":0,"result":{"decision":"decline"}}"#).unwrap();
        assert!(msg.method.is_none() && msg.error.is_none());
        assert_eq!(msg.result.unwrap()["decision"], "decline");
        let msg: Incoming =
            serde_json::from_slice(br#"{"id":1,"error":{"code":-1,"message":"no"}}"#).unwrap();
        assert!(msg.error.is_some());
    }

    #[test]
    fn ill_typed_params_are_worded_like_codex() {
        let line = br#"{"id":9,"method":"turn/start","params":{"threadId":5}}"#;
        let error = serde_json::from_slice::<Incoming>(line).err().unwrap();
        let min: Minimal = serde_json::from_slice(line).unwrap();
        assert_eq!(min.id, Some(Value::from(9)));
        assert_eq!(
            invalid_request(&error),
            "Invalid request: invalid type: integer `5`, expected a string"
        );
    }
}
