//! Typed request lines: the envelope and the params of the per-request methods
//! (`thread/start`, `turn/start`, `thread/unsubscribe`, `turn/interrupt`). The envelope and
//! those params are written by hand, keys as literals ([`LineParams`]); any other params,
//! and the shapes the hand-written forms leave out (a client's tool definitions, an output
//! schema), go through serde, without a `Value` tree. Keys are in the order a
//! `serde_json::Value` map sorts them, so a line carries the same bytes as the `json!`-built
//! one it replaces.

use crate::json_text::{json_str, json_u64};
use crate::tools::ToolSpec;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Value;

/// Trace context sent in the JSON-RPC `trace` field.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct TraceField<'a> {
    pub traceparent: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracestate: Option<&'a str>,
}

/// A request's params: serialised by serde, or, for the per-request methods, written
/// straight into the line.
pub trait LineParams: Serialize {
    /// Writes the params object into `out` and returns true; or writes nothing and returns
    /// false, and serde writes it.
    fn write_plain(&self, _out: &mut Vec<u8>) -> bool {
        false
    }
}

impl LineParams for Value {}

impl<T: LineParams + ?Sized> LineParams for &T {
    fn write_plain(&self, out: &mut Vec<u8>) -> bool {
        (**self).write_plain(out)
    }
}

/// Encodes one request as a line (with its trailing newline).
pub fn encode_request<P: LineParams>(
    id: u64,
    method: &str,
    params: P,
    trace: Option<TraceField<'_>>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"{\"id\":");
    json_u64(&mut out, id);
    out.extend_from_slice(b",\"jsonrpc\":\"2.0\",\"method\":");
    json_str(&mut out, method);
    out.extend_from_slice(b",\"params\":");
    if !params.write_plain(&mut out) && serde_json::to_writer(&mut out, &params).is_err() {
        // Only a `Serialize` impl can fail here; an empty line is what the worker ignores.
        out.clear();
        out.push(b'\n');
        return out;
    }
    if let Some(t) = trace {
        out.extend_from_slice(b",\"trace\":{\"traceparent\":");
        json_str(&mut out, t.traceparent);
        if let Some(state) = t.tracestate {
            out.extend_from_slice(b",\"tracestate\":");
            json_str(&mut out, state);
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"}\n");
    out
}

/// Serialises `v` and its newline into a fresh buffer sized for a typical request.
pub(super) fn line<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    if serde_json::to_writer(&mut out, v).is_err() {
        // Only a `Serialize` impl can fail here; an empty line is what the worker ignores.
        out.clear();
    }
    out.push(b'\n');
    out
}

/// `key`, a literal such as `,"model":`, then the string.
fn entry_str(out: &mut Vec<u8>, key: &[u8], value: &str) {
    out.extend_from_slice(key);
    json_str(out, value);
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `thread/start` params.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadStartParams<'a> {
    pub approval_policy: &'a str,
    /// A client that brings its own tools brings its own prompt (see `add_tool_params`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_instructions: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub developer_instructions: Option<&'a str>,
    #[serde(skip_serializing_if = "DynamicTools::is_empty")]
    pub dynamic_tools: DynamicTools<'a>,
    pub ephemeral: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub experimental_raw_events: bool,
    pub model: &'a str,
    pub sandbox: &'a str,
}

impl LineParams for ThreadStartParams<'_> {
    /// Every field but a client's tools (those go through serde, with the rest).
    fn write_plain(&self, out: &mut Vec<u8>) -> bool {
        if !self.dynamic_tools.is_empty() {
            return false;
        }
        entry_str(out, b"{\"approvalPolicy\":", self.approval_policy);
        if let Some(b) = self.base_instructions {
            entry_str(out, b",\"baseInstructions\":", b);
        }
        if let Some(cwd) = self.cwd {
            entry_str(out, b",\"cwd\":", cwd);
        }
        if let Some(d) = self.developer_instructions {
            entry_str(out, b",\"developerInstructions\":", d);
        }
        out.extend_from_slice(if self.ephemeral {
            b",\"ephemeral\":true"
        } else {
            b",\"ephemeral\":false"
        });
        if self.experimental_raw_events {
            out.extend_from_slice(b",\"experimentalRawEvents\":true");
        }
        entry_str(out, b",\"model\":", self.model);
        entry_str(out, b",\"sandbox\":", self.sandbox);
        out.push(b'}');
        true
    }
}

/// The client's function tools as `thread/start` `dynamicTools`.
#[derive(Debug, Default, Clone, Copy)]
pub struct DynamicTools<'a>(pub &'a [ToolSpec]);

impl DynamicTools<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for DynamicTools<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for t in self.0 {
            seq.serialize_element(&DynamicTool {
                description: &t.description,
                input_schema: &t.parameters,
                name: &t.name,
                kind: "function",
            })?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DynamicTool<'a> {
    description: &'a str,
    input_schema: &'a Value,
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// `turn/start` params.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnStartParams<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effort: Option<&'a str>,
    pub input: TurnInput<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<&'a str>,
    pub thread_id: &'a str,
}

impl LineParams for TurnStartParams<'_> {
    /// Every field but an output schema (a turn with one goes through serde).
    fn write_plain(&self, out: &mut Vec<u8>) -> bool {
        if self.output_schema.is_some() {
            return false;
        }
        out.push(b'{');
        if let Some(e) = self.effort {
            entry_str(out, b"\"effort\":", e);
            out.push(b',');
        }
        out.extend_from_slice(b"\"input\":[");
        let mut first = true;
        if let Some(text) = self.input.text {
            entry_str(out, b"{\"text\":", text);
            out.extend_from_slice(b",\"type\":\"text\"}");
            first = false;
        }
        for url in self.input.images {
            if !std::mem::take(&mut first) {
                out.push(b',');
            }
            entry_str(out, b"{\"type\":\"image\",\"url\":", url);
            out.push(b'}');
        }
        out.push(b']');
        if let Some(summary) = self.summary {
            entry_str(out, b",\"summary\":", summary);
        }
        entry_str(out, b",\"threadId\":", self.thread_id);
        out.push(b'}');
        true
    }
}

/// A turn's input items: the text (absent for a replayed turn, whose history is on the
/// thread already), then the images as `data:` URLs.
#[derive(Debug, Clone, Copy)]
pub struct TurnInput<'a> {
    pub text: Option<&'a str>,
    pub images: &'a [String],
}

impl Serialize for TurnInput<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let len = usize::from(self.text.is_some()) + self.images.len();
        let mut seq = s.serialize_seq(Some(len))?;
        if let Some(text) = self.text {
            seq.serialize_element(&Item2("text", text, "type", "text"))?;
        }
        for url in self.images {
            seq.serialize_element(&Item2("type", "image", "url", url))?;
        }
        seq.end()
    }
}

/// A two-field object, keys in the given (sorted) order.
struct Item2<'a>(&'static str, &'a str, &'static str, &'a str);

impl Serialize for Item2<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry(self.0, self.1)?;
        m.serialize_entry(self.2, self.3)?;
        m.end()
    }
}

/// `thread/unsubscribe` params.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadRef<'a> {
    pub thread_id: &'a str,
}

impl LineParams for ThreadRef<'_> {
    fn write_plain(&self, out: &mut Vec<u8>) -> bool {
        entry_str(out, b"{\"threadId\":", self.thread_id);
        out.push(b'}');
        true
    }
}

/// `turn/interrupt` params.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnRef<'a> {
    pub thread_id: &'a str,
    pub turn_id: &'a str,
}

impl LineParams for TurnRef<'_> {
    fn write_plain(&self, out: &mut Vec<u8>) -> bool {
        entry_str(out, b"{\"threadId\":", self.thread_id);
        entry_str(out, b",\"turnId\":", self.turn_id);
        out.push(b'}');
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::turn::TurnFeatures;
    use serde_json::json;

    fn text(line: &[u8]) -> &str {
        std::str::from_utf8(line).unwrap()
    }

    /// What the `json!`-built request line of the previous encoder held.
    fn json_line(id: u64, method: &str, params: Value, trace: Option<Value>) -> String {
        let mut msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        if let Some(t) = trace {
            msg["trace"] = t;
        }
        format!("{}\n", serde_json::to_string(&msg).unwrap())
    }

    #[test]
    fn thread_start_lines_match_the_json_built_ones_byte_for_byte() {
        let tools = vec![ToolSpec {
            name: "get_weather".into(),
            description: "Weather \"now\"".into(),
            parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        }];
        let plain = ThreadStartParams {
            approval_policy: "never",
            ephemeral: true,
            model: "gpt-5",
            sandbox: "read-only",
            ..Default::default()
        };
        let trace = TraceField {
            traceparent: "00-a-b-01",
            tracestate: Some("k=v"),
        };
        assert_eq!(
            text(&encode_request(7, "thread/start", &plain, Some(trace))),
            json_line(
                7,
                "thread/start",
                json!({"ephemeral": true, "model": "gpt-5", "approvalPolicy": "never",
                       "sandbox": "read-only"}),
                Some(json!({"traceparent": "00-a-b-01", "tracestate": "k=v"})),
            )
        );
        let full = ThreadStartParams {
            approval_policy: "on-request",
            base_instructions: Some("be brief"),
            cwd: Some("/srv"),
            developer_instructions: None,
            dynamic_tools: DynamicTools(&tools),
            ephemeral: true,
            experimental_raw_events: true,
            model: "m",
            sandbox: "workspace-write",
        };
        assert_eq!(
            text(&encode_request(8, "thread/start", &full, None)),
            json_line(
                8,
                "thread/start",
                json!({"ephemeral": true, "model": "m", "approvalPolicy": "on-request",
                       "sandbox": "workspace-write", "cwd": "/srv",
                       "dynamicTools": [{"type": "function", "name": "get_weather",
                                         "description": "Weather \"now\"",
                                         "inputSchema": tools[0].parameters}],
                       "experimentalRawEvents": true, "baseInstructions": "be brief"}),
                None,
            )
        );
        // The same without tools is written by hand.
        let no_tools = ThreadStartParams {
            dynamic_tools: DynamicTools(&[]),
            developer_instructions: Some("line\nbreak"),
            ..full
        };
        assert_eq!(
            text(&encode_request(8, "thread/start", &no_tools, None)),
            json_line(
                8,
                "thread/start",
                json!({"ephemeral": true, "model": "m", "approvalPolicy": "on-request",
                       "sandbox": "workspace-write", "cwd": "/srv",
                       "developerInstructions": "line\nbreak",
                       "experimentalRawEvents": true, "baseInstructions": "be brief"}),
                None,
            )
        );
        let with_di = ThreadStartParams {
            developer_instructions: Some("sys"),
            ..plain
        };
        let got: Value = serde_json::from_slice(&encode_request(9, "x", &with_di, None)).unwrap();
        assert_eq!(got["params"]["developerInstructions"], "sys");
    }

    #[test]
    fn turn_start_lines_match_the_json_built_ones_byte_for_byte() {
        let features = TurnFeatures {
            output_schema: Some(json!({"type": "object", "properties": {}})),
            images: vec!["data:image/png;base64,AA==".into()],
            reasoning_summary: Some("auto".into()),
            ..TurnFeatures::default()
        };
        // Without an output schema the line is written by hand, with one by serde.
        let no_schema = TurnFeatures {
            output_schema: None,
            images: vec!["data:image/png;base64,AA==".into(), "data:x".into()],
            ..features.clone()
        };
        for (replay, effort, features) in [
            (false, None, TurnFeatures::default()),
            (false, Some("high"), features.clone()),
            (false, Some("high"), no_schema.clone()),
            (true, None, no_schema.clone()),
            (true, None, features.clone()),
            (true, Some("low"), TurnFeatures::default()),
        ] {
            let typed = TurnStartParams {
                effort,
                input: TurnInput {
                    text: (!replay).then_some("Say \"hi\"\n"),
                    images: &features.images,
                },
                output_schema: features.output_schema.as_ref(),
                summary: features.reasoning_summary.as_deref(),
                thread_id: "thr_1",
            };
            // The previous encoder: text input, effort, replay's empty input, then features.
            let mut params = json!({"threadId": "thr_1",
                                    "input": [{"type": "text", "text": "Say \"hi\"\n"}]});
            if let Some(e) = effort {
                params["effort"] = json!(e);
            }
            if replay {
                params["input"] = json!([]);
            }
            crate::worker::turn_options::apply(&mut params, &features);
            assert_eq!(
                text(&encode_request(3, "turn/start", &typed, None)),
                json_line(3, "turn/start", params, None)
            );
        }
    }

    #[test]
    fn release_and_interrupt_lines_match_the_json_built_ones() {
        assert_eq!(
            text(&encode_request(
                4,
                "thread/unsubscribe",
                &ThreadRef { thread_id: "t" },
                None
            )),
            json_line(4, "thread/unsubscribe", json!({"threadId": "t"}), None)
        );
        let r = TurnRef {
            thread_id: "t",
            turn_id: "u",
        };
        assert_eq!(
            text(&encode_request(5, "turn/interrupt", &r, None)),
            json_line(
                5,
                "turn/interrupt",
                json!({"threadId": "t", "turnId": "u"}),
                None
            )
        );
    }
}
