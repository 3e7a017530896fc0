//! Client tools in a request: `tools`, `tool_choice` and `parallel_tool_calls` of both APIs,
//! validated into the function tools the worker declares. Hosted tool types codexd cannot
//! serve are refused (400 naming the type) or, when the operator chose so, dropped and
//! counted. Every rejection names its field in `param`.

use crate::config::HostedTools;
use crate::http::errors::ApiError;
use codexd_actors::tools::ToolSpec;
use serde_json::{json, Map, Value};

/// Which API's shapes to read (`{type, function: {name, ...}}` or `{type, name, ...}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Chat,
    Responses,
}

/// The validated tool part of a request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolsRequest {
    /// The tools the worker declares (after `tool_choice`: none for `none`, one for a named
    /// function).
    pub tools: Vec<ToolSpec>,
    /// Every function tool the client declared (for the Responses echo).
    pub declared: Vec<ToolSpec>,
    /// Hosted tool entries dropped (`tools.hosted_tools = "ignore"`).
    pub hosted_ignored: u64,
    /// `tool_choice` as sent (`auto` when absent), for the Responses echo.
    pub choice: Value,
    pub parallel: bool,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn function_tool(t: &Map<String, Value>, param: &str, shape: Shape) -> Result<ToolSpec, ApiError> {
    let (f, fparam) = match shape {
        Shape::Chat => match t.get("function") {
            Some(Value::Object(f)) => (f, format!("{param}.function")),
            _ => {
                return Err(ApiError::field(
                    format!("{param}.function"),
                    "A function tool needs a 'function' object.",
                ))
            }
        },
        Shape::Responses => (t, param.to_owned()),
    };
    let name = match f.get("name") {
        Some(Value::String(n)) if valid_name(n) => n.clone(),
        _ => {
            return Err(ApiError::field(
                format!("{fparam}.name"),
                "A function name must be 1-64 characters of a-z, A-Z, 0-9, '_' or '-'.",
            ))
        }
    };
    let description = match f.get("description") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(d)) => d.clone(),
        Some(_) => {
            return Err(ApiError::field(
                format!("{fparam}.description"),
                "'description' must be a string.",
            ))
        }
    };
    let parameters = match f.get("parameters") {
        None | Some(Value::Null) => json!({"type": "object", "properties": {}}),
        Some(Value::Object(p)) => Value::Object(p.clone()),
        Some(_) => {
            return Err(ApiError::field(
                format!("{fparam}.parameters"),
                "'parameters' must be a JSON schema object.",
            ))
        }
    };
    Ok(ToolSpec {
        name,
        description,
        parameters,
    })
}

/// Reads `tools`, `tool_choice` and `parallel_tool_calls`.
pub fn parse(
    o: &Map<String, Value>,
    shape: Shape,
    hosted: HostedTools,
) -> Result<ToolsRequest, ApiError> {
    let mut out = ToolsRequest {
        choice: Value::String("auto".into()),
        parallel: true,
        ..ToolsRequest::default()
    };
    match o.get("tools") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for (i, t) in list.iter().enumerate() {
                let param = format!("tools[{i}]");
                let Some(t) = t.as_object() else {
                    return Err(ApiError::field(param, "Each tool must be an object."));
                };
                match t.get("type").and_then(Value::as_str) {
                    Some("function") => {
                        let spec = function_tool(t, &param, shape)?;
                        if out.declared.iter().any(|d| d.name == spec.name) {
                            return Err(ApiError::field(
                                param,
                                format!("Duplicate tool name '{}'.", spec.name),
                            ));
                        }
                        out.declared.push(spec);
                    }
                    Some(other) if hosted == HostedTools::Ignore && valid_name(other) => {
                        out.hosted_ignored += 1;
                    }
                    Some(other) if valid_name(other) => {
                        return Err(ApiError::field(
                            format!("{param}.type"),
                            format!(
                                "Tool type '{other}' is not supported by codexd: only 'function' tools are."
                            ),
                        ))
                    }
                    _ => {
                        return Err(ApiError::field(
                            format!("{param}.type"),
                            "A tool needs a 'type' ('function').",
                        ))
                    }
                }
            }
        }
        Some(_) => return Err(ApiError::field("tools", "'tools' must be an array.")),
    }
    match o.get("parallel_tool_calls") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => out.parallel = *b,
        Some(_) => {
            return Err(ApiError::field(
                "parallel_tool_calls",
                "'parallel_tool_calls' must be a boolean.",
            ))
        }
    }
    let choice = o.get("tool_choice").cloned().unwrap_or(Value::Null);
    out.tools = match &choice {
        Value::Null => out.declared.clone(),
        Value::String(s) => match s.as_str() {
            "auto" | "required" => out.declared.clone(),
            "none" => Vec::new(),
            _ => {
                return Err(ApiError::field(
                    "tool_choice",
                    "'tool_choice' must be 'none', 'auto', 'required' or a named function.",
                ))
            }
        },
        Value::Object(c) => {
            let name = match (c.get("type").and_then(Value::as_str), shape) {
                (Some("function"), Shape::Chat) => c.get("function").and_then(|f| f.get("name")),
                (Some("function"), Shape::Responses) => c.get("name"),
                _ => None,
            }
            .and_then(Value::as_str);
            let Some(name) = name else {
                return Err(ApiError::field(
                    "tool_choice",
                    "A tool_choice object must name a function tool.",
                ));
            };
            let Some(t) = out.declared.iter().find(|t| t.name == name) else {
                return Err(ApiError::field(
                    "tool_choice",
                    format!("tool_choice names '{name}', which is not in 'tools'."),
                ));
            };
            vec![t.clone()]
        }
        _ => {
            return Err(ApiError::field(
                "tool_choice",
                "'tool_choice' must be a string or an object.",
            ))
        }
    };
    if !choice.is_null() {
        out.choice = choice;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: Value, shape: Shape) -> Result<ToolsRequest, ApiError> {
        parse(v.as_object().unwrap(), shape, HostedTools::Reject)
    }

    fn param(r: Result<ToolsRequest, ApiError>) -> String {
        r.unwrap_err().param().unwrap_or("").to_owned()
    }

    #[test]
    fn function_tools_of_both_shapes_are_read() {
        let chat = p(
            json!({"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]}),
            Shape::Chat,
        )
        .unwrap();
        assert_eq!(chat.tools[0].name, "get_weather");
        let resp = p(
            json!({"tools":[{"type":"function","name":"a"},{"type":"function","name":"b"}],"tool_choice":{"type":"function","name":"b"}}),
            Shape::Responses,
        )
        .unwrap();
        assert_eq!(resp.tools.len(), 1);
        assert_eq!(resp.declared.len(), 2);
        let none = p(
            json!({"tools":[{"type":"function","name":"a"}],"tool_choice":"none"}),
            Shape::Responses,
        )
        .unwrap();
        assert!(none.tools.is_empty());
    }

    #[test]
    fn bad_tools_are_named() {
        assert_eq!(
            param(p(
                json!({"tools":[{"type":"web_search"}]}),
                Shape::Responses
            )),
            "tools[0].type"
        );
        assert_eq!(
            param(p(
                json!({"tools":[{"type":"function","function":{"name":"a b"}}]}),
                Shape::Chat
            )),
            "tools[0].function.name"
        );
        assert_eq!(param(p(json!({"tools":{}}), Shape::Chat)), "tools");
        assert_eq!(
            param(p(
                json!({"tools":[{"type":"function","name":"a"}],"tool_choice":"always"}),
                Shape::Responses
            )),
            "tool_choice"
        );
        assert_eq!(
            param(p(
                json!({"tools":[{"type":"function","name":"a"}],"tool_choice":{"type":"function","name":"zz"}}),
                Shape::Responses
            )),
            "tool_choice"
        );
        assert_eq!(
            param(p(
                json!({"tools":[{"type":"function","name":"a"},{"type":"function","name":"a"}]}),
                Shape::Responses
            )),
            "tools[1]"
        );
        let ignored = parse(
            json!({"tools":[{"type":"web_search"},{"type":"function","name":"a"}]})
                .as_object()
                .unwrap(),
            Shape::Responses,
            HostedTools::Ignore,
        )
        .unwrap();
        assert_eq!((ignored.hosted_ignored, ignored.tools.len()), (1, 1));
    }
}
