//! The turn's reasoning effort: the client's (`reasoning_effort` on Chat, `reasoning.effort`
//! on Responses) checked against the Codex model's supported efforts from the workers'
//! `model/list`, or the catalogue entry's own `reasoning_effort` when the client named none
//! (so an alias such as `gpt-5.5-high` carries its effort). `ultra` is always refused: it
//! turns on Codex's multi-agent mode.

use crate::config::ModelEntry;
use crate::http::errors::ApiError;
use codexd_actors::worker::models::ModelTable;

/// The effort to send on `turn/start`, or a 400 naming `param`.
pub fn resolve(
    requested: Option<&str>,
    param: &str,
    model: &ModelEntry,
    table: &ModelTable,
) -> Result<Option<String>, ApiError> {
    let Some(effort) = requested else {
        return Ok(model.reasoning_effort.clone());
    };
    if effort == "ultra" {
        return Err(ApiError::field(
            param,
            "Unsupported value: 'ultra' is not supported by codexd.",
        ));
    }
    table
        .allows(&model.codex_model, effort)
        .map(|()| Some(effort.to_owned()))
        .map_err(|supported| {
            let list = supported
                .iter()
                .map(|s| format!("'{s}'"))
                .collect::<Vec<_>>()
                .join(", ");
            ApiError::field(
                param,
                format!(
                    "Unsupported value: '{effort}' is not supported with the '{}' model. Supported values are: {list}.",
                    model.id
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(effort: Option<&str>) -> ModelEntry {
        ModelEntry {
            id: "gpt-x-high".into(),
            codex_model: "gpt-x".into(),
            reasoning_effort: effort.map(str::to_owned),
            owned_by: "codexd".into(),
        }
    }

    #[test]
    fn the_request_overrides_the_alias_default_within_the_supported_set() {
        let t = ModelTable::default();
        t.record(
            &json!({"data": [{"model": "gpt-x", "supportedReasoningEfforts":
            [{"reasoningEffort": "low"}, {"reasoningEffort": "high"}]}]}),
        );
        let m = entry(Some("high"));
        assert_eq!(resolve(None, "p", &m, &t).unwrap().as_deref(), Some("high"));
        assert_eq!(
            resolve(Some("low"), "p", &m, &t).unwrap().as_deref(),
            Some("low")
        );
        let e = resolve(Some("medium"), "reasoning_effort", &m, &t).unwrap_err();
        assert_eq!(e.param(), Some("reasoning_effort"));
        assert!(
            e.message("r").contains("'low', 'high'"),
            "{}",
            e.message("r")
        );
        assert!(resolve(Some("ultra"), "p", &m, &t).is_err());
        assert_eq!(resolve(None, "p", &entry(None), &t).unwrap(), None);
    }
}
