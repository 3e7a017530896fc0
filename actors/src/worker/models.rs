//! The reasoning efforts each Codex model supports, learnt once per worker from `model/list`
//! right after the handshake and shared with the front end, which checks a request's effort
//! against it before the turn is queued. Every worker of a pool runs the same Codex, so one
//! table serves the pool; the latest answer wins.

use serde_json::Value;
use std::collections::HashMap;
use std::sync::RwLock;

/// Efforts Codex knows as values of `ReasoningEffort`, used when `model/list` has not named
/// the model (not answered yet, or a model missing from its catalogue such as a custom
/// provider's). `ultra` is never accepted: it turns on Codex's multi-agent mode.
pub const KNOWN_EFFORTS: &[&str] = &["none", "minimal", "low", "medium", "high", "xhigh"];

/// One model's efforts as `model/list` gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelEfforts {
    pub supported: Vec<String>,
    pub default: Option<String>,
}

/// The pool's table, by Codex model name.
#[derive(Debug, Default)]
pub struct ModelTable {
    models: RwLock<HashMap<String, ModelEfforts>>,
}

impl ModelTable {
    /// Records a `model/list` result (`{data:[{id, model, supportedReasoningEfforts:[{reasoningEffort}],
    /// defaultReasoningEffort}]}`); returns how many models it named.
    pub fn record(&self, result: &Value) -> usize {
        let Some(data) = result.get("data").and_then(Value::as_array) else {
            return 0;
        };
        let mut found = HashMap::new();
        for m in data {
            let supported: Vec<String> = m
                .get("supportedReasoningEfforts")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|o| {
                            o.get("reasoningEffort")
                                .or(Some(o))
                                .and_then(Value::as_str)
                                .map(str::to_owned)
                        })
                        .collect()
                })
                .unwrap_or_default();
            let entry = ModelEfforts {
                supported,
                default: m
                    .get("defaultReasoningEffort")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            };
            for key in ["model", "id"] {
                if let Some(name) = m.get(key).and_then(Value::as_str) {
                    found.insert(name.to_owned(), entry.clone());
                }
            }
        }
        let n = found.len();
        if let Ok(mut models) = self.models.write() {
            models.extend(found);
        }
        n
    }

    /// The efforts of `model`, if a worker named it.
    pub fn efforts(&self, model: &str) -> Option<ModelEfforts> {
        self.models.read().ok()?.get(model).cloned()
    }

    /// Whether `effort` may be sent for `model`: one of the model's supported efforts when the
    /// table knows the model, one of [`KNOWN_EFFORTS`] otherwise; never `ultra`.
    pub fn allows(&self, model: &str, effort: &str) -> Result<(), Vec<String>> {
        let supported = match self.efforts(model) {
            Some(e) if !e.supported.is_empty() => e.supported,
            _ => KNOWN_EFFORTS.iter().map(|s| (*s).to_owned()).collect(),
        };
        let supported: Vec<String> = supported.into_iter().filter(|e| e != "ultra").collect();
        if supported.iter().any(|e| e == effort) {
            Ok(())
        } else {
            Err(supported)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_model_list_answer_fills_the_table_and_unknown_models_fall_back() {
        let t = ModelTable::default();
        let n = t.record(&json!({"data": [{"id": "gpt-x", "model": "gpt-x",
            "supportedReasoningEfforts": [{"reasoningEffort": "low", "description": ""},
                                          {"reasoningEffort": "high", "description": ""},
                                          {"reasoningEffort": "ultra", "description": ""}],
            "defaultReasoningEffort": "low"}]}));
        assert_eq!(n, 1);
        assert!(t.allows("gpt-x", "high").is_ok());
        assert_eq!(
            t.allows("gpt-x", "medium"),
            Err(vec!["low".into(), "high".into()])
        );
        assert!(t.allows("gpt-x", "ultra").is_err());
        assert!(t.allows("other", "xhigh").is_ok());
        assert!(t.allows("other", "ultra").is_err());
        assert!(t.allows("other", "bogus").is_err());
        assert_eq!(t.efforts("gpt-x").unwrap().default.as_deref(), Some("low"));
    }
}
