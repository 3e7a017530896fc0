//! The request features a `turn/start` carries beyond the text input: image input items,
//! `outputSchema` and the reasoning `summary` (app-server-protocol.md, "Turn options").

use crate::turn::TurnFeatures;
use serde_json::{json, Value};

/// Adds `features` to `turn/start` params that already hold `threadId` and `input`.
pub fn apply(params: &mut Value, features: &TurnFeatures) {
    let Some(obj) = params.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(input)) = obj.get_mut("input") {
        for url in &features.images {
            input.push(json!({"type": "image", "url": url}));
        }
    }
    if let Some(schema) = &features.output_schema {
        obj.insert("outputSchema".into(), schema.clone());
    }
    if let Some(summary) = &features.reasoning_summary {
        obj.insert("summary".into(), Value::String(summary.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_land_on_the_turn_start_params() {
        let mut p = json!({"threadId": "T", "input": [{"type": "text", "text": "hi"}]});
        apply(
            &mut p,
            &TurnFeatures {
                output_schema: Some(json!({"type": "object"})),
                images: vec!["data:image/png;base64,AA==".into()],
                reasoning_summary: Some("auto".into()),
                stop: vec![],
                include_encrypted: false,
                effort_requested: false,
            },
        );
        assert_eq!(
            p["input"][1],
            json!({"type": "image", "url": "data:image/png;base64,AA=="})
        );
        assert_eq!(p["outputSchema"], json!({"type": "object"}));
        assert_eq!(p["summary"], "auto");
        let mut q = json!({"threadId": "T", "input": []});
        apply(&mut q, &TurnFeatures::default());
        assert_eq!(q, json!({"threadId": "T", "input": []}));
    }
}
